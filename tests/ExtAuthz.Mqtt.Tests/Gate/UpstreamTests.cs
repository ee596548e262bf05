using System.Net;
using System.Security.Cryptography.X509Certificates;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Identity.Tests.Support;
using ExtAuthz.Mqtt.Gate;
using ExtAuthz.Mqtt.Upstream;
using ExtAuthz.Tests.Shared;
using MQTTnet;
using MQTTnet.Server;

namespace ExtAuthz.Mqtt.Tests.Gate;

/// <summary>A broker of the operator's over TLS: trusted through the configured CA alone, with its name checked.</summary>
public sealed class UpstreamTests
{
    [Fact]
    public async Task A_tls_broker_signed_by_the_configured_ca_is_used()
    {
        var brokerCa = Pki.Ca("CN=Broker CA");
        await using var broker = await TlsBroker.StartAsync(Pki.Device("CN=localhost", brokerCa, sans: names => names.AddDnsName("localhost")));
        await using var scope = await GateScope.StartAsync(options => options with
        {
            Broker = new BrokerEndpoint("localhost", broker.Port, Tls: true),
            BrokerTrust = [brokerCa],
        });

        await using var client = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1"));

        Assert.True(client.Accepted, client.ConnectError?.ToString());
        Assert.True((await client.Client.PublishAsync(GateClient.Message("devices/sensor-1/over-tls"))).IsSuccess);
    }

    [Theory]
    [InlineData("CN=localhost", false)]
    [InlineData("CN=elsewhere.example", true)]
    public async Task A_tls_broker_from_another_ca_or_with_another_name_is_refused(string subject, bool sameCa)
    {
        var brokerCa = Pki.Ca("CN=Broker CA");
        var presented = Pki.Device(subject, sameCa ? brokerCa : Pki.Ca("CN=Someone Else"), sans: names => names.AddDnsName(subject[3..]));
        await using var broker = await TlsBroker.StartAsync(presented);
        await using var scope = await GateScope.StartAsync(options => options with
        {
            Broker = new BrokerEndpoint("localhost", broker.Port, Tls: true),
            BrokerTrust = [brokerCa],
        });

        await using var client = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1"));

        Assert.False(client.Accepted);
        Assert.Single(scope.Gate.DecisionsOf("Connect", DecisionNames.Unavailable));
    }

    private sealed class TlsBroker : IAsyncDisposable
    {
        private readonly MqttServer server;

        private TlsBroker(MqttServer server, int port)
        {
            this.server = server;
            Port = port;
        }

        public int Port { get; }

        public static async Task<TlsBroker> StartAsync(X509Certificate2 certificate)
        {
            var port = FreePorts.Next();
            var server = new MqttServerFactory().CreateMqttServer(new MqttServerOptionsBuilder()
                .WithoutDefaultEndpoint()
                .WithEncryptedEndpoint().WithEncryptedEndpointBoundIPAddress(IPAddress.Loopback).WithEncryptedEndpointBoundIPV6Address(IPAddress.None)
                .WithEncryptedEndpointPort(port).WithEncryptionCertificate(certificate)
                .Build());
            await server.StartAsync();
            return new TlsBroker(server, port);
        }

        public async ValueTask DisposeAsync()
        {
            await server.StopAsync();
            server.Dispose();
        }
    }
}
