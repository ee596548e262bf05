using ExtAuthz.Registry.Tests.Support;
using static ExtAuthz.Registry.Tests.Loading.LoadingTestKit;

namespace ExtAuthz.Registry.Tests.Loading;

/// <summary>What a refused configuration looks like: every error at once, with file, line, column and reason.</summary>
public sealed class ErrorReportingTests : IDisposable
{
    private readonly TempConfigDirectory dir = new();

    public void Dispose() => dir.Dispose();

    [Theory]
    [InlineData("account: \"12345\"\nregion: us-east-1\n", 1, 10, "account must be a 12-digit AWS account ID (quote it in YAML), not '12345'")]
    [InlineData("account: \"123456789012\"\nregion: US-EAST-1\n", 2, 9, "region must look like us-east-1, not 'US-EAST-1'")]
    [InlineData("account: \"123456789012\"\nregion: [us-east-1]\n", 2, 9, "'region' must be a single value, not a list or mapping")]
    public void Account_and_region_are_validated(string yaml, int line, int column, string reason)
    {
        dir.Write("registry.yaml", yaml);

        Has(Refuse(dir), dir["registry.yaml"], line, reason, column);
    }

    [Fact]
    public void An_unquoted_account_id_is_read_as_written()
    {
        dir.Write("registry.yaml", "account: 012345678901\nregion: us-east-1\n");

        Assert.Equal("012345678901", Load(dir).AccountId);
    }

    [Fact]
    public void Without_account_and_region_nothing_loads()
    {
        dir.Write("registry.yaml", "things:\n  - name: t1\n");

        var error = Single(Refuse(dir), dir["registry.yaml"], 0, "no registry document sets 'account' and 'region'");
        Assert.StartsWith($"{dir["registry.yaml"]}: no registry document", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_and_miscased_keys_are_refused_with_the_expected_keys()
    {
        dir.Write("registry.yaml", Header + "things:\n  - name: t1\n    colour: red\nthingGroups:\n  - Name: g\n");

        var errors = Refuse(dir);

        Assert.Equal(2, errors.Count);
        Has(errors, dir["registry.yaml"], 5, "unknown key 'colour' in a thing (expected name, type, attributes, groups, principals)", column: 5);
        Has(errors, dir["registry.yaml"], 7, "unknown key 'Name' in a thing group (keys are case-sensitive: 'name')", column: 5);
    }

    [Fact]
    public void An_unknown_top_level_key_is_refused()
    {
        dir.Write("registry.yaml", Header + "thing: []\n");

        Has(Refuse(dir), dir["registry.yaml"], 3, "unknown key 'thing' in a registry document (expected account, region, policies, certificates, caCertificates, things, thingGroups, policyAttachments, iam, cognito)", column: 1);
    }

    [Fact]
    public void Lists_and_mappings_must_have_the_right_shape()
    {
        dir.Write("registry.yaml", Header + "things:\n  name: t1\nthingGroups:\n  - just-a-name\n");

        var errors = Refuse(dir);

        Assert.Equal(2, errors.Count);
        Has(errors, dir["registry.yaml"], 4, "things must be a list", column: 3);
        Has(errors, dir["registry.yaml"], 6, "a thing group must be a mapping (key: value)", column: 5);
    }

    [Fact]
    public void Yaml_syntax_errors_are_refused_with_their_position()
    {
        dir.Write("registry.yaml", Header + "things:\n  - name: \"t1\n");

        var error = Assert.Single(Refuse(dir), e => e.File == dir["registry.yaml"] && e.Line > 0);

        Assert.True(error.Line >= 4, error.ToString());
    }

    [Fact]
    public void Duplicate_yaml_keys_are_refused()
    {
        dir.Write("registry.yaml", Header + "things:\n  - name: t1\n    name: t2\n");

        Has(Refuse(dir), dir["registry.yaml"], 5, "duplicate key", column: 5);
    }

    [Fact]
    public void Duplicate_keys_in_a_json_registry_document_are_refused()
    {
        dir.Write("a.registry.json", "{\"account\": \"123456789012\", \"region\": \"us-east-1\", \"region\": \"us-east-1\"}");

        Has(Refuse(dir), dir["a.registry.json"], 1, "duplicate key", column: 52);
    }

    [Fact]
    public void A_second_yaml_document_in_a_file_is_refused()
    {
        dir.Write("registry.yaml", Header + "---\nthings: []\n");

        Has(Refuse(dir), dir["registry.yaml"], 4, "one registry document per file; found a second '---' document");
    }

    [Fact]
    public void Every_error_in_every_file_is_reported_together_and_nothing_loads()
    {
        dir.Write("registry.yaml", Header + """
            certificates:
              - pemFile: missing.pem
            things:
              - name: t1
                groups: [nope]
            """);
        dir.Write("more.yaml", "thingGroups:\n  - name: g\n    parent: g\n");
        dir.Write("Bad.json", "{\"Version\": \"2012-10-17\"}");

        var ex = Assert.Throws<ConfigException>(() => RegistryLoader.Load([dir.Path]));

        Assert.Equal(4, ex.Errors.Count);
        Has(ex.Errors, dir["registry.yaml"], 4, "'pemFile: missing.pem' names no file", column: 14);
        Has(ex.Errors, dir["registry.yaml"], 7, "thing group 'nope' is not defined", column: 13);
        Has(ex.Errors, dir["more.yaml"], 3, "the parents of thing group 'g' form a cycle", column: 13);
        Assert.Contains(ex.Errors, e => e.File == dir["Bad.json"]);
        Assert.StartsWith("4 configuration errors:\n  ", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"\n  {dir["more.yaml"]}:3:13: the parents of thing group 'g' form a cycle", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_single_error_is_the_whole_message()
    {
        dir.Write("registry.yaml", Header + "things:\n  - name: t1\n    groups: [nope]\n");

        var ex = Assert.Throws<ConfigException>(() => RegistryLoader.Load([dir.Path]));

        Assert.Equal($"{dir["registry.yaml"]}:5:13: thing group 'nope' is not defined", ex.Message);
    }
}
