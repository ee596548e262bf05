using System.Text.Json;
using Envoy.Service.Auth.V3;
using ExtAuthz.Envoy.Checking;
using ExtAuthz.Envoy.Observability;
using ExtAuthz.Envoy.Simulation;
using ExtAuthz.Envoy.Tests.Support;
using ExtAuthz.Identity.Cognito;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Identity.Sessions;
using ExtAuthz.Identity.SigV4;
using ExtAuthz.Identity.Tests.SigV4;
using ExtAuthz.Identity.Tests.Support;
using static ExtAuthz.Envoy.Tests.Support.CheckFleet;

namespace ExtAuthz.Envoy.Tests.Checking;

/// <summary>Cognito tokens and SigV4 signatures on 443, the WebSocket upgrade, and the control plane, through the Check handler.</summary>
public sealed class CheckHandlerCredentialTests : IDisposable
{
    private readonly CheckFleet fleet = new();
    private readonly List<DecisionRecord> records = [];
    private readonly SessionHandles sessions = SessionHandles.WithRandomKey(TimeSpan.FromMinutes(1));
    private readonly CognitoTokenVerifier tokens = new();
    private readonly CheckHandler handler;

    public CheckHandlerCredentialTests()
    {
        handler = new CheckHandler(() => fleet.Snapshot, new CheckHandlerOptions
        {
            Sessions = sessions,
            Tokens = tokens,
            TokenQueryParameter = "token",
            Signatures = new SigV4Verifier(),
        }, records.Add);
    }

    public void Dispose()
    {
        tokens.Dispose();
        fleet.Dispose();
    }

    private static EnvoyCheckRequest Https(string method, string path) => EnvoyCheckRequest.Http(method, path).WithListenerPort(EnvoyCheckRequest.HttpsPort);

    private static EnvoyCheckRequest Control(string method, string path) => Https(method, path).WithContextExtension(ContextExtensionKeys.Plane, ContextExtensionKeys.ControlPlane);

    private CheckResponse Check(EnvoyCheckRequest request) => handler.Check(request.Build());

    private static string Reason(CheckResponse response) => JsonDocument.Parse(response.DeniedResponse.Body).RootElement.GetProperty("reason").GetString()!;

    [Fact]
    public void An_authenticated_cognito_identity_publishes_within_its_role_and_its_IoT_policy()
    {
        var token = fleet.CognitoToken();

        var own = Check(Https("POST", $"/topics/apps/{AppIdentity}/status").WithHeader("authorization", "Bearer " + token));
        var other = Check(Https("POST", "/topics/apps/someone-else/status").WithHeader("authorization", "Bearer " + token));

        Assert.Equal(0, own.Status.Code);
        Assert.Contains(own.OkResponse.Headers, h => h.Header.Key == IdentityHeaders.PrincipalKind && h.Header.Value == "CognitoAuthenticated");
        Assert.Contains(own.OkResponse.Headers, h => h.Header.Key == IdentityHeaders.Principal && h.Header.Value == AppIdentity);
        Assert.Equal(7, other.Status.Code);
        Assert.Equal("IMPLICIT_DENY", records[1].Decision);
    }

    [Fact]
    public void An_unauthenticated_cognito_identity_gets_the_unauthenticated_role()
    {
        var token = fleet.CognitoToken(authenticated: false);

        Assert.Equal(0, Check(Https("GET", "/things/sensor-1/shadow").WithHeader("authorization", "Bearer " + token)).Status.Code);
        Assert.Equal(7, Check(Https("POST", $"/topics/apps/{AppIdentity}/status").WithHeader("authorization", "Bearer " + token)).Status.Code);
        Assert.Equal("CognitoUnauthenticated", records[0].PrincipalKind);
    }

    [Fact]
    public void A_federated_token_becomes_the_role_whose_trust_admits_it()
    {
        var admitted = Check(Https("POST", "/topics/any/topic").WithHeader("authorization", "Bearer " + fleet.OidcToken("app-42")));
        var refused = Check(Https("POST", "/topics/any/topic").WithHeader("authorization", "Bearer " + fleet.OidcToken("intruder")));

        Assert.Equal(0, admitted.Status.Code);
        Assert.Equal(("IamRole", "AppAuthenticatedRole"), (records[0].PrincipalKind, records[0].Principal));
        Assert.Equal(16, refused.Status.Code);
    }

