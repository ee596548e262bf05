using System.Security.Cryptography.X509Certificates;

namespace ExtAuthz.Tests;

/// <summary><c>serve --dev-certs</c>: what is missing is made, what exists is kept, and a set that cannot be completed is refused.</summary>
public sealed class DevelopmentPkiTests : IDisposable
{
    private readonly string directory = Path.Combine(Directory.CreateTempSubdirectory("extauthz-dev-pki-").FullName, "certs");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(directory)!, recursive: true);

    private string Pem(string name) => DevelopmentPki.CertificatePath(directory, name);

    [Fact]
    public async Task An_empty_directory_gets_the_whole_pki_and_a_complete_one_is_left_alone()
    {
        var made = await DevelopmentPki.CompleteAsync(directory);

        Assert.Equal(DevelopmentPki.Names.Select(Pem), made.Select(m => m.Path));
        var before = DevelopmentPki.Names.Select(n => File.ReadAllText(Pem(n))).ToList();
        Assert.Empty(await DevelopmentPki.CompleteAsync(directory));
        Assert.Equal(before, DevelopmentPki.Names.Select(n => File.ReadAllText(Pem(n))));
    }

    [Fact]
    public async Task A_missing_certificate_is_signed_by_the_existing_ca()
    {
        await DevelopmentPki.CreateAsync(directory);
        var ca = File.ReadAllText(Pem(DevelopmentPki.Ca));
        File.Delete(Pem(DevelopmentPki.Server));
        File.Delete(DevelopmentPki.KeyPath(directory, DevelopmentPki.Server));

        var made = await DevelopmentPki.CompleteAsync(directory);

        Assert.Equal([Pem(DevelopmentPki.Server)], made.Select(m => m.Path));
        Assert.Equal(ca, File.ReadAllText(Pem(DevelopmentPki.Ca)));
        using var caCertificate = X509Certificate2.CreateFromPem(ca);
        using var server = X509Certificate2.CreateFromPem(File.ReadAllText(Pem(DevelopmentPki.Server)));
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(caCertificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(chain.Build(server));
    }

    [Fact]
    public async Task Certificates_without_their_ca_are_refused()
    {
        await DevelopmentPki.CreateAsync(directory);
        File.Delete(Pem(DevelopmentPki.Ca));
        File.Delete(DevelopmentPki.KeyPath(directory, DevelopmentPki.Ca));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => DevelopmentPki.CompleteAsync(directory));

        Assert.Contains("not the CA that signed them", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_without_its_key_is_refused()
    {
        await DevelopmentPki.CreateAsync(directory);
        File.Delete(DevelopmentPki.KeyPath(directory, "sensor-2"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => DevelopmentPki.CompleteAsync(directory));

        Assert.Contains("sensor-2.pem and sensor-2.key must both exist", error.Message, StringComparison.Ordinal);
    }
}
