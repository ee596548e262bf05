using System.Runtime.CompilerServices;
using ExtAuthz.Registry.Tests.Support;
using static ExtAuthz.Registry.Tests.Loading.LoadingTestKit;

namespace ExtAuthz.Registry.Tests.Loading;

/// <summary>examples/quickstart, loaded as a user would after generating its certificates.</summary>
public sealed class QuickstartTests : IDisposable
{
    private readonly TempConfigDirectory temp = new();
    private readonly string configMap;
    private readonly string secret;
    private readonly string caId;
    private readonly string sensor1Id;
    private readonly string sensor2Id;

    public QuickstartTests()
    {
        var examples = Path.Combine(RepositoryRoot(), "examples");
        configMap = temp.Subdirectory("quickstart");
        secret = temp.Subdirectory("quickstart-secrets");
        foreach (var file in Directory.GetFiles(Path.Combine(examples, "quickstart")))
        {
            File.Copy(file, Path.Combine(configMap, Path.GetFileName(file)));
        }

        foreach (var file in Directory.GetFiles(Path.Combine(examples, "quickstart-secrets")))
        {
            File.Copy(file, Path.Combine(secret, Path.GetFileName(file)));
        }

        using var ca = TestPki.CreateCa("CN=ExampleCorp Dev CA, O=ExampleCorp");
        using var sensor1 = TestPki.CreateDevice(ca, "CN=sensor-1, O=ExampleCorp", SubjectAltName.Dns("sensor-1.devices.example.com"));
        using var sensor2 = TestPki.CreateDevice(ca, "CN=sensor-2, O=ExampleCorp", SubjectAltName.Dns("sensor-2.devices.example.com"));
        temp.Write("quickstart/certs/ca.pem", TestPki.ToPem(ca));
        temp.Write("quickstart/certs/sensor-1.pem", TestPki.ToPem(sensor1));
        temp.Write("quickstart/certs/sensor-2.pem", TestPki.ToPem(sensor2));
        using var console = TestPki.CreateDevice(ca, "CN=console, O=ExampleCorp", SubjectAltName.Dns("console.operators.example.com"));
        temp.Write("quickstart/certs/console.pem", TestPki.ToPem(console));
        caId = TestPki.AwsCertificateId(ca);
        sensor1Id = TestPki.AwsCertificateId(sensor1);
        sensor2Id = TestPki.AwsCertificateId(sensor2);
    }

    public void Dispose() => temp.Dispose();

    private static string RepositoryRoot([CallerFilePath] string path = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "..", "..", ".."));

    [Fact]
    public void Loads_with_its_secret_mount_and_generated_certificates()
    {
        var snapshot = Load(configMap, secret);

        Assert.Equal("123456789012", snapshot.AccountId);
        Assert.Equal("us-east-1", snapshot.Region);

        var device = snapshot.Policies["DevicePolicy"];
        Assert.Equal(["1", "2"], device.Versions.Select(v => v.VersionId));
        Assert.Equal("2", device.DefaultVersionId);
        Assert.Equal("arn:aws:iot:us-east-1:123456789012:policy/DevicePolicy", device.Arn);
        Assert.Equal(6, device.Document.Statements.Count);
        Assert.Contains("FleetPolicy", snapshot.Policies.Keys);
        Assert.Contains("CognitoIoTPolicy", snapshot.Policies.Keys);

        var ca = snapshot.CaCertificates[caId];
        Assert.True(ca.AutoRegistration);
        Assert.Equal(CertificateStatus.PendingActivation, ca.AutoRegisteredStatus);
        Assert.Equal(CertificateStatus.Active, ca.Status);

        Assert.Equal(["DevicePolicy"], snapshot.Certificates[sensor1Id].Policies);
        Assert.Equal(["DevicePolicy"], snapshot.Certificates[sensor2Id].Policies);
        Assert.Equal($"arn:aws:iot:us-east-1:123456789012:cert/{sensor1Id}", snapshot.Certificates[sensor1Id].Arn);

        var thing = Assert.Single(snapshot.ThingsByPrincipal[sensor1Id]);
        Assert.Equal("sensor-1", thing.Thing.Name);
        Assert.True(thing.Exclusive);
        Assert.False(Assert.Single(snapshot.ThingsByPrincipal[sensor2Id]).Exclusive);
        Assert.Equal("TemperatureSensor", snapshot.Things["sensor-1"].TypeName);
        Assert.Equal("2", snapshot.Things["sensor-1"].Attributes["floor"]);
        Assert.Equal(["greenhouse"], snapshot.Things["sensor-2"].Groups);
        Assert.Equal(["greenhouse", "fleet"], snapshot.GroupAndAncestors("greenhouse").Select(g => g.Name));
        Assert.Equal(["FleetPolicy"], snapshot.ThingGroups["fleet"].Policies);

        Assert.Equal(["CognitoIoTPolicy"], snapshot.PoliciesByCognitoIdentity["us-east-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"]);
        var pool = Assert.Single(snapshot.CognitoPools.Values);
        Assert.Equal("CognitoAuthenticatedRole", pool.AuthenticatedRole);
        Assert.Equal("CognitoUnauthenticatedRole", pool.UnauthenticatedRole);
        Assert.Single(snapshot.IamRoles["CognitoUnauthenticatedRole"].Policies);

        var alice = snapshot.IamUsers["alice"];
        Assert.Equal("arn:aws:iam::123456789012:user/alice", alice.Arn);
        Assert.Single(alice.Policies);
        var key = snapshot.AccessKeys["AKIAIOSFODNN7EXAMPLE"];
        Assert.Same(alice, key.Owner);
        Assert.Contains("EXAMPLE", key.Secret, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_the_secret_mount_the_access_key_is_refused()
    {
        var errors = Refuse(configMap);

        var error = Assert.Single(errors);
        Assert.Equal(Path.Combine(configMap, "registry.yaml"), error.File);
        Assert.Contains("'secretFile: alice.secret' names no file", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_generated_certificates_the_missing_pem_files_are_named()
    {
        Directory.Delete(Path.Combine(configMap, "certs"), recursive: true);

        var errors = Refuse(configMap, secret);

        // The four PEM files, then every reference to the certificates that could not be read.
        Assert.Equal(7, errors.Count);
        Assert.All(errors, e => Assert.Equal(Path.Combine(configMap, "registry.yaml"), e.File));
        foreach (var pem in new[] { "certs/ca.pem", "certs/sensor-1.pem", "certs/sensor-2.pem", "certs/console.pem" })
        {
            Assert.Contains(errors, e => e.Reason == $"'pemFile: {pem}' names no file in the configuration directories");
        }

        Assert.Equal(3, errors.Count(e => e.Reason.StartsWith("no certificate has the ID, name or PEM file", StringComparison.Ordinal)));
    }

    [Fact]
    public void Iam_policy_files_are_not_also_iot_policies()
    {
        var snapshot = Load(configMap, secret);

        Assert.DoesNotContain("IoTOperatorAccess", snapshot.Policies.Keys);
        Assert.DoesNotContain("CognitoIoTAccess", snapshot.Policies.Keys);
    }
}
