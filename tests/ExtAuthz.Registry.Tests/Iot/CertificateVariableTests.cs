using System.Security.Cryptography.X509Certificates;
using ExtAuthz.Registry.Iot;
using ExtAuthz.Registry.Tests.Support;

namespace ExtAuthz.Registry.Tests.Iot;

/// <summary>
/// A device certificate carrying every Subject and Issuer attribute AWS IoT lists, every kind of
/// subject and issuer alternative name, and a chosen serial number, registered with a policy that
/// publishes to <c>vars/NAME/${iot:Certificate.NAME}</c> for each variable.
/// </summary>
public sealed class CertificateVariableFleet : IDisposable
{
    public static readonly string[] AttributeNames =
    [
        "DistinguishedNameQualifier", "Country", "Organization", "OrganizationalUnit", "State", "CommonName", "SerialNumber",
        "Title", "Surname", "GivenName", "Initials", "Pseudonym", "GenerationQualifier",
    ];

    public static readonly string[] AlternativeNameKinds = ["RFC822Name", "DNSName", "DirectoryName", "UniformResourceIdentifier", "IPAddress"];

    private readonly IotRegistry registry = new();

    public CertificateVariableFleet()
    {
        var issuerName = TestPkiExtras.EncodedName([.. AttributeNames.Select(a => (a, Value("Issuer", a)))]);
        Ca = TestPkiExtras.Create(issuerName, null, isCertificateAuthority: true);
        Device = TestPkiExtras.Create(
            TestPkiExtras.EncodedName([.. AttributeNames.Select(a => (a, Value("Subject", a)))]),
            Ca,
            subjectAlternativeNames:
            [
                SubjectAltName.Email("device@example.com"), SubjectAltName.Dns("device.example.com"), SubjectAltName.Directory("CN=subject-directory"),
                SubjectAltName.Uri("urn:example:device"), SubjectAltName.Ip("192.0.2.10"), SubjectAltName.Dns("device-alt.example.com"), SubjectAltName.Ip("2001:db8::7"),
            ],
            issuerAlternativeNames:
            [
                SubjectAltName.Email("ca@example.com"), SubjectAltName.Dns("ca.example.com"), SubjectAltName.Directory("CN=issuer-directory"),
                SubjectAltName.Uri("urn:example:ca"), SubjectAltName.Ip("198.51.100.7"),
            ],
            serialNumber: [0x0A, 0x1B, 0x2C, 0x3D, 0x4E]);
        Minimal = TestPki.CreateDevice("CN=minimal");

        var statements = Variables.Select(v => Aws.Allow("iot:Publish", Aws.Topic($"vars/{v.Name}/${{{v.Key}}}"))).ToList();
        statements.Add(Aws.Allow("iot:Connect", "*"));
        statements.Add(Aws.Allow("iot:Subscribe", Aws.TopicFilter("keys/has-common-name"),
            """{"ForAnyValue:StringEquals": {"iot:Certificate.AvailableKeys": "iot:Certificate.Subject.CommonName"}}"""));
        statements.Add(Aws.Allow("iot:Subscribe", Aws.TopicFilter("keys/has-issuer-uri"),
            """{"ForAnyValue:StringEquals": {"iot:Certificate.AvailableKeys": "iot:Certificate.Issuer.AlternativeName.UniformResourceIdentifier"}}"""));
        statements.Add(Aws.Allow("iot:Subscribe", Aws.TopicFilter("lists/dns"),
            """{"ForAllValues:StringEquals": {"iot:Certificate.Subject.AlternativeName.DNSName.List": ["device.example.com", "device-alt.example.com"]}, "ForAnyValue:StringEquals": {"iot:Certificate.Subject.AlternativeName.DNSName.List": "device-alt.example.com"}}"""));
        statements.Add(Aws.Allow("iot:Subscribe", Aws.TopicFilter("lists/issuer-dns"),
            """{"ForAnyValue:StringEquals": {"iot:Certificate.Issuer.AlternativeName.DNSName.List": "ca.example.com"}}"""));
        statements.Add(Aws.Allow("iot:Subscribe", Aws.TopicFilter("conditions/issuer-organization"),
            """{"StringEquals": {"iot:Certificate.Issuer.Organization": "Issuer-Organization", "iot:Certificate.Subject.Country": "US"}}"""));
        registry.Policy("VariablePolicy", Aws.Policy([.. statements]))
            .Ca("ca", Ca)
            .Certificate("device", Device, "ACTIVE", "VariablePolicy")
            .Certificate("minimal", Minimal, "ACTIVE", "VariablePolicy");
        Snapshot = registry.Load();
    }

