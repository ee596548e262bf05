using ExtAuthz.K8s.Tests.Support;
using ExtAuthz.Registry;
using static ExtAuthz.K8s.Tests.Support.Manifests;

namespace ExtAuthz.K8s.Tests;

/// <summary>
/// docs/deploy.md's rollout, played on disk: the pod's configuration directories, filled as the
/// kubelet fills them from the rendered ConfigMap and from the objects the platform team creates,
/// load as one configuration.
/// </summary>
public sealed class RolloutTests : IDisposable
{
    /// <summary>What the pod mounts that the platform team creates itself (docs/deploy.md): certificates and secrets stay out of git.</summary>
    private static readonly string[] External = ["extauthz-envoy-tls", "extauthz-certificates", "extauthz-secrets"];

    private readonly DirectoryInfo temp = Directory.CreateTempSubdirectory("extauthz-k8s-");

    public void Dispose() => temp.Delete(recursive: true);

    [Fact]
    public async Task Quickstart_configuration_loads_from_the_pods_mounts()
    {
        // `extauthz dev-certs`, as docs/deploy.md has it; the ConfigMap takes the certificates, not the keys.
        var certs = Path.Combine(temp.FullName, "dev-certs");
        var (status, output) = await ExtAuthzProgram.RunAsync("dev-certs", certs);
        Assert.True(status == 0, output);
        var sources = new Dictionary<string, string[]>(StringComparer.Ordinal)
        {
            ["extauthz-certificates"] = Directory.GetFiles(certs, "*.pem"),
            ["extauthz-secrets"] = [Repository.PathOf("examples/quickstart-secrets/alice.secret")],
        };
        var rendered = Render().Where(o => o.Kind == "ConfigMap").ToDictionary(o => o.Name, o => o.Json["data"]!.AsObject());

        var pod = Path.Combine(temp.FullName, "pod");
        string Local(string path) => Path.Combine(pod, path.TrimStart('/'));
        foreach (var mount in Container(ExtAuthzContainer).VolumeMounts)
        {
            var volume = Volume(mount);
            var directory = Directory.CreateDirectory(Local(mount.MountPath)).FullName;
            var name = volume.ConfigMap?.Name ?? volume.Secret?.SecretName;
            if (name is not null && rendered.TryGetValue(name, out var data))
            {
                foreach (var (key, value) in data)
                {
                    File.WriteAllText(Path.Combine(directory, key), (string?)value);
                }
            }
            else if (name is not null)
            {
                Assert.True(sources.TryGetValue(name, out var files), $"volume {volume.Name} mounts {name}, which neither k8s/ nor docs/deploy.md creates");
                foreach (var file in files)
                {
                    File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
                }
            }
        }

        var snapshot = RegistryLoader.Load(Serve().Configs.Select(Local).ToList());

        Assert.Equal("123456789012", snapshot.AccountId);
        Assert.Equal(3, snapshot.Certificates.Count);
        Assert.Single(snapshot.CaCertificates);
        Assert.Contains("DevicePolicy", snapshot.Policies.Keys);
        Assert.Contains("FleetPolicy", snapshot.Policies.Keys);
    }

    [Fact]
    public void The_objects_created_outside_the_kustomization_are_the_ones_the_pod_mounts_and_the_guide_creates()
    {
        var guide = Repository.ReadText("docs/deploy.md");
        var mounted = Pod().Volumes.Select(v => v.ConfigMap?.Name ?? v.Secret?.SecretName).OfType<string>()
            .Where(name => !Render().Any(o => o.Kind == "ConfigMap" && o.Name == name));

        Assert.Equal(External.Order(StringComparer.Ordinal), mounted.Order(StringComparer.Ordinal));
        Assert.All(External, name => Assert.Contains(name, guide, StringComparison.Ordinal));
        Assert.All(EnvoyConfig().Files.Select(Path.GetFileName).OfType<string>(), file => Assert.Contains(file, guide, StringComparison.Ordinal));
    }
}
