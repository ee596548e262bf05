using System.Net;
using System.Text;
using System.Text.Json;
using Envoy.Service.Auth.V3;
using ExtAuthz.Envoy.Checking;
using ExtAuthz.Envoy.Simulation;
using ExtAuthz.Envoy.Tests.Support;
using ExtAuthz.Serving;
using Google.Protobuf;
using Grpc.Health.V1;

namespace ExtAuthz.Tests.Serving;

/// <summary>The service end to end: CheckRequests built as Envoy builds them, over gRPC, in process and over loopback.</summary>
public sealed class ServiceTests : IDisposable
{
    private readonly CheckFleet fleet = new();
    private readonly string decisionLog = Path.Combine(Path.GetTempPath(), $"extauthz-decisions-{Guid.NewGuid():N}.jsonl");

    public void Dispose()
    {
        fleet.Dispose();
        File.Delete(decisionLog);
    }

    private ServeOptions Options(bool dryRun = false)
    {
        var options = ServeOptions.Parse(["--config", fleet.Directory, "--decision-log", decisionLog]);
        options.DryRun = dryRun;
        return options;
    }

    private EnvoyCheckRequest Publish(string topic) => EnvoyCheckRequest.Http("POST", "/topics/" + topic).WithClientCertificate(fleet.Sensor1);

    [Fact]
    public async Task In_process_a_publish_is_allowed_and_another_denied_with_a_json_body()
    {
        await using var service = await RunningService.InProcessAsync(Options());

        var allowed = await service.Client.CheckAsync(Publish("sensors/sensor-1/temp").Build());
        var denied = await service.Client.CheckAsync(Publish("sensors/sensor-2/temp").Build());

        Assert.Equal(0, allowed.Status.Code);
        Assert.Contains(allowed.OkResponse.Headers, h => h.Header.Key == IdentityHeaders.Principal && h.Header.Value == CheckFleet.Id(fleet.Sensor1));
        Assert.Equal(7, denied.Status.Code);
        Assert.Equal(403, (int)denied.DeniedResponse.Status.Code);
        Assert.Equal("IMPLICIT_DENY", JsonDocument.Parse(denied.DeniedResponse.Body).RootElement.GetProperty("decision").GetString());
    }

