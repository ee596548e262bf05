using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using ExtAuthz.Tests.Shared;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace ExtAuthz.Tests.Serving;

/// <summary>
/// The README's quickstart, run as its own process the way a reader runs it (<c>extauthz serve --config
/// examples/quickstart</c> on a scratch copy without certificates): the certificates made on first run,
/// the operator's console receiving telemetry through the gate's own mutual-TLS listener, devices allowed
/// and refused, HTTP publish over mutual TLS, and a policy edit taking effect live. Only the ports differ
/// (free ones, given on the command line, which wins over serve.args). scripts/quickstart.sh runs the
/// same walk-through with mosquitto's clients and curl.
/// </summary>
public sealed class QuickstartTests : IAsyncLifetime
{
    private static readonly MqttClientFactory Factory = new();

    private readonly string root = Directory.CreateTempSubdirectory("extauthz-quickstart-").FullName;
    private int mqttPort;
    private int httpsPort;
    private int adminPort;
    private readonly StringBuilder serveOutput = new();
    private Process? serve;

    private string Quickstart => Path.Combine(root, "examples", "quickstart");

    private string Certs => Path.Combine(Quickstart, "certs");

    public async Task InitializeAsync()
    {
        foreach (var name in new[] { "quickstart", "quickstart-secrets" })
        {
            var target = Directory.CreateDirectory(Path.Combine(root, "examples", name)).FullName;
            foreach (var file in Directory.GetFiles(Path.Combine(RepositoryRoot(), "examples", name)))
            {
                File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
            }
        }

        // A port free a moment ago can be taken before serve binds it (by another test's client): then serve
        // exits saying so, and starts again on other ports, a few times.
        for (var attempt = 1; ; attempt++)
        {
            (mqttPort, httpsPort, adminPort) = (FreePorts.Next(), FreePorts.Next(), FreePorts.Next());
            serve = StartServe();
            try
            {
                await WaitReadyAsync(serve);
                return;
            }
            catch when (attempt < 5 && serve.HasExited && Output.Contains("address already in use", StringComparison.Ordinal))
            {
                await DisposeServeAsync();
            }
            catch
            {
                // xunit does not dispose a fixture whose initialization failed: the process must not outlive the test.
                await DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Starts serve; its output joins what earlier attempts printed (the first made the certificates).</summary>
    private Process StartServe()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[]
                 {
                     typeof(Cli).Assembly.Location, "serve", "--config", "examples/quickstart", "--listen", "127.0.0.1:0",
                     "--admin", $"127.0.0.1:{adminPort}", "--mqtt-tunnel", "off", "--mqtt-websocket", "off", "--http-publish", "off",
                     "--mqtt-listen", $"127.0.0.1:{mqttPort}", "--https-listen", $"127.0.0.1:{httpsPort}",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task WaitReadyAsync(Process process)
    {
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}"), Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                Assert.Fail($"serve exited ({process.ExitCode}):\n{Output}");
            }

            try
            {
                // The MQTT and HTTPS listeners too: they bind with the admin one, so an answer from a port
                // another process holds does not pass for this serve's.
                if ((await admin.GetAsync("/readyz")).IsSuccessStatusCode && await ListeningAsync(mqttPort) && await ListeningAsync(httpsPort) && !process.HasExited)
                {
                    break;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            Assert.True(DateTime.UtcNow < deadline, $"serve was not ready within 60 s:\n{Output}");
            await Task.Delay(200);
        }
    }

    private static async Task<bool> ListeningAsync(int port)
    {
        using var probe = new TcpClient();
        try
        {
            await probe.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async Task DisposeAsync()
    {
        await DisposeServeAsync();
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private async Task DisposeServeAsync()
    {
        if (serve is { HasExited: false })
        {
            serve.Kill(entireProcessTree: true);
        }

        if (serve is not null)
        {
            await serve.WaitForExitAsync();
            serve.Dispose();
            serve = null;
        }
    }

    private string Output
    {
        get
        {
            lock (serveOutput)
            {
                return serveOutput.ToString();
            }
        }
    }

    [Fact]
    public async Task The_walk_through_holds()
    {
        // First run: the development certificates, server certificate included, were made.
        foreach (var name in new[] { "ca", "sensor-1", "sensor-2", "console", "server" })
        {
            Assert.True(File.Exists(Path.Combine(Certs, name + ".pem")) && File.Exists(Path.Combine(Certs, name + ".key")), $"{name}.pem and {name}.key were not made:\n{Output}");
        }

        Assert.Contains("flags from examples/quickstart/serve.args", Output, StringComparison.Ordinal);

        // The operator's console watches every sensor's telemetry.
        using var console = await ConnectAsync("console", "console-1");
        var received = new List<(string Topic, string Payload)>();
        console.ApplicationMessageReceivedAsync += args =>
        {
            lock (received)
            {
                received.Add((args.ApplicationMessage.Topic, args.ApplicationMessage.ConvertPayloadToString()));
            }

            return Task.CompletedTask;
        };
        var subscribed = await console.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("sensors/+/telemetry").Build());
        Assert.Equal(MqttClientSubscribeResultCode.GrantedQoS0, Assert.Single(subscribed.Items).ResultCode);

        // sensor-1 publishes its telemetry; publishing as sensor-2 is refused with the reason.
        using (var sensor1 = await ConnectAsync("sensor-1", "sensor-1"))
        {
            Assert.True((await sensor1.PublishAsync(Message("sensors/sensor-1/telemetry", """{"t":21.5}"""))).IsSuccess);
            var refused = await sensor1.PublishAsync(Message("sensors/sensor-2/telemetry", """{"t":99}"""));
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);
            Assert.Contains("no policy of certificate", refused.ReasonString, StringComparison.Ordinal);
        }

        await Eventually(() => Has(received, "sensors/sensor-1/telemetry", """{"t":21.5}"""), "the console receives sensor-1's telemetry");

        // sensor-1's certificate under sensor-2's client ID is refused at CONNECT.
        using var impostor = Factory.CreateMqttClient();
        try
        {
            Assert.Equal(MqttClientConnectResultCode.NotAuthorized, (await impostor.ConnectAsync(Options("sensor-1", "sensor-2"))).ResultCode);
        }
        catch (MQTTnet.Adapter.MqttConnectingFailedException refused)
        {
            // MQTTnet throws on a refusing CONNACK, naming its code.
            Assert.Contains("NotAuthorized", refused.Message, StringComparison.Ordinal);
        }

        // HTTP publish over mutual TLS: allowed for its own telemetry (the console receives it), 403 with a reason otherwise.
        using var https = Https("sensor-1");
        var allowed = await https.PostAsync($"https://localhost:{httpsPort}/topics/sensors/sensor-1/telemetry?qos=1", new StringContent("""{"t":22.0}"""));
        var answer = JsonDocument.Parse(await allowed.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal("OK", answer.GetProperty("message").GetString());
        Assert.False(string.IsNullOrEmpty(answer.GetProperty("traceId").GetString()));
        await Eventually(() => Has(received, "sensors/sensor-1/telemetry", """{"t":22.0}"""), "the console receives the HTTP publish");

        var denied = await https.PostAsync($"https://localhost:{httpsPort}/topics/sensors/sensor-2/telemetry", new StringContent("""{"t":99}"""));
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Equal("IMPLICIT_DENY", JsonDocument.Parse(await denied.Content.ReadAsStringAsync()).RootElement.GetProperty("decision").GetString());

        // Other data-plane routes are decided too: the shadow statement names the thing by the MQTT client ID, which HTTP lacks.
        var shadow = await https.GetAsync($"https://localhost:{httpsPort}/things/sensor-1/shadow");
        Assert.Equal(HttpStatusCode.Forbidden, shadow.StatusCode);

        // A policy edit takes effect live.
        using (var sensor1 = await ConnectAsync("sensor-1", "sensor-1"))
        {
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await sensor1.PublishAsync(Message("sensors/sensor-1/alerts", "door open"))).ReasonCode);
        }

        var policy = Path.Combine(Quickstart, "DevicePolicy.json");
        File.WriteAllText(policy, File.ReadAllText(policy).Replace("/telemetry\"", "/*\"", StringComparison.Ordinal));
        await Eventually(async () =>
        {
            using var sensor1 = await ConnectAsync("sensor-1", "sensor-1");
            return (await sensor1.PublishAsync(Message("sensors/sensor-1/alerts", "door open"))).IsSuccess;
        }, "after the edit, sensor-1 may publish to sensors/sensor-1/alerts");
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (serveOutput)
            {
                serveOutput.AppendLine(line);
            }
        }
    }

    private X509Certificate2 Certificate(string name) =>
        X509Certificate2.CreateFromPemFile(Path.Combine(Certs, name + ".pem"), Path.Combine(Certs, name + ".key"));

    private MqttClientOptions Options(string certificate, string clientId)
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(Certs, "ca.pem")));
        return new MqttClientOptionsBuilder()
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithCleanSession()
            .WithTcpServer("127.0.0.1", mqttPort)
            .WithTlsOptions(tls => tls.UseTls().WithTargetHost("localhost").WithTrustChain([ca]).WithClientCertificates([Certificate(certificate)]))
            .Build();
    }

    private async Task<IMqttClient> ConnectAsync(string certificate, string clientId)
    {
        var client = Factory.CreateMqttClient();
        var result = await client.ConnectAsync(Options(certificate, clientId));
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        return client;
    }

    private HttpClient Https(string certificate)
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(Certs, "ca.pem")));
        var handler = new HttpClientHandler
        {
            ClientCertificateOptions = ClientCertificateOption.Manual,
            ServerCertificateCustomValidationCallback = (_, server, _, errors) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return server is not null && (errors & ~System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors) == 0 && chain.Build(server);
            },
        };
        handler.ClientCertificates.Add(Certificate(certificate));
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }

    private static MqttApplicationMessage Message(string topic, string payload) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();

    private static bool Has(List<(string Topic, string Payload)> received, string topic, string payload)
    {
        lock (received)
        {
            return received.Contains((topic, payload));
        }
    }

    private async Task Eventually(Func<bool> condition, string what) => await Eventually(() => Task.FromResult(condition()), what);

    private async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within 15 s: {what}\n{Output}");
            await Task.Delay(200);
        }
    }

    private static string RepositoryRoot([CallerFilePath] string path = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "..", "..", ".."));
}
