using ExtAuthz.Identity;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Identity.Tests.Support;
using ExtAuthz.Mqtt.Gate;
using ExtAuthz.Mqtt.Hosting;
using ExtAuthz.Registry;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace ExtAuthz.Mqtt.Tests.Gate;

/// <summary>A configuration change reaches live connections: each is re-checked for its identity and iot:Connect, and closed when no longer allowed.</summary>
public sealed class RevocationTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task Revoking_the_certificate_in_the_files_disconnects_the_idle_connected_device(MqttProtocolVersion version)
    {
        await using var scope = await GateScope.StartAsync();
        await using var revoked = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1", version));
        await using var untouched = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor2, "sensor-2", version));
        Assert.True(revoked.Accepted);
        var generation = scope.Fleet.Snapshot.Generation;

        scope.Fleet.WriteRegistry(sensor1Status: "REVOKED");

        var disconnected = await revoked.DisconnectedWithin(Deadline);
        if (version == MqttProtocolVersion.V500)
        {
            Assert.Equal(MqttClientDisconnectReason.NotAuthorized, disconnected.Reason);
            Assert.Contains("REVOKED", disconnected.ReasonString, StringComparison.Ordinal);
        }

        Assert.True(scope.Fleet.Snapshot.Generation > generation);
        var recheck = Assert.Single(scope.Gate.DecisionsOf("Recheck", DecisionNames.Unauthenticated));
        Assert.Equal("sensor-1", recheck.ClientId);
        Assert.True(untouched.Client.IsConnected);
        Assert.True((await untouched.Client.PublishAsync(GateClient.Message("devices/sensor-2/still-here"))).IsSuccess);

        // And it cannot come back.
        await using var again = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor1, "sensor-1", version));
        Assert.False(again.Accepted);
    }

    [Fact]
    public async Task A_connection_over_the_tunnel_is_closed_too()
    {
        await using var scope = await GateScope.StartAsync();
        await using var client = await GateClient.ConnectAsync(GateClient.Tunnel(scope.Gate, scope.Fleet.Sensor1, "sensor-1"));
        Assert.True(client.Accepted, client.ConnectError?.ToString());

        scope.Fleet.WriteRegistry(sensor1Status: "INACTIVE");

        Assert.Equal(MqttClientDisconnectReason.NotAuthorized, (await client.DisconnectedWithin(Deadline)).Reason);
    }

    [Fact]
    public async Task Decisions_are_made_afresh_after_a_change()
    {
        await using var scope = await GateScope.StartAsync();
        await using var client = await GateClient.ConnectAsync(GateClient.Tls(scope.Gate, scope.Fleet.Sensor2, "sensor-2"));
        await client.Client.PublishAsync(GateClient.Message("devices/sensor-2/a"));
        await client.Client.PublishAsync(GateClient.Message("devices/sensor-2/a"));
        Assert.Single(scope.Gate.DecisionsOf("Publish", DecisionNames.Allowed));
        var generation = scope.Fleet.Snapshot.Generation;

        scope.Fleet.WriteRegistry(sensor1Status: "INACTIVE");
        await Eventually.True(() => scope.Fleet.Snapshot.Generation > generation);
        await client.Client.PublishAsync(GateClient.Message("devices/sensor-2/a"));

        var allowed = scope.Gate.DecisionsOf("Publish", DecisionNames.Allowed);
        Assert.Equal(2, allowed.Length);
        Assert.True(allowed[1].Generation > allowed[0].Generation);
    }

    [Fact]
    public async Task Over_websocket_an_auto_registered_device_keeps_its_connection_across_a_reload_only_with_its_certificate_header()
    {
        await using var scope = await GateScope.StartAsync();
        var other = Pki.Device("CN=auto-2,O=ExtAuthz", scope.Fleet.Ca);
        await using var withCertificate = await GateClient.ConnectAsync(GateClient.WebSocket(scope.Gate,
            scope.Gate.Sessions.Issue("Certificate", Pki.Id(scope.Fleet.AutoRegistered), null, null), "auto-1",
            moreHeaders: new Dictionary<string, string> { [MqttGateHost.CertificateHeader] = Uri.EscapeDataString(Pki.Pem(scope.Fleet.AutoRegistered)) }));

        // The Check service resolved this one's certificate just now, so the snapshot it decided with knows it.
        X509CertificateIdentity.FromEnvoyCertificate(scope.Fleet.Snapshot, Uri.EscapeDataString(Pki.Pem(other)), new ConnectionFacts());
        await using var byIdOnly = await GateClient.ConnectAsync(GateClient.WebSocket(scope.Gate,
            scope.Gate.Sessions.Issue("Certificate", Pki.Id(other), null, null), "auto-2"));
        Assert.True(withCertificate.Accepted, withCertificate.ConnectError?.ToString());
        Assert.True(byIdOnly.Accepted, byIdOnly.ConnectError?.ToString());

        scope.Fleet.WriteRegistry(sensor1Status: "INACTIVE");

        // Without the certificate, a new snapshot knows an auto-registered certificate by nothing: refused.
        await byIdOnly.DisconnectedWithin(Deadline);
        Assert.True(withCertificate.Client.IsConnected);
        Assert.True((await withCertificate.Client.PublishAsync(GateClient.Message("auto/ok", MqttQualityOfServiceLevel.AtLeastOnce))).IsSuccess);
    }
}
