using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ExtAuthz.Tests;

public sealed class DevCertsCommandTests : IDisposable
{
    private readonly string directory = Path.Combine(Directory.CreateTempSubdirectory("extauthz-dev-certs-").FullName, "certs");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(directory)!, recursive: true);

    private static async Task<(int Exit, string Stdout, string Stderr)> Run(params string[] args)
    {
        using var input = new StringReader("");
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await Cli.RunAsync(args, input, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    private X509Certificate2 Read(string name) => X509Certificate2.CreateFromPemFile(Path.Combine(directory, name + ".pem"), Path.Combine(directory, name + ".key"));

    [Fact]
    public async Task Writes_a_ca_and_two_device_certificates_that_parse_and_chain()
    {
        var (exit, stdout, stderr) = await Run("dev-certs", directory);

        Assert.Equal(0, exit);
        Assert.Empty(stderr);
        using var ca = Read("ca");
        Assert.True(ca.HasPrivateKey);
        Assert.Equal(ca.SubjectName.RawData, ca.IssuerName.RawData);
        Assert.True(Assert.Single(ca.Extensions.OfType<X509BasicConstraintsExtension>()).CertificateAuthority);
        foreach (var name in new[] { "sensor-1", "sensor-2" })
        {
            using var device = Read(name);
            Assert.True(device.HasPrivateKey);
            Assert.Equal($"CN={name}, O=ExampleCorp", device.Subject);
            Assert.Equal(ca.Subject, device.Issuer);
            Assert.False(Assert.Single(device.Extensions.OfType<X509BasicConstraintsExtension>()).CertificateAuthority);
            Assert.Equal([$"{name}.devices.example.com"], Assert.Single(device.Extensions.OfType<X509SubjectAlternativeNameExtension>()).EnumerateDnsNames());
            using var key = device.GetECDsaPublicKey();
            Assert.Equal(256, key!.KeySize);

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            Assert.True(chain.Build(device), string.Join(", ", chain.ChainStatus.Select(s => s.StatusInformation)));
        }

        if (!OperatingSystem.IsWindows())
        {
            foreach (var name in new[] { "ca", "sensor-1", "sensor-2", "console", "server" })
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(directory, name + ".key")));
            }
        }
    }

    [Fact]
    public async Task Writes_a_localhost_server_certificate_for_tls_servers_only()
    {
        await Run("dev-certs", directory);

        using var ca = Read("ca");
        using var server = Read("server");
        Assert.Equal("CN=localhost, O=ExampleCorp", server.Subject);
        Assert.Equal(ca.Subject, server.Issuer);
        var names = Assert.Single(server.Extensions.OfType<X509SubjectAlternativeNameExtension>());
        Assert.Equal(["localhost"], names.EnumerateDnsNames());
        Assert.Equal(["127.0.0.1", "::1"], names.EnumerateIPAddresses().Select(a => a.ToString()));
        var usage = Assert.Single(server.Extensions.OfType<X509EnhancedKeyUsageExtension>());
        Assert.Equal(["1.3.6.1.5.5.7.3.1"], usage.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value));
    }

    [Fact]
    public async Task Prints_each_certificates_aws_certificate_id()
    {
        var (_, stdout, _) = await Run("dev-certs", directory);

        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        foreach (var (line, name) in lines.Zip(new[] { "ca", "sensor-1", "sensor-2", "console", "server" }))
        {
            using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(directory, name + ".pem")));
            var id = Convert.ToHexString(SHA256.HashData(certificate.RawData)).ToLowerInvariant();
            Assert.Equal($"{id}  {Path.Combine(directory, name + ".pem")}", line);
        }
    }

    [Fact]
    public async Task Refuses_to_overwrite_without_force()
    {
        await Run("dev-certs", directory);
        var before = File.ReadAllText(Path.Combine(directory, "sensor-1.pem"));

        var (exit, stdout, stderr) = await Run("dev-certs", directory);

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        Assert.Contains("refusing to overwrite", stderr, StringComparison.Ordinal);
        Assert.Contains("--force", stderr, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(Path.Combine(directory, "sensor-1.pem")));
    }

    [Fact]
    public async Task Refuses_when_any_one_file_exists_and_writes_nothing()
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "sensor-2.key"), "mine");

        var (exit, _, stderr) = await Run("dev-certs", directory);

        Assert.Equal(2, exit);
        Assert.Contains("sensor-2.key", stderr, StringComparison.Ordinal);
        Assert.Equal(["sensor-2.key"], Directory.GetFiles(directory).Select(Path.GetFileName));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(directory, "sensor-2.key")));
    }

    [Fact]
    public async Task Force_replaces_the_files_with_new_certificates_and_keeps_keys_private()
    {
        await Run("dev-certs", directory);
        var before = File.ReadAllText(Path.Combine(directory, "ca.pem"));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(directory, "ca.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        }

        var (exit, _, _) = await Run("dev-certs", "--force", directory);

        Assert.Equal(0, exit);
        Assert.NotEqual(before, File.ReadAllText(Path.Combine(directory, "ca.pem")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(directory, "ca.key")));
        }
    }

    [Theory]
    [InlineData]
    [InlineData("a", "b")]
    [InlineData("--forc")]
    public async Task Wrong_arguments_print_usage(params string[] arguments)
    {
        var (exit, stdout, stderr) = await Run(["dev-certs", .. arguments]);

        Assert.Equal(64, exit);
        Assert.Empty(stdout);
        Assert.Contains("extauthz dev-certs [--force] DIR", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_and_describes_the_command()
    {
        var (exit, stdout, _) = await Run("help");
        Assert.Equal(0, exit);
        Assert.Contains("extauthz dev-certs [--force] DIR", stdout, StringComparison.Ordinal);

        (exit, stdout, _) = await Run("help", "dev-certs");
        Assert.Equal(0, exit);
        Assert.Contains("mode 0600", stdout, StringComparison.Ordinal);
    }
}
