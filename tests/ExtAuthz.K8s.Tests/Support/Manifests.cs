using k8s;
using k8s.Models;
using ExtAuthz.K8s.Tests.Kustomize;

namespace ExtAuthz.K8s.Tests.Support;

/// <summary>k8s/ rendered as <c>kubectl apply -k k8s</c> would send it, and the pod's parts by name.</summary>
internal static class Manifests
{
    public const string DeploymentName = "extauthz";
    public const string EnvoyContainer = "envoy";
    public const string ExtAuthzContainer = "extauthz";

    public static List<RenderedObject> Render() => Kustomization.Render(Repository.PathOf("k8s"));

    /// <summary>The one rendered object of this kind and name, typed by the Kubernetes client.</summary>
    public static T Get<T>(string kind, string name)
    {
        var matches = Render().Where(o => o.Kind == kind && o.Name == name).ToList();
        return matches is [var single]
            ? KubernetesJson.Deserialize<T>(single.Json.ToJsonString())
            : throw new InvalidOperationException($"expected one {kind} {name} in k8s/, found {matches.Count}");
    }

    public static List<T> All<T>(string kind) =>
        Render().Where(o => o.Kind == kind).Select(o => KubernetesJson.Deserialize<T>(o.Json.ToJsonString())).ToList();

    public static V1Deployment Deployment() => Get<V1Deployment>("Deployment", DeploymentName);

    public static V1PodSpec Pod() => Deployment().Spec.Template.Spec;

    public static V1Container Container(string name) =>
        Pod().Containers.SingleOrDefault(c => c.Name == name) ?? throw new InvalidOperationException($"the pod has no container {name}");

    public static EnvoyBootstrap EnvoyConfig() => new(Repository.ReadText("envoy/envoy.yaml"));

    /// <summary>What <c>extauthz serve</c> makes of the extauthz container's arguments.</summary>
    public static ServeSettings Serve()
    {
        var args = Container(ExtAuthzContainer).Args ?? [];
        return args is ["serve", ..]
            ? ExtAuthzProgram.ParseServe(args.Skip(1))
            : throw new InvalidOperationException($"the extauthz container must run `serve`, not `{string.Join(' ', args)}`");
    }

    /// <summary>The volume a container mount names.</summary>
    public static V1Volume Volume(V1VolumeMount mount) =>
        Pod().Volumes.SingleOrDefault(v => v.Name == mount.Name) ?? throw new InvalidOperationException($"no volume {mount.Name}");
}
