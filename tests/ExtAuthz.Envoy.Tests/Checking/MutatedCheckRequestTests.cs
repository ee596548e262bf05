using System.Text.Json;
using CsCheck;
using Envoy.Service.Auth.V3;
using ExtAuthz.Envoy.Checking;
using ExtAuthz.Envoy.Observability;
using ExtAuthz.Envoy.Simulation;
using ExtAuthz.Envoy.Tests.Support;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Identity.Sessions;
using Google.Protobuf;

namespace ExtAuthz.Envoy.Tests.Checking;

/// <summary>
/// Randomly mutated CheckRequests thrown at the handler: whatever arrives, the answer is a well-formed
/// decision (a known status code, a reason for every refusal, a JSON body for every HTTP denial) and
/// never an exception. CsCheck prints the seed of any failure, so it reproduces.
/// </summary>
public sealed class MutatedCheckRequestTests : IDisposable
{
    private static readonly int[] KnownCodes = [0, 3, 5, 7, 13, 14, 16];

    private static readonly string[] PathFragments =
    [
        "/topics/", "/things/", "/shadow", "?name=", "?qos=", "1", "2", "&retain=true", "%", "%2F", "%2e", "%25", "%C3%A9", "%FF", "%C0%AF",
        "..", ".", "/", "//", "+", "#", "$aws/", "sensors/sensor-1/temp", "/retainedMessage", "/mqtt", "/jobs/", "$next", "\0", "é", " ",
        "/api/things/shadow/ListNamedShadowsForThing/", "?", "&", "=", new string('a', 300),
    ];

    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "", "get", "CONNECT", "P\u00d6ST"];

    private static readonly string[] HeaderNames =
        ["x-forwarded-client-cert", "upgrade", ":authority", ":path", ":method", "x-extauthz-principal", "connection", "host", "x-padding"];

    private readonly CheckFleet fleet = new();
    private readonly CheckHandler handler;
    private readonly List<DecisionRecord> records = [];

    public MutatedCheckRequestTests()
    {
        handler = new CheckHandler(() => fleet.Snapshot,
            new CheckHandlerOptions { Sessions = SessionHandles.WithRandomKey(TimeSpan.FromMinutes(1)) }, records.Add);
    }

    public void Dispose() => fleet.Dispose();

    private EnvoyCheckRequest[] Seeds() =>
    [
        EnvoyCheckRequest.Http("POST", "/topics/sensors/sensor-1/temp?qos=1").WithClientCertificate(fleet.Sensor1),
        EnvoyCheckRequest.Http("GET", "/things/sensor-1/shadow?name=config").WithClientCertificate(fleet.Sensor1).EncodeRawHeaders(),
        EnvoyCheckRequest.Http("POST", "/topics/sensors/sensor-1/temp").WithClientCertificate(fleet.Sensor1)
            .IncludePeerCertificate(false).ForwardClientCert(ForwardClientCertDetails.SanitizeSet),
        EnvoyCheckRequest.Network().WithClientCertificate(fleet.Sensor1).WithSni("iot.example.com").IncludeTlsSession(),
        EnvoyCheckRequest.WebSocket().WithClientCertificate(fleet.AutoRegistered),
    ];

    [Fact]
    public void Mutated_fields_always_get_a_well_formed_answer()
    {
        var seeds = Seeds().Select(s => s.Build()).ToArray();
        var fragment = Gen.OneOf(PathFragments.Select(Gen.Const).ToArray());
        var mutation = Gen.Select(Gen.Int[0, 11], Gen.Int[0, seeds.Length - 1], fragment.Array[1, 6], Gen.String, Gen.Int[0, 4096],
            (kind, seed, parts, noise, size) => (kind, seed, text: string.Concat(parts), noise, size));

        mutation.Sample(m =>
        {
            var request = seeds[m.seed].Clone();
            Mutate(request, m.kind, m.text, m.noise, m.size);
            AssertWellFormed(request, handler.Check(request));
        }, iter: 3000, threads: 1);
    }

    [Fact]
    public void Mutated_bytes_that_still_parse_always_get_a_well_formed_answer()
    {
        var seeds = Seeds().Select(s => s.Build().ToByteArray()).ToArray();
        var parsed = 0;
        Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Int[0, 3].Array[1, 8], Gen.Int.Array[8], (seed, ops, numbers) => (seed, ops, numbers))
            .Sample(m =>
            {
                var bytes = seeds[m.seed].ToList();
                for (var i = 0; i < m.ops.Length && bytes.Count > 0; i++)
                {
                    var at = (int)((uint)m.numbers[i] % (uint)bytes.Count);
                    switch (m.ops[i])
                    {
                        case 0: bytes[at] ^= (byte)(1 << (m.numbers[i] & 7)); break;
                        case 1: bytes.RemoveAt(at); break;
                        case 2: bytes.Insert(at, (byte)m.numbers[i]); break;
                        default: bytes.RemoveRange(at, bytes.Count - at); break;
                    }
                }

                CheckRequest request;
                try
                {
                    request = CheckRequest.Parser.ParseFrom(bytes.ToArray());
                }
                catch (InvalidProtocolBufferException)
                {
                    // gRPC refuses what does not parse before the handler sees it.
                    return;
                }

                parsed++;
                AssertWellFormed(request, handler.Check(request));
            }, iter: 3000, threads: 1);
        Assert.True(parsed > 100, $"only {parsed} mutated requests parsed; the test exercised too little");
    }

    private static void Mutate(CheckRequest request, int kind, string text, string noise, int size)
    {
        var attributes = request.Attributes;
        var http = attributes.Request?.Http;
        switch (kind)
        {
            case 0 when http is not null: http.Path = text; break;
            case 1 when http is not null: http.Method = Methods[size % Methods.Length]; http.Path = text; break;
            case 2: attributes.Source.Certificate = Splice(attributes.Source.Certificate, noise, size); break;
            case 3 when http is not null:
                var name = HeaderNames[size % HeaderNames.Length];
                if (http.HeaderMap is { Headers.Count: > 0 } map)
                {
                    map.Headers.Add(new global::Envoy.Config.Core.V3.HeaderValue { Key = name, RawValue = ByteString.CopyFromUtf8(noise + text) });
                }
                else
                {
                    http.Headers[name] = noise + text;
                }

                break;
            case 4: attributes.ContextExtensions[size % 2 == 0 ? "port" : "plane"] = noise; break;
            case 5: attributes.ContextExtensions["xfcc"] = "trusted"; if (http is not null) { http.Headers["x-forwarded-client-cert"] = Splice(noise, text, size); } break;
            case 6: attributes.Source.Address = new global::Envoy.Config.Core.V3.Address { SocketAddress = new() { Address = noise, PortValue = (uint)size } }; break;
            case 7: attributes.Request = null; break;
            case 8: attributes.Source = null; break;
            case 9: attributes.TlsSession = new AttributeContext.Types.TLSSession { Sni = noise }; break;
            case 10 when http is not null: http.Path = "/topics/" + new string('x', size * 16); break;
            default: attributes.Destination = null; attributes.ContextExtensions.Clear(); break;
        }
    }

    private static string Splice(string text, string insert, int at) => text.Insert(Math.Min(at, text.Length), insert);

    private void AssertWellFormed(CheckRequest request, CheckResponse response)
    {
        Assert.Contains(response.Status.Code, KnownCodes);
        var record = records[^1];
        Assert.Equal(record.Decision == DecisionNames.Allowed, response.Status.Code == 0);
        Assert.NotEqual(DecisionNames.Error, record.Decision);
        if (response.Status.Code != 0)
        {
            Assert.False(string.IsNullOrWhiteSpace(response.Status.Message));
        }

        if (request.Attributes?.Request?.Http is not null && response.Status.Code != 0)
        {
            var body = JsonDocument.Parse(response.DeniedResponse.Body).RootElement;
            Assert.Equal(record.Decision, body.GetProperty("decision").GetString());
            Assert.Equal(record.DecisionId, body.GetProperty("decisionId").GetString());
        }
    }
}
