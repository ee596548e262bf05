using System.Globalization;
using System.Text;
using System.Text.Json;
using CsCheck;
using ExtAuthz.Envoy.ControlPlane;
using ExtAuthz.Envoy.Tests.Support;
using Xunit.Abstractions;

namespace ExtAuthz.Envoy.Tests.ControlPlane;

/// <summary>
/// <see cref="ControlPlaneRoutes.Match"/> and <see cref="DeferredAccess.Resolve"/> on generated input: they
/// never throw and always answer a well-formed route or resolution; and a valid name, percent-encoded any
/// way a client may encode it, comes back exactly (decoded once) in the resource.
/// </summary>
public sealed class ControlPlaneRoutesProperties(ITestOutputHelper output)
{
    private const string Cert = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "put", "", "G\u00c9T"];

    private static readonly string[] ResourceTypes = ["thing/", "thingtype/", "thinggroup/", "cert/", "cacert/", "policy/", "rule/"];

    private static readonly string[] ValidPaths =
    [
        "/things?maxResults=1",
        "/things/t1",
        "/things/my%3Athing/principals?thingPrincipalType=EXCLUSIVE_THING",
        "/things/t1/thing-groups",
        "/principals/things-v2",
        "/thing-types/tt/deprecate",
        "/thing-groups/addThingToThingGroup",
        "/thing-groups/g1/things",
        "/certificates/" + Cert + "?newStatus=ACTIVE",
        "/cacertificate/" + Cert + "?newStatus=INACTIVE&newAutoRegistrationStatus=DISABLE",
        "/certificate/register-no-ca",
        "/policies/a.b%2Bc/version/3",
        "/target-policies/p1",
        "/attached-policies/arn%3Aaws%3Aiot%3Aus-east-1%3A1%3Acert%2Fx",
        "/rules/r_1/enable",
        "/endpoint?endpointType=iot:Data-ATS",
        "/test-authorization?clientId=c",
    ];

    /// <summary>Fragments that reach every rule: separators, escapes (whole, cut, bad, dots, slashes, invalid UTF-8), route words, names' characters, controls and non-ASCII.</summary>
    private static readonly string[] Fragments =
    [
        "/", "//", "?", "&", "=", "%", "%2", "%2F", "%2e", "%2E", "%25", "%C3", "%A9", "%FF", "%00", "%G1", ".", "..", "+", "@", ",", ":", "!",
        "a", "t1", "0", "things", "thing-types", "thing-groups", "principals", "things-v2", "principals-v2", "certificates", "certificate",
        "cacertificate", "register", "policies", "version", "target-policies", "attached-policies", "rules", "enable", "deprecate",
        "addThingToThingGroup", "updateThingGroupsForThing", "newStatus=ACTIVE", "newStatus=", Cert, " ", "\t", "\0", "\u00e9", "\uD800",
    ];

    private static readonly RequestLineGen Requests = new(ValidPaths, Fragments, maxFragments: 10, Methods);

    [Fact]
    public void Match_never_throws_and_always_answers_a_well_formed_route()
    {
        Gen.Select(Requests.AnyMethod, Requests.AnyPath).Sample((method, path) =>
        {
            var route = ControlPlaneRoutes.Match(method, path);
            if (!route.IsOperation)
            {
                Assert.Contains(route.HttpStatus, new[] { 400, 404, 405 });
                Assert.False(string.IsNullOrEmpty(route.Reason));
                Assert.Empty(route.Permissions);
                Assert.Empty(route.Deferred);
                return;
            }

            Assert.Equal((0, (string?)null), (route.HttpStatus, route.Reason));
            Assert.NotEqual(0, route.Permissions.Count + route.Deferred.Count);
            var action = "iot:" + route.Operation;
            foreach (var (permissionAction, resource) in route.Permissions)
            {
                Assert.Equal(action, permissionAction);
                Assert.True(resource == "*" || ResourceTypes.Any(type => resource.StartsWith(type, StringComparison.Ordinal) && resource.Length > type.Length), resource);
            }

            Assert.All(route.Deferred, deferred => Assert.Equal(action, deferred.Action));
        }, writeLine: output.WriteLine, iter: 50_000, print: input => $"{Show(input.Item1)} {Show(input.Item2)}");
    }

    private const string Alphanumeric = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    private static readonly Gen<string> ThingName = Gen.Char[Alphanumeric + ":_-"].Array[1, 20].Select(chars => new string(chars));

    /// <summary>Policy names, but not the dot segments <c>.</c> and <c>..</c>, which the path refuses whatever their encoding.</summary>
    private static readonly Gen<string> PolicyName = Gen.Char[Alphanumeric + "_+=,.@-"].Array[1, 20].Select(chars => new string(chars)).Where(name => name is not "." and not "..");

    [Fact]
    public void A_valid_name_encoded_any_way_is_decoded_exactly_once()
    {
        Gen.Select(ThingName, PolicyName, Gen.Int).Sample((thing, policy, seed) =>
        {
            var random = new Random(seed);

            var described = ControlPlaneRoutes.Match("GET", "/things/" + Encode(thing, random));
            Assert.True(described.IsOperation, described.Reason);
            Assert.Equal(thing, described.ThingName);
            Assert.Equal("thing/" + thing, described.Permissions[0].Resource);

            var version = ControlPlaneRoutes.Match("PATCH", $"/policies/{Encode(policy, random)}/version/{Encode("12", random)}");
            Assert.True(version.IsOperation, version.Reason);
            Assert.Equal("policy/" + policy, version.Permissions[0].Resource);
        }, writeLine: output.WriteLine, iter: 20_000, print: input => $"{input.Item1} {input.Item2}");
    }

    private static readonly RequestInput[] Inputs = Enum.GetValues<RequestInput>();

    private static readonly string[] Values =
    [
        "t1", "g1", "b1", "bad!", "", "arn:aws:iot:us-east-1:123456789012:cert/" + Cert, "arn:aws:iot:us-east-1:123456789012:thinggroup/g1",
        "arn:aws:iot:us-east-1:123456789012:thing/t1", "arn:aws:iot:eu-west-1:123456789012:cert/" + Cert, "arn:aws:iam::123456789012:user/u",
        "arn:aws:iot:us-east-1:123456789012:", "arn:", "arn:aws:iot:us-east-1:123456789012:cert/", "us-east-1:0d6ef2c0-58c4", "us-east-1:",
        ":abc", "a-b-1:f", "us--1:f", "\u00e9",
    ];

    private static readonly string[] Fields = ["target", "thingName", "thingArn", "thingGroupName", "thingGroupArn", "billingGroupName", "principal", "other"];

    private static readonly Gen<string> AnyValue = Gen.Frequency((4, Gen.OneOf(Values)), (1, Gen.String));

    /// <summary>A JSON body: an object of string (or other) members, some repeated, or not an object at all.</summary>
    private static readonly Gen<string?> AnyBody = Gen.Frequency(
        (6, Gen.Select(Gen.OneOf(Fields), AnyValue, Gen.Bool).Array[0, 4].Select(members =>
            "{" + string.Join(",", members.Select(m => $"{Json(m.Item1)}:{(m.Item3 ? Json(m.Item2) : "5")}")) + "}")),
        (1, Gen.OneOf("[]", "\"s\"", "null", "7")),
        (1, Gen.Const((string?)null)));

    [Fact]
    public void Resolve_never_throws_and_answers_an_error_or_a_permission()
    {
        Gen.Select(Gen.OneOf(Inputs), Gen.Frequency((3, AnyValue.Select(value => (string?)value)), (1, Gen.Const((string?)null))), AnyBody).Sample((input, header, body) =>
        {
            JsonDocument? document;
            try
            {
                document = body is null ? null : JsonDocument.Parse(body);
            }
            catch (JsonException)
            {
                // The caller refuses a body that is not JSON before anything is resolved.
                return;
            }

            using var disposable = document;
            var deferred = new DeferredAccess("iot:X", input);

            var error = deferred.Resolve(name => name == "x-amzn-principal" ? header : null, document?.RootElement, "us-east-1", "123456789012", out var access);

            if (error is not null)
            {
                Assert.Null(access);
                Assert.NotEmpty(error);
                return;
            }

            if (access is { } permission)
            {
                Assert.Equal("iot:X", permission.Action);
                Assert.True(permission.Resource == "*" || (permission.Resource.Contains('/', StringComparison.Ordinal) && !permission.Resource.EndsWith('/')), permission.Resource);
            }
            else
            {
                Assert.Equal(RequestInput.BillingGroup, input);
            }
        }, writeLine: output.WriteLine, iter: 20_000, print: input => $"{input.Item1} {Show(input.Item2 ?? "(none)")} {Show(input.Item3 ?? "(none)")}");
    }

    /// <summary>A JSON string with every character outside printable ASCII (lone surrogates included) as a <c>\uXXXX</c> escape.</summary>
    private static string Json(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in text)
        {
            sb.Append(c is >= ' ' and <= '~' and not '"' and not '\\' ? c.ToString() : $"\\u{(int)c:X4}");
        }

        return sb.Append('"').ToString();
    }

    /// <summary>Each character raw or as a <c>%XX</c> escape in either hex case; <c>:</c> and <c>@</c> may go raw in a path segment, <c>+</c> too.</summary>
    private static string Encode(string name, Random random)
    {
        var sb = new StringBuilder();
        foreach (var c in name)
        {
            if (random.Next(3) > 0)
            {
                sb.Append(c);
            }
            else
            {
                var hex = ((int)c).ToString("X2", CultureInfo.InvariantCulture);
                sb.Append('%').Append(random.Next(2) == 0 ? hex : hex.ToLowerInvariant());
            }
        }

        return sb.ToString();
    }

    private static string Show(string text)
    {
        var sb = new StringBuilder("«");
        foreach (var c in text.Length > 300 ? text[..300] : text)
        {
            sb.Append(c is >= ' ' and <= '~' ? c.ToString() : $"\\u{{{(int)c:X4}}}");
        }

        return sb.Append('»').ToString();
    }
}
