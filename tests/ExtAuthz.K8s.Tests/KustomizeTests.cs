using System.Text.Json.Nodes;
using ExtAuthz.K8s.Tests.Kustomize;
using ExtAuthz.K8s.Tests.Support;

namespace ExtAuthz.K8s.Tests;

/// <summary>The tests' kustomize renders as kubectl's does, and k8s/'s copies are the files they copy.</summary>
public sealed class KustomizeTests
{
    // Names kubectl kustomize (kustomize v5.5) gave these ConfigMaps.
    [Theory]
    [InlineData("a", "b", "4h2mbtbbt6")]
    [InlineData("f.txt", "x & <y>\n\"q\" \\ \t\n", "td8hghddbk")]
    public void Name_suffix_is_kustomizes(string key, string value, string suffix) =>
        Assert.Equal(suffix, Kustomization.Hash(new JsonObject { [key] = value }));

    [Fact]
    public void Registry_keeps_its_name_for_in_place_updates_and_Envoys_bootstrap_rolls_the_pods()
    {
        var rendered = Manifests.Render();
        var configMaps = rendered.Where(o => o.Kind == "ConfigMap").ToDictionary(o => o.Name, o => o.Json["data"]!.AsObject());
        var envoy = Assert.Single(configMaps, c => c.Key.StartsWith("extauthz-envoy-", StringComparison.Ordinal));

        Assert.Contains("extauthz-registry", configMaps.Keys);
        Assert.Equal($"extauthz-envoy-{Kustomization.Hash(envoy.Value)}", envoy.Key);
        var volumes = Manifests.Pod().Volumes.Where(v => v.ConfigMap is not null).ToDictionary(v => v.Name, v => v.ConfigMap.Name);
        Assert.Equal(envoy.Key, volumes["envoy-config"]);
        Assert.Equal("extauthz-registry", volumes["registry"]);
    }

    [Fact]
    public void Registry_files_are_the_quickstarts_verbatim()
    {
        var quickstart = Repository.PathOf("examples/quickstart");
        var copies = Repository.PathOf("k8s/config/registry");
        var expected = Directory.GetFiles(quickstart).Select(Path.GetFileName).OfType<string>()
            .Where(f => f.EndsWith(".json", StringComparison.Ordinal) || f.EndsWith(".yaml", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();

        Assert.Equal(expected, Directory.GetFiles(copies).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var file in expected)
        {
            Assert.True(
                File.ReadAllBytes(Path.Combine(quickstart, file)).SequenceEqual(File.ReadAllBytes(Path.Combine(copies, file))),
                $"k8s/config/registry/{file} differs from examples/quickstart/{file}: copy it again");
        }

        var registry = Manifests.Render().Single(o => o.Kind == "ConfigMap" && o.Name == "extauthz-registry");
        Assert.Equal(expected, registry.Json["data"]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Envoy_bootstrap_is_envoy_yaml_verbatim() =>
        Assert.True(
            File.ReadAllBytes(Repository.PathOf("envoy/envoy.yaml")).SequenceEqual(File.ReadAllBytes(Repository.PathOf("k8s/config/envoy/envoy.yaml"))),
            "k8s/config/envoy/envoy.yaml differs from envoy/envoy.yaml: copy it again");

    [Theory]
    [InlineData("namePrefix: x-\n", "'namePrefix' is not rendered")]
    [InlineData("resources: [../outside.yaml]\n", "outside the kustomization's directory")]
    [InlineData("configMapGenerator: [{name: x, files: [k=f.txt]}]\n", "'key=path' file entries are not rendered")]
    [InlineData("configMapGenerator: [{name: x, literals: [a=b]}]\n", "'literals' is not rendered")]
    public void Renderer_refuses_what_it_does_not_render(string more, string refusal)
    {
        var directory = Directory.CreateTempSubdirectory("extauthz-k8s-");
        try
        {
            var root = Directory.CreateDirectory(Path.Combine(directory.FullName, "k8s")).FullName;
            File.WriteAllText(Path.Combine(directory.FullName, "outside.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: o}\n");
            File.WriteAllText(Path.Combine(root, "f.txt"), "f");
            File.WriteAllText(Path.Combine(root, "kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" + more);

            var refused = Assert.Throws<NotSupportedException>(() => Kustomization.Render(root));
            Assert.Contains(refusal, refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
