using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using ExtAuthz.K8s.Tests.Support;
using k8s.Models;
using static ExtAuthz.K8s.Tests.Support.Manifests;

namespace ExtAuthz.K8s.Tests;

/// <summary>
/// The pod agrees with what runs in it: Envoy's bootstrap (envoy/envoy.yaml) and <c>extauthz serve</c>'s
/// own reading of its arguments; and the objects around it agree with the pod.
/// </summary>
public sealed partial class PodTests
{
    [Fact]
    public void Envoy_container_ports_are_its_listeners_on_all_addresses()
    {
        var listeners = EnvoyConfig().Listeners.ToList();

        Assert.All(listeners, l => Assert.True(l.Address.Address.Equals(IPAddress.Any), $"listener {l.Name} listens on {l.Address}, which the pod's IP does not reach"));
        Assert.Equal(
            listeners.Select(l => l.Address.Port).Order(),
            Container(EnvoyContainer).Ports.Select(p => p.ContainerPort).Order());
    }

    [Fact]
    public void Service_exposes_each_listener_on_its_own_port_and_metrics_only_inside_the_cluster()
    {
        var ports = Container(EnvoyContainer).Ports.ToDictionary(p => p.Name, p => p.ContainerPort);
        var services = All<V1Service>("Service").ToDictionary(s => s.Metadata.Name);
        var devices = services[DeploymentName].Spec;

        // Devices connect to AWS IoT's port numbers, so each service port is the listener's own.
        Assert.Equal(ports.Values.Order(), devices.Ports.Select(p => p.Port).Order());
        Assert.All(devices.Ports, p => Assert.Equal(p.Port, ports[p.TargetPort.Value]));

        var metrics = Assert.Single(services["extauthz-metrics"].Spec.Ports);
        Assert.Equal("ClusterIP", services["extauthz-metrics"].Spec.Type);
        Assert.Equal("metrics", metrics.Name);
        Assert.Equal(Serve().Admin!.Port, Assert.Single(Container(ExtAuthzContainer).Ports, p => p.Name == metrics.TargetPort.Value).ContainerPort);
        Assert.Equal(Serve().Admin!.Port.ToString(CultureInfo.InvariantCulture), Deployment().Spec.Template.Metadata.Annotations["prometheus.io/port"]);
    }

