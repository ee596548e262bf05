using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Envoy.Service.Auth.V3;
using ExtAuthz.Identity.X509;
using Google.Protobuf;
using static ExtAuthz.Tests.CliTestConfig;

namespace ExtAuthz.Tests;

/// <summary>
/// <c>extauthz check</c> without a service: the command line, the CheckRequest it prints, its inputs,
/// and an unreachable service. Calls against the real service are the Check service's end-to-end tests.
/// </summary>
public sealed class CheckCommandTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("extauthz-check-").FullName;
    private readonly X509Certificate2 device;
    private readonly string certificateFile;

    public CheckCommandTests()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=sensor-1, O=ExampleCorp", key, HashAlgorithmName.SHA256);
        var sans = new SubjectAlternativeNameBuilder();
        sans.AddDnsName("sensor-1.devices.example.com");
        request.CertificateExtensions.Add(sans.Build());
        device = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddYears(1));

        // The key first, as in a combined PEM file: the first CERTIFICATE block is the one used.
        certificateFile = Write("device.pem", key.ExportPkcs8PrivateKeyPem() + "\n" + device.ExportCertificatePem() + "\n");
    }

    public void Dispose()
    {
        device.Dispose();
        Directory.Delete(directory, recursive: true);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static CheckRequest Parse(string json) => JsonParser.Default.Parse<CheckRequest>(json);

    [Fact]
    public async Task Help_describes_the_command()
    {
        var (exit, stdout, _) = await Run("", "help", "check");

        Assert.Equal(0, exit);
        Assert.Contains("extauthz check [--server HOST:PORT | --unix-socket PATH]", stdout, StringComparison.Ordinal);
        Assert.Contains("--print-request", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--path")]
    [InlineData("--network", "--method", "POST")]
    [InlineData("--network", "--header", "a: b")]
    [InlineData("--network", "--websocket")]
    [InlineData("--network", "--port", "443")]
    [InlineData("--websocket", "--body", "x")]
    [InlineData("--websocket", "--method", "POST")]
    [InlineData("--port", "9000")]
    [InlineData("--port", "8883")]
    [InlineData("--header", "no-colon")]
    [InlineData("--header", ": value")]
    [InlineData("--server", "localhost")]
    [InlineData("--server", "https://localhost:9191")]
    [InlineData("--server", "127.0.0.1:9191", "--unix-socket", "/tmp/x.sock")]
    [InlineData("--source", "not-an-address")]
    [InlineData("--plane", "management")]
    [InlineData("--format", "xml")]
    [InlineData("--timeout", "0")]
    [InlineData("--max-request-bytes", "-1")]
    [InlineData("--xfcc")]
    [InlineData("--sni", "a", "--sni", "b")]
    public async Task Command_line_errors_exit_64_with_the_reason_and_the_help(params string[] args)
    {
        var (exit, stdout, stderr) = await Run("", ["check", .. args]);

        Assert.Equal(64, exit);
        Assert.Empty(stdout);
        Assert.StartsWith("extauthz check: ", stderr, StringComparison.Ordinal);
        Assert.Contains("Exit status:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Print_request_shows_the_http_check_envoy_would_send()
    {
        var (exit, stdout, stderr) = await Run("", "check", "--cert", certificateFile, "--method", "POST", "--path", "/topics/a/b?qos=1",
            "--header", "Content-Type: application/json", "--header", "x-trace: 1", "--header", "x-trace: 2", "--body", "{\"t\":21}",
            "--sni", "iot.example.com", "--source", "203.0.113.7:51000", "--plane", "data", "--print-request");

        Assert.Equal(0, exit);
        Assert.Empty(stderr);
        var attributes = Parse(stdout).Attributes;
        var http = attributes.Request.Http;
        Assert.Equal("POST", http.Method);
        Assert.Equal("/topics/a/b?qos=1", http.Path);
        Assert.Equal("iot.example.com:8443", http.Host);
        Assert.Equal("HTTP/1.1", http.Protocol);
        Assert.Equal("application/json", http.Headers["content-type"]);
        Assert.Equal("1,2", http.Headers["x-trace"]);
        Assert.Equal("8", http.Headers["content-length"]);
        Assert.Equal("false", http.Headers["x-envoy-auth-partial-body"]);
        Assert.Equal("https", http.Headers["x-forwarded-proto"]);
        Assert.True(Guid.TryParse(http.Headers["x-request-id"], out _));
        Assert.Equal("{\"t\":21}", http.RawBody.ToStringUtf8());
        Assert.Equal(8, http.Size);
        Assert.Equal("8443", attributes.ContextExtensions["port"]);
        Assert.Equal("data", attributes.ContextExtensions["plane"]);
        Assert.Equal("203.0.113.7", attributes.Source.Address.SocketAddress.Address);
        Assert.Equal(51000u, attributes.Source.Address.SocketAddress.PortValue);
        Assert.Equal(8443u, attributes.Destination.Address.SocketAddress.PortValue);
        Assert.Equal("sensor-1.devices.example.com", attributes.Source.Principal);
        Assert.Equal(EnvoyCertificate.Encode(device), attributes.Source.Certificate);
        Assert.NotNull(attributes.MetadataContext);
        Assert.NotNull(attributes.RouteMetadataContext);
    }

    [Fact]
    public async Task Print_request_shows_the_network_check_envoy_would_send()
    {
        var (exit, stdout, _) = await Run("", "check", "--network", "--cert", certificateFile, "--sni", "iot.example.com", "--print-request");

        Assert.Equal(0, exit);
        var attributes = Parse(stdout).Attributes;
        Assert.Null(attributes.Request);
        Assert.Empty(attributes.ContextExtensions);
        Assert.Equal("iot.example.com", attributes.Destination.Service);
        Assert.Equal(8883u, attributes.Destination.Address.SocketAddress.PortValue);
        Assert.Equal(EnvoyCertificate.Encode(device), attributes.Source.Certificate);
    }

    [Fact]
    public async Task Print_request_shows_the_websocket_upgrade_with_the_certificate_in_xfcc()
    {
        var (exit, stdout, _) = await Run("", "check", "--websocket", "--port", "443", "--cert", certificateFile, "--xfcc", "--print-request");

        Assert.Equal(0, exit);
        var attributes = Parse(stdout).Attributes;
        var http = attributes.Request.Http;
        Assert.Equal("GET", http.Method);
        Assert.Equal("/mqtt", http.Path);
        Assert.Equal("127.0.0.1", http.Host);
        Assert.Equal("websocket", http.Headers["upgrade"]);
        Assert.Equal("mqtt", http.Headers["sec-websocket-protocol"]);
        Assert.Equal(ForwardedClientCert.Format(device), http.Headers["x-forwarded-client-cert"]);
        Assert.Equal("", attributes.Source.Certificate);
        Assert.Equal("trusted", attributes.ContextExtensions["xfcc"]);
        Assert.Equal("443", attributes.ContextExtensions["port"]);
    }

    [Fact]
    public async Task Print_request_reads_a_body_file_and_leaves_it_out_without_body_buffering()
    {
        var body = Path.Combine(directory, "body.bin");
        await File.WriteAllBytesAsync(body, [0x00, 0xFF, 0x10]);

        var (_, buffered, _) = await Run("", "check", "--method", "PUT", "--path", "/x", "--body", "@" + body, "--print-request");
        var (_, unbuffered, _) = await Run("", "check", "--method", "PUT", "--path", "/x", "--body", "@" + body, "--max-request-bytes", "0", "--http2", "--print-request");

        Assert.Equal([0x00, 0xFF, 0x10], Parse(buffered).Attributes.Request.Http.RawBody.ToByteArray());
        var http = Parse(unbuffered).Attributes.Request.Http;
        Assert.True(http.RawBody.IsEmpty);
        Assert.Equal(0, http.Size);
        Assert.Equal("3", http.Headers["content-length"]);
        Assert.Equal("HTTP/2", http.Protocol);
        Assert.False(http.Headers.ContainsKey("x-envoy-auth-partial-body"));
    }

    [Fact]
    public async Task Without_a_certificate_there_is_no_principal()
    {
        var (exit, stdout, _) = await Run("", "check", "--port", "443", "--print-request");

        Assert.Equal(0, exit);
        var attributes = Parse(stdout).Attributes;
        Assert.Equal("", attributes.Source.Principal);
        Assert.Equal("", attributes.Source.Certificate);
        Assert.Equal("127.0.0.1", attributes.Request.Http.Host);
    }

    [Fact]
    public async Task A_missing_certificate_file_exits_2()
    {
        var (exit, stdout, stderr) = await Run("", "check", "--cert", Path.Combine(directory, "absent.pem"), "--print-request");

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.StartsWith("extauthz check: cannot read the certificate file ", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not a certificate at all")]
    [InlineData("-----BEGIN CERTIFICATE-----\nnot base-64 !!!\n-----END CERTIFICATE-----\n")]
    [InlineData("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")]
    public async Task A_file_without_a_pem_certificate_exits_2(string text)
    {
        var (exit, stdout, stderr) = await Run("", "check", "--cert", Write("garbage.pem", text), "--print-request");

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Contains("holds no PEM certificate", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_block_that_is_not_x509_exits_2()
    {
        var file = Write("bad-der.pem", "-----BEGIN CERTIFICATE-----\n" + Convert.ToBase64String(new byte[64]) + "\n-----END CERTIFICATE-----\n");

        var (exit, _, stderr) = await Run("", "check", "--cert", file, "--print-request");

        Assert.Equal(2, exit);
        Assert.Contains("is not an X.509 certificate", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_envoy_would_refuse_with_413_exits_2()
    {
        var (exit, stdout, stderr) = await Run("", "check", "--method", "POST", "--path", "/x", "--body", "12345", "--max-request-bytes", "4", "--print-request");

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Contains("413", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_service_exits_2_quickly_with_a_clear_message()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            // A port that was just free and is now closed: connecting is refused at once.
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var watch = Stopwatch.StartNew();
        var (exit, stdout, stderr) = await Run("", "check", "--server", $"127.0.0.1:{port}", "--cert", certificateFile, "--timeout", "30");

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.StartsWith($"extauthz check: cannot reach the Check service at 127.0.0.1:{port}: ", stderr, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"took {watch.Elapsed}, as if it waited for the deadline");
    }

    [Fact]
    public async Task A_missing_unix_socket_exits_2()
    {
        var socket = Path.Combine(directory, "absent.sock");

        var (exit, _, stderr) = await Run("", "check", "--unix-socket", socket);

        Assert.Equal(2, exit);
        Assert.Equal($"extauthz check: cannot reach the Check service: there is no socket at {socket}", stderr.Trim());
    }
}
