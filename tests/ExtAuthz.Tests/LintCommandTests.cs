using System.Text.Json;
using System.Text.RegularExpressions;
using ExtAuthz.Commands;
using static ExtAuthz.Tests.CliTestConfig;

namespace ExtAuthz.Tests;

public sealed partial class LintCommandTests : IDisposable
{
    private const string Clean = $$"""
        {
          "Version": "2012-10-17",
          "Statement": [
            {"Effect": "Allow", "Action": "iot:Publish", "Resource": "{{Arn}}topic/sensors/${iot:ClientId}"}
          ]
        }
        """;

    private const string AllowAll = """
        {
          "Version": "2012-10-17",
          "Statement": [
            {"Effect": "Allow", "Action": "iot:*", "Resource": "*"}
          ]
        }
        """;

    private const string MqttWildcard = $$"""
        {
          "Version": "2012-10-17",
          "Statement": [
            {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "{{Arn}}topicfilter/sensors/#"}
          ]
        }
        """;

    private readonly CliTestConfig config = new CliTestConfig().Registry();

    public void Dispose() => config.Dispose();

    [GeneratedRegex(@"^(?<file>[^:]+):(?<line>[0-9]+): (?<severity>error|warning|info) (?<code>[a-z-]+): (?<message>.+)$")]
    private static partial Regex HumanLine();

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public async Task A_clean_configuration_exits_0_with_no_findings()
    {
        config.Policy("DevicePolicy", Clean);

        var (exit, stdout, stderr) = await Run("", "lint", "--config", config.Path);

        Assert.Equal(0, exit);
        Assert.Empty(stdout);
        Assert.Equal("extauthz lint: 0 errors, 0 warnings, 0 infos", stderr.Trim());
    }

    [Fact]
    public async Task An_error_finding_exits_1_in_the_human_format()
    {
        config.Policy("DevicePolicy", AllowAll);

        var (exit, stdout, stderr) = await Run("", "lint", "--config", config.Path);

        Assert.Equal(1, exit);
        var match = HumanLine().Match(Assert.Single(Lines(stdout)));
        Assert.True(match.Success, stdout);
        Assert.Equal(Path.Combine(config.Path, "DevicePolicy.json"), match.Groups["file"].Value);
        Assert.Equal("4", match.Groups["line"].Value);
        Assert.Equal("error", match.Groups["severity"].Value);
        Assert.Equal("overly-permissive", match.Groups["code"].Value);
        Assert.StartsWith("policy DevicePolicy Statement[0] allows iot:*", match.Groups["message"].Value, StringComparison.Ordinal);
        Assert.Equal("extauthz lint: 1 error, 0 warnings, 0 infos", stderr.Trim());
    }

    [Fact]
    public async Task Warnings_exit_0_unless_strict()
    {
        config.Policy("DevicePolicy", MqttWildcard);

        var (exit, stdout, _) = await Run("", "lint", "--config", config.Path);
        var (strictExit, strictStdout, _) = await Run("", "lint", "--strict", "--config", config.Path);

        Assert.Equal(0, exit);
        Assert.Contains(": warning mqtt-wildcard: ", stdout, StringComparison.Ordinal);
        Assert.Equal(1, strictExit);
        Assert.Equal(stdout, strictStdout);
    }

    [Fact]
    public async Task Json_format_lists_findings_with_policy_and_statement()
    {
        config.Policy("DevicePolicy", MqttWildcard);

        var (exit, stdout, stderr) = await Run("", "lint", "--config", config.Path, "--format", "json");

        Assert.Equal(0, exit);
        Assert.Empty(stderr);
        using var document = JsonDocument.Parse(stdout);
        var root = document.RootElement;
        Assert.Equal(["loaded", "errors", "warnings", "infos", "findings"], root.EnumerateObject().Select(p => p.Name));
        Assert.True(root.GetProperty("loaded").GetBoolean());
        Assert.Equal(0, root.GetProperty("errors").GetInt32());
        Assert.Equal(1, root.GetProperty("warnings").GetInt32());
        var finding = Assert.Single(root.GetProperty("findings").EnumerateArray());
        Assert.Equal(["severity", "code", "file", "line", "message", "policy", "statement"], finding.EnumerateObject().Select(p => p.Name));
        Assert.Equal("warning", finding.GetProperty("severity").GetString());
        Assert.Equal("mqtt-wildcard", finding.GetProperty("code").GetString());
        Assert.Equal(Path.Combine(config.Path, "DevicePolicy.json"), finding.GetProperty("file").GetString());
        Assert.Equal(4, finding.GetProperty("line").GetInt32());
        Assert.Equal("DevicePolicy", finding.GetProperty("policy").GetString());
        Assert.Equal(0, finding.GetProperty("statement").GetInt32());
        Assert.Contains("'topicfilter/sensors/#'", finding.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_configuration_that_does_not_load_reports_load_errors_and_exits_1()
    {
        config.Registry(policies: "Missing").Policy("DevicePolicy", Clean);

        var (exit, stdout, stderr) = await Run("", "lint", "--config", config.Path, "--format", "json");
        var (humanExit, humanStdout, humanStderr) = await Run("", "lint", "--config", config.Path);

        Assert.Equal(1, exit);
        using var document = JsonDocument.Parse(stdout);
        Assert.False(document.RootElement.GetProperty("loaded").GetBoolean());
        var finding = Assert.Single(document.RootElement.GetProperty("findings").EnumerateArray());
        Assert.Equal("load-error", finding.GetProperty("code").GetString());
        Assert.Equal(7, finding.GetProperty("line").GetInt32());
        Assert.Contains("policy 'Missing' is not defined", finding.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(stderr);
        Assert.Equal(1, humanExit);
        Assert.Matches(HumanLine(), Assert.Single(Lines(humanStdout)));
        Assert.Contains("(the configuration does not load)", humanStderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_directory_means_lint_could_not_run()
    {
        var (exit, stdout, stderr) = await Run("", "lint", "--config", Path.Combine(config.Path, "nope"));

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Contains("does not exist", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("lint")]
    [InlineData("lint", "--config")]
    [InlineData("lint", "--config", ".", "--format", "xml")]
    [InlineData("lint", "--config", ".", "--bogus")]
    public async Task Command_line_errors_exit_64_with_help(params string[] args)
    {
        var (exit, stdout, stderr) = await Run("", args);

        Assert.Equal(64, exit);
        Assert.Empty(stdout);
        Assert.Contains("extauthz lint --config DIR", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_prints_the_whole_help_text_with_every_code()
    {
        var (exit, stdout, _) = await Run("", "help", "lint");

        Assert.Equal(0, exit);
        Assert.Equal(LintCommand.Help + Environment.NewLine, stdout);
        foreach (var code in typeof(ExtAuthz.Registry.Lint.LintCodes).GetFields().Select(f => (string)f.GetValue(null)!))
        {
            Assert.Contains(code, stdout, StringComparison.Ordinal);
        }

        Assert.Contains("--strict", stdout, StringComparison.Ordinal);
        Assert.Contains("--format human", stdout, StringComparison.Ordinal);
    }
}