    [Fact]
    public void Network_policy_admits_the_listeners_from_anywhere_and_the_admin_port_from_monitoring_only()
    {
        var policy = Assert.Single(All<V1NetworkPolicy>("NetworkPolicy")).Spec;

        Assert.Equal(["Ingress"], policy.PolicyTypes);
        Assert.Equal(2, policy.Ingress.Count);
        var devices = Assert.Single(policy.Ingress, r => r.FromProperty is null);
        Assert.Equal(EnvoyConfig().Listeners.Select(l => l.Address.Port).Order(), devices.Ports.Select(p => int.Parse(p.Port.Value, CultureInfo.InvariantCulture)).Order());

        var monitoring = Assert.Single(policy.Ingress, r => r.FromProperty is not null);
        var peer = Assert.Single(monitoring.FromProperty);
        Assert.Null(peer.PodSelector);
        Assert.Null(peer.IpBlock);
        Assert.Equal("monitoring", peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]);
        Assert.Equal(Serve().Admin!.Port.ToString(CultureInfo.InvariantCulture), Assert.Single(monitoring.Ports).Port.Value);
    }

    [Fact]
    public void Envoy_reads_the_repositorys_bootstrap_from_its_ConfigMap()
    {
        var envoy = Container(EnvoyContainer);
        Assert.Equal("-c", envoy.Args[0]);
        var mount = Assert.Single(envoy.VolumeMounts, m => m.MountPath == envoy.Args[1]);
        var configMap = Volume(mount).ConfigMap ?? throw new InvalidOperationException($"{mount.MountPath} is not a ConfigMap");

        var rendered = Render().Single(o => o.Kind == "ConfigMap" && o.Name == configMap.Name);
        Assert.Equal(Repository.ReadText("envoy/envoy.yaml"), (string?)rendered.Json["data"]![mount.SubPath]);
    }

    [Fact]
    public void Envoys_certificates_and_keys_come_from_a_mounted_Secret()
    {
        var mounts = Container(EnvoyContainer).VolumeMounts;
        var files = EnvoyConfig().Files.ToList();

        Assert.NotEmpty(files);
        Assert.All(files, file =>
        {
            var mount = mounts.SingleOrDefault(m => file.StartsWith(m.MountPath + "/", StringComparison.Ordinal));
            Assert.True(mount is not null, $"envoy.yaml reads {file}, which no volume of the envoy container holds");
            Assert.True(Volume(mount).Secret is not null, $"envoy.yaml reads {file} from {mount.MountPath}, which is not a Secret");
            Assert.Null(Volume(mount).Secret.Items);
        });
    }

    [Fact]
    public void Envoys_loopback_clusters_are_what_serve_listens_on()
    {
        var serve = Serve();
        var clusters = EnvoyConfig().Clusters.ToDictionary(c => c.Name, c => c.Endpoints);
        var loopback = clusters.SelectMany(c => c.Value).Where(e => IPAddress.IsLoopback(e.Address)).ToHashSet();
        IPEndPoint[] served = [serve.Listen!, serve.MqttTunnel!, serve.MqttWebSocket!, serve.HttpPublish!];

        // Every loopback endpoint Envoy uses is one of serve's, and every one of serve's is used.
        Assert.Equal(served.ToHashSet(), loopback);
        Assert.All(EnvoyConfig().ExtAuthzClusters, cluster => Assert.Equal([serve.Listen!], clusters[cluster]));
    }

    [Fact]
    public void Serve_keeps_its_Check_and_gate_endpoints_on_loopback_and_the_admin_port_reachable()
    {
        var serve = Serve();

        Assert.All([serve.Listen, serve.MqttTunnel, serve.MqttWebSocket, serve.HttpPublish], e => Assert.True(e is not null && IPAddress.IsLoopback(e.Address), $"{e} is not on loopback"));
        Assert.Null(serve.MqttListen);
        Assert.Equal(IPAddress.Any, serve.Admin!.Address);
        Assert.Equal([serve.Admin.Port], Container(ExtAuthzContainer).Ports.Select(p => p.ContainerPort));
    }

    [Fact]
    public void ExtAuthz_probes_ask_the_admin_endpoint_whether_it_is_up_and_has_a_configuration()
    {
        var extauthz = Container(ExtAuthzContainer);
        var admin = Serve().Admin!.Port;

        Assert.Equal("/healthz", extauthz.LivenessProbe.HttpGet.Path);
        Assert.Equal("/readyz", extauthz.ReadinessProbe.HttpGet.Path);
        Assert.All([extauthz.LivenessProbe.HttpGet, extauthz.ReadinessProbe.HttpGet], probe =>
        {
            Assert.True(ExtAuthzProgram.IsAdminPath(probe.Path), $"the admin endpoint does not answer {probe.Path}");
            Assert.Equal(admin.ToString(CultureInfo.InvariantCulture), probe.Port.Value);
        });
        Assert.False(ExtAuthzProgram.IsAdminPath("/ready"));
    }

    [Fact]
    public void Envoy_readiness_asks_the_loopback_admin_interface_for_ready()
    {
        var admin = EnvoyConfig().Admin;
        var script = string.Join(' ', Container(EnvoyContainer).ReadinessProbe.Exec.Command);

        Assert.True(IPAddress.IsLoopback(admin.Address), $"Envoy's admin interface is on {admin}: keep it on loopback");
        var request = EnvoyReadiness().Match(script);
        Assert.True(request.Success, $"the readiness probe does not ask Envoy's /ready: {script}");
        Assert.Equal(admin.Address.ToString(), request.Groups["address"].Value);
        Assert.Equal(admin.Port.ToString(CultureInfo.InvariantCulture), request.Groups["port"].Value);
        Assert.Null(Container(EnvoyContainer).LivenessProbe);
    }

    [Fact]
    public void Every_configuration_directory_is_mounted_and_every_mounted_volume_is_configuration()
    {
        var configs = Serve().Configs;
        var mounts = Container(ExtAuthzContainer).VolumeMounts.Where(m => Volume(m).EmptyDir is null).ToList();

        static bool Within(string path, string directory) => path == directory || path.StartsWith(directory + "/", StringComparison.Ordinal);
        Assert.All(configs, c => Assert.True(mounts.Any(m => Within(m.MountPath, c)), $"--config {c} is not a mounted volume, nor holds one"));
        Assert.All(mounts, m => Assert.True(configs.Any(c => Within(m.MountPath, c)), $"{m.MountPath} is mounted but not in any --config directory"));
        Assert.All(mounts, m => Assert.True(m.ReadOnlyProperty, $"{m.MountPath} is writable"));
    }

    [Fact]
    public void Containers_run_locked_down()
    {
        var pod = Pod();

        Assert.False(pod.AutomountServiceAccountToken);
        Assert.NotEqual(true, pod.HostNetwork);
        Assert.NotEqual(true, pod.HostPID);
        Assert.NotEqual(true, pod.HostIPC);
        Assert.All(pod.Containers, c =>
        {
            var context = c.SecurityContext;
            Assert.True(context.RunAsNonRoot ?? pod.SecurityContext.RunAsNonRoot, $"{c.Name}: runAsNonRoot");
            Assert.NotEqual(0, context.RunAsUser ?? pod.SecurityContext.RunAsUser);
            Assert.False(context.AllowPrivilegeEscalation, $"{c.Name}: allowPrivilegeEscalation");
            Assert.NotEqual(true, context.Privileged);
            Assert.True(context.ReadOnlyRootFilesystem, $"{c.Name}: readOnlyRootFilesystem");
            Assert.Equal(["ALL"], context.Capabilities.Drop);
            Assert.Null(context.Capabilities.Add);
            Assert.Equal("RuntimeDefault", (context.SeccompProfile ?? pod.SecurityContext.SeccompProfile).Type);
            foreach (var resource in new[] { "cpu", "memory" })
            {
                Assert.True(c.Resources.Requests.ContainsKey(resource), $"{c.Name} requests no {resource}");
                Assert.True(c.Resources.Limits.ContainsKey(resource), $"{c.Name} has no {resource} limit");
            }
        });
    }

    [Fact]
    public void Ports_below_1024_are_bound_without_privileges()
    {
        var lowest = Pod().Containers.SelectMany(c => c.Ports ?? []).Min(p => p.ContainerPort);
        var sysctl = Pod().SecurityContext.Sysctls?.SingleOrDefault(s => s.Name == "net.ipv4.ip_unprivileged_port_start");

        Assert.True(lowest >= 1024 || (sysctl is not null && int.Parse(sysctl.Value, CultureInfo.InvariantCulture) <= lowest),
            $"port {lowest} needs root or NET_BIND_SERVICE unless net.ipv4.ip_unprivileged_port_start allows it");
    }

    [Fact]
    public void Selectors_and_targets_all_find_the_pod()
    {
        var deployment = Deployment();
        var labels = deployment.Spec.Template.Metadata.Labels;
        bool Selects(IDictionary<string, string> selector) => selector.All(s => labels.TryGetValue(s.Key, out var v) && v == s.Value);

        Assert.True(Selects(deployment.Spec.Selector.MatchLabels));
        Assert.All(All<V1Service>("Service"), s => Assert.True(Selects(s.Spec.Selector), $"Service {s.Metadata.Name} selects no pod"));
        Assert.True(Selects(Assert.Single(All<V1PodDisruptionBudget>("PodDisruptionBudget")).Spec.Selector.MatchLabels));
        Assert.True(Selects(Assert.Single(All<V1NetworkPolicy>("NetworkPolicy")).Spec.PodSelector.MatchLabels));

        var hpa = Assert.Single(All<V2HorizontalPodAutoscaler>("HorizontalPodAutoscaler")).Spec;
        Assert.Equal(("apps/v1", "Deployment", deployment.Metadata.Name), (hpa.ScaleTargetRef.ApiVersion, hpa.ScaleTargetRef.Kind, hpa.ScaleTargetRef.Name));
        Assert.Null(deployment.Spec.Replicas);
        Assert.True(hpa.MinReplicas >= 2, "one replica leaves the fleet without an entry point during a rollout or a node's loss");
        Assert.Equal("cpu", Assert.Single(hpa.Metrics).Resource.Name);
    }

    [Fact]
    public void Envoy_image_is_pinned_to_a_release_envoy_yaml_supports()
    {
        var image = Container(EnvoyContainer).Image;
        var tag = EnvoyImage().Match(image);
        Assert.True(tag.Success, $"pin Envoy to a release of the Ubuntu-based image (envoyproxy/envoy:vX.Y.Z), not {image}");

        var needs = NeedsEnvoy().Match(Repository.ReadText("envoy/envoy.yaml"));
        Assert.True(needs.Success, "envoy.yaml no longer says which Envoy it needs (\"Needs Envoy X.Y or later\")");
        Assert.True(
            Version.Parse(tag.Groups["version"].Value) >= Version.Parse(needs.Groups["version"].Value),
            $"{image} is older than the Envoy {needs.Groups["version"].Value} envoy.yaml needs");
    }

    [GeneratedRegex(@"/dev/tcp/(?<address>[0-9.]+)/(?<port>[0-9]+).*GET /ready HTTP/1\.1", RegexOptions.Singleline)]
    private static partial Regex EnvoyReadiness();

    [GeneratedRegex(@"^envoyproxy/envoy:v(?<version>[0-9]+\.[0-9]+\.[0-9]+)$")]
    private static partial Regex EnvoyImage();

    [GeneratedRegex(@"Needs Envoy (?<version>[0-9]+\.[0-9]+) or later")]
    private static partial Regex NeedsEnvoy();
}
