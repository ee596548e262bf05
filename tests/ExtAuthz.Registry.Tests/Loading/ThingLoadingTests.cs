using ExtAuthz.Registry.Tests.Support;
using static ExtAuthz.Registry.Tests.Loading.LoadingTestKit;

namespace ExtAuthz.Registry.Tests.Loading;

/// <summary>Things, thing groups, thing-principal attachments and policy attachments.</summary>
public sealed class ThingLoadingTests : IDisposable
{
    private const string CognitoId = "us-east-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    private readonly TempConfigDirectory dir = new();
    private readonly System.Security.Cryptography.X509Certificates.X509Certificate2 device = TestPki.CreateDevice("CN=d1");

    public ThingLoadingTests()
    {
        dir.Write("d1.pem", TestPki.ToPem(device));
        dir.Write("P.json", PolicyJson());
        dir.Write("Q.json", PolicyJson("iot:Publish"));
    }

    public void Dispose()
    {
        device.Dispose();
        dir.Dispose();
    }

    private string Id => TestPki.AwsCertificateId(device);

    [Fact]
    public void Things_have_a_type_attributes_groups_and_arns()
    {
        dir.Write("registry.yaml", Header + """
            thingGroups:
              - name: root
                policies: [P]
              - name: child
                parent: root
            things:
              - name: t1
                type: Sensor
                attributes: {floor: "2", room: a-1}
                groups: [child]
            """);

        var snapshot = Load(dir);

        var thing = snapshot.Things["t1"];
        Assert.Equal("arn:aws:iot:us-east-1:123456789012:thing/t1", thing.Arn);
        Assert.Equal("Sensor", thing.TypeName);
        Assert.Equal("a-1", thing.Attributes["room"]);
        Assert.Equal("arn:aws:iot:us-east-1:123456789012:thinggroup/child", snapshot.ThingGroups["child"].Arn);
        Assert.Equal(["child", "root"], snapshot.GroupAndAncestors("child").Select(g => g.Name));
        Assert.Equal(["P"], snapshot.ThingGroups["root"].Policies);
    }

    [Fact]
    public void Fifty_attributes_are_allowed_and_fifty_one_are_refused()
    {
        static string Attributes(int n) => string.Concat(Enumerable.Range(1, n).Select(i => $"      a{i}: v\n"));
        dir.Write("registry.yaml", Header + "things:\n  - name: ok\n    attributes:\n" + Attributes(50) + "  - name: tooMany\n    attributes:\n" + Attributes(51));

        Single(Refuse(dir), dir["registry.yaml"], 58, "thing 'tooMany' has 51 attributes; AWS IoT allows 50", column: 7);
        dir.Write("registry.yaml", Header + "things:\n  - name: ok\n    attributes:\n" + Attributes(50));
        Assert.Equal(50, Load(dir).Things["ok"].Attributes.Count);
    }

    [Fact]
    public void Thing_rules_are_enforced()
    {
        dir.Write("registry.yaml", Header + """
            things:
              - name: t1
              - name: t1
              - name: "bad name"
              - name: t2
                groups: [nope]
              - name: t3
                attributes:
                  list: [a, b]
              - name: t4
                Type: x
            """);

        var errors = Refuse(dir);

        Assert.Equal(5, errors.Count);
        var file = dir["registry.yaml"];
        Has(errors, file, 5, "thing 't1' is declared twice", column: 5);
        Has(errors, file, 6, "thing name 'bad name' must be 1-128 characters of letters, digits, ':', '_' and '-'", column: 5);
        Has(errors, file, 8, "thing group 'nope' is not defined", column: 13);
        Has(errors, file, 11, "each attribute must be name: value (a single value)", column: 7);
        Has(errors, file, 13, "unknown key 'Type' in a thing (keys are case-sensitive: 'type')", column: 5);
    }

