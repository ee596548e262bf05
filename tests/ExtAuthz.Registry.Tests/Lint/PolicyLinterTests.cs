using ExtAuthz.Registry.Lint;
using ExtAuthz.Registry.Tests.Support;

namespace ExtAuthz.Registry.Tests.Lint;

/// <summary>Each lint check fires on the mistake it is for and stays quiet on the correct form.</summary>
public sealed class PolicyLinterTests : IDisposable
{
    private const string Arn = "arn:aws:iot:us-east-1:123456789012:";
    private const string Identity = "us-east-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

    private readonly TempConfigDirectory directory = new();

    public void Dispose() => directory.Dispose();

    private static string Statement(string effect, string action, string resource, string? condition = null) =>
        $$"""{"Effect": "{{effect}}", "Action": "{{action}}", "Resource": "{{resource}}"{{(condition is null ? "" : $", \"Condition\": {condition}")}}}""";

    private static string Document(params string[] statements) =>
        "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    " + string.Join(",\n    ", statements) + "\n  ]\n}\n";

    /// <summary>Writes P.json (attached to a certificate, so it is not unattached) plus any extra registry YAML, and lints.</summary>
    private LintReport Lint(string policy, string extraYaml = "", string policyName = "P")
    {
        directory.Write($"{policyName}.json", policy);
        using var certificate = TestPki.CreateDevice("CN=device");
        directory.Write("device.pem", TestPki.ToPem(certificate));
        directory.Write("registry.yaml", $"""
            account: "123456789012"
            region: us-east-1
            certificates:
              - name: device
                pemFile: device.pem
                policies: [{policyName}]
            {extraYaml}
            """);
        return PolicyLinter.Lint([directory.Path]);
    }

    private static LintFinding Has(LintReport report, string code, LintSeverity severity)
    {
        var finding = report.Findings.FirstOrDefault(f => f.Code == code);
        Assert.True(finding is not null, $"expected {code} among:\n{string.Join('\n', report.Findings)}");
        Assert.Equal(severity, finding!.Severity);
        return finding;
    }

    private static void None(LintReport report, string code) =>
        Assert.True(report.Findings.All(f => f.Code != code), $"expected no {code} among:\n{string.Join('\n', report.Findings)}");

    [Fact]
    public void Load_errors_are_error_findings_with_file_and_line()
    {
        directory.Write("registry.yaml", "account: \"123456789012\"\nregion: us-east-1\ncertificates:\n  - pemFile: missing.pem\n");
        directory.Write("Bad.json", "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"allow\", \"Action\": \"iot:*\", \"Resource\": \"*\"}]}");

        var report = PolicyLinter.Lint([directory.Path]);

        Assert.False(report.Loaded);
        Assert.Equal(2, report.Errors);
        Assert.All(report.Findings, f => Assert.Equal(LintCodes.LoadError, f.Code));
        Assert.Contains(report.Findings, f => f.File == directory["registry.yaml"] && f.Line == 4 && f.Message.Contains("missing.pem", StringComparison.Ordinal));
        Assert.Contains(report.Findings, f => f.File == directory["Bad.json"] && f.Line == 1 && f.Message.Contains("Effect must be", StringComparison.Ordinal));
    }

    [Fact]
    public void A_clean_configuration_has_no_findings()
    {
        var report = Lint(Document(
            Statement("Allow", "iot:Connect", $"{Arn}client/${{iot:Connection.Thing.ThingName}}", """{"Bool": {"iot:Connection.Thing.IsAttached": "true"}}"""),
            Statement("Allow", "iot:Publish", $"{Arn}topic/t/${{iot:ClientId}}")));

        Assert.True(report.Loaded);
        Assert.Empty(report.Findings);
    }

