using ExtAuthz.Policy;
using ExtAuthz.Registry.Tests.Support;

namespace ExtAuthz.Registry.Tests.Iot;

/// <summary>
/// The per-snapshot principal cache (keyed by certificate ID) must never leak one connection's thing
/// into another's, nor one snapshot's principal into the next snapshot.
/// </summary>
public sealed class PrincipalCacheTests : IDisposable
{
    private readonly IotRegistry registry = new();

    public void Dispose() => registry.Dispose();

    [Fact]
    public void One_certificate_on_two_connections_with_different_client_IDs_resolves_each_its_own_thing()
    {
        var device = TestPki.CreateDevice("CN=shared");
        registry
            .Policy("Base", Aws.Policy(
                Aws.Allow("iot:Connect", "*"),
                Aws.Allow("iot:Publish", Aws.Topic("things/${iot:Connection.Thing.ThingName}/${iot:Connection.Thing.Attributes[room]}"))))
            .Policy("EastPolicy", Aws.Policy(Aws.Allow("iot:Subscribe", Aws.TopicFilter("east/*"))))
            .Policy("WestPolicy", Aws.Policy(Aws.Allow("iot:Subscribe", Aws.TopicFilter("west/*"))))
            .Certificate("shared", device, "ACTIVE", "Base")
            .Group("east", null, "EastPolicy")
            .Group("west", null, "WestPolicy")
            .Thing("lamp-east", null, new Dictionary<string, string>(StringComparer.Ordinal) { ["room"] = "hall" }, ["east"], ("shared", false))
            .Thing("lamp-west", null, new Dictionary<string, string>(StringComparer.Ordinal) { ["room"] = "study" }, ["west"], ("shared", false));
        var snapshot = registry.Load();

        // Interleaved, as concurrent connections would be: each keeps its own thing, variables and group policies.
        var east = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, new ConnectionFacts { ClientId = "lamp-east" }));
        var west = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, new ConnectionFacts { ClientId = "lamp-west" }));
        var none = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, new ConnectionFacts { ClientId = "no-thing" }));
        var eastAgain = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, new ConnectionFacts { ClientId = "lamp-east" }));

        Assert.Equal("lamp-east", east.Thing?.Name);
        Assert.Equal("lamp-west", west.Thing?.Name);
        Assert.Null(none.Thing);

        Expect.Allowed(east, "iot:Publish", Aws.Topic("things/lamp-east/hall"));
        Expect.ImplicitDeny(east, "iot:Publish", Aws.Topic("things/lamp-west/study"));
        Expect.Allowed(east, "iot:Subscribe", Aws.TopicFilter("east/x"));
        Expect.ImplicitDeny(east, "iot:Subscribe", Aws.TopicFilter("west/x"));

        Expect.Allowed(west, "iot:Publish", Aws.Topic("things/lamp-west/study"));
        Expect.ImplicitDeny(west, "iot:Publish", Aws.Topic("things/lamp-east/hall"));
        Expect.Allowed(west, "iot:Subscribe", Aws.TopicFilter("west/x"));
        Expect.ImplicitDeny(west, "iot:Subscribe", Aws.TopicFilter("east/x"));

        Expect.ImplicitDeny(none, "iot:Subscribe", Aws.TopicFilter("east/x"));
        Expect.ImplicitDeny(none, "iot:Subscribe", Aws.TopicFilter("west/x"));
        Expect.ImplicitDeny(none, "iot:Publish", Aws.Topic("things/lamp-east/hall"));

        Expect.Allowed(eastAgain, "iot:Subscribe", Aws.TopicFilter("east/x"));
        Expect.ImplicitDeny(eastAgain, "iot:Subscribe", Aws.TopicFilter("west/x"));

        // The client ID itself is per connection too.
        Assert.Equal("lamp-west", Expect.Context(west)["iot:ClientId"].Single);
        Assert.Equal("lamp-east", Expect.Context(eastAgain)["iot:ClientId"].Single);
    }

    [Fact]
    public void A_reloaded_snapshot_does_not_see_the_old_snapshots_cached_principal()
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        registry
            .Policy("Old", Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("old"))))
            .Policy("New", Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("new"))))
            .Certificate("sensor-1", device, "ACTIVE", "Old");
        var first = registry.Load(generation: 1);
        var facts = new ConnectionFacts { ClientId = "sensor-1" };
        var before = Expect.Accepted(PrincipalResolver.ForCertificate(first, device, facts));
        Expect.Allowed(before, "iot:Publish", Aws.Topic("old"));

        // Reload: the same certificate now has another policy.
        registry.Clear().Certificate("sensor-1", device, "ACTIVE", "New");
        var second = registry.Load(generation: 2);
        var after = Expect.Accepted(PrincipalResolver.ForCertificate(second, device, facts));
        Assert.Same(second, after.Snapshot);
        Expect.Allowed(after, "iot:Publish", Aws.Topic("new"));
        Expect.ImplicitDeny(after, "iot:Publish", Aws.Topic("old"));

        // Reload again: the certificate is revoked.
        registry.Clear().Certificate("sensor-1", device, "REVOKED", "New");
        var third = registry.Load(generation: 3);
        Expect.Refused(PrincipalResolver.ForCertificate(third, device, facts), "REVOKED");
        Expect.Refused(PrincipalResolver.ForCertificateId(third, TestPki.AwsCertificateId(device), facts), "REVOKED");

        // Readers still holding an older snapshot keep that snapshot's answers.
        Expect.Allowed(Expect.Accepted(PrincipalResolver.ForCertificate(first, device, facts)), "iot:Publish", Aws.Topic("old"));
        Expect.Allowed(Expect.Accepted(PrincipalResolver.ForCertificate(second, device, facts)), "iot:Publish", Aws.Topic("new"));
    }

    [Fact]
    public void A_reload_that_moves_a_policy_in_or_out_of_shadow_mode_changes_what_is_enforced()
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        var id = TestPki.AwsCertificateId(device);
        var facts = new ConnectionFacts { ClientId = "sensor-1" };
        var firmware = Aws.Topic("firmware/v2");
        var lockdown = Aws.Policy(Aws.Deny("iot:Publish", Aws.Topic("firmware/*")));
        registry.Policy("Base", Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("*"))))
            .ShadowPolicy("Lockdown", lockdown)
            .Certificate("sensor-1", device, "ACTIVE", "Base", "Lockdown");
        var first = registry.Load(generation: 1);
        var shadowed = Expect.Accepted(PrincipalResolver.ForCertificate(first, device, facts));
        Expect.Allowed(shadowed, "iot:Publish", firmware);
        Expect.Shadow(shadowed, "iot:Publish", firmware, DecisionKind.ExplicitDeny);

        // Reload: the declaration goes and Lockdown.json, now unreferenced, makes an ordinary policy.
        registry.Clear().Certificate("sensor-1", device, "ACTIVE", "Base", "Lockdown");
        var second = registry.Load(generation: 2);
        foreach (var enforced in new[] { PrincipalResolver.ForCertificate(second, device, facts), PrincipalResolver.ForCertificateId(second, id, facts) })
        {
            var subject = Expect.Accepted(enforced);
            Assert.Equal("Lockdown", Expect.DecidingPolicy(Expect.ExplicitDeny(subject, "iot:Publish", firmware)));
            Expect.NoShadow(subject, "iot:Publish", firmware);
        }

        // Reload: back in shadow mode.
        registry.Clear().ShadowPolicy("Lockdown", lockdown).Certificate("sensor-1", device, "ACTIVE", "Base", "Lockdown");
        var third = registry.Load(generation: 3);
        var again = Expect.Accepted(PrincipalResolver.ForCertificateId(third, id, facts));
        Expect.Allowed(again, "iot:Publish", firmware);
        Expect.Shadow(again, "iot:Publish", firmware, DecisionKind.ExplicitDeny);

        // Readers still holding an older snapshot keep that snapshot's answers.
        Expect.Allowed(Expect.Accepted(PrincipalResolver.ForCertificate(first, device, facts)), "iot:Publish", firmware);
        Expect.ExplicitDeny(Expect.Accepted(PrincipalResolver.ForCertificate(second, device, facts)), "iot:Publish", firmware);
    }

    [Fact]
    public void A_refusal_cached_in_one_snapshot_does_not_outlive_it()
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        var placeholder = TestPki.CreateDevice("CN=placeholder");
        registry.Policy("Everything", Aws.Policy(Aws.Allow("iot:*", "*"))).Certificate("placeholder", placeholder);
        var first = registry.Load(generation: 1);
        Expect.Refused(PrincipalResolver.ForCertificate(first, device, ConnectionFacts.None), "not registered");

        registry.Certificate("sensor-1", device, "ACTIVE", "Everything");
        var second = registry.Load(generation: 2);

        Expect.Allowed(Expect.Accepted(PrincipalResolver.ForCertificate(second, device, ConnectionFacts.None)), "iot:Connect", Aws.Client("x"));
        Expect.Refused(PrincipalResolver.ForCertificate(first, device, ConnectionFacts.None), "not registered");
    }

    [Fact]
    public void An_auto_registered_certificate_known_to_an_old_snapshot_is_unknown_by_ID_to_a_new_one_until_it_connects()
    {
        var ca = TestPki.CreateCa();
        var device = TestPki.CreateDevice(ca, "CN=new-device");
        var id = TestPki.AwsCertificateId(device);
        registry.Policy("Everything", Aws.Policy(Aws.Allow("iot:*", "*"))).Ca("ca", ca, "ACTIVE", autoRegistration: true, autoRegisteredStatus: "ACTIVE", "Everything");
        var first = registry.Load(generation: 1);
        Expect.Accepted(PrincipalResolver.ForCertificate(first, device, ConnectionFacts.None));
        Expect.Accepted(PrincipalResolver.ForCertificateId(first, id, ConnectionFacts.None));

        var second = registry.Load(generation: 2);

        Expect.Refused(PrincipalResolver.ForCertificateId(second, id, ConnectionFacts.None), "not registered");
        Expect.Accepted(PrincipalResolver.ForCertificate(second, device, ConnectionFacts.None));
        Expect.Accepted(PrincipalResolver.ForCertificateId(second, id, ConnectionFacts.None));
    }

    [Fact]
    public void A_thing_attachment_changed_by_a_reload_changes_the_thing_the_certificate_resolves()
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        registry.Policy("ThingTopic", Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("${iot:Connection.Thing.ThingName}"))))
            .Certificate("sensor-1", device, "ACTIVE", "ThingTopic")
            .AttachedThing("sensor-1", "sensor-1");
        var first = registry.Load(generation: 1);
        var facts = new ConnectionFacts { ClientId = "sensor-1" };
        Expect.Allowed(Expect.Accepted(PrincipalResolver.ForCertificate(first, device, facts)), "iot:Publish", Aws.Topic("sensor-1"));

        // Detached in the new configuration.
        registry.Clear().Certificate("sensor-1", device, "ACTIVE", "ThingTopic").Thing("sensor-1", null, null, null);
        var second = registry.Load(generation: 2);

        var detached = Expect.Accepted(PrincipalResolver.ForCertificate(second, device, facts));
        Assert.Null(detached.Thing);
        Expect.ImplicitDeny(detached, "iot:Publish", Aws.Topic("sensor-1"));
    }
}