    [Fact]
    public void Thing_group_parents_must_exist_and_not_form_a_cycle()
    {
        dir.Write("registry.yaml", Header + """
            thingGroups:
              - name: a
                parent: b
              - name: b
                parent: a
              - name: self
                parent: self
              - name: orphan
                parent: missing
              - name: a
            """);

        var errors = Refuse(dir);

        Assert.Equal(5, errors.Count);
        var file = dir["registry.yaml"];
        Has(errors, file, 5, "the parents of thing group 'a' form a cycle", column: 13);
        Has(errors, file, 7, "the parents of thing group 'b' form a cycle", column: 13);
        Has(errors, file, 9, "the parents of thing group 'self' form a cycle (through 'self')", column: 13);
        Has(errors, file, 11, "thing group 'orphan' names parent 'missing', which is not defined", column: 13);
        Has(errors, file, 12, "thing group 'a' is declared twice", column: 5);
    }

    [Fact]
    public void A_principal_may_be_attached_to_several_things_unless_exclusively()
    {
        dir.Write("registry.yaml", Header + $"""
            certificates:
              - pemFile: d1.pem
            things:
              - name: t1
                principals:
                  - certificate: d1.pem
                  - cognitoIdentity: {CognitoId}
              - name: t2
                principals:
                  - certificate: d1.pem
                    exclusive: false
                  - cognitoIdentity: {CognitoId}
                    exclusive: true
            """);

        var errors = Refuse(dir);

        Single(errors, dir["registry.yaml"], 14, $"principal {CognitoId} is attached exclusively to one thing and cannot be attached to another", column: 9);
    }

    [Fact]
    public void An_exclusive_attachment_refuses_any_later_one()
    {
        dir.Write("registry.yaml", Header + """
            certificates:
              - pemFile: d1.pem
            things:
              - name: t1
                principals:
                  - certificate: d1.pem
                    exclusive: true
              - name: t2
                principals:
                  - certificate: d1.pem
            """);

        Single(Refuse(dir), dir["registry.yaml"], 12, $"principal {Id} is attached exclusively to one thing", column: 9);
    }

    [Fact]
    public void Non_exclusive_attachments_to_several_things_load()
    {
        dir.Write("registry.yaml", Header + """
            certificates:
              - pemFile: d1.pem
            things:
              - name: t1
                principals:
                  - certificate: d1.pem
              - name: t2
                principals:
                  - certificate: d1.pem
            """);

        var attachments = Load(dir).ThingsByPrincipal[Id];

        Assert.Equal(["t1", "t2"], attachments.Select(a => a.Thing.Name));
        Assert.All(attachments, a => Assert.False(a.Exclusive));
    }

    [Fact]
    public void Policy_attachments_add_to_certificates_thing_groups_and_cognito_identities()
    {
        dir.Write("registry.yaml", Header + $"""
            certificates:
              - pemFile: d1.pem
                policies: [P]
            thingGroups:
              - name: g
            policyAttachments:
              - policy: Q
                certificate: d1.pem
              - policy: P
                thingGroup: g
              - policy: P
                cognitoIdentity: {CognitoId}
              - policy: Q
                cognitoIdentity: {CognitoId}
            """);

        var snapshot = Load(dir);

        Assert.Equal(["P", "Q"], snapshot.Certificates[Id].Policies);
        Assert.Equal(["P"], snapshot.ThingGroups["g"].Policies);
        Assert.Equal(["P", "Q"], snapshot.PoliciesByCognitoIdentity[CognitoId]);
    }

    [Fact]
    public void Policy_attachment_rules_are_enforced()
    {
        dir.Write("registry.yaml", Header + """
            policyAttachments:
              - policy: P
              - policy: P
                thingGroup: g
                cognitoIdentity: us-east-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
              - policy: P
                thingGroup: nope
              - policy: P
                cognitoIdentity: not-an-identity
              - thingGroup: nope
            """);

        var errors = Refuse(dir);

        Assert.Equal(5, errors.Count);
        var file = dir["registry.yaml"];
        Has(errors, file, 4, "a policy attachment names exactly one target: certificate, thingGroup or cognitoIdentity", column: 5);
        Has(errors, file, 5, "a policy attachment names exactly one target", column: 5);
        Has(errors, file, 9, "thing group 'nope' is not defined", column: 17);
        Has(errors, file, 11, "'not-an-identity' is not a Cognito identity ID (region:uuid)", column: 22);
        Has(errors, file, 12, "a policy attachment needs 'policy'", column: 5);
    }
}
