using ExtAuthz.Registry.Tests.Support;
using static ExtAuthz.Registry.Tests.Loading.LoadingTestKit;

namespace ExtAuthz.Registry.Tests.Loading;

/// <summary>How files are found: directories, subdirectories, Kubernetes volumes, file references, document kinds.</summary>
public sealed class FileLayoutTests : IDisposable
{
    private readonly TempConfigDirectory dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void Kubernetes_configmap_and_secret_volumes_load_through_their_data_links()
    {
        using var ca = TestPki.CreateCa();
        using var device = TestPki.CreateDevice(ca, "CN=d1");
        var configMap = new KubernetesVolume(dir.Subdirectory("configmap"));
        var secret = new KubernetesVolume(dir.Subdirectory("secret"));
        configMap.Publish(new Dictionary<string, string>
        {
            ["registry.yaml"] = Header + """
                certificates:
                  - pemFile: d1.pem
                    policies: [DevicePolicy]
                iam:
                  users:
                    - name: op
                      accessKeys:
                        - id: AKIAIOSFODNN7EXAMPLE
                          secretFile: op-key
                """,
            ["DevicePolicy.json"] = PolicyJson(),
            ["d1.pem"] = TestPki.ToPem(device),
        });
        secret.Publish(new Dictionary<string, string> { ["op-key"] = "s3cret\n" });
        Assert.True(new FileInfo(Path.Combine(configMap.Path, "..data")).LinkTarget is not null);

        var snapshot = Load(configMap.Path, secret.Path);

        Assert.Equal(["DevicePolicy"], snapshot.Certificates[TestPki.AwsCertificateId(device)].Policies);
        Assert.Equal("s3cret", snapshot.AccessKeys["AKIAIOSFODNN7EXAMPLE"].Secret);
        // Each file is read once, through its visible link; the ..data and timestamped folders are skipped.
        Assert.Equal(4, snapshot.Files.Count);
        Assert.DoesNotContain(snapshot.Files, f => f.Contains("/..", StringComparison.Ordinal));

        configMap.Publish(new Dictionary<string, string>
        {
            ["registry.yaml"] = Header,
            ["OtherPolicy.json"] = PolicyJson("iot:Publish"),
        });

        var next = Load(configMap.Path, secret.Path);
        Assert.Equal(["OtherPolicy"], next.Policies.Keys.ToArray());
        Assert.Empty(next.Certificates);
    }

    [Fact]
    public void Kubernetes_volume_keys_with_folders_are_read_through_the_folder_link()
    {
        using var device = TestPki.CreateDevice("CN=d1");
        var volume = new KubernetesVolume(dir.Subdirectory("cm"));
        volume.Publish(new Dictionary<string, string>
        {
            ["registry.yaml"] = Header + "certificates:\n  - pemFile: certs/d1.pem\n",
            ["certs/d1.pem"] = TestPki.ToPem(device),
        });

        Assert.Contains(TestPki.AwsCertificateId(device), Load(volume.Path).Certificates.Keys);
    }

    [Fact]
    public void Hidden_files_and_folders_are_skipped_at_every_level()
    {
        dir.Write("registry.yaml", Header);
        dir.Write(".hidden.json", "not even JSON");
        dir.Write("sub/.git/config.yaml", "::: not yaml");
        dir.Write(".staging/registry.yaml", "account: nope");

        var snapshot = Load(dir);

        Assert.Equal([dir["registry.yaml"]], snapshot.Files);
    }

    [Fact]
    public void Subdirectories_are_read_and_files_are_named_by_relative_path_or_bare_name()
    {
        dir.Write("registry.yaml", Header + """
            policies:
              - name: ByPath
                file: policies/devices/a.json
              - name: ByBareName
                file: b.json
            """);
        dir.Write("policies/devices/a.json", PolicyJson("iot:Publish"));
        dir.Write("policies/b.json", PolicyJson("iot:Subscribe"));
        dir.Write("more/Auto.json", PolicyJson("iot:Receive"));

        var snapshot = Load(dir);

        Assert.Equal(["Auto", "ByBareName", "ByPath"], snapshot.Policies.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["iot:Publish"], snapshot.Policies["ByPath"].Document.Statements[0].Actions);
    }

