using ExtAuthz.Registry.Tests.Support;
using static ExtAuthz.Registry.Tests.Loading.LoadingTestKit;

namespace ExtAuthz.Registry.Tests.Loading;

/// <summary>Named AWS IoT policies: files, inline documents, versions and the default version.</summary>
public sealed class PolicyLoadingTests : IDisposable
{
    private readonly TempConfigDirectory dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void Versions_are_kept_and_the_default_is_the_one_in_effect()
    {
        dir.Write("v1.json", PolicyJson("iot:Connect"));
        dir.Write("v2.json", PolicyJson("iot:Publish"));
        dir.Write("registry.yaml", Header + """
            policies:
              - name: Pinned
                defaultVersion: "1"
                versions:
                  - id: "1"
                    file: v1.json
                  - id: "2"
                    file: v2.json
              - name: Latest
                versions:
                  - id: "1"
                    file: v1.json
                  - id: "2"
                    document: '{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "iot:*", "Resource": "*"}}'
            """);

        var policies = Load(dir).Policies;

        Assert.Equal("1", policies["Pinned"].DefaultVersionId);
        Assert.Equal(["iot:Connect"], policies["Pinned"].Document.Statements[0].Actions);
        Assert.Equal(["1", "2"], policies["Pinned"].Versions.Select(v => v.VersionId));
        Assert.Equal("2", policies["Latest"].DefaultVersionId);
        Assert.Equal(ExtAuthz.Policy.Effect.Deny, policies["Latest"].Document.Statements[0].Effect);
        Assert.Equal(new ConfigSource(dir["registry.yaml"], 7, 9), policies["Pinned"].Versions[0].Source);
    }

    [Fact]
    public void A_single_document_is_version_1()
    {
        dir.Write("p.json", PolicyJson());
        dir.Write("registry.yaml", Header + "policies:\n  - name: P\n    file: p.json\n    defaultVersion: \"1\"\n");

        var policy = Load(dir).Policies["P"];

        Assert.Equal("1", Assert.Single(policy.Versions).VersionId);
        Assert.Equal("arn:aws:iot:us-east-1:123456789012:policy/P", policy.Arn);
    }

    [Fact]
    public void Shadow_is_false_unless_declared_true_and_covers_every_version()
    {
        dir.Write("p.json", PolicyJson());
        dir.Write("Loose.json", PolicyJson());
        dir.Write("registry.yaml", Header + """
            policies:
              - name: Trial
                shadow: true
                versions:
                  - id: "1"
                    file: p.json
                  - id: "2"
                    document: '{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "iot:*", "Resource": "*"}}'
              - name: Enforced
                file: p.json
                shadow: false
              - name: Plain
                file: p.json
            """);

        var policies = Load(dir).Policies;

        Assert.True(policies["Trial"].Shadow);
        Assert.Equal(2, policies["Trial"].Versions.Count);
        Assert.False(policies["Enforced"].Shadow);
        Assert.False(policies["Plain"].Shadow);
        Assert.False(policies["Loose"].Shadow);
    }

    [Fact]
    public void A_shadow_value_that_is_not_true_or_false_is_refused_where_it_is_written()
    {
        dir.Write("p.json", PolicyJson());
        dir.Write("registry.yaml", Header + """
            policies:
              - name: Word
                file: p.json
                shadow: yes
              - name: List
                file: p.json
                shadow: [true]
              - name: Cased
                file: p.json
                Shadow: true
            iam:
              policies:
                - name: RoleAccess
                  file: p.json
                  shadow: true
            """);

        var errors = Refuse(dir);

        Assert.Equal(4, errors.Count);
        var file = dir["registry.yaml"];
        Has(errors, file, 6, "'shadow' must be true or false, not 'yes'", column: 13);
        Has(errors, file, 9, "'shadow' must be a single value, not a list or mapping", column: 13);
        Has(errors, file, 12, "unknown key 'Shadow' in a policy (keys are case-sensitive: 'shadow')", column: 5);
        Has(errors, file, 17, "unknown key 'shadow' in an IAM policy", column: 7);
    }