    [Fact]
    public void Allow_everything_is_an_error_naming_policy_statement_and_line()
    {
        var report = Lint(Document(Statement("Allow", "iot:Publish", $"{Arn}topic/a"), Statement("Allow", "iot:*", "*")));

        var finding = Has(report, LintCodes.OverlyPermissive, LintSeverity.Error);
        Assert.Equal(directory["P.json"], finding.File);
        Assert.Equal(5, finding.Line);
        Assert.Equal("P", finding.Policy);
        Assert.Equal(1, finding.Statement);
        Assert.StartsWith("policy P Statement[1] allows iot:* on every resource", finding.Message, StringComparison.Ordinal);
        Assert.Equal($"{directory["P.json"]}:5: error overly-permissive: {finding.Message}", finding.ToString());
    }

    [Theory]
    [InlineData("*", "*")]
    [InlineData("iot:*", Arn + "*")]
    public void Allow_all_actions_on_all_resources_is_flagged(string action, string resource) =>
        Has(Lint(Document(Statement("Allow", action, resource))), LintCodes.OverlyPermissive, LintSeverity.Error);

    [Fact]
    public void Narrow_actions_conditions_or_deny_are_not_overly_permissive()
    {
        None(Lint(Document(Statement("Allow", "iot:Publish", "*"))), LintCodes.OverlyPermissive);
        None(Lint(Document(Statement("Allow", "iot:*", "*", """{"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}"""))), LintCodes.OverlyPermissive);
        None(Lint(Document(Statement("Deny", "iot:*", "*"))), LintCodes.OverlyPermissive);
    }

    [Fact]
    public void Overly_permissive_iam_policy_is_a_warning()
    {
        var report = Lint(Document(Statement("Allow", "iot:Publish", $"{Arn}topic/a")), """
            iam:
              roles:
                - name: R
                  inlinePolicies:
                    - name: All
                      document: |
                        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}
            """);

        var finding = Has(report, LintCodes.OverlyPermissive, LintSeverity.Warning);
        Assert.Equal("R/All", finding.Policy);
        Assert.StartsWith("IAM policy R/All Statement[0]", finding.Message, StringComparison.Ordinal);
        Assert.Equal(directory["registry.yaml"], finding.File);
        Assert.Equal(13, finding.Line);
    }

