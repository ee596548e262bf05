using System.Text.Json;
using ExtAuthz.Envoy.ControlPlane;

namespace ExtAuthz.Envoy.Tests.ControlPlane;

/// <summary>
/// <see cref="DeferredAccess.Resolve"/>: each input's resource from the header or JSON body it names, and
/// every refusal, with its reason.
/// </summary>
public sealed class DeferredAccessTests
{
    private const string Region = "us-east-1";
    private const string Account = "123456789012";
    private const string Cert = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    private const string CertArn = "arn:aws:iot:us-east-1:123456789012:cert/" + Cert;
    private const string GroupArn = "arn:aws:iot:us-east-1:123456789012:thinggroup/g1";
    private const string ThingArn = "arn:aws:iot:us-east-1:123456789012:thing/t1";
    private const string Cognito = "us-east-1:0d6ef2c0-58c4-4f2b-9d8a-123456789abc";

    /// <summary>Input, the x-amzn-principal header (null: none), the body (null: none), and the resource or "error: reason" or "none".</summary>
    public static TheoryData<RequestInput, string?, string?, string> Cases => new()
    {
        // The principal header: a certificate, or a Cognito identity (no AWS IoT resource, so *).
        { RequestInput.PrincipalHeader, CertArn, null, "cert/" + Cert },
        { RequestInput.PrincipalHeader, Cognito, null, "*" },
        { RequestInput.PrincipalHeader, "eu-central-1:ABCDEF01-2345", null, "*" },
        { RequestInput.PrincipalHeader, CertArn, """{"target":"x"}""", "cert/" + Cert },
        { RequestInput.PrincipalHeader, null, null, "error: iot:X is checked on the principal in the x-amzn-principal header, and the request has none" },
        { RequestInput.PrincipalHeader, "", null, "error: iot:X is checked on the principal in the x-amzn-principal header, and the request has none" },
        { RequestInput.PrincipalHeader, GroupArn, null, $"error: the x-amzn-principal header '{GroupArn}' names a thinggroup; it must name a certificate" },
        { RequestInput.PrincipalHeader, "alice", null, "error: the x-amzn-principal header 'alice' is neither a certificate ARN nor a Cognito identity ID (region:id)" },
        { RequestInput.PrincipalHeader, "useast1:abc", null, "error: the x-amzn-principal header 'useast1:abc' is neither a certificate ARN nor a Cognito identity ID (region:id)" },
        { RequestInput.PrincipalHeader, "us-east-1:xyz", null, "error: the x-amzn-principal header 'us-east-1:xyz' is neither a certificate ARN nor a Cognito identity ID (region:id)" },
        { RequestInput.PrincipalHeader, "arn:aws:iot:eu-west-1:123456789012:cert/" + Cert, null, $"error: the x-amzn-principal header 'arn:aws:iot:eu-west-1:123456789012:cert/{Cert}' is in eu-west-1/123456789012; this service authorizes us-east-1/123456789012" },
        { RequestInput.PrincipalHeader, "arn:aws:iot:us-east-1:999999999999:cert/" + Cert, null, $"error: the x-amzn-principal header 'arn:aws:iot:us-east-1:999999999999:cert/{Cert}' is in us-east-1/999999999999; this service authorizes us-east-1/123456789012" },
        { RequestInput.PrincipalHeader, "arn:aws:iam::123456789012:user/alice", null, "error: the x-amzn-principal header 'arn:aws:iam::123456789012:user/alice' is not an AWS IoT ARN (arn:aws:iot:us-east-1:123456789012:type/name)" },
        { RequestInput.PrincipalHeader, "arn:aws-cn:iot:us-east-1:123456789012:cert/" + Cert, null, $"error: the x-amzn-principal header 'arn:aws-cn:iot:us-east-1:123456789012:cert/{Cert}' is not an AWS IoT ARN (arn:aws:iot:us-east-1:123456789012:type/name)" },
        { RequestInput.PrincipalHeader, "arn:aws:iot:us-east-1:123456789012:cert/" + Cert.ToUpperInvariant(), null, "error: a certificate ID may hold only 0-9 a-f; 'E' at offset 0 is not allowed" },

        // AttachPolicy's target: a certificate, a thing group, or a Cognito identity.
        { RequestInput.PolicyTarget, null, $$"""{"target":"{{CertArn}}"}""", "cert/" + Cert },
        { RequestInput.PolicyTarget, null, $$"""{"target":"{{GroupArn}}"}""", "thinggroup/g1" },
        { RequestInput.PolicyTarget, null, $$"""{"target":"{{Cognito}}","other":1}""", "*" },
        { RequestInput.PolicyTarget, null, "{}", "error: iot:X is checked on the target in the JSON body, and the request has none" },
        { RequestInput.PolicyTarget, null, null, "error: iot:X is checked on the target in the JSON body, and the request has none" },
        { RequestInput.PolicyTarget, CertArn, null, "error: iot:X is checked on the target in the JSON body, and the request has none" },
        { RequestInput.PolicyTarget, null, """{"target":5}""", "error: the JSON body's target must be a string" },
        { RequestInput.PolicyTarget, null, """{"target":null}""", "error: the JSON body's target must be a string" },
        { RequestInput.PolicyTarget, null, $$"""{"target":"{{CertArn}}","target":"{{GroupArn}}"}""", "error: the JSON body's target appears more than once" },
        { RequestInput.PolicyTarget, null, """{"target":"\ud800"}""", "error: the JSON body's target is not valid Unicode text" },
        { RequestInput.PolicyTarget, null, "[]", "error: the JSON body must be an object, not array" },
        { RequestInput.PolicyTarget, null, $$"""{"target":"{{ThingArn}}"}""", $"error: the target '{ThingArn}' names a thing; it must name a certificate or a thing group" },
        { RequestInput.PolicyTarget, null, """{"target":"arn:aws:iot:us-east-1:123456789012:thinggroup/g!"}""", "error: a thing group name may hold only a-z A-Z 0-9 : _ -; '!' at offset 1 is not allowed" },
        { RequestInput.PolicyTarget, null, """{"target":"arn:aws:iot:us-east-1:123456789012:thinggroup"}""", "error: the target 'arn:aws:iot:us-east-1:123456789012:thinggroup' is not an AWS IoT ARN (arn:aws:iot:us-east-1:123456789012:type/name)" },
        { RequestInput.PolicyTarget, null, """{"target":"g1"}""", "error: the target 'g1' is neither a certificate ARN, a thing group ARN nor a Cognito identity ID (region:id)" },

        // AddThingToThingGroup's thing and group: by ARN, by name, or both when they agree.
        { RequestInput.Thing, null, """{"thingName":"t1"}""", "thing/t1" },
        { RequestInput.Thing, null, $$"""{"thingArn":"{{ThingArn}}"}""", "thing/t1" },
        { RequestInput.Thing, null, $$"""{"thingArn":"{{ThingArn}}","thingName":"t1"}""", "thing/t1" },
        { RequestInput.Thing, null, $$"""{"thingArn":"{{ThingArn}}","thingName":"t2"}""", "error: thingArn and thingName name different things ('t1', 't2')" },
        { RequestInput.Thing, null, """{"thingGroupName":"g1"}""", "error: iot:X is checked on the thing (thingArn or thingName in the JSON body), and the request names none" },
        { RequestInput.Thing, null, null, "error: iot:X is checked on the thing (thingArn or thingName in the JSON body), and the request names none" },
        { RequestInput.Thing, null, """{"thingName":"bad!"}""", "error: a thing name may hold only a-z A-Z 0-9 : _ -; '!' at offset 3 is not allowed" },
        { RequestInput.Thing, null, """{"thingName":""}""", "error: a thing name must be 1 to 128 characters long, not 0" },
        { RequestInput.Thing, null, $$"""{"thingArn":"{{GroupArn}}"}""", $"error: thingArn '{GroupArn}' names a thinggroup, not a thing" },
        { RequestInput.Thing, null, """{"thingArn":"t1"}""", "error: thingArn 't1' is not an AWS IoT ARN (arn:aws:iot:us-east-1:123456789012:type/name)" },
        { RequestInput.Thing, null, """{"thingName":["t1"]}""", "error: the JSON body's thingName must be a string" },
        { RequestInput.ThingGroup, null, """{"thingName":"t1","thingGroupName":"g1"}""", "thinggroup/g1" },
        { RequestInput.ThingGroup, null, $$"""{"thingGroupArn":"{{GroupArn}}"}""", "thinggroup/g1" },
        { RequestInput.ThingGroup, null, """{"thingGroupName":"g1","thingGroupName":"g2"}""", "error: the JSON body's thingGroupName appears more than once" },
        { RequestInput.ThingGroup, null, $$"""{"thingGroupArn":"{{GroupArn}}","thingGroupName":"g2"}""", "error: thingGroupArn and thingGroupName name different thinggroups ('g1', 'g2')" },
        { RequestInput.ThingGroup, null, """{"thingName":"t1"}""", "error: iot:X is checked on the thinggroup (thingGroupArn or thingGroupName in the JSON body), and the request names none" },

        // CreateThing's billing group: only when the body names one.
        { RequestInput.BillingGroup, null, """{"billingGroupName":"b1"}""", "billinggroup/b1" },
        { RequestInput.BillingGroup, null, """{"thingTypeName":"tt"}""", "none" },
        { RequestInput.BillingGroup, null, null, "none" },
        { RequestInput.BillingGroup, null, """{"billingGroupName":"b.1"}""", "error: a billing group name may hold only a-z A-Z 0-9 : _ -; '.' at offset 1 is not allowed" },
        { RequestInput.BillingGroup, null, """{"billingGroupName":true}""", "error: the JSON body's billingGroupName must be a string" },
        { RequestInput.BillingGroup, null, "7", "error: the JSON body must be an object, not number" },

        // TestAuthorization's principal: a certificate; * for what AWS lists no resource for, or none.
        { RequestInput.TestPrincipal, null, $$"""{"principal":"{{CertArn}}","authInfos":[]}""", "cert/" + Cert },
        { RequestInput.TestPrincipal, null, $$"""{"principal":"{{GroupArn}}"}""", "*" },
        { RequestInput.TestPrincipal, null, $$"""{"principal":"{{Cognito}}"}""", "*" },
        { RequestInput.TestPrincipal, null, """{"authInfos":[]}""", "*" },
        { RequestInput.TestPrincipal, null, null, "*" },
        { RequestInput.TestPrincipal, null, $$"""{"principal":"{{ThingArn}}"}""", $"error: the principal '{ThingArn}' names a thing; it must name a certificate or a thing group" },
        { RequestInput.TestPrincipal, null, """{"principal":"arn:aws:iot:us-east-1:123456789012:thinggroup/a/b"}""", "error: a thing group name may hold only a-z A-Z 0-9 : _ -; '/' at offset 1 is not allowed" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_input_resolves_to_its_resource_or_a_reason(RequestInput input, string? principalHeader, string? body, string expected)
    {
        using var document = body is null ? null : JsonDocument.Parse(body);
        string? asked = null;

        var error = new DeferredAccess("iot:X", input).Resolve(
            name => (asked = name) == "x-amzn-principal" ? principalHeader : null, document?.RootElement, Region, Account, out var access);

        var actual = error is not null ? "error: " + error : access is { } permission ? permission.Resource : "none";
        Assert.Equal(expected, actual);
        Assert.True(error is null || access is null);
        Assert.Equal(input == RequestInput.PrincipalHeader ? "x-amzn-principal" : null, asked);
        if (access is { } resolved)
        {
            Assert.Equal("iot:X", resolved.Action);
        }
    }

    [Fact]
    public void Each_deferred_permission_of_a_route_resolves_from_a_real_request()
    {
        var route = ControlPlaneRoutes.Match("PUT", "/thing-groups/addThingToThingGroup");
        using var body = JsonDocument.Parse("""{"thingGroupName":"g1","thingArn":"arn:aws:iot:us-east-1:123456789012:thing/t1","overrideDynamicGroups":false}""");

        var permissions = route.Deferred.Select(deferred =>
        {
            Assert.Null(deferred.Resolve(_ => null, body.RootElement, Region, Account, out var access));
            return $"{access!.Value.Action} {access.Value.Resource}";
        });

        Assert.Equal(new[] { "iot:AddThingToThingGroup thing/t1", "iot:AddThingToThingGroup thinggroup/g1" }, permissions);
    }

    [Fact]
    public void Null_arguments_are_programming_errors()
    {
        var deferred = new DeferredAccess("iot:AttachPolicy", RequestInput.PolicyTarget);

        Assert.Throws<ArgumentNullException>(() => deferred.Resolve(null!, null, Region, Account, out _));
        Assert.Throws<ArgumentNullException>(() => deferred.Resolve(_ => null, null, null!, Account, out _));
        Assert.Throws<ArgumentNullException>(() => deferred.Resolve(_ => null, null, Region, null!, out _));
    }
}