    [Fact]
    public void Version_rules_are_enforced()
    {
        dir.Write("p.json", PolicyJson());
        dir.Write("registry.yaml", Header + """
            policies:
              - name: NoSuchDefault
                defaultVersion: "3"
                versions:
                  - id: "1"
                    file: p.json
              - name: Twice
                versions:
                  - id: "1"
                    file: p.json
                  - id: "1"
                    file: p.json
              - name: Both
                file: p.json
                versions:
                  - id: "1"
                    file: p.json
              - name: NoId
                versions:
                  - file: p.json
              - name: Single
                file: p.json
                defaultVersion: "2"
            """);

        var errors = Refuse(dir);

        Assert.Equal(5, errors.Count);
        var file = dir["registry.yaml"];
        Has(errors, file, 5, "policy 'NoSuchDefault' has no version '3' to be the default", column: 21);
        Has(errors, file, 13, "policy 'Twice' has version '1' twice", column: 9);
        Has(errors, file, 15, "policy 'Both' has 'versions'; put 'file'/'document' inside each version", column: 5);
        Has(errors, file, 22, "a policy version needs 'id'", column: 9);
        Has(errors, file, 25, "policy 'Single' has no version '2' to be the default", column: 21);
    }

    [Fact]
    public void Exactly_one_of_file_and_document_and_the_document_is_json_text()
    {
        dir.Write("p.json", PolicyJson());
        dir.Write("registry.yaml", Header + """
            policies:
              - name: Both
                file: p.json
                document: '{}'
              - name: Neither
              - name: YamlMapping
                document:
                  Version: "2012-10-17"
            """);

        var errors = Refuse(dir);

        Assert.Equal(3, errors.Count);
        var file = dir["registry.yaml"];
        Has(errors, file, 4, "policy 'Both' needs exactly one of 'file' or 'document'", column: 5);
        Has(errors, file, 7, "policy 'Neither' needs exactly one of 'file' or 'document'", column: 5);
        Has(errors, file, 10, "an inline 'document' must be text (use a block scalar: document: |)", column: 7);
    }

    [Fact]
    public void A_policy_file_that_does_not_parse_is_refused_at_its_own_line_and_column()
    {
        dir.Write("Broken.json", "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {\"Effect\": \"Allw\", \"Action\": \"iot:*\", \"Resource\": \"*\"}\n}\n");
        dir.Write("registry.yaml", Header + "policies:\n  - name: Referenced\n    file: Broken.json\n");

        Single(Refuse(dir), dir["Broken.json"], 3, "Effect must be \"Allow\" or \"Deny\" (case-sensitive), not \"Allw\"", column: 27);
    }

    [Fact]
    public void An_inline_document_that_does_not_parse_is_refused_at_the_document_with_the_position_inside_it()
    {
        dir.Write("registry.yaml", Header + """
            policies:
              - name: Inline
                document: |
                  {"Version": "2012-10-17",
                   "Statement": {"Effect": "Allow", "Action": "iot:Connect", "Resource": "*", "Bogus": 1}}
            """);

        // The position is the offending key's, in the registry document: line 7, after the block's indentation.
        var error = Single(Refuse(dir), dir["registry.yaml"], 7, "unknown statement element 'Bogus'", column: 84);
        Assert.EndsWith("(in the inline document)", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Names_are_unique_valid_and_every_reference_resolves()
    {
        dir.Write("p.json", PolicyJson());
        dir.Write("registry.yaml", Header + """
            policies:
              - name: P
                file: p.json
              - name: P
                file: p.json
              - name: bad/name
                file: p.json
            thingGroups:
              - name: g
                policies: [P, Missing]
            policyAttachments:
              - policy: Nope
                thingGroup: g
            """);

        var errors = Refuse(dir);

        Assert.Equal(4, errors.Count);
        var file = dir["registry.yaml"];
        Has(errors, file, 6, "policy 'P' is declared twice", column: 5);
        Has(errors, file, 8, "policy name 'bad/name' must be 1-128 characters of letters, digits and _+=,.@-", column: 5);
        Has(errors, file, 12, "policy 'Missing' is not defined", column: 15);
        Has(errors, file, 14, "policy 'Nope' is not defined", column: 13);
    }
}