    [Theory]
    [InlineData(Arn + "client/*")]
    [InlineData("*")]
    public void Connect_on_any_client_is_a_warning(string resource)
    {
        var finding = Has(Lint(Document(Statement("Allow", "iot:Connect", resource))), LintCodes.ConnectAnyClient, LintSeverity.Warning);
        Assert.Contains($"on '{resource}'", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Connect_bound_to_the_thing_or_on_named_clients_is_fine()
    {
        None(Lint(Document(Statement("Allow", "iot:Connect", $"{Arn}client/*", """{"Bool": {"iot:Connection.Thing.IsAttached": "true"}}"""))), LintCodes.ConnectAnyClient);
        None(Lint(Document(Statement("Allow", "iot:Connect", $"{Arn}client/sensor-*"))), LintCodes.ConnectAnyClient);
    }

    [Fact]
    public void Connect_on_client_id_variable_without_binding_is_a_warning()
    {
        var finding = Has(Lint(Document(Statement("Allow", "iot:Connect", $"{Arn}client/${{iot:ClientId}}"))), LintCodes.UnboundClientId, LintSeverity.Warning);
        Assert.Contains("IsAttached", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Connect_on_client_id_variable_with_is_attached_or_thing_name_is_fine()
    {
        None(Lint(Document(Statement("Allow", "iot:Connect", $"{Arn}client/${{iot:ClientId}}", """{"Bool": {"iot:Connection.Thing.IsAttached": "true"}}"""))), LintCodes.UnboundClientId);
        None(Lint(Document(Statement("Allow", "iot:Connect", $"{Arn}client/${{iot:Connection.Thing.ThingName}}"))), LintCodes.UnboundClientId);

        // Without a Version the variable is literal: only the client ID "${iot:ClientId}" matches (variable-without-version says so).
        None(Lint($$"""{"Statement": [{{Statement("Allow", "iot:Connect", $"{Arn}client/${{iot:ClientId}}")}}]}"""), LintCodes.UnboundClientId);
    }

    [Theory]
    [InlineData("iot:Subscribe", "topicfilter/a/+/b")]
    [InlineData("iot:Subscribe", "topicfilter/a/#")]
    [InlineData("iot:Publish", "topic/a/#")]
    public void Mqtt_wildcards_in_resources_are_a_warning(string action, string resource)
    {
        var finding = Has(Lint(Document(Statement("Allow", action, Arn + resource))), LintCodes.MqttWildcard, LintSeverity.Warning);
        Assert.Contains($"'{resource}'", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Policy_wildcards_in_resources_are_fine() =>
        None(Lint(Document(Statement("Allow", "iot:Subscribe", $"{Arn}topicfilter/a/*/b"), Statement("Allow", "iot:Subscribe", $"{Arn}topicfilter/a/?"))), LintCodes.MqttWildcard);

    [Fact]
    public void Deny_on_a_filter_subtree_without_a_receive_guard_is_an_error()
    {
        var report = Lint(Document(
            Statement("Allow", "iot:Subscribe", $"{Arn}topicfilter/a/*"),
            Statement("Deny", "iot:Subscribe", $"{Arn}topicfilter/a/restricted/*"),
            Statement("Allow", "iot:Receive", $"{Arn}topic/a/*")));

        var finding = Has(report, LintCodes.DenySubtree, LintSeverity.Error);
        Assert.Equal(1, finding.Statement);
        Assert.Equal(5, finding.Line);
        Assert.Contains("broader filter 'a/#'", finding.Message, StringComparison.Ordinal);
        Assert.Contains("topic/a/restricted/*", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Receive_allowed_by_another_attached_policy_still_counts()
    {
        directory.Write("Receive.json", Document(Statement("Allow", "iot:Receive", "*")));
        var report = Lint(Document(
            Statement("Allow", "iot:Subscribe", $"{Arn}topicfilter/a/*"),
            Statement("Deny", "iot:Subscribe", $"{Arn}topicfilter/a/restricted/*")), """
            policyAttachments:
              - policy: Receive
                certificate: device
            """);

        Has(report, LintCodes.DenySubtree, LintSeverity.Error);
    }

    [Fact]
    public void Deny_subtree_guarded_on_receive_or_not_broadened_is_fine()
    {
        None(Lint(Document(
            Statement("Allow", "iot:Subscribe", $"{Arn}topicfilter/a/*"),
            Statement("Deny", "iot:Subscribe", $"{Arn}topicfilter/a/restricted/*"),
            Statement("Allow", "iot:Receive", $"{Arn}topic/a/*"),
            Statement("Deny", "iot:Receive", $"{Arn}topic/a/restricted/*"))), LintCodes.DenySubtree);
        None(Lint(Document(
            Statement("Allow", "iot:Subscribe", $"{Arn}topicfilter/a/*"),
            Statement("Deny", "iot:Subscribe", $"{Arn}topicfilter/a/restricted/*"),
            """{"Effect": "Allow", "Action": "iot:Receive", "NotResource": "arn:aws:iot:us-east-1:123456789012:topic/a/restricted/*"}""")), LintCodes.DenySubtree);
        None(Lint(Document(
            Statement("Allow", "iot:Subscribe", $"{Arn}topicfilter/a/open"),
            Statement("Deny", "iot:Subscribe", $"{Arn}topicfilter/a/restricted/*"),
            Statement("Allow", "iot:Receive", $"{Arn}topic/a/*"))), LintCodes.DenySubtree);
    }

    [Theory]
    [InlineData("iot:ClientID2", "no such key")]
    [InlineData("iot:ConnectAttributes", "multi-valued")]
    [InlineData("iot:Certificate.Subject.CommonName.List", "multi-valued")]
    [InlineData("iot:Certificate.Subject.Nickname", "no certificate variable 'Nickname'")]
    [InlineData("cognito-identity.amazonaws.com:amr", "multi-valued")]
    [InlineData("credentials-iot:ThingName", "IAM policies only")]
    [InlineData("thing:Name", "not an AWS, AWS IoT")]
    public void Variables_that_can_never_resolve_are_errors(string key, string reason)
    {
        var finding = Has(Lint(Document(Statement("Allow", "iot:Publish", $"{Arn}topic/t/${{{key}}}"))), LintCodes.UnresolvableVariable, LintSeverity.Error);
        Assert.Contains(reason, finding.Message, StringComparison.Ordinal);
        Assert.Contains($"'${{{key}}}'", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unresolvable_variables_in_condition_values_are_found_too()
    {
        var report = Lint(Document(Statement("Allow", "iot:Publish", $"{Arn}topic/t", """{"StringEquals": {"iot:ClientId": "${iot:Nope}"}}""")));

        Has(report, LintCodes.UnresolvableVariable, LintSeverity.Error);
    }

    [Theory]
    [InlineData("iot:ClientId")]
    [InlineData("iot:clientid")]
    [InlineData("iot:Connection.Thing.Attributes[floor]")]
    [InlineData("iot:Certificate.Subject.CommonName")]
    [InlineData("iot:Certificate.Subject.AlternativeName.DNSName.1")]
    [InlineData("cognito-identity.amazonaws.com:sub")]
    [InlineData("aws:username")]
    [InlineData("unknown:key, 'fallback'")]
    [InlineData("*")]
    public void Known_keys_defaults_and_escapes_resolve(string variable) =>
        None(Lint(Document(Statement("Allow", "iot:Publish", $"{Arn}topic/t/${{{variable}}}"))), LintCodes.UnresolvableVariable);

    [Fact]
    public void Credentials_provider_variables_are_fine_in_iam_policies()
    {
        Assert.Null(PolicyLinter.VariableProblem("credentials-iot:ThingName", iotPolicy: false));
        Assert.NotNull(PolicyLinter.VariableProblem("credentials-iot:ThingName", iotPolicy: true));
    }

    [Theory]
    [InlineData("", "because the policy has no Version")]
    [InlineData("\"Version\": \"2008-10-17\", ", "because the policy's Version is 2008-10-17")]
    public void Variables_under_a_missing_or_old_version_are_errors(string version, string reason)
    {
        var policy = $$"""{{{version}}"Statement": [{{Statement("Allow", "iot:Publish", $"{Arn}topic/t/${{iot:ClientId}}")}}]}""";

        var finding = Has(Lint(policy), LintCodes.VariableWithoutVersion, LintSeverity.Error);

        Assert.Contains(reason, finding.Message, StringComparison.Ordinal);
        Assert.Contains("uses '${iot:ClientId}'", finding.Message, StringComparison.Ordinal);
        Assert.Contains("add \"Version\": \"2012-10-17\"", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_version_without_variables_or_current_version_with_them_is_fine()
    {
        None(Lint($$"""{"Statement": [{{Statement("Allow", "iot:Publish", $"{Arn}topic/t")}}]}"""), LintCodes.VariableWithoutVersion);
        None(Lint(Document(Statement("Allow", "iot:Publish", $"{Arn}topic/t/${{iot:ClientId}}"))), LintCodes.VariableWithoutVersion);
    }

    [Fact]
    public void Documents_over_2048_characters_without_whitespace_are_a_warning()
    {
        var statements = Enumerable.Range(0, 30).Select(i => Statement("Allow", "iot:Publish", $"{Arn}topic/telemetry/device-{i:D3}")).ToArray();

        var finding = Has(Lint(Document(statements)), LintCodes.PolicyTooLarge, LintSeverity.Warning);

        Assert.Contains("2,048", finding.Message, StringComparison.Ordinal);
        Assert.Null(finding.Statement);
    }

    [Fact]
    public void Whitespace_does_not_count_toward_the_size_limit()
    {
        var padded = Document(Statement("Allow", "iot:Publish", $"{Arn}topic/a")).Replace("\n", "\n" + new string(' ', 1000), StringComparison.Ordinal);

        None(Lint(padded), LintCodes.PolicyTooLarge);
    }

    [Theory]
    [InlineData(10, false)]
    [InlineData(11, true)]
    public void More_than_ten_policies_on_a_certificate_is_a_warning(int count, bool flagged)
    {
        var names = Enumerable.Range(1, count - 1).Select(i => $"Extra{i}").ToArray();
        foreach (var name in names)
        {
            directory.Write($"{name}.json", Document(Statement("Allow", "iot:Publish", $"{Arn}topic/{name}")));
        }

        var attachments = "policyAttachments:\n" + string.Concat(names.Select(n => $"  - policy: {n}\n    certificate: device\n"));
        var report = Lint(Document(Statement("Allow", "iot:Publish", $"{Arn}topic/a")), attachments);

        if (flagged)
        {
            var finding = Has(report, LintCodes.TooManyPolicies, LintSeverity.Warning);
            Assert.Equal(directory["registry.yaml"], finding.File);
            Assert.Equal(4, finding.Line);
            Assert.Contains("has 11 policies attached", finding.Message, StringComparison.Ordinal);
        }
        else
        {
            None(report, LintCodes.TooManyPolicies);
        }
    }

    [Fact]
    public void More_than_ten_policies_on_a_cognito_identity_is_a_warning()
    {
        var names = Enumerable.Range(1, 11).Select(i => $"C{i}").ToArray();
        foreach (var name in names)
        {
            directory.Write($"{name}.json", Document(Statement("Allow", "iot:Publish", $"{Arn}topic/{name}")));
        }

        var attachments = "policyAttachments:\n" + string.Concat(names.Select(n => $"  - policy: {n}\n    cognitoIdentity: {Identity}\n"));
        var finding = Has(Lint(Document(Statement("Allow", "iot:Publish", $"{Arn}topic/a")), attachments), LintCodes.TooManyPolicies, LintSeverity.Warning);

        Assert.Contains($"Cognito identity {Identity} has 11 policies", finding.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(5, false)]
    [InlineData(6, true)]
    public void More_than_five_versions_is_a_warning(int count, bool flagged)
    {
        var versions = string.Concat(Enumerable.Range(1, count).Select(i => $"""
                  - id: "{i}"
                    document: '{Document(Statement("Allow", "iot:Publish", $"{Arn}topic/v{i}")).ReplaceLineEndings(" ")}'

            """));
        var report = Lint(Document(Statement("Allow", "iot:Publish", $"{Arn}topic/a")), $"""
            policies:
              - name: Versioned
                versions:
            {versions}
            thingGroups:
              - name: g
                policies: [Versioned]
            """);

        if (flagged)
        {
            var finding = Has(report, LintCodes.TooManyVersions, LintSeverity.Warning);
            Assert.Equal("Versioned", finding.Policy);
            Assert.Contains("has 6 versions", finding.Message, StringComparison.Ordinal);
        }
        else
        {
            None(report, LintCodes.TooManyVersions);
        }
    }

    [Fact]
    public void Policies_attached_to_nothing_are_info()
    {
        directory.Write("Orphan.json", Document(Statement("Allow", "iot:Publish", $"{Arn}topic/o")));
        directory.Write("Unused.json", Document(Statement("Allow", "iot:Publish", $"{Arn}topic/o")));

        var report = Lint(Document(Statement("Allow", "iot:Publish", $"{Arn}topic/a")), """
            iam:
              policies:
                - name: Unused
                  file: Unused.json
            """);

        var orphan = Has(report, LintCodes.UnattachedPolicy, LintSeverity.Info);
        Assert.Equal("Orphan", orphan.Policy);
        Assert.Equal(directory["Orphan.json"], orphan.File);
        Assert.Contains(report.Findings, f => f.Code == LintCodes.UnattachedPolicy && f.Policy == "Unused" && f.File == directory["Unused.json"]);
        Assert.Equal(0, report.Errors);
        Assert.DoesNotContain(report.Findings, f => f.Policy == "P");
    }

    [Fact]
    public void Attached_policies_are_not_reported_as_unattached()
    {
        directory.Write("Group.json", Document(Statement("Allow", "iot:Publish", $"{Arn}topic/g")));
        directory.Write("Cognito.json", Document(Statement("Allow", "iot:Publish", $"{Arn}topic/c")));

        var report = Lint(Document(Statement("Allow", "iot:Publish", $"{Arn}topic/a")), $"""
            thingGroups:
              - name: g
                policies: [Group]
            policyAttachments:
              - policy: Cognito
                cognitoIdentity: {Identity}
            """);

        None(report, LintCodes.UnattachedPolicy);
    }

    [Fact]
    public void Policies_in_shadow_mode_are_info_naming_the_policy_once_whatever_its_versions()
    {
        directory.Write("Trial.json", Document(Statement("Deny", "iot:Publish", $"{Arn}topic/firmware/*")));

        var report = Lint(Document(Statement("Allow", "iot:Publish", $"{Arn}topic/a")), """
            policies:
              - name: Trial
                shadow: true
                versions:
                  - id: "1"
                    document: '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iot:Publish", "Resource": "*"}]}'
                  - id: "2"
                    file: Trial.json
              - name: Enforced
                shadow: false
                file: Trial.json
            thingGroups:
              - name: g
                policies: [Trial, Enforced]
            """);

        var finding = Assert.Single(report.Findings);
        Assert.Equal(LintCodes.ShadowPolicy, finding.Code);
        Assert.Equal(LintSeverity.Info, finding.Severity);
        Assert.Equal("Trial", finding.Policy);
        Assert.Null(finding.Version);
        Assert.Equal(directory["Trial.json"], finding.File);
        Assert.StartsWith("policy Trial is in shadow mode", finding.Message, StringComparison.Ordinal);
        Assert.Equal(0, report.Errors + report.Warnings);
    }

    [Fact]
    public void Every_version_is_checked_and_inline_versions_point_into_the_registry_file()
    {
        var report = Lint(Document(Statement("Allow", "iot:Publish", $"{Arn}topic/a")), """
            policies:
              - name: Rolled
                defaultVersion: "2"
                versions:
                  - id: "1"
                    document: |
                      {
                        "Version": "2012-10-17",
                        "Statement": [
                          {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/a/#"}
                        ]
                      }
                  - id: "2"
                    document: '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Publish", "Resource": "*"}]}'
            thingGroups:
              - name: g
                policies: [Rolled]
            """);

        var finding = Has(report, LintCodes.MqttWildcard, LintSeverity.Warning);
        Assert.Equal("Rolled", finding.Policy);
        Assert.Equal("1", finding.Version);
        Assert.StartsWith("policy Rolled (version 1) Statement[0]", finding.Message, StringComparison.Ordinal);
        Assert.Equal(directory["registry.yaml"], finding.File);
        Assert.Equal(16, finding.Line);
    }

    [Fact]
    public void Findings_are_ordered_by_file_and_line()
    {
        var report = Lint(Document(
            Statement("Allow", "iot:Connect", $"{Arn}client/*"),
            Statement("Allow", "iot:Subscribe", $"{Arn}topicfilter/#"),
            Statement("Allow", "*", "*")));

        Assert.Equal([4, 5, 6], report.Findings.Select(f => f.Line));
        Assert.Equal([LintCodes.ConnectAnyClient, LintCodes.MqttWildcard, LintCodes.OverlyPermissive], report.Findings.Select(f => f.Code));
    }
}
