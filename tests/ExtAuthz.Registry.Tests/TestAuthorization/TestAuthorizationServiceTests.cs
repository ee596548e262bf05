using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ExtAuthz.Registry.Tests.Support;
using ExtAuthz.Registry.TestAuthorization;

namespace ExtAuthz.Registry.Tests.TestAuthorization;

/// <summary>TestAuthorization as AWS defines it, against a small fleet written to a temp directory.</summary>
public sealed class TestAuthorizationServiceTests : IDisposable
{
    private const string Arn = "arn:aws:iot:us-east-1:123456789012:";
    private const string Identity = "us-east-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    private const string Pool = "us-east-1:1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d";

    private readonly TempConfigDirectory directory = new();
    private readonly X509Certificate2 device;
    private readonly X509Certificate2 inactive;
    private readonly RegistrySnapshot snapshot;

    public TestAuthorizationServiceTests()
    {
        var ca = TestPki.CreateCa();
        device = TestPki.CreateDevice(ca, "CN=sensor-1");
        inactive = TestPki.CreateDevice(ca, "CN=old");
        directory.Write("certs/sensor-1.pem", TestPki.ToPem(device));
        directory.Write("certs/old.pem", TestPki.ToPem(inactive));
        directory.Write("DevicePolicy.json", $$"""
            {"Version": "2012-10-17", "Statement": [
              {"Effect": "Allow", "Action": "iot:Connect", "Resource": "{{Arn}}client/${iot:Connection.Thing.ThingName}"},
              {"Effect": "Allow", "Action": "iot:Publish", "Resource": "{{Arn}}topic/sensors/${iot:Connection.Thing.ThingName}/*"},
              {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "{{Arn}}topicfilter/sensors/*"}]}
            """);
        directory.Write("FleetPolicy.json", $$"""
            {"Version": "2012-10-17", "Statement": [
              {"Effect": "Deny", "Action": "iot:Publish", "Resource": "{{Arn}}topic/sensors/*/firmware"},
              {"Effect": "Allow", "Action": "iot:Receive", "Resource": "{{Arn}}topic/fleet/*"}]}
            """);
        directory.Write("ExtraPolicy.json", $$"""
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Publish", "Resource": "{{Arn}}topic/extra"}]}
            """);
        directory.Write("CognitoPolicy.json", $$"""
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "{{Arn}}topicfilter/${cognito-identity.amazonaws.com:sub}/*"}]}
            """);
        directory.Write("registry.yaml", $$"""
            account: "123456789012"
            region: us-east-1
            certificates:
              - name: sensor-1
                pemFile: certs/sensor-1.pem
                policies: [DevicePolicy]
              - name: old
                pemFile: certs/old.pem
                status: INACTIVE
                policies: [DevicePolicy]
            thingGroups:
              - name: fleet
                policies: [FleetPolicy]
            things:
              - name: sensor-1
                groups: [fleet]
                principals:
                  - certificate: sensor-1
            policyAttachments:
              - policy: CognitoPolicy
                cognitoIdentity: {{Identity}}
            iam:
              policies:
                - name: RoleAccess
                  document: |
                    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}
              roles:
                - name: AuthRole
                  policies: [RoleAccess]
                - name: UnauthRole
                  inlinePolicies:
                    - name: ReadOnly
                      document: |
                        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Receive", "Resource": "*"}]}
            cognito:
              identityPools:
                - id: {{Pool}}
                  authenticatedRole: AuthRole
                  unauthenticatedRole: UnauthRole
            """);
        snapshot = RegistryLoader.Load([directory.Path]);
    }

    private string DeviceId => TestPki.AwsCertificateId(device);

    public void Dispose()
    {
        device.Dispose();
        inactive.Dispose();
        directory.Dispose();
    }

    private TestAuthorizationResponse Evaluate(string principal, string? clientId, params AuthInfo[] infos) =>
        TestAuthorizationService.Evaluate(snapshot, new TestAuthorizationRequest { Principal = principal, ClientId = clientId, AuthInfos = infos });

    private static string[] Names(PolicyList list) => list.Policies.Select(p => p.PolicyName).ToArray();