    public X509Certificate2 Ca { get; }

    public X509Certificate2 Device { get; }

    /// <summary>A self-signed certificate with nothing but CN=minimal.</summary>
    public X509Certificate2 Minimal { get; }

    public RegistrySnapshot Snapshot { get; }

    /// <summary>Every single-valued certificate variable of <see cref="Device"/>: short name, full key, value.</summary>
    public static IEnumerable<(string Name, string Key, string Value)> Variables
    {
        get
        {
            foreach (var side in (string[])["Subject", "Issuer"])
            {
                foreach (var attribute in AttributeNames)
                {
                    yield return ($"{side}.{attribute}", $"iot:Certificate.{side}.{attribute}", Value(side, attribute));
                }
            }

            yield return ("Subject.AlternativeName.RFC822Name", "iot:Certificate.Subject.AlternativeName.RFC822Name", "device@example.com");
            yield return ("Subject.AlternativeName.DNSName", "iot:Certificate.Subject.AlternativeName.DNSName", "device.example.com");
            yield return ("Subject.AlternativeName.DNSName.1", "iot:Certificate.Subject.AlternativeName.DNSName.1", "device-alt.example.com");
            yield return ("Subject.AlternativeName.DirectoryName", "iot:Certificate.Subject.AlternativeName.DirectoryName", "CN=subject-directory");
            yield return ("Subject.AlternativeName.UniformResourceIdentifier", "iot:Certificate.Subject.AlternativeName.UniformResourceIdentifier", "urn:example:device");
            yield return ("Subject.AlternativeName.IPAddress", "iot:Certificate.Subject.AlternativeName.IPAddress", "192.0.2.10");
            yield return ("Subject.AlternativeName.IPAddress.1", "iot:Certificate.Subject.AlternativeName.IPAddress.1", "2001:db8::7");
            yield return ("Issuer.AlternativeName.RFC822Name", "iot:Certificate.Issuer.AlternativeName.RFC822Name", "ca@example.com");
            yield return ("Issuer.AlternativeName.DNSName", "iot:Certificate.Issuer.AlternativeName.DNSName", "ca.example.com");
            yield return ("Issuer.AlternativeName.DirectoryName", "iot:Certificate.Issuer.AlternativeName.DirectoryName", "CN=issuer-directory");
            yield return ("Issuer.AlternativeName.UniformResourceIdentifier", "iot:Certificate.Issuer.AlternativeName.UniformResourceIdentifier", "urn:example:ca");
            yield return ("Issuer.AlternativeName.IPAddress", "iot:Certificate.Issuer.AlternativeName.IPAddress", "198.51.100.7");

            // The certificate's own serial number (not the DN attribute), in upper-case hex as openssl prints it.
            yield return ("SerialNumber", "iot:Certificate.SerialNumber", "0A1B2C3D4E");
        }
    }

    /// <summary>The value the fleet gives an attribute: e.g. Subject-Title, and a two-letter country.</summary>
    public static string Value(string side, string attribute) =>
        attribute == "Country" ? (side == "Subject" ? "US" : "DE") : $"{side}-{attribute}";

    public AuthorizationSubject Connect(X509Certificate2 certificate) =>
        Expect.Accepted(PrincipalResolver.ForCertificate(Snapshot, certificate, new ConnectionFacts { ClientId = "device-1" }));

    public void Dispose() => registry.Dispose();
}

