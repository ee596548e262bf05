using System.Net;
using ExtAuthz.Serving;

namespace ExtAuthz.Tests.Serving;

/// <summary><c>serve.args</c> in a configuration directory: flags read before the command line's, paths relative to the directory.</summary>
public sealed class ServeSettingsFileTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("extauthz-serve-args-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private void Write(string text) => File.WriteAllText(Path.Combine(directory, ServeOptions.SettingsFile), text);

    [Fact]
    public void Flags_are_read_with_paths_relative_to_the_directory()
    {
        Write("""
            # the quickstart's shape
            --config ../secrets
            --dev-certs certs   # made on first run
            --mqtt-listen 127.0.0.1:18883
            --mqtt-tls-cert certs/server.pem
            --mqtt-tls-key /absolute/server.key

            --decision-log -
            --dry-run
            """);

        var options = ServeOptions.Parse(["--config", directory]);

        Assert.Equal([directory, Path.Combine(directory, "../secrets")], options.Configs);
        Assert.Equal(Path.Combine(directory, "certs"), options.DevCerts);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 18883), options.MqttListen);
        Assert.Equal(Path.Combine(directory, "certs/server.pem"), options.MqttTlsCert);
        Assert.Equal("/absolute/server.key", options.MqttTlsKey);
        Assert.Equal("-", options.DecisionLog);
        Assert.True(options.DryRun);
        Assert.Equal([Path.Combine(directory, ServeOptions.SettingsFile)], options.SettingsFiles);
    }

    [Fact]
    public void The_command_line_wins()
    {
        Write("--mqtt-listen 127.0.0.1:18883\n--mqtt-tls-cert server.pem\n--mqtt-tls-key server.key\n--admin 127.0.0.1:19000\n");

        var options = ServeOptions.Parse(["--config", directory, "--admin", "off", "--mqtt-listen", "127.0.0.1:0"]);

        Assert.Null(options.Admin);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 0), options.MqttListen);
    }

    [Fact]
    public void Turning_a_listener_off_drops_its_certificate_flags()
    {
        Write("--mqtt-listen 127.0.0.1:18883\n--mqtt-tls-cert s.pem\n--mqtt-tls-key s.key\n--https-listen 127.0.0.1:18443\n--https-tls-cert s.pem\n--https-tls-key s.key\n");

        var options = ServeOptions.Parse(["--config", directory, "--mqtt-listen", "off", "--https-listen", "off"]);

        Assert.Null(options.MqttListen);
        Assert.Null(options.MqttTlsCert);
        Assert.Null(options.HttpsListen);
        Assert.Null(options.HttpsTlsKey);
    }

    [Theory]
    [InlineData("mqtt-listen 127.0.0.1:1\n", ":1: a line holds one flag and its value")]
    [InlineData("# fine\n--bogus 1\n", "unknown flag --bogus in ")]
    [InlineData("--listen\n", "--listen needs a value (in ")]
    public void A_bad_line_is_refused_with_the_file_and_line(string text, string reason)
    {
        Write(text);

        var error = Assert.Throws<ArgumentException>(() => ServeOptions.Parse(["--config", directory]));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Contains(ServeOptions.SettingsFile, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_the_command_lines_directories_are_read()
    {
        var nested = Directory.CreateDirectory(Path.Combine(directory, "nested")).FullName;
        File.WriteAllText(Path.Combine(nested, ServeOptions.SettingsFile), "--dry-run\n");
        Write("--config nested\n");

        var options = ServeOptions.Parse(["--config", directory]);

        Assert.False(options.DryRun);
        Assert.Equal([directory, Path.Combine(directory, "nested")], options.Configs);
    }

    [Theory]
    [InlineData(new[] { "--https-listen", "127.0.0.1:18443" }, "--https-listen needs --https-tls-cert and --https-tls-key")]
    [InlineData(new[] { "--https-tls-cert", "a.pem", "--https-tls-key", "a.key" }, "which needs --https-listen")]
    [InlineData(new[] { "--https-listen", "127.0.0.1:18443", "--https-tls-cert", "a.pem" }, "go together")]
    [InlineData(new[] { "--https-listen", "127.0.0.1:9191", "--https-tls-cert", "a.pem", "--https-tls-key", "a.key" }, "--listen and --https-listen are both")]
    [InlineData(new[] { "--http-publish", "127.0.0.1:9192" }, "--mqtt-tunnel and --http-publish are both")]
    public void Https_flags_are_checked_together(string[] args, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => ServeOptions.Parse(args));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Http_publish_is_on_by_default_and_counts_as_the_gate()
    {
        var options = ServeOptions.Parse(["--mqtt-tunnel", "off", "--mqtt-websocket", "off"]);

        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9195), options.HttpPublish);
        Assert.True(options.MqttGateEnabled);
    }
}
