using System.Security.Cryptography;
using ExtAuthz.Registry.Tests.Support;
using static ExtAuthz.Registry.Tests.Loading.LoadingTestKit;

namespace ExtAuthz.Registry.Tests.Loading;

/// <summary>certificates and caCertificates: IDs, statuses, PEM handling, auto-registration, references.</summary>
public sealed class CertificateLoadingTests : IDisposable
{
    private readonly TempConfigDirectory dir = new();
    private readonly System.Security.Cryptography.X509Certificates.X509Certificate2 ca = TestPki.CreateCa();
    private readonly System.Security.Cryptography.X509Certificates.X509Certificate2 device;

    public CertificateLoadingTests()
    {
        device = TestPki.CreateDevice(ca, "CN=sensor-1, O=ExampleCorp, OU=Greenhouse", SubjectAltName.Dns("sensor-1.example.com"),
            SubjectAltName.Email("ops@example.com"), SubjectAltName.Uri("urn:device:1"), SubjectAltName.Ip("10.0.0.7"), SubjectAltName.Directory("CN=alt, O=ExampleCorp"));
        dir.Write("certs/ca.pem", TestPki.ToPem(ca));
        dir.Write("certs/sensor-1.pem", TestPki.ToPem(device));
    }

    public void Dispose()
    {
        device.Dispose();
        ca.Dispose();
        dir.Dispose();
    }

    private string Id => TestPki.AwsCertificateId(device);

    [Fact]
    public void The_certificate_id_is_the_lowercase_hex_sha256_of_the_der()
    {
        dir.Write("registry.yaml", Header + "certificates:\n  - pemFile: certs/sensor-1.pem\n");

        var record = Assert.Single(Load(dir).Certificates.Values);

        var expected = Convert.ToHexString(SHA256.HashData(device.RawData)).ToLowerInvariant();
        Assert.Equal(expected, record.Id);
        Assert.Equal(expected, RegistryLoader.CertificateId(device));
        Assert.Matches("^[0-9a-f]{64}$", record.Id);
        Assert.Equal($"arn:aws:iot:us-east-1:123456789012:cert/{expected}", record.Arn);
        Assert.Equal(CertificateStatus.Active, record.Status);
        Assert.Equal("sensor-1.pem", record.Name);
        Assert.Equal(device.RawData, record.Certificate.RawData);
    }

    [Theory]
    [InlineData("ACTIVE", CertificateStatus.Active)]
    [InlineData("INACTIVE", CertificateStatus.Inactive)]
    [InlineData("REVOKED", CertificateStatus.Revoked)]
    [InlineData("PENDING_TRANSFER", CertificateStatus.PendingTransfer)]
    [InlineData("PENDING_ACTIVATION", CertificateStatus.PendingActivation)]
    [InlineData("REGISTER_INACTIVE", CertificateStatus.RegisterInactive)]
    public void Every_aws_status_is_accepted(string text, CertificateStatus status)
    {
        dir.Write("registry.yaml", Header + $"certificates:\n  - pemFile: certs/sensor-1.pem\n    status: {text}\n");

        Assert.Equal(status, Load(dir).Certificates[Id].Status);
    }

    [Theory]
    [InlineData("active")]
    [InlineData("DISABLED")]
    public void Other_statuses_are_refused(string text)
    {
        dir.Write("registry.yaml", Header + $"certificates:\n  - pemFile: certs/sensor-1.pem\n    status: {text}\n");

        Single(Refuse(dir), dir["registry.yaml"], 5, $"status must be one of ACTIVE, INACTIVE, REVOKED, PENDING_TRANSFER, PENDING_ACTIVATION, REGISTER_INACTIVE, not '{text}'", column: 13);
    }

    [Fact]
    public void Ca_certificates_default_to_no_auto_registration_and_pending_activation()
    {
        dir.Write("registry.yaml", Header + """
            caCertificates:
              - name: plain
                pemFile: certs/ca.pem
            """);

        var record = Assert.Single(Load(dir).CaCertificates.Values);

        Assert.Equal(TestPki.AwsCertificateId(ca), record.Id);
        Assert.Equal($"arn:aws:iot:us-east-1:123456789012:cacert/{record.Id}", record.Arn);
        Assert.False(record.AutoRegistration);
        Assert.Equal(CertificateStatus.PendingActivation, record.AutoRegisteredStatus);
        Assert.Equal(CertificateStatus.Active, record.Status);
        Assert.Equal("plain", record.Name);
    }

