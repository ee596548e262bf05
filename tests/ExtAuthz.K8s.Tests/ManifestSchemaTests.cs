using System.Text.Json.Nodes;
using ExtAuthz.K8s.Tests.Schema;
using ExtAuthz.K8s.Tests.Support;

namespace ExtAuthz.K8s.Tests;

/// <summary>Every object k8s/ renders to is one the Kubernetes API accepts, field for field.</summary>
public sealed class ManifestSchemaTests
{
    [Fact]
    public void Every_rendered_object_is_valid_for_the_Kubernetes_API()
    {
        var rendered = Manifests.Render();
        var problems = rendered.SelectMany(o => ApiSchema.Validate(o.Json).Select(p => $"{o}: {p}")).ToList();

        Assert.True(problems.Count == 0, $"against the Kubernetes API {ApiSchema.KubernetesVersion}:\n{string.Join('\n', problems)}");
        Assert.Equal(
            ["ConfigMap", "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy", "PodDisruptionBudget", "Service", "Service"],
            rendered.Select(o => o.Kind).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_kustomization_renders_every_manifest_in_k8s()
    {
        var files = Directory.GetFiles(Repository.PathOf("k8s"), "*.yaml")
            .Select(Path.GetFileName)
            .Where(f => f != "kustomization.yaml");

        Assert.Equal(files.Order(StringComparer.Ordinal), Manifests.Render().Select(o => o.Source).Where(s => s != "kustomization.yaml").Distinct().Order(StringComparer.Ordinal));
    }

    // The validator must refuse what the API server refuses, or a pass above would mean nothing.
    [Theory]
    [InlineData("securityContext: {fsGroup: 1654}", ".spec.template.spec.containers[0].securityContext.fsGroup: unknown field")]
    [InlineData("securityContext: {runAsNonroot: true}", ".securityContext.runAsNonroot: unknown field")]
    [InlineData("ports: [{containerPort: \"8883\"}]", ".ports[0].containerPort: the string \"8883\", where a 32-bit integer is expected")]
    [InlineData("ports: [{containerPort: 99999999999}]", "where a 32-bit integer is expected")]
    [InlineData("ports: [{name: mqtt}]", ".ports[0].containerPort: required")]
    [InlineData("readinessProbe: {httpGet: {path: /readyz, port: [9193]}}", ".httpGet.port: a list, where an integer or a string is expected")]
    [InlineData("resources: {limits: {memory: 1 GB}}", ".resources.limits[memory]: the string \"1 GB\" is not a quantity")]
    [InlineData("args: serve", ".args: the string \"serve\", where a list is expected")]
    [InlineData("securityContext: {readOnlyRootFilesystem: yes please}", "where a boolean is expected")]
    public void The_validator_refuses_what_the_API_refuses(string containerFields, string problem)
    {
        var problems = ApiSchema.Validate(Deployment(containerFields));

        Assert.Contains(problems, p => p.Contains(problem, StringComparison.Ordinal));
    }

    [Fact]
    public void The_validator_accepts_a_valid_object_and_refuses_unknown_kinds_and_label_types()
    {
        Assert.Empty(ApiSchema.Validate(Deployment("ports: [{containerPort: 8883, name: mqtt}]")));
        Assert.Equal(
            [$"the Kubernetes API {ApiSchema.KubernetesVersion} has no Deploymnet in apps/v1"],
            ApiSchema.Validate(new JsonObject { ["apiVersion"] = "apps/v1", ["kind"] = "Deploymnet" }));
        Assert.Contains(
            ".metadata.labels[enabled]: the boolean true, where a string is expected",
            ApiSchema.Validate(YamlJson.Load("{apiVersion: v1, kind: ConfigMap, metadata: {name: x, labels: {enabled: on}}}").AsObject()));
    }

    private static JsonObject Deployment(string containerFields) => YamlJson.Load($$$"""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: x}
        spec:
          selector: {matchLabels: {app: x}}
          template:
            metadata: {labels: {app: x}}
            spec:
              containers:
                - name: x
                  image: x:1
                  {{{containerFields}}}
        """).AsObject();
}
