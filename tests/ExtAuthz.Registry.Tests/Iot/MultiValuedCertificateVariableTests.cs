using System.Security.Cryptography.X509Certificates;
using ExtAuthz.Registry.Tests.Support;

namespace ExtAuthz.Registry.Tests.Iot;

/// <summary>
/// AWS's rules for attributes with several values: the bare name is the first value (the first in the
/// certificate, as openssl prints it), <c>.N</c> is 1-based over the others, <c>.List</c> is all of them,
/// at most five values count, and a value holding <c>* $ + ? #</c> or longer than 1,024 characters is
/// never substituted (it stays only in <c>.List</c>).
/// </summary>
public sealed class MultiValuedCertificateVariableTests : IDisposable
{
    private const string CommonName = "iot:Certificate.Subject.CommonName";

    private readonly IotRegistry registry = new();

    public void Dispose() => registry.Dispose();

    [Fact]
    public void The_bare_name_is_the_first_value_and_N_counts_the_others_from_one()
    {
        var device = Device(TestPkiExtras.EncodedName(("CN", "cn-0"), ("CN", "cn-1"), ("CN", "cn-2")));
        var subject = Connect(device,
            Aws.Allow("iot:Publish", Aws.Topic($"bare/${{{CommonName}}}")),
            Aws.Allow("iot:Publish", Aws.Topic($"one/${{{CommonName}.1}}")),
            Aws.Allow("iot:Publish", Aws.Topic($"two/${{{CommonName}.2}}")),
            Aws.Allow("iot:Publish", Aws.Topic($"three/${{{CommonName}.3}}")));

        Expect.Allowed(subject, "iot:Publish", Aws.Topic("bare/cn-0"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("bare/cn-2"));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("one/cn-1"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("one/cn-0"));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("two/cn-2"));

        // An index past the last value: no substitution, so the statement matches nothing.
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("three/cn-2"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("three/"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic($"three/${{{CommonName}.3}}"));
    }

    [Fact]
    public void At_most_five_values_count_the_sixth_and_later_are_ignored()
    {
        var device = Device(TestPkiExtras.EncodedName([.. Enumerable.Range(0, 7).Select(i => ("CN", $"cn-{i}"))]));
        var subject = Connect(device,
            Aws.Allow("iot:Publish", Aws.Topic($"bare/${{{CommonName}}}")),
            Aws.Allow("iot:Publish", Aws.Topic($"four/${{{CommonName}.4}}")),
            Aws.Allow("iot:Publish", Aws.Topic($"five/${{{CommonName}.5}}")),
            Aws.Allow("iot:Subscribe", Aws.TopicFilter("all-five"), Aws.Condition(
                ("ForAllValues:StringEquals", CommonName + ".List", new[] { "cn-0", "cn-1", "cn-2", "cn-3", "cn-4" }),
                ("ForAnyValue:StringEquals", CommonName + ".List", "cn-0"))),
            Aws.Allow("iot:Subscribe", Aws.TopicFilter("fifth"), Aws.Condition(("ForAnyValue:StringEquals", CommonName + ".List", "cn-4"))),
            Aws.Allow("iot:Subscribe", Aws.TopicFilter("sixth"), Aws.Condition(("ForAnyValue:StringEquals", CommonName + ".List", new[] { "cn-5", "cn-6" }))));

        Expect.Allowed(subject, "iot:Publish", Aws.Topic("bare/cn-0"));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("four/cn-4"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("five/cn-5"));
        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("all-five"));
        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("fifth"));
        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("sixth"));
    }

    [Theory]
    [InlineData("has*star")]
    [InlineData("has$dollar")]
    [InlineData("has+plus")]
    [InlineData("has?question")]
    [InlineData("has#hash")]
    public void A_value_with_a_wildcard_character_is_not_substituted_but_stays_in_the_list(string value)
    {
        var device = Device(TestPkiExtras.EncodedName(("CN", "plain"), ("CN", value), ("OU", value), ("OU", "unit-2")));
        var subject = Connect(device,
            Aws.Allow("iot:Publish", Aws.Topic($"bare/${{{CommonName}}}")),
            Aws.Allow("iot:Publish", Aws.Topic($"second/${{{CommonName}.1}}")),
            Aws.Allow("iot:Publish", Aws.Topic("unit/${iot:Certificate.Subject.OrganizationalUnit}")),
            Aws.Allow("iot:Publish", Aws.Topic("unit-second/${iot:Certificate.Subject.OrganizationalUnit.1}")),
            Aws.Allow("iot:Subscribe", Aws.TopicFilter("listed"), Aws.Condition(("ForAnyValue:StringEquals", CommonName + ".List", value))),
            Aws.Allow("iot:Subscribe", Aws.TopicFilter("condition"), Aws.Condition(("StringEquals", CommonName + ".1", value))));

        // The clean value beside it is substituted as usual.
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("bare/plain"));

        // The wildcard value is not: neither the literal value, nor anything its wildcard would match,
        // nor the variable's own text matches.
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic($"second/{value}"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("second/has"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic($"second/${{{CommonName}.1}}"));
        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("condition"));

        // As the first value it leaves the bare name unresolved; .1 is still the second value.
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic($"unit/{value}"));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("unit-second/unit-2"));

        // .List keeps it, for conditions that compare it literally.
        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("listed"));
    }

    [Fact]
    public void A_value_over_1024_characters_is_not_substituted_and_one_of_1024_is()
    {
        var tooLong = new string('t', 1025);
        var longest = new string('g', 1024);
        var device = Device(TestPkiExtras.EncodedName(("CN", "device"), ("Title", tooLong), ("GivenName", longest)));
        var subject = Connect(device,
            Aws.Allow("iot:Publish", Aws.Topic("title/${iot:Certificate.Subject.Title}")),
            Aws.Allow("iot:Publish", Aws.Topic("given/${iot:Certificate.Subject.GivenName}")),
            Aws.Allow("iot:Subscribe", Aws.TopicFilter("title-listed"), Aws.Condition(("ForAnyValue:StringEquals", "iot:Certificate.Subject.Title.List", tooLong))));

        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("title/" + tooLong));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("given/" + longest));
        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("title-listed"));
    }

    [Fact]
    public void Issuer_attributes_follow_the_same_rules()
    {
        var ca = TestPkiExtras.Create(TestPkiExtras.EncodedName(("O", "Root Org"), ("OU", "unit-a"), ("OU", "unit-b")), null, isCertificateAuthority: true);
        var device = TestPki.CreateDevice(ca, "CN=device");
        var subject = Connect(device,
            Aws.Allow("iot:Publish", Aws.Topic("first/${iot:Certificate.Issuer.OrganizationalUnit}")),
            Aws.Allow("iot:Publish", Aws.Topic("second/${iot:Certificate.Issuer.OrganizationalUnit.1}")),
            Aws.Allow("iot:Subscribe", Aws.TopicFilter("both"), """{"ForAllValues:StringEquals": {"iot:Certificate.Issuer.OrganizationalUnit.List": ["unit-a", "unit-b"]}, "ForAnyValue:StringEquals": {"iot:Certificate.Issuer.OrganizationalUnit.List": "unit-b"}}"""));

        Expect.Allowed(subject, "iot:Publish", Aws.Topic("first/unit-a"));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("second/unit-b"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("first/unit-b"));
        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("both"));
    }

    private static System.Security.Cryptography.X509Certificates.X509Certificate2 Device(System.Security.Cryptography.X509Certificates.X500DistinguishedName subject) =>
        TestPkiExtras.Create(subject, null);

    private AuthorizationSubject Connect(System.Security.Cryptography.X509Certificates.X509Certificate2 device, params string[] statements)
    {
        registry.Policy("Policy", Aws.Policy(statements)).Certificate("device", device, "ACTIVE", "Policy");
        return Expect.Accepted(PrincipalResolver.ForCertificate(registry.Load(), device, new ConnectionFacts { ClientId = "device" }));
    }

    [Fact]
    public void Each_attribute_of_a_multi_valued_RDN_is_a_variable()
    {
        // Name ::= SEQUENCE OF RDN; the first RDN is a SET holding two attributes (CN=sensor-1 + O=ExampleCorp).
        var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            using (writer.PushSetOf())
            {
                foreach (var (oid, value) in new[] { ("2.5.4.3", "sensor-1"), ("2.5.4.10", "ExampleCorp") })
                {
                    using (writer.PushSequence())
                    {
                        writer.WriteObjectIdentifier(oid);
                        writer.WriteCharacterString(System.Formats.Asn1.UniversalTagNumber.UTF8String, value);
                    }
                }
            }
        }

        var subject = new X500DistinguishedName(writer.Encode());
        var device = TestPki.Create(subject, new CertificateOptions());
        registry.Policy("ByOrg", Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("org/${iot:Certificate.Subject.Organization}/${iot:Certificate.Subject.CommonName}"))))
            .Certificate("sensor-1", device, "ACTIVE", "ByOrg");
        var subjectForDevice = Expect.Accepted(PrincipalResolver.ForCertificate(registry.Load(), device, ConnectionFacts.None));

        Expect.Allowed(subjectForDevice, "iot:Publish", Aws.Topic("org/ExampleCorp/sensor-1"));
    }
}