    [Fact]
    public void Ca_auto_registration_and_its_status_are_read()
    {
        dir.Write("registry.yaml", Header + """
            caCertificates:
              - pemFile: certs/ca.pem
                autoRegistration: true
                autoRegisteredStatus: ACTIVE
            """);

        var record = Assert.Single(Load(dir).CaCertificates.Values);

        Assert.True(record.AutoRegistration);
        Assert.Equal(CertificateStatus.Active, record.AutoRegisteredStatus);
    }

    [Fact]
    public void Ca_booleans_and_statuses_are_validated()
    {
        dir.Write("registry.yaml", Header + """
            caCertificates:
              - pemFile: certs/ca.pem
                autoRegistration: yes
              - pemFile: certs/ca.pem
                autoRegisteredStatus: ENABLED
            """);

        var errors = Refuse(dir);

        Assert.Equal(2, errors.Count);
        Has(errors, dir["registry.yaml"], 5, "'autoRegistration' must be true or false, not 'yes'", column: 23);
        Has(errors, dir["registry.yaml"], 7, "autoRegisteredStatus must be one of ACTIVE", column: 27);
    }

    [Fact]
    public void A_pem_bundle_lists_every_certificate_and_inline_pem_works()
    {
        using var second = TestPki.CreateDevice(ca, "CN=sensor-2");
        using var third = TestPki.CreateDevice("CN=self-signed");
        dir.Write("bundle.pem", TestPki.ToPem(device, second));
        dir.Write("registry.yaml", Header + "certificates:\n  - pemFile: bundle.pem\n    status: INACTIVE\n  - pem: |\n"
            + string.Concat(TestPki.ToPem(third).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "      " + l + "\n")));

        var certificates = Load(dir).Certificates;