    [Fact]
    public void Bad_tokens_are_401s_with_a_reason()
    {
        var expired = fleet.CognitoToken(expires: DateTimeOffset.UtcNow.AddMinutes(-10));
        var tampered = fleet.CognitoToken()[..^4] + "AAAA";

        foreach (var (token, reason) in new[] { (expired, "expired"), (tampered, "signature"), ("not.a.token", "") })
        {
            var response = Check(Https("POST", "/topics/a").WithHeader("authorization", "Bearer " + token));
            Assert.Equal(16, response.Status.Code);
            Assert.Equal(401, (int)response.DeniedResponse.Status.Code);
            Assert.Contains(reason, Reason(response), StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void Tokens_are_not_credentials_on_the_mutual_TLS_listener()
    {
        var response = Check(EnvoyCheckRequest.Http("POST", $"/topics/apps/{AppIdentity}/status").WithHeader("authorization", "Bearer " + fleet.CognitoToken()));

        Assert.Equal(16, response.Status.Code);
        Assert.Contains("no client certificate", response.Status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_browser_websocket_upgrade_carries_its_token_in_the_query_and_gets_a_session()
    {
        var response = Check(EnvoyCheckRequest.WebSocket("/mqtt?token=" + Uri.EscapeDataString(fleet.CognitoToken()))
            .WithListenerPort(EnvoyCheckRequest.HttpsPort));

        Assert.Equal(0, response.Status.Code);
        var handle = response.OkResponse.Headers.Single(h => h.Header.Key == IdentityHeaders.Session).Header.Value;
        Assert.True(sessions.TryVerify(handle, out var claims, out _));
        Assert.Equal(("CognitoAuthenticated", AppIdentity, PoolId), (claims!.PrincipalKind, claims.PrincipalId, claims.PoolId));
    }

    [Fact]
    public void The_control_plane_is_decided_with_the_roles_IAM_policies()
    {
        var token = "Bearer " + fleet.CognitoToken(authenticated: false);

        var create = Check(Control("POST", "/things/new-thing").WithHeader("authorization", token));
        var delete = Check(Control("DELETE", "/things/sensor-1").WithHeader("authorization", token));
        var unknown = Check(Control("POST", "/frobnicate").WithHeader("authorization", token));

        Assert.Equal(0, create.Status.Code);
        Assert.Equal(("CreateThing", "iot:CreateThing", $"{Arn}thing/new-thing"), (records[0].Operation, records[0].Action, records[0].Resource));
        Assert.Equal(7, delete.Status.Code);
        Assert.Equal("EXPLICIT_DENY", records[1].Decision);
        Assert.Equal(404, (int)unknown.DeniedResponse.Status.Code);
    }

    [Fact]
    public void A_control_plane_resource_named_in_the_body_is_read_from_the_body()
    {
        var token = "Bearer " + fleet.CognitoToken(authenticated: false);
        var toGroup = Control("PUT", "/target-policies/FleetPolicy").WithHeader("authorization", token)
            .WithRequestBody(8192, packAsBytes: true).WithBody($$"""{"target": "{{Arn}}thinggroup/greenhouse"}""");
        var toCertificate = Control("PUT", "/target-policies/FleetPolicy").WithHeader("authorization", token)
            .WithRequestBody(8192, packAsBytes: true).WithBody($$"""{"target": "{{Arn}}cert/{{new string('a', 64)}}"}""");
        var noBody = Control("PUT", "/target-policies/FleetPolicy").WithHeader("authorization", token);

        Assert.Equal(0, Check(toGroup).Status.Code);
        Assert.Equal($"{Arn}thinggroup/greenhouse", records[0].Resource);
        Assert.Equal(7, Check(toCertificate).Status.Code);
        Assert.Equal(400, (int)Check(noBody).DeniedResponse.Status.Code);
    }

    /// <summary>Signed by AWS's SDK at its fixed signing time; the handler decides at the same instant.</summary>
    private CheckResponse CheckSigned(SignedHttpRequest signed, bool control = false, Action<EnvoyCheckRequest>? tamper = null)
    {
        var request = (control ? Control(signed.Method, signed.RawPath) : Https(signed.Method, signed.RawPath)).WithHost(signed.Host);
        foreach (var (name, value) in signed.Headers.Where(h => h.Key is not "host" && !h.Key.StartsWith(':')))
        {
            request.WithHeader(name, value);
        }

        if (signed.Body is { } body && !body.IsEmpty)
        {
            request.WithRequestBody(8192, packAsBytes: true).WithBody(body.ToArray());
        }

        tamper?.Invoke(request);
        var at = new DateTimeOffset(SdkSigner.SignedAt);
        var signedHandler = new CheckHandler(() => fleet.Snapshot,
            new CheckHandlerOptions { Signatures = new SigV4Verifier(time: new FixedTime(at)), Time = new FixedTime(at), Sessions = sessions }, records.Add);
        return signedHandler.Check(request.Build());
    }

    private static SdkSigner Operator(string service = "iotdata") => new() { AccessKeyId = OperatorKeyId, Secret = OperatorSecret, Service = service };

    [Fact]
    public void An_IAM_user_signing_with_SigV4_is_decided_with_its_IAM_policies()
    {
        var shadow = CheckSigned(Operator().Sign("GET", "/things/{thingName}/shadow", pathResources: new Dictionary<string, string> { ["{thingName}"] = "sensor-1" }));
        var publish = CheckSigned(Operator().Sign("POST", "/topics/{topic}", body: "{}"u8.ToArray(), pathResources: new Dictionary<string, string> { ["{topic}"] = "a/b" }));

        Assert.Equal(0, shadow.Status.Code);
        Assert.Equal(("IamUser", "operator"), (records[0].PrincipalKind, records[0].Principal));
        Assert.Equal(7, publish.Status.Code);
    }

    [Fact]
    public void A_presigned_websocket_url_opens_a_session()
    {
        var response = CheckSigned(Operator("iotdevicegateway").Presign("GET", "/mqtt"), tamper: r => r.WithHeader("upgrade", "websocket").WithHeader("connection", "upgrade"));

        Assert.Equal(0, response.Status.Code);
        Assert.Equal("WebSocketUpgrade", records.Single().Operation);
    }

    [Fact]
    public void SigV4_reaches_the_control_plane()
    {
        var describe = CheckSigned(Operator("iot").Sign("GET", "/things/{thingName}", pathResources: new Dictionary<string, string> { ["{thingName}"] = "sensor-1" }), control: true);
        var delete = CheckSigned(Operator("iot").Sign("DELETE", "/things/{thingName}", pathResources: new Dictionary<string, string> { ["{thingName}"] = "sensor-1" }), control: true);

        Assert.Equal(0, describe.Status.Code);
        Assert.Equal("iot:DescribeThing", records[0].Action);
        Assert.Equal(7, delete.Status.Code);
        Assert.Equal("EXPLICIT_DENY", records[1].Decision);
    }

    [Fact]
    public void A_tampered_signed_request_is_a_401_that_says_the_signature_does_not_match()
    {
        var signed = Operator().Sign("GET", "/things/{thingName}/shadow", pathResources: new Dictionary<string, string> { ["{thingName}"] = "sensor-1" });
        var tampered = signed with { RawPath = "/things/sensor-2/shadow" };

        var response = CheckSigned(tampered);

        Assert.Equal(16, response.Status.Code);
        Assert.Equal(401, (int)response.DeniedResponse.Status.Code);
        Assert.Contains("signature", Reason(response), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(OperatorSecret, response.DeniedResponse.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void Certificates_are_not_control_plane_credentials()
    {
        var response = Check(Control("POST", "/things/new-thing").WithClientCertificate(fleet.Sensor1));

        Assert.Equal(16, response.Status.Code);
        Assert.Contains("IAM (SigV4) or Cognito", response.Status.Message, StringComparison.Ordinal);
    }
}