    [Fact]
    public void Certificate_arn_principal_gets_its_own_and_its_things_group_policies()
    {
        var response = Evaluate($"{Arn}cert/{DeviceId}", "sensor-1",
            new AuthInfo("CONNECT", [$"{Arn}client/sensor-1"]),
            new AuthInfo("PUBLISH", [$"{Arn}topic/sensors/sensor-1/data", $"{Arn}topic/sensors/sensor-1/firmware"]),
            new AuthInfo("RECEIVE", [$"{Arn}topic/other"]));

        Assert.Equal(4, response.AuthResults.Count);
        var connect = response.AuthResults[0];
        Assert.Equal("ALLOWED", connect.AuthDecision);
        Assert.Equal("CONNECT", connect.AuthInfo.ActionType);
        Assert.Equal([$"{Arn}client/sensor-1"], connect.AuthInfo.Resources);
        var allowed = Assert.Single(connect.Allowed.Policies);
        Assert.Equal(new PolicyReference("DevicePolicy", $"{Arn}policy/DevicePolicy"), allowed);
        Assert.Equal(["FleetPolicy"], Names(connect.Denied.ImplicitDeny));
        Assert.Empty(connect.Denied.ExplicitDeny.Policies);

        Assert.Equal("ALLOWED", response.AuthResults[1].AuthDecision);
        var firmware = response.AuthResults[2];
        Assert.Equal("EXPLICIT_DENY", firmware.AuthDecision);
        Assert.Equal([$"{Arn}topic/sensors/sensor-1/firmware"], firmware.AuthInfo.Resources);
        Assert.Equal(["DevicePolicy"], Names(firmware.Allowed));
        Assert.Equal(["FleetPolicy"], Names(firmware.Denied.ExplicitDeny));

        var receive = response.AuthResults[3];
        Assert.Equal("IMPLICIT_DENY", receive.AuthDecision);
        Assert.Equal(["DevicePolicy", "FleetPolicy"], Names(receive.Denied.ImplicitDeny).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void One_result_per_action_type_and_resource_in_request_order()
    {
        var response = Evaluate(DeviceId, "sensor-1",
            new AuthInfo("SUBSCRIBE", [$"{Arn}topicfilter/sensors/a", $"{Arn}topicfilter/x"]),
            new AuthInfo("PUBLISH", [$"{Arn}topic/extra"]));

        Assert.Equal(["SUBSCRIBE", "SUBSCRIBE", "PUBLISH"], response.AuthResults.Select(r => r.AuthInfo.ActionType));
        Assert.Equal(["ALLOWED", "IMPLICIT_DENY", "IMPLICIT_DENY"], response.AuthResults.Select(r => r.AuthDecision));
    }

    [Fact]
    public void Without_a_client_id_thing_variables_are_missing_context_values()
    {
        var result = Assert.Single(Evaluate(DeviceId, null, new AuthInfo("PUBLISH", [$"{Arn}topic/sensors/sensor-1/data"])).AuthResults);

        Assert.Equal("IMPLICIT_DENY", result.AuthDecision);
        Assert.Contains("iot:Connection.Thing.ThingName", result.MissingContextValues);
        Assert.DoesNotContain("FleetPolicy", Names(result.Denied.ImplicitDeny));
    }

    [Fact]
    public void Policy_names_to_add_and_skip_are_treated_as_attached_and_not_attached()
    {
        var request = new TestAuthorizationRequest
        {
            Principal = DeviceId,
            ClientId = "sensor-1",
            PolicyNamesToAdd = ["ExtraPolicy"],
            PolicyNamesToSkip = ["DevicePolicy"],
            AuthInfos = [new AuthInfo("PUBLISH", [$"{Arn}topic/extra", $"{Arn}topic/sensors/sensor-1/data"])],
        };

        var response = TestAuthorizationService.Evaluate(snapshot, request);

        Assert.Equal("ALLOWED", response.AuthResults[0].AuthDecision);
        Assert.Equal(["ExtraPolicy"], Names(response.AuthResults[0].Allowed));
        Assert.Equal("IMPLICIT_DENY", response.AuthResults[1].AuthDecision);
        Assert.DoesNotContain("DevicePolicy", response.AuthResults.SelectMany(r => Names(r.Allowed).Concat(Names(r.Denied.ImplicitDeny))));
    }

    [Fact]
    public void Thing_group_arn_principal_gets_the_group_policies()
    {
        var result = Assert.Single(Evaluate($"{Arn}thinggroup/fleet", null, new AuthInfo("RECEIVE", [$"{Arn}topic/fleet/news"])).AuthResults);

        Assert.Equal("ALLOWED", result.AuthDecision);
        Assert.Equal(["FleetPolicy"], Names(result.Allowed));
    }

    [Fact]
    public void Authenticated_cognito_identity_needs_the_role_and_the_attached_iot_policy()
    {
        var request = new TestAuthorizationRequest
        {
            Principal = Identity,
            CognitoIdentityPoolId = Pool,
            AuthInfos = [new AuthInfo("SUBSCRIBE", [$"{Arn}topicfilter/{Identity}/x", $"{Arn}topicfilter/other/x"])],
        };

        var response = TestAuthorizationService.Evaluate(snapshot, request);

        var own = response.AuthResults[0];
        Assert.Equal("ALLOWED", own.AuthDecision);
        Assert.Equal(
            [new PolicyReference("RoleAccess", "arn:aws:iam::123456789012:policy/RoleAccess"), new PolicyReference("CognitoPolicy", $"{Arn}policy/CognitoPolicy")],
            own.Allowed.Policies);
        Assert.Equal("IMPLICIT_DENY", response.AuthResults[1].AuthDecision);
        Assert.Equal(["CognitoPolicy"], Names(response.AuthResults[1].Denied.ImplicitDeny));
    }

    [Fact]
    public void Unauthenticated_cognito_identity_gets_the_unauthenticated_role_only()
    {
        var request = new TestAuthorizationRequest
        {
            Principal = Identity,
            CognitoIdentityPoolId = Pool,
            CognitoAuthenticated = false,
            AuthInfos = [new AuthInfo("RECEIVE", [$"{Arn}topic/any"]), new AuthInfo("PUBLISH", [$"{Arn}topic/any"])],
        };

        var response = TestAuthorizationService.Evaluate(snapshot, request);

        Assert.Equal("ALLOWED", response.AuthResults[0].AuthDecision);
        var inline = Assert.Single(response.AuthResults[0].Allowed.Policies);
        Assert.Equal("UnauthRole/ReadOnly", inline.PolicyName);
        Assert.Null(inline.PolicyArn);
        Assert.Equal("IMPLICIT_DENY", response.AuthResults[1].AuthDecision);
    }

    [Theory]
    [InlineData("INACTIVE")]
    [InlineData("not registered")]
    public void Refused_principals_are_errors_not_results(string reason)
    {
        var principal = reason == "INACTIVE" ? TestPki.AwsCertificateId(inactive) : new string('a', 64);

        var error = Assert.Throws<TestAuthorizationException>(() => Evaluate(principal, "sensor-1", new AuthInfo("CONNECT", [$"{Arn}client/sensor-1"])));

        Assert.Contains("refused before any policy", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("us-east-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "cognitoIdentityPoolId\" is required")]
    [InlineData("arn:aws:iot:eu-west-1:123456789012:cert/0000", "the configuration is us-east-1/123456789012")]
    [InlineData("arn:aws:iot:us-east-1:123456789012:thinggroup/nope", "thing group nope is not defined")]
    [InlineData("arn:aws:iot:us-east-1:123456789012:thing/sensor-1", "must be a certificate (cert/ID) or thing group")]
    [InlineData("sensor-1", "is not a certificate ARN or ID")]
    [InlineData("", "\"principal\" is required")]
    public void Unusable_principals_are_explained(string principal, string message)
    {
        var error = Assert.Throws<TestAuthorizationException>(() => Evaluate(principal, null, new AuthInfo("CONNECT", [$"{Arn}client/x"])));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Iam_user_and_role_arns_are_accepted_as_an_extension()
    {
        var result = Assert.Single(Evaluate("arn:aws:iam::123456789012:role/AuthRole", null, new AuthInfo("PUBLISH", [$"{Arn}topic/x"])).AuthResults);

        Assert.Equal("ALLOWED", result.AuthDecision);
        Assert.Equal("arn:aws:iam::123456789012:policy/RoleAccess", Assert.Single(result.Allowed.Policies).PolicyArn);
    }

    [Fact]
    public void Auth_infos_must_number_one_to_ten_with_known_action_types_and_arns()
    {
        var eleven = Enumerable.Range(0, 11).Select(i => new AuthInfo("CONNECT", [$"{Arn}client/{i}"])).ToArray();

        Assert.Contains("1 to 10", Assert.Throws<TestAuthorizationException>(() => Evaluate(DeviceId, null)).Message, StringComparison.Ordinal);
        Assert.Contains("1 to 10", Assert.Throws<TestAuthorizationException>(() => Evaluate(DeviceId, null, eleven)).Message, StringComparison.Ordinal);
        Assert.Contains("CONNECT, PUBLISH, SUBSCRIBE, RECEIVE", Assert.Throws<TestAuthorizationException>(() => Evaluate(DeviceId, null, new AuthInfo("publish", [$"{Arn}topic/a"]))).Message, StringComparison.Ordinal);
        Assert.Contains("is not an ARN", Assert.Throws<TestAuthorizationException>(() => Evaluate(DeviceId, null, new AuthInfo("PUBLISH", ["topic/a"]))).Message, StringComparison.Ordinal);
        Assert.Contains("at least one", Assert.Throws<TestAuthorizationException>(() => Evaluate(DeviceId, null, new AuthInfo("PUBLISH", []))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_policy_names_to_add_or_skip_are_errors()
    {
        var request = new TestAuthorizationRequest { Principal = DeviceId, PolicyNamesToSkip = ["Nope"], AuthInfos = [new AuthInfo("CONNECT", [$"{Arn}client/x"])] };

        var error = Assert.Throws<TestAuthorizationException>(() => TestAuthorizationService.Evaluate(snapshot, request));

        Assert.Contains("policyNamesToSkip: AWS IoT policy 'Nope' is not defined", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parses_aws_request_json_and_writes_aws_response_json()
    {
        var json = $$"""
            {"principal": "{{Arn}}cert/{{DeviceId}}", "clientId": "sensor-1", "policyNamesToAdd": [], "policyNamesToSkip": [],
             "authInfos": [{"actionType": "SUBSCRIBE", "resources": ["{{Arn}}topicfilter/sensors/+/data"]}]}
            """;

        using var output = JsonDocument.Parse(TestAuthorizationService.Run(snapshot, json));

        var result = Assert.Single(output.RootElement.GetProperty("authResults").EnumerateArray());
        Assert.Equal(["authInfo", "allowed", "denied", "authDecision", "missingContextValues"], result.EnumerateObject().Select(p => p.Name));
        Assert.Equal("SUBSCRIBE", result.GetProperty("authInfo").GetProperty("actionType").GetString());
        Assert.Equal($"{Arn}topicfilter/sensors/+/data", result.GetProperty("authInfo").GetProperty("resources")[0].GetString());
        var policy = result.GetProperty("allowed").GetProperty("policies")[0];
        Assert.Equal("DevicePolicy", policy.GetProperty("policyName").GetString());
        Assert.Equal($"{Arn}policy/DevicePolicy", policy.GetProperty("policyArn").GetString());
        Assert.Equal(JsonValueKind.Array, result.GetProperty("denied").GetProperty("explicitDeny").GetProperty("policies").ValueKind);
        Assert.Equal("FleetPolicy", result.GetProperty("denied").GetProperty("implicitDeny").GetProperty("policies")[0].GetProperty("policyName").GetString());
        Assert.Equal("ALLOWED", result.GetProperty("authDecision").GetString());
        Assert.Equal(0, result.GetProperty("missingContextValues").GetArrayLength());
    }

    [Theory]
    [InlineData("[]", "must be a JSON object")]
    [InlineData("{\"principal\": \"x\", \"Principal\": \"y\"}", "field names are case-sensitive: \"principal\"")]
    [InlineData("{\"principal\": \"x\", \"principal\": \"y\"}", "not valid JSON")]
    [InlineData("{\"authInfos\": {}}", "\"authInfos\" must be an array")]
    [InlineData("{\"authInfos\": [{\"actionType\": \"CONNECT\"}]}", "authInfos[0].resources is required")]
    [InlineData("{\"authInfos\": [{\"actionType\": \"CONNECT\", \"resources\": [], \"x\": 1}]}", "authInfos[0]: unknown field \"x\"")]
    [InlineData("{\"policyNamesToAdd\": \"P\"}", "\"policyNamesToAdd\" must be an array of strings")]
    [InlineData("{\"cognitoAuthenticated\": \"yes\"}", "must be true or false")]
    [InlineData("{\"clientId\": 7}", "clientId must be a string")]
    public void Malformed_requests_are_refused_with_the_reason(string json, string message)
    {
        var error = Assert.Throws<TestAuthorizationException>(() => TestAuthorizationService.ParseRequest(json));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
