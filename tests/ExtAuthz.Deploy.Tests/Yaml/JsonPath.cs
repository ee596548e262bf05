using System.Text.RegularExpressions;

namespace ExtAuthz.Deploy.Tests.Yaml;

/// <summary>Paths into a configuration, as reported: <c>static_resources.listeners[0].name</c>; keys that are not identifiers in brackets (<c>typed_per_filter_config["envoy.filters.http.ext_authz"]</c>).</summary>
internal static partial class JsonPath
{
    public static string Property(string parent, string key) =>
        Identifier().IsMatch(key) ? (parent.Length == 0 ? key : $"{parent}.{key}") : $"{parent}[\"{key}\"]";

    public static string Index(string parent, int index) => $"{parent}[{index}]";

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex Identifier();
}
