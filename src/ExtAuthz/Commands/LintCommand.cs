using System.Text.Json;
using System.Text.Json.Serialization;
using ExtAuthz.Registry.Lint;

namespace ExtAuthz.Commands;

/// <summary><c>extauthz lint</c>: checks configuration directories before they ship (in CI).</summary>
internal static class LintCommand
{
    public const string Help = """
        extauthz lint --config DIR [--config DIR...] [--format human|json] [--strict]

        Checks a configuration before it ships. Reports everything loading would refuse (each as an
        error, code load-error), and when it loads, what AWS only finds after deployment (Device
        Defender's audit) or refuses at its API:

          error    load-error                 the configuration would be refused (file, line, reason)
          error    overly-permissive          Allow * or iot:* (or NotAction) on every resource, no condition
                                              (a warning for IAM policies, which Cognito may scope down)
          warning  connect-any-client         Allow iot:Connect on client/* or * with no condition tying the
                                              client to the principal (thing, client ID, certificate, identity)
          warning  unbound-client-id          Allow iot:Connect on client/${iot:ClientId} (any client ID
                                              matches) without an IsAttached or thing-name condition
          warning  mqtt-wildcard              MQTT '+' or '#' in a policy resource: literal characters there
          error    deny-subtree               Deny iot:Subscribe on topicfilter/a/b/* while a broader filter
                                              (a/#) is allowed and iot:Receive on topic/a/b/... is not denied
          error    unresolvable-variable      a variable no request can supply: unknown key, multi-valued key,
                                              or credentials-iot: in an AWS IoT policy
          error    variable-without-version   ${...} under a missing or 2008-10-17 Version: literal text
          warning  policy-too-large           over 2,048 characters excluding whitespace (AWS's limit)
          warning  too-many-policies          over 10 policies attached to a certificate or Cognito identity
          warning  too-many-versions          over 5 versions of a policy
          info     unattached-policy          a policy attached to nothing
          info     shadow-policy              a policy in shadow mode (evaluated and logged, never enforced)

        Every version of every AWS IoT policy is checked (a rollback makes an old version current), and
        IAM policies too; deny-subtree and unattached-policy look at the default versions.

        --format human (default) writes one line per finding, ordered by file and line:
          FILE:LINE: SEVERITY CODE: MESSAGE
        (FILE: SEVERITY CODE: MESSAGE when there is no line), and a count on standard error.
        --format json writes one object:
          { "loaded": true, "errors": 0, "warnings": 1, "infos": 0,
            "findings": [ {"severity": "warning", "code": "...", "file": "...", "line": 12, "message": "...",
                           "policy": "P", "version": "2", "statement": 0, "sid": "..."} ] }
        (policy, version, statement and sid only when they apply; statement is 0-based).

        Exit status: 0 when there is no error finding (with --strict: no error or warning finding);
        1 when there is; 2 when lint could not run (a --config directory does not exist);
        64 on a command-line error.
        """;

    private const string Name = "extauthz lint";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        IndentSize = 2,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args is ["--help" or "-h"])
        {
            await stdout.WriteLineAsync(Help).ConfigureAwait(false);
            return Cli.ExitOk;
        }

        var configs = new List<string>();
        var format = "human";
        var strict = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--config" when i + 1 < args.Length:
                    configs.Add(args[++i]);
                    break;
                case "--format" when i + 1 < args.Length && args[i + 1] is "human" or "json":
                    format = args[++i];
                    break;
                case "--strict":
                    strict = true;
                    break;
                default:
                    var problem = args[i] is "--config" or "--format" ? $"{args[i]} needs a value{(args[i] == "--format" ? " (human or json)" : "")}" : $"unknown argument '{args[i]}'";
                    await stderr.WriteLineAsync($"{Name}: {problem}\n\n{Help}").ConfigureAwait(false);
                    return Cli.ExitUsage;
            }
        }

        if (configs.Count == 0)
        {
            await stderr.WriteLineAsync($"{Name}: --config DIR is required\n\n{Help}").ConfigureAwait(false);
            return Cli.ExitUsage;
        }

        if (configs.FirstOrDefault(c => !Directory.Exists(c)) is { } missing)
        {
            await stderr.WriteLineAsync($"{Name}: cannot lint: the configuration directory {missing} does not exist").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }

        var report = PolicyLinter.Lint(configs);
        if (format == "json")
        {
            var output = new JsonOutput(report.Loaded, report.Errors, report.Warnings, report.Infos, report.Findings);
            await stdout.WriteLineAsync(JsonSerializer.Serialize(output, Json)).ConfigureAwait(false);
        }
        else
        {
            foreach (var finding in report.Findings)
            {
                await stdout.WriteLineAsync(finding.ToString()).ConfigureAwait(false);
            }

            await stderr.WriteLineAsync($"{Name}: {Count(report.Errors, "error")}, {Count(report.Warnings, "warning")}, {Count(report.Infos, "info")}" +
                (report.Loaded ? "" : " (the configuration does not load)")).ConfigureAwait(false);
        }

        return report.Errors > 0 || strict && report.Warnings > 0 ? 1 : Cli.ExitOk;
    }

    private static string Count(int n, string what) => $"{n} {what}{(n == 1 ? "" : "s")}";

    private sealed record JsonOutput(
        [property: JsonPropertyName("loaded")] bool Loaded,
        [property: JsonPropertyName("errors")] int Errors,
        [property: JsonPropertyName("warnings")] int Warnings,
        [property: JsonPropertyName("infos")] int Infos,
        [property: JsonPropertyName("findings")] IReadOnlyList<LintFinding> Findings);
}
