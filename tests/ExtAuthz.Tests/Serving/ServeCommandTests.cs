using System.Net;
using ExtAuthz.Serving;

namespace ExtAuthz.Tests.Serving;

public sealed class ServeCommandTests
{
    [Fact]
    public void The_defaults_are_the_documented_ones()
    {
        var options = ServeOptions.Parse([]);

        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9191), options.Listen);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 9193), options.Admin);
        Assert.Empty(options.Configs);
        Assert.Equal("-", options.DecisionLog);
        Assert.False(options.DryRun);
        Assert.Null(options.UnixSocket);
    }

    [Fact]
    public void Flags_are_read()
    {
        var options = ServeOptions.Parse(["--config", "a", "--config", "b", "--listen", "0.0.0.0:19191", "--admin", "[::1]:19193",
            "--dry-run", "--decision-log", "off", "--decision-log-capacity", "10", "--session-lifetime", "30", "--log-level", "warning"]);

        Assert.Equal(["a", "b"], options.Configs);
        Assert.Equal(new IPEndPoint(IPAddress.Any, 19191), options.Listen);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 19193), options.Admin);
        Assert.True(options.DryRun);
        Assert.Null(options.DecisionLog);
        Assert.Equal(10, options.DecisionLogCapacity);
        Assert.Equal(TimeSpan.FromSeconds(30), options.SessionLifetime);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, options.LogLevel);
    }

    [Fact]
    public void A_unix_socket_replaces_the_tcp_endpoint_unless_both_are_asked_for()
    {
        Assert.Null(ServeOptions.Parse(["--unix-socket", "/tmp/x.sock"]).Listen);
        Assert.NotNull(ServeOptions.Parse(["--unix-socket", "/tmp/x.sock", "--listen", "127.0.0.1:9191"]).Listen);
        Assert.Null(ServeOptions.Parse(["--admin", "off"]).Admin);
    }

    [Theory]
    [InlineData("--listen", "9191", "needs ADDRESS:PORT")]
    [InlineData("--listen", "127.0.0.1", "needs ADDRESS:PORT")]
    [InlineData("--listen", "example.com:9191", "needs ADDRESS:PORT")]
    [InlineData("--admin", "127.0.0.1:99999", "needs ADDRESS:PORT")]
    [InlineData("--decision-log-capacity", "0", "positive whole number")]
    [InlineData("--log-level", "loud", "--log-level must be one of")]
    [InlineData("--bogus", null, "unknown flag --bogus")]
    [InlineData("stray", null, "unexpected argument 'stray'")]
    public async Task Bad_flags_are_usage_errors_with_a_reason(string flag, string? value, string reason)
    {
        var stderr = new StringWriter();
        string[] args = value is null ? ["serve", flag] : ["serve", flag, value];

        var exit = await Cli.RunAsync(args, TextReader.Null, TextWriter.Null, stderr);

        Assert.Equal(Cli.ExitUsage, exit);
        Assert.Contains(reason, stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_same_port_for_grpc_and_admin_is_refused()
    {
        var stderr = new StringWriter();
        var exit = await Cli.RunAsync(["serve", "--listen", "127.0.0.1:9000", "--admin", "127.0.0.1:9000"], TextReader.Null, TextWriter.Null, stderr);

        Assert.Equal(Cli.ExitUsage, exit);
        Assert.Contains("need different ports", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_configuration_directory_stops_the_start()
    {
        var stderr = new StringWriter();
        var exit = await Cli.RunAsync(["serve", "--config", "/nonexistent/extauthz"], TextReader.Null, TextWriter.Null, stderr);

        Assert.Equal(Cli.ExitBadInput, exit);
        Assert.Contains("does not exist", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_short_session_key_stops_the_start()
    {
        var key = Path.GetTempFileName();
        await File.WriteAllTextAsync(key, "too short");
        try
        {
            var stderr = new StringWriter();
            var exit = await Cli.RunAsync(["serve", "--session-key-file", key, "--listen", "127.0.0.1:0", "--admin", "off"], TextReader.Null, TextWriter.Null, stderr);

            Assert.Equal(Cli.ExitBadInput, exit);
            Assert.Contains("at least 32 bytes", stderr.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(key);
        }
    }

    [Fact]
    public async Task A_port_in_use_stops_the_start_with_a_clear_message()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var stderr = new StringWriter();

        var exit = await Cli.RunAsync(["serve", "--listen", $"127.0.0.1:{port}", "--admin", "off", "--decision-log", "off"], TextReader.Null, TextWriter.Null, stderr);

        Assert.Equal(Cli.ExitBadInput, exit);
        Assert.Contains("cannot listen", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_serve_documents_every_flag()
    {
        var stdout = new StringWriter();
        Assert.Equal(Cli.ExitOk, await Cli.RunAsync(["help", "serve"], TextReader.Null, stdout, TextWriter.Null));

        foreach (var flag in new[] { "--config", "--listen", "--unix-socket", "--admin", "--dry-run", "--decision-log", "--decision-log-capacity",
                     "--session-key-file", "--session-lifetime", "--token-query-parameter", "--log-level", "/healthz", "/readyz", "/status", "/metrics", "/test-authorization" })
        {
            Assert.Contains(flag, stdout.ToString(), StringComparison.Ordinal);
        }
    }
}