    [Fact]
    public void A_bare_name_matching_files_in_two_folders_is_ambiguous()
    {
        dir.Write("registry.yaml", Header + "policies:\n  - name: P\n    file: p.json\n");
        dir.Write("a/p.json", PolicyJson());
        dir.Write("b/p.json", PolicyJson());

        var error = Has(Refuse(dir), dir["registry.yaml"], 5, "'file: p.json' is ambiguous", column: 11);
        Assert.Contains(dir["a/p.json"], error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void References_are_relative_to_the_configuration_directory_not_the_document()
    {
        dir.Write("team/registry.yaml", Header + "policies:\n  - name: P\n    file: team/p.json\n");
        dir.Write("team/p.json", PolicyJson());

        Assert.Contains("P", Load(dir).Policies.Keys);
    }

    [Fact]
    public void Files_are_found_across_configuration_directories()
    {
        var first = dir.Subdirectory("one");
        var second = dir.Subdirectory("two");
        dir.Write("one/registry.yaml", Header + "policies:\n  - name: P\n    file: p.json\n");
        dir.Write("two/p.json", PolicyJson());
        dir.Write("two/more.yml", "things:\n  - name: t1\n");

        var snapshot = Load(first, second);

        Assert.Contains("P", snapshot.Policies.Keys);
        Assert.Contains("t1", snapshot.Things.Keys);
    }

    [Fact]
    public void A_missing_configuration_directory_is_refused()
    {
        dir.Write("registry.yaml", Header);
        var missing = dir["nope"];

        var error = Assert.Single(Refuse(dir.Path, missing));

        Assert.Equal(missing, error.File);
        Assert.Equal("configuration directory does not exist", error.Reason);
    }

    [Fact]
    public void Json_registry_documents_work_like_yaml()
    {
        using var device = TestPki.CreateDevice("CN=d1");
        dir.Write("fleet.registry.json", """
            {
              "account": "123456789012",
              "region": "eu-west-1",
              "certificates": [{"pemFile": "d1.pem", "policies": ["P"]}],
              "things": [{"name": "t1", "attributes": {"floor": "3"}, "principals": [{"certificate": "d1.pem", "exclusive": true}]}]
            }
            """);
        dir.Write("P.json", PolicyJson());
        dir.Write("d1.pem", TestPki.ToPem(device));

        var snapshot = Load(dir);

        Assert.Equal("eu-west-1", snapshot.Region);
        Assert.Equal("arn:aws:iot:eu-west-1:123456789012:policy/P", snapshot.Policies["P"].Arn);
        Assert.True(Assert.Single(snapshot.ThingsByPrincipal[TestPki.AwsCertificateId(device)]).Exclusive);
        Assert.Equal("3", snapshot.Things["t1"].Attributes["floor"]);
    }

    [Fact]
    public void Json_registry_documents_report_positions_too()
    {
        dir.Write("fleet.registry.json", """
            {
              "account": "123456789012",
              "region": "us-east-1",
              "things": [{"name": "t1", "Groups": []}]
            }
            """);

        Single(Refuse(dir), dir["fleet.registry.json"], 4, "unknown key 'Groups' in a thing (keys are case-sensitive: 'groups')", column: 29);
    }

    [Fact]
    public void Several_documents_merge_and_yml_is_a_registry_document()
    {
        dir.Write("a.yaml", Header + "thingGroups:\n  - name: g\n");
        dir.Write("b.yml", "things:\n  - name: t1\n    groups: [g]\n");
        dir.Write("c.yaml", "region: us-east-1\n");

        var snapshot = Load(dir);

        Assert.Equal(["g"], snapshot.Things["t1"].Groups);
    }

    [Fact]
    public void Documents_that_disagree_on_account_or_region_are_refused()
    {
        dir.Write("a.yaml", Header);
        dir.Write("b.yaml", "account: \"210987654321\"\nregion: us-west-2\n");

        var errors = Refuse(dir);

        Assert.Equal(2, errors.Count);
        Has(errors, dir["b.yaml"], 1, "account '210987654321' disagrees with '123456789012' set in another document", column: 10);
        Has(errors, dir["b.yaml"], 2, "region 'us-west-2' disagrees with 'us-east-1'", column: 9);
    }

    [Fact]
    public void An_unreferenced_json_file_is_a_policy_named_after_the_file()
    {
        dir.Write("registry.yaml", Header);
        dir.Write("DevicePolicy.json", PolicyJson());

        var policy = Assert.Single(Load(dir).Policies.Values);

        Assert.Equal("DevicePolicy", policy.Name);
        Assert.Equal("arn:aws:iot:us-east-1:123456789012:policy/DevicePolicy", policy.Arn);
        Assert.Equal("1", policy.DefaultVersionId);
        Assert.Equal(dir["DevicePolicy.json"], Assert.Single(policy.Versions).Source.File);
    }

    [Fact]
    public void Files_that_are_neither_documents_nor_referenced_are_ignored()
    {
        dir.Write("registry.yaml", Header);
        dir.Write("README.md", "# notes");
        dir.Write("device.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        dir.Write("unused.pem", "garbage");

        Assert.Empty(Load(dir).Policies);
    }

    [Fact]
    public void An_unreferenced_json_file_that_is_not_a_policy_is_refused_with_its_position()
    {
        dir.Write("registry.yaml", Header);
        dir.Write("settings.json", "{\n  \"logLevel\": \"debug\"\n}\n");

        Single(Refuse(dir), dir["settings.json"], 2, "unknown policy element 'logLevel'", column: 3);
    }

    [Fact]
    public void An_unreferenced_json_file_whose_name_is_no_policy_name_is_refused()
    {
        dir.Write("registry.yaml", Header);
        dir.Write("my policy.json", PolicyJson());

        var error = Single(Refuse(dir), dir["my policy.json"], 0, "the file name makes the policy name 'my policy', which is not a valid AWS IoT policy name");
        Assert.Equal($"{dir["my policy.json"]}: {error.Reason}", error.ToString());
    }

    [Fact]
    public void An_unreferenced_json_file_named_like_a_declared_policy_is_refused()
    {
        dir.Write("registry.yaml", Header + "policies:\n  - name: P\n    document: '" + PolicyJson() + "'\n");
        dir.Write("P.json", PolicyJson());

        Single(Refuse(dir), dir["P.json"], 0, "policy 'P' is also declared in a registry document; reference this file there ('file: P.json') or rename one");
    }
}
