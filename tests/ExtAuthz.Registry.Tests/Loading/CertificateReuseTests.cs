using ExtAuthz.Registry.Tests.Support;
using static ExtAuthz.Registry.Tests.Loading.LoadingTestKit;

namespace ExtAuthz.Registry.Tests.Loading;

/// <summary>Device certificates are parsed on first use, and a reload hands the previous snapshot's certificates on.</summary>
public sealed class CertificateReuseTests : IDisposable
{
    private readonly TempConfigDirectory dir = new();
    private readonly System.Security.Cryptography.X509Certificates.X509Certificate2 device = TestPki.CreateDevice("CN=d1");

    public CertificateReuseTests()
    {
        dir.Write("d1.pem", TestPki.ToPem(device));
        dir.Write("registry.yaml", Header + "certificates:\n  - pemFile: d1.pem\n");
    }

    public void Dispose()
    {
        device.Dispose();
        dir.Dispose();
    }

    [Fact]
    public void A_reload_reuses_the_certificates_the_previous_snapshot_holds()
    {
        var first = Load(dir);
        var id = TestPki.AwsCertificateId(device);

        var second = RegistryLoader.Load([dir.Path], generation: 2, previous: first);
        var unrelated = RegistryLoader.Load([dir.Path]);

        Assert.Same(first.Certificates[id].Data, second.Certificates[id].Data);
        Assert.NotSame(first.Certificates[id].Data, unrelated.Certificates[id].Data);
    }

    [Fact]
    public void A_device_certificate_parses_to_the_certificate_written()
    {
        var record = Load(dir).Certificates[TestPki.AwsCertificateId(device)];

        Assert.Equal(device.RawData, record.Data.Der.ToArray());
        Assert.Equal(device.Thumbprint, record.Certificate.Thumbprint);
    }

    [Fact]
    public void A_truncated_certificate_is_refused_when_loaded()
    {
        var der = device.RawData[..^10];
        dir.Write("bad.pem", $"-----BEGIN CERTIFICATE-----\n{Convert.ToBase64String(der)}\n-----END CERTIFICATE-----\n");
        dir.Write("registry.yaml", Header + "certificates:\n  - pemFile: bad.pem\n");

        Single(Refuse(dir), dir["bad.pem"], 1, "not a valid X.509 certificate");
    }
}