/// <summary>Every certificate variable AWS IoT defines, each proved by a decision of a real policy.</summary>
public sealed class CertificateVariableTests(CertificateVariableFleet fleet) : IClassFixture<CertificateVariableFleet>
{
    public static TheoryData<string, string, string> AllVariables()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (name, key, value) in CertificateVariableFleet.Variables)
        {
            data.Add(name, key, value);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AllVariables))]
    public void Each_certificate_variable_is_substituted_into_the_policy(string name, string key, string value)
    {
        var subject = fleet.Connect(fleet.Device);

        Expect.Allowed(subject, "iot:Publish", Aws.Topic($"vars/{name}/{value}"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic($"vars/{name}/{value}-other"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic($"vars/{name}/${{{key}}}"));
    }

    [Fact]
    public void The_fleet_covers_every_attribute_and_alternative_name_kind_AWS_lists_on_both_sides()
    {
        var names = CertificateVariableFleet.Variables.Select(v => v.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var side in (string[])["Subject", "Issuer"])
        {
            Assert.All(CertificateVariableFleet.AttributeNames, a => Assert.Contains($"{side}.{a}", names));
            Assert.All(CertificateVariableFleet.AlternativeNameKinds, k => Assert.Contains($"{side}.AlternativeName.{k}", names));
        }

        Assert.Contains("SerialNumber", names);
    }

    [Theory]
    [InlineData("Subject.Title")]
    [InlineData("Subject.AlternativeName.DNSName")]
    [InlineData("Issuer.Pseudonym")]
    [InlineData("Issuer.AlternativeName.IPAddress")]
    public void A_variable_the_certificate_has_no_value_for_stays_unresolved_and_is_reported_missing(string name)
    {
        var subject = fleet.Connect(fleet.Minimal);
        var resource = Aws.Topic($"vars/{name}/anything");

        Expect.ImplicitDeny(subject, "iot:Publish", resource);
        Assert.Contains($"iot:Certificate.{name}", subject.Explain("iot:Publish", resource).MissingContextValues);
    }

    [Fact]
    public void Variables_work_in_conditions_too()
    {
        Expect.Allowed(fleet.Connect(fleet.Device), "iot:Subscribe", Aws.TopicFilter("conditions/issuer-organization"));
        Expect.ImplicitDeny(fleet.Connect(fleet.Minimal), "iot:Subscribe", Aws.TopicFilter("conditions/issuer-organization"));
    }

    [Fact]
    public void AvailableKeys_names_the_variables_that_have_values()
    {
        var device = fleet.Connect(fleet.Device);
        var minimal = fleet.Connect(fleet.Minimal);

        Expect.Allowed(device, "iot:Subscribe", Aws.TopicFilter("keys/has-common-name"));
        Expect.Allowed(device, "iot:Subscribe", Aws.TopicFilter("keys/has-issuer-uri"));
        Expect.Allowed(minimal, "iot:Subscribe", Aws.TopicFilter("keys/has-common-name"));
        Expect.ImplicitDeny(minimal, "iot:Subscribe", Aws.TopicFilter("keys/has-issuer-uri"));
    }

    [Fact]
    public void Alternative_name_lists_hold_every_value_for_ForAllValues_and_ForAnyValue()
    {
        Expect.Allowed(fleet.Connect(fleet.Device), "iot:Subscribe", Aws.TopicFilter("lists/dns"));
        Expect.Allowed(fleet.Connect(fleet.Device), "iot:Subscribe", Aws.TopicFilter("lists/issuer-dns"));
        Expect.ImplicitDeny(fleet.Connect(fleet.Minimal), "iot:Subscribe", Aws.TopicFilter("lists/dns"));
    }

    [Fact]
    public void Extract_gives_the_same_values_the_decisions_used()
    {
        var values = CertificateVariables.Extract(fleet.Device);

        foreach (var (_, key, value) in CertificateVariableFleet.Variables)
        {
            Assert.True(values.TryGetValue(key, out var found), key);
            Assert.Equal(value, found.Single);
        }
    }
}