    [Fact]
    public async Task Bytes_that_are_not_a_CheckRequest_get_an_invalid_request_answer_not_a_grpc_error()
    {
        await using var service = await RunningService.InProcessAsync(Options());
        var raw = new Grpc.Core.Method<byte[], CheckResponse>(Grpc.Core.MethodType.Unary, global::Envoy.Service.Auth.V3.Authorization.Descriptor.FullName, "Check",
            Grpc.Core.Marshallers.Create(bytes => bytes, bytes => bytes), Grpc.Core.Marshallers.Create(r => r.ToByteArray(), CheckResponse.Parser.ParseFrom));
        var whole = Publish("sensors/sensor-1/temp").Build().ToByteArray();

        foreach (var bytes in new[] { whole[..^5], [0xFF, 0xFF, 0xFF], [.. whole, 0x0A, 0x03, 0x0A, 0x01, 0xC0] })
        {
            var answer = await service.Channel.CreateCallInvoker().AsyncUnaryCall(raw, null, new Grpc.Core.CallOptions(), bytes);

            Assert.Equal(3, answer.Status.Code);
            Assert.Equal(400, (int)answer.DeniedResponse.Status.Code);
            var body = JsonDocument.Parse(answer.DeniedResponse.Body).RootElement;
            Assert.Equal("INVALID_REQUEST", body.GetProperty("decision").GetString());
            Assert.StartsWith("the CheckRequest is not valid protobuf: ", body.GetProperty("reason").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Over_loopback_all_three_listeners_are_answered()
    {
        global::Envoy.Service.Auth.V3.CheckResponse mqtt, mtls, https, revoked;
        await using (var service = await RunningService.OnLoopbackAsync(Options()))
        {
            mqtt = await service.Client.CheckAsync(EnvoyCheckRequest.Network().WithClientCertificate(fleet.Sensor1).Build());
            mtls = await service.Client.CheckAsync(Publish("sensors/sensor-1/temp").Build());
            https = await service.Client.CheckAsync(EnvoyCheckRequest.Http("GET", "/things/sensor-1/shadow")
                .WithListenerPort(EnvoyCheckRequest.HttpsPort).WithClientCertificate(fleet.Sensor1).Build());
            revoked = await service.Client.CheckAsync(EnvoyCheckRequest.Network().WithClientCertificate(fleet.Revoked).Build());
        }

        Assert.Equal([0, 0, 0, 16], new[] { mqtt, mtls, https, revoked }.Select(r => r.Status.Code));
        Assert.Equal("mqtt", mqtt.DynamicMetadata.Fields["listener"].StringValue);
        Assert.Equal("mqtt", revoked.DynamicMetadata.Fields["listener"].StringValue);

        // Allowed HTTP answers carry a lean metadata; the decision log, by decision ID, names their listeners.
        var listeners = (await File.ReadAllLinesAsync(decisionLog)).Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(l => l.GetProperty("decisionId").GetString()!, l => l.GetProperty("listener").GetString());
        Assert.Equal("mtls", listeners[mtls.OkResponse.Headers.Single(h => h.Header.Key == IdentityHeaders.DecisionId).Header.Value]);
        Assert.Equal("https", listeners[https.OkResponse.Headers.Single(h => h.Header.Key == IdentityHeaders.DecisionId).Header.Value]);
    }

    [Fact]
    public async Task Admin_paths_answer_only_on_the_admin_port_and_grpc_only_on_the_grpc_port()
    {
        await using var service = await RunningService.OnLoopbackAsync(Options());
        using var grpcPort = new HttpClient { BaseAddress = service.GrpcAddress };

        Assert.Equal(HttpStatusCode.OK, (await service.Admin.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
        using var overGrpcPort = new HttpRequestMessage(HttpMethod.Get, "/healthz") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        Assert.Equal(HttpStatusCode.NotFound, (await grpcPort.SendAsync(overGrpcPort)).StatusCode);

        using var checkOnAdmin = new HttpRequestMessage(HttpMethod.Post, "/envoy.service.auth.v3.Authorization/Check");
        Assert.Equal(HttpStatusCode.NotFound, (await service.Admin.SendAsync(checkOnAdmin)).StatusCode);
    }

    [Fact]
    public async Task The_admin_endpoints_report_health_readiness_status_and_metrics()
    {
        await using var service = await RunningService.OnLoopbackAsync(Options());
        await service.Client.CheckAsync(Publish("sensors/sensor-1/temp").Build());
        await service.Client.CheckAsync(Publish("sensors/sensor-1/secret").Build());

        Assert.Equal("ok\n", await service.Admin.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
        Assert.StartsWith("ready: configuration generation 1", await service.Admin.GetStringAsync(new Uri("/readyz", UriKind.Relative)), StringComparison.Ordinal);
        var status = JsonDocument.Parse(await service.Admin.GetStringAsync(new Uri("/status", UriKind.Relative))).RootElement;
        Assert.True(status.GetProperty("ready").GetBoolean());
        Assert.Equal(1, status.GetProperty("generation").GetInt64());
        Assert.Equal(2, status.GetProperty("certificates").GetInt32());

        var metrics = await service.Admin.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("extauthz_checks_total{", metrics, StringComparison.Ordinal);
        Assert.Contains("decision=\"ALLOWED\"", metrics, StringComparison.Ordinal);
        Assert.Contains("decision=\"EXPLICIT_DENY\"", metrics, StringComparison.Ordinal);
        Assert.Contains("extauthz_registry_generation 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_grpc_health_service_reports_serving_once_loaded()
    {
        await using var service = await RunningService.OnLoopbackAsync(Options());

        var health = await new Health.HealthClient(service.Channel).CheckAsync(new HealthCheckRequest());

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }

    [Fact]
    public async Task Test_authorization_over_http_speaks_AWSs_shapes_and_refuses_bad_requests()
    {
        await using var service = await RunningService.InProcessAsync(Options());
        var request = $$"""
            {"principal": "{{CheckFleet.Id(fleet.Sensor1)}}",
             "authInfos": [{"actionType": "PUBLISH", "resources": ["{{CheckFleet.Arn}}topic/sensors/sensor-1/temp", "{{CheckFleet.Arn}}topic/sensors/sensor-1/secret"]}]}
            """;

        using var ok = await service.Admin.PostAsync(new Uri("/test-authorization", UriKind.Relative), new StringContent(request, Encoding.UTF8, "application/json"));
        using var bad = await service.Admin.PostAsync(new Uri("/test-authorization", UriKind.Relative), new StringContent("{\"authInfos\": 3}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var results = JsonDocument.Parse(await ok.Content.ReadAsStringAsync()).RootElement.GetProperty("authResults");
        Assert.Equal(["ALLOWED", "EXPLICIT_DENY"], results.EnumerateArray().Select(r => r.GetProperty("authDecision").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("authInfos", JsonDocument.Parse(await bad.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_policy_change_takes_effect_and_a_broken_one_leaves_the_last_good_configuration_serving()
    {
        await using var service = await RunningService.InProcessAsync(Options());
        var request = Publish("sensors/sensor-1/temp").Build();
        Assert.Equal(0, (await service.Client.CheckAsync(request)).Status.Code);

        var policy = Path.Combine(fleet.Directory, "DevicePolicy.json");
        var original = await File.ReadAllTextAsync(policy);
        await File.WriteAllTextAsync(policy, original.Replace("\"Sid\": \"PublishOwnTopics\", \"Effect\": \"Allow\"", "\"Sid\": \"PublishOwnTopics\", \"Effect\": \"Deny\"", StringComparison.Ordinal));
        await WaitForAsync(async () => (await service.Client.CheckAsync(request)).Status.Code == 7);

        await File.WriteAllTextAsync(policy, "{ not a policy");
        await WaitForAsync(async () => JsonDocument.Parse(await service.Admin.GetStringAsync(new Uri("/status", UriKind.Relative))).RootElement.GetProperty("refusing").GetBoolean());
        Assert.Equal(7, (await service.Client.CheckAsync(request)).Status.Code);
        Assert.Equal(HttpStatusCode.OK, (await service.Admin.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_configuration_that_never_loaded_makes_the_service_unready_and_every_check_unavailable()
    {
        await File.WriteAllTextAsync(Path.Combine(fleet.Directory, "DevicePolicy.json"), "{ broken");
        await using var service = await RunningService.InProcessAsync(Options());

        var readyz = await service.Admin.GetAsync(new Uri("/readyz", UriKind.Relative));
        var answer = await service.Client.CheckAsync(Publish("sensors/sensor-1/temp").Build());

        Assert.Equal(HttpStatusCode.ServiceUnavailable, readyz.StatusCode);
        Assert.Contains("DevicePolicy.json", await readyz.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(14, answer.Status.Code);
    }

    [Fact]
    public async Task Dry_run_allows_and_the_decision_log_records_the_truth()
    {
        await using (var service = await RunningService.InProcessAsync(Options(dryRun: true)))
        {
            var answer = await service.Client.CheckAsync(Publish("sensors/sensor-2/temp").Build());
            Assert.Equal(0, answer.Status.Code);
        }

        var line = JsonDocument.Parse((await File.ReadAllLinesAsync(decisionLog)).Single()).RootElement;
        Assert.Equal("IMPLICIT_DENY", line.GetProperty("decision").GetString());
        Assert.False(line.GetProperty("enforced").GetBoolean());
        Assert.Equal("iot:Publish", line.GetProperty("action").GetString());
    }

    [Fact]
    public async Task Cognito_tokens_are_verified_by_the_running_service()
    {
        var options = Options();
        options.TokenQueryParameter = "token";
        await using var service = await RunningService.InProcessAsync(options);
        var topic = $"/topics/apps/{CheckFleet.AppIdentity}/status";

        var header = await service.Client.CheckAsync(EnvoyCheckRequest.Http("POST", topic).WithListenerPort(EnvoyCheckRequest.HttpsPort)
            .WithHeader("authorization", "Bearer " + fleet.CognitoToken()).Build());
        var query = await service.Client.CheckAsync(EnvoyCheckRequest.WebSocket("/mqtt?token=" + Uri.EscapeDataString(fleet.CognitoToken()))
            .WithListenerPort(EnvoyCheckRequest.HttpsPort).Build());
        var forged = await service.Client.CheckAsync(EnvoyCheckRequest.Http("POST", topic).WithListenerPort(EnvoyCheckRequest.HttpsPort)
            .WithHeader("authorization", "Bearer " + fleet.CognitoToken()[..^6] + "AAAAAA").Build());

        Assert.Equal([0, 0, 16], new[] { header, query, forged }.Select(r => r.Status.Code));
    }

    [Fact]
    public async Task The_check_service_answers_on_a_unix_socket()
    {
        var socket = Path.Combine(Path.GetTempPath(), $"extauthz-{Guid.NewGuid():N}.sock");
        try
        {
            await using var service = await RunningService.OnUnixSocketAsync(Options(), socket);
            Assert.Equal(0, (await service.Client.CheckAsync(Publish("sensors/sensor-1/temp").Build())).Status.Code);
        }
        finally
        {
            File.Delete(socket);
        }
    }

    [Fact]
    public async Task Without_a_configuration_the_embedded_defaults_serve_and_refuse_every_device()
    {
        await using var service = await RunningService.InProcessAsync(ServeOptions.Parse(["--decision-log", "off"]));

        var answer = await service.Client.CheckAsync(Publish("sensors/sensor-1/temp").Build());
        var status = JsonDocument.Parse(await service.Admin.GetStringAsync(new Uri("/status", UriKind.Relative))).RootElement;

        Assert.Equal(16, answer.Status.Code);
        Assert.Contains("not registered", answer.Status.Message, StringComparison.Ordinal);
        Assert.True(status.GetProperty("embeddedDefaults").GetBoolean());
    }

    [Fact]
    public async Task Extauthz_check_asks_the_running_service_as_Envoy_would()
    {
        await using var service = await RunningService.OnLoopbackAsync(Options());
        var server = service.GrpcAddress!.Authority;
        var certificate = Path.Combine(fleet.Directory, "sensor-1.pem");

        var allowed = new StringWriter();
        var allowedExit = await Cli.RunAsync(["check", "--server", server, "--cert", certificate, "--method", "POST", "--path", "/topics/sensors/sensor-1/temp"],
            TextReader.Null, allowed, TextWriter.Null);
        var denied = new StringWriter();
        var deniedExit = await Cli.RunAsync(["check", "--server", server, "--cert", certificate, "--method", "POST", "--path", "/topics/sensors/sensor-1/secret"],
            TextReader.Null, denied, TextWriter.Null);
        var network = await Cli.RunAsync(["check", "--server", server, "--cert", certificate, "--network"], TextReader.Null, TextWriter.Null, TextWriter.Null);

        Assert.Equal(0, allowedExit);
        Assert.StartsWith("ALLOWED", allowed.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, deniedExit);
        Assert.Contains("EXPLICIT_DENY", denied.ToString(), StringComparison.Ordinal);
        Assert.Contains("NoSecrets", denied.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, network);
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 15 seconds");
            await Task.Delay(100);
        }
    }
}
