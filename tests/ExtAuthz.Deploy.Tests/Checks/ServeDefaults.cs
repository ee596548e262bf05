using System.Net;
using System.Reflection;
using ExtAuthz.Mqtt.Hosting;

namespace ExtAuthz.Deploy.Tests.Checks;

/// <summary>
/// What `extauthz serve` listens on and reads by default, taken from the code itself so that the Envoy
/// configuration and the service cannot drift apart: the gRPC and admin endpoints are internal to the
/// executable (read by reflection), the gate's endpoints and headers are public.
/// </summary>
internal sealed record ServeDefaults(
    IPEndPoint Check,
    IPEndPoint Admin,
    IPEndPoint Tunnel,
    IPEndPoint WebSocket,
    IPEndPoint HttpPublish,
    string CertificateHeader,
    IReadOnlyList<string> GateHeaders)
{
    public static ServeDefaults FromCode()
    {
        var serveOptions = Assembly.Load("ExtAuthz").GetType("ExtAuthz.Serving.ServeOptions")
            ?? throw new InvalidOperationException("ExtAuthz.Serving.ServeOptions is not in the ExtAuthz assembly: where did serve's defaults go?");
        IPEndPoint Endpoint(string name) =>
            serveOptions.GetField(name, BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as IPEndPoint
            ?? throw new InvalidOperationException($"ServeOptions.{name} is not a static IPEndPoint any more");

        return new ServeDefaults(
            Endpoint("DefaultListen"),
            Endpoint("DefaultAdmin"),
            MqttGateHostOptions.DefaultTunnel,
            MqttGateHostOptions.DefaultWebSocket,
            Endpoint("DefaultHttpPublish"),
            MqttGateHost.CertificateHeader,
            [MqttGateHost.CertificateHeader, MqttGateHost.SourceIpHeader, MqttGateHost.ServerNameHeader, IntakeGuard.SecretHeader]);
    }

    /// <summary>Every port the service takes, which Envoy must leave to it.</summary>
    public IEnumerable<IPEndPoint> All => [Check, Admin, Tunnel, WebSocket, HttpPublish];
}
