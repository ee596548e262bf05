using System.Runtime.CompilerServices;
using System.Text.Json;

namespace ExtAuthz.Tests;

public sealed class EvalCommandTests
{
    private const string PublishOwnTopic = """
        {"Version": "2012-10-17", "Statement": [
          {"Sid": "Own", "Effect": "Allow", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/t/${iot:ClientId}"},
          {"Effect": "Deny", "Action": "iot:Publish", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/t/blocked"}]}
        """;

    private static async Task<(int Exit, string Stdout, string Stderr)> Run(string stdin, params string[] args)
    {
        using var input = new StringReader(stdin);
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await Cli.RunAsync(args, input, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    private static string Input(string requests, string? boundary = null) =>
        $$"""{"policies": [{"name": "p1", "document": {{PublishOwnTopic}}}], {{(boundary is null ? "" : $"\"boundaryPolicies\": {boundary},")}} "requests": {{requests}}}""";

    private static string SourceFile([CallerFilePath] string path = "") => path;

    private static JsonElement[] Results(string stdout) =>
        [.. JsonDocument.Parse(stdout).RootElement.GetProperty("results").EnumerateArray()];

    [Fact]
    public async Task Writes_one_result_per_request_in_order_with_deciding_statements()
    {
        var (exit, stdout, stderr) = await Run(Input("""
            [{"action": "iot:Publish", "resource": "arn:aws:iot:us-east-1:123456789012:topic/t/dev1", "context": {"iot:ClientId": "dev1"}},
             {"action": "iot:Publish", "resource": "arn:aws:iot:us-east-1:123456789012:topic/t/dev2", "context": {"iot:ClientId": "dev1"}},
             {"action": "iot:Publish", "resource": "arn:aws:iot:us-east-1:123456789012:topic/t/blocked", "context": {"iot:ClientId": "blocked"}}]
            """), "eval", "-");

        Assert.Equal(0, exit);
        Assert.Empty(stderr);
        var results = Results(stdout);
        Assert.Equal(3, results.Length);
        Assert.Equal("ALLOWED", results[0].GetProperty("decision").GetString());
        var allowed = Assert.Single(results[0].GetProperty("allowed").EnumerateArray());
        Assert.Equal("p1", allowed.GetProperty("policy").GetString());
        Assert.Equal(0, allowed.GetProperty("statement").GetInt32());
        Assert.Equal("Own", allowed.GetProperty("sid").GetString());
        Assert.Equal("IMPLICIT_DENY", results[1].GetProperty("decision").GetString());
        Assert.Equal("EXPLICIT_DENY", results[2].GetProperty("decision").GetString());
        var deny = Assert.Single(results[2].GetProperty("explicitDeny").EnumerateArray());
        Assert.Equal(1, deny.GetProperty("statement").GetInt32());
        Assert.False(deny.TryGetProperty("sid", out _));
        Assert.Single(results[2].GetProperty("allowed").EnumerateArray());
    }

    [Fact]
    public async Task Reports_missing_context_values()
    {
        var (exit, stdout, _) = await Run(Input("""[{"action": "iot:Publish", "resource": "arn:aws:iot:us-east-1:123456789012:topic/t/dev1"}]"""), "eval", "-");

        Assert.Equal(0, exit);
        var result = Assert.Single(Results(stdout));
        Assert.Equal("IMPLICIT_DENY", result.GetProperty("decision").GetString());
        Assert.Equal(["iot:ClientId"], result.GetProperty("missingContextValues").EnumerateArray().Select(v => v.GetString()));
    }

    [Fact]
    public async Task Boundary_policies_intersect_and_are_marked()
    {
        const string request = """[{"action": "iot:Publish", "resource": "arn:aws:iot:us-east-1:123456789012:topic/t/dev1", "context": {"iot:ClientId": "dev1"}}]""";
        var allowAll = """[{"name": "b", "document": "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"iot:*\",\"Resource\":\"*\"}}"}]""";

        var (_, withBoundary, _) = await Run(Input(request, allowAll), "eval", "-");
        var (_, emptyBoundary, _) = await Run(Input(request, "[]"), "eval", "-");

        var result = Assert.Single(Results(withBoundary));
        Assert.Equal("ALLOWED", result.GetProperty("decision").GetString());
        Assert.Contains(result.GetProperty("allowed").EnumerateArray(), m => m.TryGetProperty("boundary", out var b) && b.GetBoolean());
        Assert.Equal("IMPLICIT_DENY", Assert.Single(Results(emptyBoundary)).GetProperty("decision").GetString());
    }

    [Fact]
    public async Task Accepts_bare_documents_and_documents_as_text_and_names_them_by_place()
    {
        var asText = JsonSerializer.Serialize(PublishOwnTopic);
        var input = $$$"""
            {"policies": [{{{PublishOwnTopic}}}, {"document": {{{asText}}}}],
             "requests": [{"action": "IOT:PUBLISH", "resource": "arn:aws:iot:us-east-1:123456789012:topic/t/d", "context": {"IOT:CLIENTID": "d"}}]}
            """;

        var (exit, stdout, _) = await Run(input, "eval", "-");

        Assert.Equal(0, exit);
        var names = Assert.Single(Results(stdout)).GetProperty("allowed").EnumerateArray().Select(m => m.GetProperty("policy").GetString());
        Assert.Equal(["policies[0]", "policies[1]"], names);
    }

    [Fact]
    public async Task Reads_a_file()
    {
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(path, Input("""[{"action": "iot:Publish", "resource": "arn:aws:iot:us-east-1:123456789012:topic/t/x", "context": {"iot:ClientId": "x"}}]"""));
            var (exit, stdout, _) = await Run("", "eval", path);
            Assert.Equal(0, exit);
            Assert.Equal("ALLOWED", Assert.Single(Results(stdout)).GetProperty("decision").GetString());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[]", "must be a JSON object")]
    [InlineData("""{"requests": []}""", "missing \"policies\"")]
    [InlineData("""{"policies": [], "requests": [], "extra": 1}""", "unknown field \"extra\"")]
    [InlineData("""{"policies": [], "requests": [{"action": "iot:Publish"}]}""", "requests[0].resource must be a non-empty string")]
    [InlineData("""{"policies": [], "requests": [{"action": "iot:Publish", "resource": "r", "context": {"k": 1}}]}""", "requests[0].context[\"k\"] must be a string or an array of strings")]
    [InlineData("""{"policies": [], "requests": [{"action": "iot:Publish", "resource": "r", "context": {"k": [1]}}]}""", "array items must be strings")]
    [InlineData("""{"policies": [{"name": "a", "document": {"Statement": []}}], "requests": []}""", "a: Statement (line 1, column 15): Statement is empty")]
    [InlineData("""{"policies": [{"name": "a", "document": "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"iot:*\",\"Resource\":\"*\",}}"}], "requests": []}""", "a: line 1, column 64: trailing comma")]
    [InlineData("""{"policies": [{"name": "a", "document": 5}], "requests": []}""", "policies[0].document must be a policy object or its JSON text")]
    [InlineData("""{"policies": [{"name": "a", "document": {"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}}, {"name": "a", "document": {}}], "requests": []}""", "policies[1]: the policy name \"a\" is used twice")]
    [InlineData("""{"policies": [], "policies": [], "requests": []}""", "not valid JSON")]
    public async Task Refuses_malformed_input_with_a_reason_and_no_output(string input, string reason)
    {
        var (exit, stdout, stderr) = await Run(input, "eval", "-");

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Contains(reason, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_file_is_an_input_error()
    {
        var (exit, stdout, stderr) = await Run("", "eval", "/nonexistent/extauthz-input.json");

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Contains("cannot read /nonexistent/extauthz-input.json", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new string[0], 64)]
    [InlineData(new[] { "frobnicate" }, 64)]
    [InlineData(new[] { "eval" }, 64)]
    [InlineData(new[] { "eval", "a", "b" }, 64)]
    [InlineData(new[] { "help" }, 0)]
    [InlineData(new[] { "help", "eval" }, 0)]
    [InlineData(new[] { "eval", "--help" }, 0)]
    public async Task Usage_errors_and_help(string[] args, int expectedExit)
    {
        var (exit, stdout, stderr) = await Run("", args);

        Assert.Equal(expectedExit, exit);
        Assert.Contains("extauthz", expectedExit == 0 ? stdout : stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_example_in_the_readme_runs()
    {
        var root = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(SourceFile())!, "..", ".."));
        var (exit, stdout, _) = await Run("", "eval", Path.Combine(root, "examples", "eval", "device-policy.json"));

        Assert.Equal(0, exit);
        Assert.Equal(["ALLOWED", "ALLOWED", "IMPLICIT_DENY", "EXPLICIT_DENY", "IMPLICIT_DENY"],
            Results(stdout).Select(r => r.GetProperty("decision").GetString()));
    }
}
