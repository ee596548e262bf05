using System.Text.Json.Nodes;
using ExtAuthz.Deploy.Tests.Yaml;

namespace ExtAuthz.Deploy.Tests;

/// <summary>YAML is read with Envoy's (yaml-cpp's) scalar rules, not YAML 1.2's.</summary>
public sealed class EnvoyYamlTests
{
    [Theory]
    [InlineData("on", "true")]
    [InlineData("Yes", "true")]
    [InlineData("OFF", "false")]
    [InlineData("y", "true")]
    [InlineData("N", "false")]
    [InlineData("True", "true")]
    [InlineData("tRUE", "\"tRUE\"")]
    [InlineData("8883", "8883")]
    [InlineData("-12", "-12")]
    [InlineData("+7", "7")]
    [InlineData("0x1F", "31")]
    [InlineData("010", "8")]
    [InlineData("09", "\"09\"")]
    [InlineData("2147483647", "2147483647")]
    [InlineData("2147483648", "\"2147483648\"")]
    [InlineData("0x100000000", "\"4294967296\"")]
    [InlineData("99999999999999999999", "\"99999999999999999999\"")]
    [InlineData("1.5", "\"1.5\"")]
    [InlineData("1e3", "\"1e3\"")]
    [InlineData("0.25s", "\"0.25s\"")]
    [InlineData("127.0.0.1", "\"127.0.0.1\"")]
    [InlineData("~", "null")]
    [InlineData("null", "null")]
    [InlineData("NULL", "null")]
    public void Plain_scalars_mean_what_they_mean_to_Envoy(string scalar, string json) =>
        Assert.Equal(json, Value($"v: {scalar}"));

    [Theory]
    [InlineData("v: 'on'", "\"on\"")]
    [InlineData("v: \"8883\"", "\"8883\"")]
    [InlineData("v: !!str on", "true")]
    [InlineData("v: ! on", "\"on\"")]
    [InlineData("v: |\n  on\n", "\"on\\n\"")]
    [InlineData("v:", "null")]
    [InlineData("v: ''", "\"\"")]
    public void Quoted_and_block_scalars_are_strings_and_explicit_tags_are_ignored_as_Envoy_ignores_them(string yaml, string json) =>
        Assert.Equal(json, Value(yaml));

    [Fact]
    public void Keys_are_text_and_ignore_tagged_keys_are_dropped()
    {
        var document = EnvoyYaml.Parse("8080: a\non: b\n!ignore hidden: c\n");

        Assert.Equal("""{"8080":"a","on":"b"}""", document.Root!.ToJsonString());
    }

    [Fact]
    public void Aliases_are_expanded_and_merge_keys_stay_ordinary_keys()
    {
        var document = EnvoyYaml.Parse("a: &x {k: 1}\nb: *x\nc:\n  <<: *x\n").Root!.AsObject();

        Assert.Equal("""{"k":1}""", document["b"]!.ToJsonString());
        Assert.Equal("""{"k":1}""", document["c"]!["<<"]!.ToJsonString());
    }

    [Fact]
    public void Lines_are_kept_for_every_value()
    {
        var document = EnvoyYaml.Parse("static_resources:\n  clusters:\n  - name: a\n    typed_per_filter_config:\n      envoy.x: {}\n");

        Assert.Equal(3, document.LineOf("static_resources.clusters[0].name"));
        Assert.Equal(5, document.LineOf("static_resources.clusters[0].typed_per_filter_config[\"envoy.x\"]"));
        Assert.Equal(3, document.LineOf("static_resources.clusters[0].unknown"));
    }

    [Theory]
    [InlineData("a: 1\na: 2\n", "line 2: Duplicate key a")]
    [InlineData("a: 1\n'a': 2\n", "line 2: Duplicate key a")]
    [InlineData("a: 1\n---\na: 2\n", "2 YAML documents; Envoy reads exactly one")]
    [InlineData("a: [1\n", "line ")]
    public void Duplicate_keys_several_documents_and_broken_YAML_are_refused(string yaml, string message)
    {
        var error = Assert.Throws<FormatException>(() => EnvoyYaml.Parse(yaml));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    private static string Value(string yaml) => EnvoyYaml.Parse(yaml).Root!.AsObject()["v"]?.ToJsonString() ?? "null";
}
