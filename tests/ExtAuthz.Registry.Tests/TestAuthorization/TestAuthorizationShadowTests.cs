using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using ExtAuthz.Policy;
using ExtAuthz.Registry.Tests.Iot;
using ExtAuthz.Registry.Tests.Support;
using ExtAuthz.Registry.TestAuthorization;

namespace ExtAuthz.Registry.Tests.TestAuthorization;

/// <summary>
/// TestAuthorization with a shadow policy attached: AWS has no shadow mode, so the answer is the
/// enforced decision in AWS's shape, and a shadow policy is enforced only when policyNamesToAdd names it.
/// </summary>
public sealed class TestAuthorizationShadowTests : IDisposable
{
    private static readonly string Firmware = Aws.Topic("firmware/v2");
    private static readonly string Telemetry = Aws.Topic("telemetry");

    private readonly IotRegistry registry = new();
    private readonly X509Certificate2 device = TestPki.CreateDevice("CN=sensor-1");
    private readonly RegistrySnapshot snapshot;

    public TestAuthorizationShadowTests()
    {
        registry.Policy("Base", Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("*"))))
            .ShadowPolicy("Lockdown", Aws.Policy(Aws.Deny("iot:Publish", Aws.Topic("firmware/*"))))
            .Certificate("sensor-1", device, "ACTIVE", "Base", "Lockdown");
        snapshot = registry.Load();
    }

    public void Dispose()
    {
        device.Dispose();
        registry.Dispose();
    }

    private string DeviceId => TestPki.AwsCertificateId(device);

    private TestAuthorizationResponse Evaluate(IReadOnlyList<string> add, IReadOnlyList<string> skip) =>
        TestAuthorizationService.Evaluate(snapshot, new TestAuthorizationRequest
        {
            Principal = DeviceId,
            ClientId = "sensor-1",
            PolicyNamesToAdd = add,
            PolicyNamesToSkip = skip,
            AuthInfos = [new AuthInfo("PUBLISH", [Firmware, Telemetry])],
        });

    private static string[] Names(PolicyList list) => list.Policies.Select(p => p.PolicyName).ToArray();

    [Fact]
    public void The_answer_is_the_enforced_decision_and_lists_no_shadow_policy()
    {
        var response = Evaluate([], []);

        Assert.All(response.AuthResults, r =>
        {
            Assert.Equal("ALLOWED", r.AuthDecision);
            Assert.Equal(["Base"], Names(r.Allowed));
            Assert.Empty(r.Denied.ExplicitDeny.Policies);
            Assert.Empty(r.Denied.ImplicitDeny.Policies);
        });

        // AWS's shape exactly: no field for the shadow decision, no mention of the shadow policy.
        var json = TestAuthorizationService.Run(snapshot, $$"""
            {"principal": "{{DeviceId}}", "clientId": "sensor-1", "authInfos": [{"actionType": "PUBLISH", "resources": ["{{Firmware}}"]}]}
            """);
        using var output = JsonDocument.Parse(json);
        var result = Assert.Single(output.RootElement.GetProperty("authResults").EnumerateArray());
        Assert.Equal(["authInfo", "allowed", "denied", "authDecision", "missingContextValues"], result.EnumerateObject().Select(p => p.Name));
        Assert.DoesNotContain("Lockdown", json, StringComparison.Ordinal);

        // Skipping the shadow policy changes nothing: it was not enforced anyway.
        Assert.Equal(TestAuthorizationService.Serialize(response), TestAuthorizationService.Serialize(Evaluate([], ["Lockdown"])));
    }

    [Fact]
    public void A_shadow_policy_named_in_policyNamesToAdd_is_enforced_for_that_test_only()
    {
        var response = Evaluate(["Lockdown"], []);

        var firmware = response.AuthResults[0];
        Assert.Equal("EXPLICIT_DENY", firmware.AuthDecision);
        Assert.Equal(["Lockdown"], Names(firmware.Denied.ExplicitDeny));
        Assert.Equal(["Base"], Names(firmware.Allowed));
        var telemetry = response.AuthResults[1];
        Assert.Equal("ALLOWED", telemetry.AuthDecision);
        Assert.Equal(["Lockdown"], Names(telemetry.Denied.ImplicitDeny));

        // The principal the snapshot caches for connections still has the policy in shadow only.
        var subject = Expect.Accepted(PrincipalResolver.ForCertificateId(snapshot, DeviceId, new ConnectionFacts { ClientId = "sensor-1" }));
        Expect.Allowed(subject, "iot:Publish", Firmware);
        Expect.Shadow(subject, "iot:Publish", Firmware, DecisionKind.ExplicitDeny);
    }
}
