using ExtAuthz.Registry.Tests.Support;
using static ExtAuthz.Registry.Tests.Loading.LoadingTestKit;

namespace ExtAuthz.Registry.Tests.Loading;

/// <summary>How references, duplicates and partial documents are handled: every problem reported, nothing silently doubled.</summary>
public sealed class ReferenceAndDuplicateTests : IDisposable
{
    private const string CognitoId = "us-east-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    private readonly TempConfigDirectory dir = new();
    private readonly System.Security.Cryptography.X509Certificates.X509Certificate2 device = TestPki.CreateDevice("CN=d1");

    public ReferenceAndDuplicateTests()
    {
        dir.Write("d1.pem", TestPki.ToPem(device));
        dir.Write("P.json", PolicyJson());
    }

    public void Dispose()
    {
        device.Dispose();
        dir.Dispose();
    }

    [Fact]
    public void Two_unreferenced_policy_files_with_one_name_are_refused_naming_both()
    {
        dir.Write("registry.yaml", Header);
        dir.Write("team-a/Shared.json", PolicyJson());
        dir.Write("team-b/Shared.json", PolicyJson("iot:Publish"));

        var error = Single(Refuse(dir), dir["team-b/Shared.json"], 0, "both make the policy 'Shared'");
        Assert.Contains(dir["team-a/Shared.json"], error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_ambiguous_reference_is_refused_and_neither_file_becomes_an_iot_policy()
    {
        dir.Write("registry.yaml", Header + """
            iam:
              policies:
                - name: Ops
                  file: ops.json
            """);
        dir.Write("a/ops.json", PolicyJson());
        dir.Write("b/ops.json", PolicyJson());

        var errors = Refuse(dir);

        Has(errors, dir["registry.yaml"], 6, "'file: ops.json' is ambiguous");
        Assert.DoesNotContain(errors, e => e.Reason.Contains("policy 'ops'", StringComparison.Ordinal));
    }

    [Fact]
    public void Attaching_a_policy_twice_attaches_it_once()
    {
        dir.Write("registry.yaml", Header + """
            certificates:
              - pemFile: d1.pem
                policies: [P]
            thingGroups:
              - name: g
                policies: [P]
            policyAttachments:
              - {policy: P, certificate: d1.pem}
              - {policy: P, certificate: d1.pem}
              - {policy: P, thingGroup: g}
            """);

        var snapshot = Load(dir);

        Assert.Equal(["P"], snapshot.Certificates[TestPki.AwsCertificateId(device)].Policies);
        Assert.Equal(["P"], snapshot.ThingGroups["g"].Policies);
    }

    [Fact]
    public void A_thing_principal_names_exactly_one_kind_and_is_attached_once()
    {
        dir.Write("registry.yaml", Header + $$"""
            certificates:
              - pemFile: d1.pem
            things:
              - name: t1
                principals:
                  - {certificate: d1.pem, cognitoIdentity: "{{CognitoId}}"}
                  - {certificate: d1.pem}
                  - {certificate: d1.pem}
            """);

        var errors = Refuse(dir);

        Has(errors, dir["registry.yaml"], 8, "names exactly one of 'certificate' or 'cognitoIdentity'");
        Has(errors, dir["registry.yaml"], 10, "is attached to thing 't1' twice");
    }

    [Fact]
    public void Every_unknown_top_level_key_is_reported_and_the_rest_of_the_document_is_still_checked()
    {
        dir.Write("registry.yaml", Header + """
            polices: []
            Things: []
            thingGroups:
              - name: g
                parent: nowhere
            """);

        var errors = Refuse(dir);

        Has(errors, dir["registry.yaml"], 3, "unknown key 'polices'");
        Has(errors, dir["registry.yaml"], 4, "unknown key 'Things' in a registry document (keys are case-sensitive: 'things')");
        Has(errors, dir["registry.yaml"], 7, "names parent 'nowhere'");
    }

    [Fact]
    public void Without_account_and_region_the_other_problems_are_still_reported()
    {
        dir.Write("registry.yaml", """
            thingGroups:
              - name: g
                policies: [Missing]
            """);

        var errors = Refuse(dir);

        Has(errors, dir["registry.yaml"], 0, "no registry document sets 'account' and 'region'");
        Has(errors, dir["registry.yaml"], 3, "policy 'Missing' is not defined");
    }

    [Fact]
    public void A_ca_certificate_must_be_a_ca_and_is_only_active_or_inactive()
    {
        using var ca = TestPki.CreateCa();
        dir.Write("ca.pem", TestPki.ToPem(ca));
        dir.Write("registry.yaml", Header + """
            caCertificates:
              - pemFile: d1.pem
              - pemFile: ca.pem
                status: REVOKED
            """);

        var errors = Refuse(dir);

        Has(errors, dir["registry.yaml"], 4, "is not a CA certificate");
        Has(errors, dir["registry.yaml"], 6, "a CA certificate's status is ACTIVE or INACTIVE, not 'REVOKED'");
    }

    [Fact]
    public void A_certificate_arn_must_belong_to_this_account_and_region()
    {
        var id = TestPki.AwsCertificateId(device);
        dir.Write("registry.yaml", Header + $$"""
            certificates:
              - pemFile: d1.pem
            policyAttachments:
              - {policy: P, certificate: "arn:aws:iot:us-east-1:123456789012:cert/{{id}}"}
              - {policy: P, certificate: "arn:aws:iot:eu-west-1:123456789012:cert/{{id}}"}
            """);

        var error = Single(Refuse(dir), dir["registry.yaml"], 7, "is not a certificate ARN of this account and region");
        Assert.Contains("arn:aws:iot:us-east-1:123456789012:cert/", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Unlisted_certificate_ids_need_an_active_auto_registering_ca()
    {
        using var ca = TestPki.CreateCa();
        dir.Write("ca.pem", TestPki.ToPem(ca));
        dir.Write("registry.yaml", Header + $$"""
            caCertificates:
              - pemFile: ca.pem
                status: INACTIVE
                autoRegistration: true
            things:
              - name: t1
                principals:
                  - certificate: {{new string('b', 64)}}
            """);

        Has(Refuse(dir), dir["registry.yaml"], 10, "no ACTIVE CA certificate auto-registers certificates");
    }

    [Fact]
    public void Iam_names_and_inline_policy_names_are_checked()
    {
        dir.Write("registry.yaml", Header + """
            iam:
              users:
                - name: "bad name"
                - name: ok
                  inlinePolicies:
                    - {name: one, document: '{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}'}
                    - {name: one, document: '{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}'}
            """);

        var errors = Refuse(dir);

        Has(errors, dir["registry.yaml"], 5, "IAM name 'bad name' must be 1-64 characters");
        Has(errors, dir["registry.yaml"], 9, "inline policy name 'one' must be unique in ok");
    }
}