        Assert.Equal(3, certificates.Count);
        Assert.Equal(CertificateStatus.Inactive, certificates[TestPki.AwsCertificateId(second)].Status);
        Assert.Null(certificates[TestPki.AwsCertificateId(third)].Name);
    }

    [Fact]
    public void A_name_labels_one_certificate_only()
    {
        using var second = TestPki.CreateDevice(ca, "CN=sensor-2");
        dir.Write("bundle.pem", TestPki.ToPem(device, second));
        dir.Write("registry.yaml", Header + "certificates:\n  - name: both\n    pemFile: bundle.pem\n");

        Single(Refuse(dir), dir["registry.yaml"], 4, "'name: both' labels one certificate, but the PEM holds 2", column: 5);
    }

    [Fact]
    public void A_certificate_listed_twice_is_refused()
    {
        dir.Write("registry.yaml", Header + "certificates:\n  - pemFile: certs/sensor-1.pem\n  - pemFile: sensor-1.pem\n");

        Single(Refuse(dir), dir["registry.yaml"], 5, $"certificate {Id} is listed twice", column: 5);
    }

    [Fact]
    public void Exactly_one_of_pem_file_and_pem_is_required()
    {
        dir.Write("registry.yaml", Header + "certificates:\n  - status: ACTIVE\n  - pemFile: certs/sensor-1.pem\n    pem: x\n");

        var errors = Refuse(dir);

        Assert.Equal(2, errors.Count);
        Has(errors, dir["registry.yaml"], 4, "a certificate needs exactly one of 'pemFile' or 'pem'");
        Has(errors, dir["registry.yaml"], 5, "a certificate needs exactly one of 'pemFile' or 'pem'");
    }

    [Fact]
    public void A_private_key_in_a_pem_is_refused_with_its_line()
    {
        dir.Write("device.pem", TestPki.ToPem(device) + TestPki.PrivateKeyPem(device));
        dir.Write("registry.yaml", Header + "certificates:\n  - pemFile: device.pem\n");
        var keyLine = TestPki.ToPem(device).Count(c => c == '\n') + 1;

        Single(Refuse(dir), dir["device.pem"], keyLine, "PEM block 'PRIVATE KEY' is not a certificate (a private key has no place in the configuration)", column: 1);
    }

    [Fact]
    public void Pems_that_do_not_parse_are_refused_with_file_and_line()
    {
        dir.Write("corrupt.pem", "# comment\n-----BEGIN CERTIFICATE-----\nMIIBADCBpw==\n-----END CERTIFICATE-----\n");
        dir.Write("empty.pem", "hello\n");
        dir.Write("registry.yaml", Header + "certificates:\n  - pemFile: corrupt.pem\n  - pemFile: empty.pem\n");

        var errors = Refuse(dir);

        Assert.Equal(2, errors.Count);
        Has(errors, dir["corrupt.pem"], 2, "not a valid X.509 certificate", column: 1);
        Has(errors, dir["empty.pem"], 1, "no PEM certificate (-----BEGIN CERTIFICATE-----) found", column: 1);
    }

    [Fact]
    public void Certificates_are_referenced_by_id_arn_name_or_pem_file_name()
    {
        using var second = TestPki.CreateDevice(ca, "CN=sensor-2");
        dir.Write("sensor-2.pem", TestPki.ToPem(second));
        dir.Write("registry.yaml", Header + $"""
            certificates:
              - name: s1
                pemFile: certs/sensor-1.pem
            things:
              - name: byId
                principals:
                  - certificate: {Id}
              - name: byArn
                principals:
                  - certificate: arn:aws:iot:us-east-1:123456789012:cert/{Id}
              - name: byName
                principals:
                  - certificate: s1
              - name: byFileName
                principals:
                  - certificate: sensor-2.pem
            """.Replace("pemFile: certs/sensor-1.pem\n", "pemFile: certs/sensor-1.pem\n  - pemFile: sensor-2.pem\n", StringComparison.Ordinal));

        var attachments = Load(dir).ThingsByPrincipal[Id];

        Assert.Equal(["byId", "byArn", "byName"], attachments.Select(a => a.Thing.Name));
        Assert.Equal("byFileName", Assert.Single(Load(dir).ThingsByPrincipal[TestPki.AwsCertificateId(second)]).Thing.Name);
    }

    [Fact]
    public void Unknown_certificate_references_are_refused()
    {
        var unknown = new string('a', 64);
        dir.Write("registry.yaml", Header + $"""
            certificates:
              - pemFile: certs/sensor-1.pem
            things:
              - name: t1
                principals:
                  - certificate: sensor-9.pem
                  - certificate: {unknown}
                  - certificate: certs/sensor-1.pem
            """);

        var errors = Refuse(dir);

        Assert.Equal(3, errors.Count);
        Has(errors, dir["registry.yaml"], 8, "no certificate has the ID, name or PEM file 'sensor-9.pem'", column: 22);
        Has(errors, dir["registry.yaml"], 9, $"certificate {unknown} is not listed (and no ACTIVE CA certificate auto-registers certificates)", column: 22);
        Has(errors, dir["registry.yaml"], 10, "no certificate has the ID, name or PEM file 'certs/sensor-1.pem'", column: 22);
    }

    [Fact]
    public void An_auto_registering_ca_lets_things_name_unlisted_certificate_ids_but_not_policy_attachments()
    {
        var unlisted = new string('b', 64);
        dir.Write("P.json", PolicyJson());
        dir.Write("registry.yaml", Header + $"""
            caCertificates:
              - pemFile: certs/ca.pem
                autoRegistration: true
            things:
              - name: t1
                principals:
                  - certificate: {unlisted}
            policyAttachments:
              - policy: P
                certificate: {unlisted}
            """);

        Single(Refuse(dir), dir["registry.yaml"], 11, $"policies can be attached only to listed certificates; list {unlisted} under certificates", column: 5);
    }

    [Fact]
    public void A_pem_file_that_is_missing_is_named()
    {
        dir.Write("registry.yaml", Header + "certificates:\n  - pemFile: certs/nope.pem\n");

        Single(Refuse(dir), dir["registry.yaml"], 4, "'pemFile: certs/nope.pem' names no file in the configuration directories", column: 14);
    }
}
