using System.Net;
using ExtAuthz.Mqtt.Gate;
using ExtAuthz.Serving;

namespace ExtAuthz.Tests.Serving;

/// <summary><c>serve</c>'s MQTT gate flags: defaults, combinations, and the help that documents them.</summary>
public sealed class MqttGateOptionsTests
{
    [Fact]
    public void By_default_the_envoy_intakes_listen_on_loopback_and_the_own_listener_is_off()
    {
        var options = ServeOptions.Parse([]);

        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9192), options.MqttTunnel);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9194), options.MqttWebSocket);
        Assert.Null(options.MqttListen);
        Assert.Null(options.Broker);
        Assert.Null(options.EmbeddedBrokerListen);
        Assert.Empty(options.MqttIntakeAllow);
        Assert.Equal(128 * 1024, options.MqttMaxPacketSize);
        Assert.Equal(DeniedPublishV311.Close, options.MqttDenyPublishV3);
        Assert.Equal(TimeSpan.FromSeconds(10), options.MqttConnectTimeout);
        Assert.True(options.MqttGateEnabled);
    }

    [Fact]
    public void Every_gate_flag_is_read()
    {
        var options = ServeOptions.Parse(["--mqtt-tunnel", "off", "--mqtt-websocket", "0.0.0.0:9000", "--mqtt-listen", "0.0.0.0:8883",
            "--mqtt-tls-cert", "c.pem", "--mqtt-tls-key", "k.pem", "--broker", "broker.internal:8883,tls", "--broker-ca", "ca.pem",
            "--mqtt-intake-allow", "10.0.0.0/8, 127.0.0.0/8", "--mqtt-intake-allow", "::1/128", "--mqtt-intake-secret-file", "secret",
            "--mqtt-max-packet-size", "4096", "--mqtt-deny-publish-v3", "drop", "--mqtt-connect-timeout", "3"]);

        Assert.Null(options.MqttTunnel);
        Assert.Equal(IPEndPoint.Parse("0.0.0.0:9000"), options.MqttWebSocket);
        Assert.Equal(IPEndPoint.Parse("0.0.0.0:8883"), options.MqttListen);
        Assert.Equal(("c.pem", "k.pem", "ca.pem", "secret"), (options.MqttTlsCert, options.MqttTlsKey, options.BrokerCa, options.MqttIntakeSecretFile));
        Assert.Equal("broker.internal:8883,tls", options.Broker!.ToString());
        Assert.Equal(["10.0.0.0/8", "127.0.0.0/8", "::1/128"], options.MqttIntakeAllow.Select(n => n.ToString()));
        Assert.Equal((4096, DeniedPublishV311.Drop, TimeSpan.FromSeconds(3)), (options.MqttMaxPacketSize, options.MqttDenyPublishV3, options.MqttConnectTimeout));
    }

    [Fact]
    public void The_embedded_brokers_listener_is_placed_by_its_flag()
    {
        Assert.Equal(IPEndPoint.Parse("127.0.0.1:1883"), ServeOptions.Parse(["--embedded-broker-listen", "127.0.0.1:1883"]).EmbeddedBrokerListen);
        Assert.Equal(IPEndPoint.Parse("[::1]:0"), ServeOptions.Parse(["--embedded-broker-listen", "[::1]:0"]).EmbeddedBrokerListen);
    }

    [Fact]
    public void With_every_intake_off_there_is_no_gate()
    {
        Assert.False(ServeOptions.Parse(["--mqtt-tunnel", "off", "--mqtt-websocket", "off", "--http-publish", "off"]).MqttGateEnabled);
        Assert.True(ServeOptions.Parse(["--mqtt-tunnel", "off", "--mqtt-websocket", "off"]).MqttGateEnabled);
    }

    [Theory]
    [InlineData("needs --mqtt-listen", "--mqtt-tls-cert", "c.pem", "--mqtt-tls-key", "k.pem")]
    [InlineData("go together", "--mqtt-listen", "0.0.0.0:8883", "--mqtt-tls-cert", "c.pem")]
    [InlineData("needs --mqtt-tls-cert and --mqtt-tls-key", "--mqtt-listen", "0.0.0.0:8883")]
    [InlineData("not both", "--mqtt-listen", "0.0.0.0:8883", "--mqtt-tls-cert", "c.pem", "--mqtt-tls-key", "k.pem", "--mqtt-insecure-as", "0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("certificate ID", "--mqtt-listen", "0.0.0.0:1883", "--mqtt-insecure-as", "sensor-1")]
    [InlineData("HOST:PORT,tls", "--broker", "broker:1883,ssl")]
    [InlineData("needs --broker HOST:PORT,tls", "--broker", "broker:1883", "--broker-ca", "ca.pem")]
    [InlineData("with --broker there is no embedded broker", "--broker", "broker:1883", "--embedded-broker-listen", "127.0.0.1:1883")]
    [InlineData("need different ports", "--embedded-broker-listen", "127.0.0.1:9192")]
    [InlineData("--embedded-broker-listen", "--embedded-broker-listen", "off")]
    [InlineData("CIDR", "--mqtt-intake-allow", "loopback")]
    [InlineData("between 64", "--mqtt-max-packet-size", "10")]
    [InlineData("close or drop", "--mqtt-deny-publish-v3", "ignore")]
    [InlineData("need different ports", "--mqtt-tunnel", "127.0.0.1:9191")]
    [InlineData("need different ports", "--mqtt-websocket", "127.0.0.1:9000", "--mqtt-tunnel", "127.0.0.1:9000")]
    public void Contradictory_or_malformed_gate_flags_are_refused(string reason, params string[] args)
    {
        var error = Assert.Throws<ArgumentException>(() => ServeOptions.Parse(args));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_serve_documents_every_gate_flag()
    {
        var stdout = new StringWriter();
        Assert.Equal(Cli.ExitOk, await Cli.RunAsync(["help", "serve"], TextReader.Null, stdout, TextWriter.Null));

        foreach (var flag in new[] { "--mqtt-tunnel", "--mqtt-websocket", "--mqtt-listen", "--mqtt-tls-cert", "--mqtt-tls-key", "--mqtt-insecure-as",
                     "--broker", "--broker-ca", "--embedded-broker-listen", "--mqtt-intake-allow", "--mqtt-intake-secret-file", "--mqtt-max-packet-size", "--mqtt-deny-publish-v3",
                     "--mqtt-connect-timeout", "x-extauthz-client-cert", "x-extauthz-session", "x-extauthz-intake-secret", "docs/mqtt.md" })
        {
            Assert.Contains(flag, stdout.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_missing_server_certificate_stops_the_start()
    {
        var stderr = new StringWriter();

        var exit = await Cli.RunAsync(["serve", "--listen", "127.0.0.1:0", "--admin", "off", "--mqtt-tunnel", "127.0.0.1:0", "--mqtt-websocket", "off", "--http-publish", "off",
            "--mqtt-listen", "127.0.0.1:0", "--mqtt-tls-cert", "/nonexistent/server.pem", "--mqtt-tls-key", "/nonexistent/server.key"], TextReader.Null, TextWriter.Null, stderr);

        Assert.Equal(Cli.ExitBadInput, exit);
        Assert.Contains("server.pem", stderr.ToString(), StringComparison.Ordinal);
    }
}
