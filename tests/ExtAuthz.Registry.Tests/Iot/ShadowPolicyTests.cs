using ExtAuthz.Policy;
using ExtAuthz.Registry.Tests.Support;

namespace ExtAuthz.Registry.Tests.Iot;

/// <summary>
/// Shadow policies (<c>shadow: true</c>) are left out of what a subject enforces, by whatever route they
/// are attached (certificate, policyAttachments, thing group and its ancestors, auto-registering CA,
/// Cognito identity), and are put in the subject's shadow sets, whose decision is only logged.
/// </summary>
public sealed class ShadowPolicyTests : IDisposable
{
    private static readonly string PublishAnywhere = Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("*")));
    private static readonly string DenyFirmware = Aws.Policy(Aws.Deny("iot:Publish", Aws.Topic("firmware/*")));

    private readonly IotRegistry registry = new();

    public void Dispose() => registry.Dispose();

    [Fact]
    public void A_shadow_Deny_does_not_deny_but_the_shadow_decision_is_an_explicit_deny()
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        registry.Policy("Base", PublishAnywhere).ShadowPolicy("Lockdown", DenyFirmware).Certificate("sensor-1", device, "ACTIVE", "Base", "Lockdown");
        var snapshot = registry.Load();

        var subject = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, new ConnectionFacts { ClientId = "sensor-1" }));

        Assert.True(subject.HasShadowPolicies);
        Assert.Equal(["Base"], Expect.Names(subject.Policies));
        Assert.Equal(["Base", "Lockdown"], Expect.Names(subject.ShadowPolicies));
        Assert.Null(subject.ScopedBoundary);
        Assert.Null(subject.ShadowScopedBoundary);

        Assert.Equal("Base", Expect.DecidingPolicy(Expect.Allowed(subject, "iot:Publish", Aws.Topic("firmware/v2"))));
        Assert.Equal("Lockdown", Expect.DecidingPolicy(Expect.Shadow(subject, "iot:Publish", Aws.Topic("firmware/v2"), DecisionKind.ExplicitDeny)));
        var denial = Assert.Single(subject.ExplainShadow("iot:Publish", Aws.Topic("firmware/v2"))!.ExplicitDenies);
        Assert.Equal("Lockdown", denial.Statement.Policy.Name);
        Assert.DoesNotContain(subject.Explain("iot:Publish", Aws.Topic("firmware/v2")).SilentPolicies, p => p.Name == "Lockdown");

        // Where the shadow policy says nothing, both decisions agree.
        Assert.Equal("Base", Expect.DecidingPolicy(Expect.Shadow(subject, "iot:Publish", Aws.Topic("telemetry"), DecisionKind.Allowed)));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("telemetry"));
    }

    [Fact]
    public void A_shadow_Allow_does_not_allow_but_the_shadow_decision_allows()
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        registry.Policy("Base", Aws.Policy(Aws.Allow("iot:Connect", "*")))
            .ShadowPolicy("Wider", Aws.Policy(Aws.Allow("iot:Subscribe", Aws.TopicFilter("news/*"))))
            .Certificate("sensor-1", device, "ACTIVE", "Base", "Wider");
        var snapshot = registry.Load();

        var subject = Expect.Accepted(PrincipalResolver.ForCertificateId(snapshot, TestPki.AwsCertificateId(device), new ConnectionFacts { ClientId = "sensor-1" }));

        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("news/today"));
        Assert.Equal("Wider", Expect.DecidingPolicy(Expect.Shadow(subject, "iot:Subscribe", Aws.TopicFilter("news/today"), DecisionKind.Allowed)));
        Expect.Shadow(subject, "iot:Subscribe", Aws.TopicFilter("other"), DecisionKind.ImplicitDeny);
    }

    [Fact]
    public void A_principal_no_shadow_policy_reaches_has_no_shadow_decision()
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        var other = TestPki.CreateDevice("CN=sensor-2");
        registry.Policy("Base", PublishAnywhere).ShadowPolicy("Lockdown", DenyFirmware)
            .Certificate("sensor-1", device, "ACTIVE", "Base")
            .Certificate("sensor-2", other, "ACTIVE", "Base", "Lockdown");
        var withShadowElsewhere = registry.Load();

        var subject = Expect.Accepted(PrincipalResolver.ForCertificate(withShadowElsewhere, device, ConnectionFacts.None));

        Expect.NoShadow(subject, "iot:Publish", Aws.Topic("firmware/v2"));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("firmware/v2"));

        registry.Clear().Certificate("sensor-1", device, "ACTIVE", "Base");
        var withoutShadow = registry.Load(generation: 2);
        Expect.NoShadow(Expect.Accepted(PrincipalResolver.ForCertificate(withoutShadow, device, ConnectionFacts.None)), "iot:Publish", Aws.Topic("firmware/v2"));
    }

    [Fact]
    public void A_shadow_policy_attached_with_policyAttachments_is_shadow_too()
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        registry.Policy("Base", PublishAnywhere).ShadowPolicy("Lockdown", DenyFirmware)
            .Certificate("sensor-1", device, "ACTIVE", "Base")
            .Attach("Lockdown", "certificate", "sensor-1");
        var snapshot = registry.Load();

        var subject = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, ConnectionFacts.None));

        Expect.Allowed(subject, "iot:Publish", Aws.Topic("firmware/v2"));
        Expect.Shadow(subject, "iot:Publish", Aws.Topic("firmware/v2"), DecisionKind.ExplicitDeny);
    }

    [Fact]
    public void A_shadow_policy_on_an_ancestor_thing_group_is_shadow_for_connections_resolving_to_the_thing_only()
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        registry.Policy("Base", PublishAnywhere).ShadowPolicy("FleetLockdown", DenyFirmware)
            .Certificate("sensor-1", device, "ACTIVE", "Base")
            .Group("fleet", null, "FleetLockdown")
            .Group("greenhouse", "fleet")
            .Thing("sensor-1", null, null, ["greenhouse"], ("sensor-1", false));
        var snapshot = registry.Load();

        // The same certificate, interleaved: with its thing (so with the group's shadow policy), then without.
        var onThing = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, new ConnectionFacts { ClientId = "sensor-1" }));
        var noThing = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, new ConnectionFacts { ClientId = "someone" }));
        var onThingAgain = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, new ConnectionFacts { ClientId = "sensor-1" }));

        foreach (var subject in new[] { onThing, onThingAgain })
        {
            Assert.Equal(["Base"], Expect.Names(subject.Policies));
            Expect.Allowed(subject, "iot:Publish", Aws.Topic("firmware/v2"));
            Assert.Equal("FleetLockdown", Expect.DecidingPolicy(Expect.Shadow(subject, "iot:Publish", Aws.Topic("firmware/v2"), DecisionKind.ExplicitDeny)));
        }

        Expect.NoShadow(noThing, "iot:Publish", Aws.Topic("firmware/v2"));

        // The thing group as TestAuthorization's principal.
        var group = Expect.Accepted(PrincipalResolver.ForThingGroup(snapshot, "greenhouse", ConnectionFacts.None));
        Assert.True(group.Policies.IsEmpty);
        Assert.Equal(["FleetLockdown"], Expect.Names(group.ShadowPolicies));
        Expect.ImplicitDeny(group, "iot:Publish", Aws.Topic("firmware/v2"));
        Expect.Shadow(group, "iot:Publish", Aws.Topic("firmware/v2"), DecisionKind.ExplicitDeny);
    }

    [Fact]
    public void A_shadow_policy_of_an_auto_registering_CA_is_shadow_for_the_certificates_it_registers()
    {
        var ca = TestPki.CreateCa();
        var device = TestPki.CreateDevice(ca, "CN=new-device");
        registry.Policy("Onboarding", PublishAnywhere).ShadowPolicy("Lockdown", DenyFirmware)
            .Ca("ca", ca, "ACTIVE", autoRegistration: true, autoRegisteredStatus: "ACTIVE", "Onboarding", "Lockdown");
        var snapshot = registry.Load();

        var subject = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, ConnectionFacts.None));

        Expect.Allowed(subject, "iot:Publish", Aws.Topic("firmware/v2"));
        Expect.Shadow(subject, "iot:Publish", Aws.Topic("firmware/v2"), DecisionKind.ExplicitDeny);
    }

    [Fact]
    public void A_shadow_policy_attached_to_a_Cognito_identity_is_left_out_of_the_scope_down_and_in_the_shadow_one()
    {
        var snapshot = CognitoAndIamTests.Pooled(registry,
                authenticatedRolePolicy: Aws.Policy(Aws.Allow("iot:*", "*")),
                unauthenticatedRolePolicy: Aws.Policy(Aws.Allow("iot:*", "*")),
                identityIotPolicy: PublishAnywhere)
            .ShadowPolicy("IdentityShadow", Aws.Policy(Aws.Deny("iot:Publish", Aws.Topic("firmware/*")), Aws.Allow("iot:Subscribe", Aws.TopicFilter("news/*"))))
            .Attach("IdentityShadow", "cognitoIdentity", CognitoAndIamTests.Identity)
            .Attach("IdentityShadow", "cognitoIdentity", CognitoAndIamTests.Bare)
            .Load();
        var facts = new ConnectionFacts { ClientId = "c1" };

        var subject = Expect.Accepted(PrincipalResolver.ForCognito(snapshot, CognitoAndIamTests.Identity, CognitoAndIamTests.Pool, authenticated: true, facts));

        Assert.Equal(["IdentityIotPolicy"], Expect.Names(subject.ScopedBoundary));
        Assert.Equal(["IdentityIotPolicy", "IdentityShadow"], Expect.Names(subject.ShadowScopedBoundary));
        Assert.Same(subject.Policies, subject.ShadowPolicies);
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("firmware/v2"));
        var deny = Expect.Shadow(subject, "iot:Publish", Aws.Topic("firmware/v2"), DecisionKind.ExplicitDeny);
        Assert.Equal("IdentityShadow", Expect.DecidingPolicy(deny));
        Assert.Contains(subject.ExplainShadow("iot:Publish", Aws.Topic("firmware/v2"))!.ExplicitDenies, m => m.FromBoundary);
        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("news/today"));
        Expect.Shadow(subject, "iot:Subscribe", Aws.TopicFilter("news/today"), DecisionKind.Allowed);

        // Actions AWS does not scope down are the role's alone, shadow or not.
        Expect.Allowed(subject, "iot:DescribeThing", Aws.Thing("lamp"));
        Expect.Shadow(subject, "iot:DescribeThing", Aws.Thing("lamp"), DecisionKind.Allowed);

        // With only a shadow policy attached, the enforced scope-down is empty and allows nothing.
        var bare = Expect.Accepted(PrincipalResolver.ForCognito(snapshot, CognitoAndIamTests.Bare, CognitoAndIamTests.Pool, authenticated: true, facts));
        Assert.True(bare.ScopedBoundary?.IsEmpty);
        Expect.ImplicitDeny(bare, "iot:Subscribe", Aws.TopicFilter("news/today"));
        Expect.Shadow(bare, "iot:Subscribe", Aws.TopicFilter("news/today"), DecisionKind.Allowed);

        // Unauthenticated identities get no IoT policy at all, so none in shadow either.
        var guest = Expect.Accepted(PrincipalResolver.ForCognito(snapshot, CognitoAndIamTests.Identity, CognitoAndIamTests.Pool, authenticated: false, facts));
        Expect.NoShadow(guest, "iot:Publish", Aws.Topic("firmware/v2"));
    }

    [Fact]
    public void Deciding_with_and_without_the_shadow_policies_allocates_nothing()
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        registry.Policy("Base", PublishAnywhere).ShadowPolicy("Lockdown", DenyFirmware).Certificate("sensor-1", device, "ACTIVE", "Base", "Lockdown");
        var subject = Expect.Accepted(PrincipalResolver.ForCertificate(registry.Load(), device, ConnectionFacts.None));
        const string action = "iot:Publish";
        var resource = Aws.Topic("firmware/v2");
        for (var i = 0; i < 100; i++)
        {
            subject.Decide(action, resource);
            subject.DecideShadow(action, resource);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        var denies = 0;
        for (var i = 0; i < 1000; i++)
        {
            denies += subject.Decide(action, resource).IsAllowed && subject.DecideShadow(action, resource)?.Kind == DecisionKind.ExplicitDeny ? 1 : 0;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1000, denies);
    }
}
