using System.Text.Json;
using ExtAuthz.Commands;
using static ExtAuthz.Tests.CliTestConfig;

namespace ExtAuthz.Tests;

public sealed class TestAuthorizationCommandTests : IDisposable
{
    private const string DevicePolicy = $$"""
        {"Version": "2012-10-17", "Statement": [
          {"Effect": "Allow", "Action": "iot:Connect", "Resource": "{{Arn}}client/${iot:Connection.Thing.ThingName}"},
          {"Effect": "Allow", "Action": "iot:Publish", "Resource": "{{Arn}}topic/sensors/${iot:Connection.Thing.ThingName}/*"},
          {"Effect": "Deny", "Action": "iot:Publish", "Resource": "{{Arn}}topic/sensors/*/firmware"}]}
        """;

    private readonly CliTestConfig config = new CliTestConfig().Registry().Policy("DevicePolicy", DevicePolicy);

    public void Dispose() => config.Dispose();

    private static JsonElement[] Results(string stdout) =>
        [.. JsonDocument.Parse(stdout).RootElement.GetProperty("authResults").EnumerateArray()];

    [Fact]
    public async Task Flags_build_the_request_and_stdout_is_aws_response()
    {
        var (exit, stdout, stderr) = await Run("", "test-authorization", "--config", config.Path,
            "--principal", $"{Arn}cert/{config.CertificateId}", "--client-id", "sensor-1",
            "--action-type", "CONNECT", "--resource", $"{Arn}client/sensor-1",
            "--action-type", "PUBLISH", "--resource", $"{Arn}topic/sensors/sensor-1/data", "--resource", $"{Arn}topic/sensors/sensor-1/firmware");

        Assert.Equal(0, exit);
        Assert.Empty(stderr);
        var results = Results(stdout);
        Assert.Equal(["ALLOWED", "ALLOWED", "EXPLICIT_DENY"], results.Select(r => r.GetProperty("authDecision").GetString()));
        Assert.Equal(["authInfo", "allowed", "denied", "authDecision", "missingContextValues"], results[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal("PUBLISH", results[2].GetProperty("authInfo").GetProperty("actionType").GetString());
        Assert.Equal($"{Arn}topic/sensors/sensor-1/firmware", results[2].GetProperty("authInfo").GetProperty("resources")[0].GetString());
        var deny = results[2].GetProperty("denied").GetProperty("explicitDeny").GetProperty("policies")[0];
        Assert.Equal("DevicePolicy", deny.GetProperty("policyName").GetString());
        Assert.Equal($"{Arn}policy/DevicePolicy", deny.GetProperty("policyArn").GetString());
        Assert.Equal(0, results[2].GetProperty("denied").GetProperty("implicitDeny").GetProperty("policies").GetArrayLength());
    }

    [Fact]
    public async Task Reads_the_request_from_stdin()
    {
        var request = $$"""
            {"principal": "{{config.CertificateId}}",
             "authInfos": [{"actionType": "PUBLISH", "resources": ["{{Arn}}topic/sensors/sensor-1/data"]}]}
            """;

        var (exit, stdout, _) = await Run(request, "test-authorization", "--config", config.Path);

        Assert.Equal(0, exit);
        var result = Assert.Single(Results(stdout));
        Assert.Equal("IMPLICIT_DENY", result.GetProperty("authDecision").GetString());
        Assert.Equal("iot:Connection.Thing.ThingName", result.GetProperty("missingContextValues")[0].GetString());
        Assert.Equal("DevicePolicy", result.GetProperty("denied").GetProperty("implicitDeny").GetProperty("policies")[0].GetProperty("policyName").GetString());
    }

    [Fact]
    public async Task Reads_the_request_from_a_file()
    {
        var file = Path.GetTempFileName();
        File.WriteAllText(file, $$"""
            {"principal": "{{config.CertificateId}}", "clientId": "sensor-1", "policyNamesToSkip": ["DevicePolicy"],
             "authInfos": [{"actionType": "CONNECT", "resources": ["{{Arn}}client/sensor-1"]}]}
            """);

        var (exit, stdout, stderr) = await Run("", "test-authorization", "--config", config.Path, "--request", file);
        File.Delete(file);

        Assert.True(exit == 0, stderr);
        Assert.Equal("IMPLICIT_DENY", Assert.Single(Results(stdout)).GetProperty("authDecision").GetString());
    }

    [Fact]
    public async Task A_refused_principal_exits_2_with_the_reason_and_no_output()
    {
        config.Registry(status: "REVOKED");

        var (exit, stdout, stderr) = await Run("", "test-authorization", "--config", config.Path,
            "--principal", config.CertificateId, "--action-type", "CONNECT", "--resource", $"{Arn}client/sensor-1");

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Contains($"principal '{config.CertificateId}' is refused before any policy is evaluated: certificate {config.CertificateId} is REVOKED, not ACTIVE", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"principal\": ", "the request is not valid JSON")]
    [InlineData("{\"principal\": \"x\", \"authInfos\": [{\"actionType\": \"DELETE\", \"resources\": [\"arn:aws:iot:us-east-1:123456789012:client/x\"]}]}", "actionType must be one of CONNECT, PUBLISH, SUBSCRIBE, RECEIVE")]
    [InlineData("{\"principal\": \"x\", \"authInfo\": []}", "unknown field \"authInfo\"")]
    public async Task Bad_requests_exit_2(string request, string message)
    {
        var (exit, stdout, stderr) = await Run(request, "test-authorization", "--config", config.Path);

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_configuration_that_does_not_load_exits_2_with_every_error()
    {
        config.Policy("DevicePolicy", "{\"Version\": \"2012-10-17\"}");

        var (exit, stdout, stderr) = await Run("", "test-authorization", "--config", config.Path,
            "--principal", config.CertificateId, "--action-type", "CONNECT", "--resource", $"{Arn}client/sensor-1");

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Contains("the configuration does not load:", stderr, StringComparison.Ordinal);
        Assert.Contains("DevicePolicy.json:1:1: DevicePolicy", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("test-authorization")]
    [InlineData("test-authorization", "--config")]
    [InlineData("test-authorization", "--config", ".", "--bogus")]
    [InlineData("test-authorization", "--config", ".", "--resource", "arn:aws:iot:us-east-1:123456789012:topic/a")]
    [InlineData("test-authorization", "--config", ".", "--client-id", "c")]
    [InlineData("test-authorization", "--config", ".", "--principal", "p", "--request", "r.json")]
    public async Task Command_line_errors_exit_64_with_help(params string[] args)
    {
        var (exit, stdout, stderr) = await Run("", args);

        Assert.Equal(64, exit);
        Assert.Empty(stdout);
        Assert.Contains("extauthz test-authorization --config DIR", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_prints_the_whole_help_text()
    {
        var (exit, stdout, _) = await Run("", "help", "test-authorization");
        var (flagExit, flagStdout, _) = await Run("", "test-authorization", "--help");

        Assert.Equal(0, exit);
        Assert.Equal(TestAuthorizationCommand.Help + Environment.NewLine, stdout);
        Assert.Equal(0, flagExit);
        Assert.Equal(stdout, flagStdout);
        foreach (var flag in new[] { "--config", "--request", "--principal", "--client-id", "--action-type", "--resource", "--cognito-identity-pool-id",
                     "--unauthenticated", "--policy-names-to-add", "--policy-names-to-skip", "cognitoAuthenticated", "Exit status" })
        {
            Assert.Contains(flag, stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Usage_lists_the_command()
    {
        var (_, stdout, _) = await Run("", "help");

        Assert.Contains("extauthz test-authorization --config DIR...", stdout, StringComparison.Ordinal);
        Assert.Contains("'extauthz help test-authorization'", stdout, StringComparison.Ordinal);
    }
}
