using ExtAuthz.Policy;
using ExtAuthz.Registry.Tests.Support;

namespace ExtAuthz.Registry.Tests.Iot;

/// <summary>
/// Which certificates may authenticate at all, and which policies a certificate principal gets. A
/// certificate that is not ACTIVE is refused before any policy is read, as an authentication failure,
/// so every refusal here happens with a policy attached that would allow everything.
/// </summary>
public sealed class CertificatePrincipalTests : IDisposable
{
    private static readonly string AllowEverything = Aws.Policy(Aws.Allow("iot:*", "*"));

    private readonly IotRegistry registry = new();

    public void Dispose() => registry.Dispose();

    [Fact]
    public void An_active_registered_certificate_authenticates_and_gets_its_attached_policies()
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        registry.Policy("Everything", AllowEverything).Certificate("sensor-1", device, "ACTIVE", "Everything");
        var snapshot = registry.Load();

        var subject = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, new ConnectionFacts { ClientId = "sensor-1" }));

        var id = TestPki.AwsCertificateId(device);
        Assert.Equal(PrincipalKind.Certificate, subject.Kind);
        Assert.Equal(id, subject.PrincipalId);
        Assert.Equal(Aws.Prefix + "cert/" + id, subject.PrincipalArn);
        Assert.Same(snapshot, subject.Snapshot);
        Assert.Equal("Everything", Expect.DecidingPolicy(Expect.Allowed(subject, "iot:Connect", Aws.Client("sensor-1"))));
    }

    [Theory]
    [InlineData("INACTIVE")]
    [InlineData("REVOKED")]
    [InlineData("PENDING_TRANSFER")]
    [InlineData("PENDING_ACTIVATION")]
    [InlineData("REGISTER_INACTIVE")]
    public void A_certificate_that_is_not_active_is_refused_before_any_policy(string status)
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        registry.Policy("Everything", AllowEverything).Certificate("sensor-1", device, status, "Everything");
        var snapshot = registry.Load();
        var id = TestPki.AwsCertificateId(device);

        Expect.Refused(PrincipalResolver.ForCertificate(snapshot, device, new ConnectionFacts { ClientId = "sensor-1" }), id, status, "not ACTIVE");
        Expect.Refused(PrincipalResolver.ForCertificateId(snapshot, id, new ConnectionFacts { ClientId = "sensor-1" }), id, status, "not ACTIVE");
    }

    [Fact]
    public void A_certificate_nobody_registered_is_refused()
    {
        var known = TestPki.CreateDevice("CN=known");
        var stranger = TestPki.CreateDevice("CN=known");
        registry.Policy("Everything", AllowEverything).Certificate("known", known, "ACTIVE", "Everything");
        var snapshot = registry.Load();

        Expect.Refused(PrincipalResolver.ForCertificate(snapshot, stranger, new ConnectionFacts { ClientId = "known" }), TestPki.AwsCertificateId(stranger), "not registered");
        Expect.Refused(PrincipalResolver.ForCertificateId(snapshot, TestPki.AwsCertificateId(stranger), ConnectionFacts.None), "not registered");
    }

    [Fact]
    public void A_certificate_signed_by_a_registered_CA_without_auto_registration_is_refused()
    {
        var ca = TestPki.CreateCa();
        var device = TestPki.CreateDevice(ca, "CN=new-device");
        registry.Policy("Everything", AllowEverything).Ca("ca", ca, "ACTIVE", autoRegistration: false, autoRegisteredStatus: "ACTIVE", "Everything");
        var snapshot = registry.Load();

        Expect.Refused(PrincipalResolver.ForCertificate(snapshot, device, ConnectionFacts.None), "not registered");
    }

    [Fact]
    public void An_active_auto_registering_CA_accepts_a_certificate_it_signed_with_the_CAs_policies()
    {
        var ca = TestPki.CreateCa();
        var device = TestPki.CreateDevice(ca, "CN=new-device");
        registry.Policy("Onboarding", Aws.Policy(Aws.Allow("iot:Connect", Aws.Client("${iot:Certificate.Subject.CommonName}"))))
            .Ca("ca", ca, "ACTIVE", autoRegistration: true, autoRegisteredStatus: "ACTIVE", "Onboarding");
        var snapshot = registry.Load();

        var subject = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, new ConnectionFacts { ClientId = "new-device" }));

        Assert.Equal(TestPki.AwsCertificateId(device), subject.PrincipalId);
        Assert.Equal("Onboarding", Expect.DecidingPolicy(Expect.Allowed(subject, "iot:Connect", Aws.Client("new-device"))));
        Expect.ImplicitDeny(subject, "iot:Connect", Aws.Client("someone-else"));

        // Once seen, the auto-registered certificate is known by its ID in this snapshot.
        Expect.Accepted(PrincipalResolver.ForCertificateId(snapshot, TestPki.AwsCertificateId(device), ConnectionFacts.None));
    }

    [Theory]
    [InlineData(null, "PENDING_ACTIVATION")] // AWS's default for auto-registered certificates
    [InlineData("PENDING_ACTIVATION", "PENDING_ACTIVATION")]
    [InlineData("INACTIVE", "INACTIVE")]
    public void An_auto_registered_certificate_gets_the_CAs_auto_registered_status_and_only_ACTIVE_connects(string? configured, string expected)
    {
        var ca = TestPki.CreateCa();
        var device = TestPki.CreateDevice(ca, "CN=new-device");
        registry.Policy("Everything", AllowEverything).Ca("ca", ca, "ACTIVE", autoRegistration: true, autoRegisteredStatus: configured, "Everything");
        var snapshot = registry.Load();

        Expect.Refused(PrincipalResolver.ForCertificate(snapshot, device, ConnectionFacts.None), "auto-registered", expected, "not ACTIVE");
    }

    [Fact]
    public void An_inactive_CA_auto_registers_nothing()
    {
        var ca = TestPki.CreateCa();
        var device = TestPki.CreateDevice(ca, "CN=new-device");
        registry.Policy("Everything", AllowEverything).Ca("ca", ca, "INACTIVE", autoRegistration: true, autoRegisteredStatus: "ACTIVE", "Everything");
        var snapshot = registry.Load();

        Expect.Refused(PrincipalResolver.ForCertificate(snapshot, device, ConnectionFacts.None), "INACTIVE", "cannot be auto-registered");
    }

    [Fact]
    public void A_registered_certificate_keeps_working_when_its_CA_is_deactivated()
    {
        // AWS: deactivating a CA stops new registrations; certificates already registered stay usable until revoked.
        var ca = TestPki.CreateCa();
        var device = TestPki.CreateDevice(ca, "CN=sensor-1");
        registry.Policy("Everything", AllowEverything).Ca("ca", ca, "INACTIVE").Certificate("sensor-1", device, "ACTIVE", "Everything");
        var snapshot = registry.Load();

        Expect.Allowed(Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, ConnectionFacts.None)), "iot:Connect", Aws.Client("sensor-1"));
    }

    [Fact]
    public void A_certificate_signed_by_another_key_under_the_same_issuer_name_is_not_auto_registered()
    {
        var ca = TestPki.CreateCa();
        var impostor = TestPkiExtras.ImpostorCa(ca);
        var forged = TestPki.CreateDevice(impostor, "CN=new-device");
        var genuine = TestPki.CreateDevice(ca, "CN=new-device");
        Assert.Equal(ca.SubjectName.RawData, forged.IssuerName.RawData);
        registry.Policy("Everything", AllowEverything).Ca("ca", ca, "ACTIVE", autoRegistration: true, autoRegisteredStatus: "ACTIVE", "Everything");
        var snapshot = registry.Load();

        Expect.Refused(PrincipalResolver.ForCertificate(snapshot, forged, ConnectionFacts.None), "not registered");
        Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, genuine, ConnectionFacts.None));
    }

    [Fact]
    public void Only_the_registered_CA_that_signed_the_certificate_auto_registers_it_not_a_CA_further_up()
    {
        // AWS registers client certificates through "the signing CA ... not any other CAs in the hierarchy".
        var root = TestPki.CreateCa("CN=Root CA");
        var intermediate = TestPki.CreateCa("CN=Intermediate CA", root);
        var device = TestPki.CreateDevice(intermediate, "CN=new-device");
        registry.Policy("Everything", AllowEverything).Ca("root", root, "ACTIVE", autoRegistration: true, autoRegisteredStatus: "ACTIVE", "Everything");
        var snapshot = registry.Load();

        Expect.Refused(PrincipalResolver.ForCertificate(snapshot, device, ConnectionFacts.None), "not registered");
    }

    [Fact]
    public void A_REVOKED_CA_cannot_be_configured_so_nothing_is_accepted_through_it()
    {
        // AWS's CA states are ACTIVE and INACTIVE; the loader refuses REVOKED for a CA, so a configuration
        // in which a device would be accepted through a revoked CA never becomes a snapshot.
        var ca = TestPki.CreateCa();
        registry.Policy("Everything", AllowEverything).Ca("ca", ca, "REVOKED", autoRegistration: true, autoRegisteredStatus: "ACTIVE", "Everything");

        var errors = Assert.Throws<ConfigException>(() => registry.Load()).Errors;
        Assert.Contains(errors, e => e.Reason.Contains("a CA certificate's status is ACTIVE or INACTIVE, not 'REVOKED'", StringComparison.Ordinal));
    }

    [Fact]
    public void A_certificate_outside_its_validity_period_is_refused()
    {
        var notBefore = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var notAfter = notBefore.AddDays(30);
        var device = TestPki.Create(new("CN=sensor-1"), new CertificateOptions { NotBefore = notBefore, NotAfter = notAfter });
        registry.Policy("Everything", AllowEverything).Certificate("sensor-1", device, "ACTIVE", "Everything");
        var snapshot = registry.Load();
        var facts = new ConnectionFacts { ClientId = "sensor-1" };

        Expect.Refused(PrincipalResolver.ForCertificate(snapshot, device, facts, new FixedTime(notBefore.AddMinutes(-1))), "not valid before");
        Expect.Refused(PrincipalResolver.ForCertificate(snapshot, device, facts, new FixedTime(notAfter.AddMinutes(1))), "expired");
        var inside = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, facts, new FixedTime(notBefore.AddDays(1))));
        Expect.Allowed(inside, "iot:Connect", Aws.Client("sensor-1"));

        // The refusals were not cached against the certificate: the same snapshot still refuses out of period.
        Expect.Refused(PrincipalResolver.ForCertificate(snapshot, device, facts, new FixedTime(notAfter.AddDays(1))), "expired");
    }

    [Fact]
    public void A_registered_certificate_named_by_id_is_refused_outside_its_validity_period()
    {
        var notBefore = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var device = TestPki.Create(new("CN=sensor-1"), new CertificateOptions { NotBefore = notBefore, NotAfter = notBefore.AddDays(30) });
        registry.Policy("Everything", AllowEverything).Certificate("sensor-1", device, "ACTIVE", "Everything");
        var snapshot = registry.Load();
        var id = TestPki.AwsCertificateId(device);

        Expect.Refused(PrincipalResolver.ForCertificateId(snapshot, id, ConnectionFacts.None, time: new FixedTime(notBefore.AddDays(31))), "expired");
        Expect.Accepted(PrincipalResolver.ForCertificateId(snapshot, id, ConnectionFacts.None, time: new FixedTime(notBefore.AddDays(1))));
    }

    [Fact]
    public void An_expired_certificate_is_refused_even_through_an_auto_registering_CA()
    {
        var ca = TestPki.Create(new(TestPki.DefaultCaSubject), new CertificateOptions { IsCertificateAuthority = true, NotBefore = DateTimeOffset.UtcNow.AddDays(-30) });
        var device = TestPki.Create(new("CN=old-device"), new CertificateOptions
        {
            Issuer = ca,
            NotBefore = DateTimeOffset.UtcNow.AddDays(-10),
            NotAfter = DateTimeOffset.UtcNow.AddDays(-1),
        });
        registry.Policy("Everything", AllowEverything).Ca("ca", ca, "ACTIVE", autoRegistration: true, autoRegisteredStatus: "ACTIVE", "Everything");
        var snapshot = registry.Load();

        Expect.Refused(PrincipalResolver.ForCertificate(snapshot, device, ConnectionFacts.None), "expired");
        Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, ConnectionFacts.None, new FixedTime(DateTimeOffset.UtcNow.AddDays(-5))));
    }

    [Fact]
    public void Policies_listed_on_the_certificate_and_attached_by_AttachPolicy_both_apply()
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        registry
            .Policy("ConnectPolicy", Aws.Policy(Aws.Allow("iot:Connect", Aws.Client("sensor-1"))))
            .Policy("PublishPolicy", Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("telemetry/sensor-1"))))
            .Certificate("sensor-1", device, "ACTIVE", "ConnectPolicy")
            .Attach("PublishPolicy", "certificate", "sensor-1");
        var subject = Expect.Accepted(PrincipalResolver.ForCertificate(registry.Load(), device, new ConnectionFacts { ClientId = "sensor-1" }));

        Assert.Equal("ConnectPolicy", Expect.DecidingPolicy(Expect.Allowed(subject, "iot:Connect", Aws.Client("sensor-1"))));
        Assert.Equal("PublishPolicy", Expect.DecidingPolicy(Expect.Allowed(subject, "iot:Publish", Aws.Topic("telemetry/sensor-1"))));
        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("telemetry/sensor-1"));
    }

    [Fact]
    public void The_policies_of_the_things_groups_and_their_ancestors_apply_when_the_client_ID_is_the_thing_name()
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        registry
            .Policy("DevicePolicy", Aws.Policy(Aws.Allow("iot:Connect", Aws.Client("*"))))
            .Policy("FleetPolicy", Aws.Policy(Aws.Allow("iot:Subscribe", Aws.TopicFilter("fleet/*"))))
            .Policy("GreenhousePolicy", Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("greenhouse/*"))))
            .Policy("OtherPolicy", Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("other/*"))))
            .Certificate("sensor-1", device, "ACTIVE", "DevicePolicy")
            .Group("fleet", null, "FleetPolicy")
            .Group("greenhouse", "fleet", "GreenhousePolicy")
            .Group("other", null, "OtherPolicy")
            .Thing("sensor-1", null, null, ["greenhouse"], ("sensor-1", false))
            .Thing("bystander", null, null, ["other"]);
        var snapshot = registry.Load();

        var asThing = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, new ConnectionFacts { ClientId = "sensor-1" }));
        Assert.Equal("sensor-1", asThing.Thing?.Name);
        Assert.Equal("GreenhousePolicy", Expect.DecidingPolicy(Expect.Allowed(asThing, "iot:Publish", Aws.Topic("greenhouse/temperature"))));
        Assert.Equal("FleetPolicy", Expect.DecidingPolicy(Expect.Allowed(asThing, "iot:Subscribe", Aws.TopicFilter("fleet/commands"))));
        Expect.ImplicitDeny(asThing, "iot:Publish", Aws.Topic("other/x"));

        // Same certificate, another client ID: no thing, so only the certificate's own policies.
        var asOther = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, new ConnectionFacts { ClientId = "not-a-thing" }));
        Assert.Null(asOther.Thing);
        Expect.Allowed(asOther, "iot:Connect", Aws.Client("not-a-thing"));
        Expect.ImplicitDeny(asOther, "iot:Publish", Aws.Topic("greenhouse/temperature"));
        Expect.ImplicitDeny(asOther, "iot:Subscribe", Aws.TopicFilter("fleet/commands"));

        // The client ID names a thing the certificate is not attached to: its groups give nothing.
        var asBystander = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, new ConnectionFacts { ClientId = "bystander" }));
        Assert.Null(asBystander.Thing);
        Expect.ImplicitDeny(asBystander, "iot:Publish", Aws.Topic("other/x"));

        // Over HTTP there is no client ID and no thing.
        var overHttp = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, ConnectionFacts.None));
        Expect.ImplicitDeny(overHttp, "iot:Publish", Aws.Topic("greenhouse/temperature"));
    }

    [Fact]
    public void With_an_exclusive_attachment_the_group_policies_apply_whatever_the_client_ID()
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        registry
            .Policy("GreenhousePolicy", Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("greenhouse/*"))))
            .Policy("FleetPolicy", Aws.Policy(Aws.Allow("iot:Subscribe", Aws.TopicFilter("fleet/*"))))
            .Certificate("sensor-1", device)
            .Group("fleet", null, "FleetPolicy")
            .Group("greenhouse", "fleet", "GreenhousePolicy")
            .Thing("sensor-1", null, null, ["greenhouse"], ("sensor-1", true));
        var snapshot = registry.Load();

        var subject = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, new ConnectionFacts { ClientId = "client-abc" }));

        Assert.Equal("sensor-1", subject.Thing?.Name);
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("greenhouse/temperature"));
        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("fleet/commands"));
    }

    [Fact]
    public void A_thing_group_as_principal_gets_its_own_and_its_ancestors_policies()
    {
        registry
            .Policy("FleetPolicy", Aws.Policy(Aws.Allow("iot:Subscribe", Aws.TopicFilter("fleet/*"))))
            .Policy("GreenhousePolicy", Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("greenhouse/*"))))
            .Group("fleet", null, "FleetPolicy")
            .Group("greenhouse", "fleet", "GreenhousePolicy");
        var snapshot = registry.Load();

        var greenhouse = Expect.Accepted(PrincipalResolver.ForThingGroup(snapshot, "greenhouse", ConnectionFacts.None));
        Assert.Equal(PrincipalKind.ThingGroup, greenhouse.Kind);
        Assert.Equal(Aws.Prefix + "thinggroup/greenhouse", greenhouse.PrincipalArn);
        Expect.Allowed(greenhouse, "iot:Publish", Aws.Topic("greenhouse/x"));
        Expect.Allowed(greenhouse, "iot:Subscribe", Aws.TopicFilter("fleet/x"));

        var fleet = Expect.Accepted(PrincipalResolver.ForThingGroup(snapshot, "fleet", ConnectionFacts.None));
        Expect.ImplicitDeny(fleet, "iot:Publish", Aws.Topic("greenhouse/x"));
        Expect.Refused(PrincipalResolver.ForThingGroup(snapshot, "nursery", ConnectionFacts.None), "nursery");
    }

    [Fact]
    public void The_certificate_ID_variable_is_the_lowercase_hex_SHA256_of_the_DER()
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        var other = TestPki.CreateDevice("CN=sensor-2");
        registry.Policy("OwnTopic", Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("certs/${iot:CertificateId}"))))
            .Certificate("sensor-1", device, "ACTIVE", "OwnTopic");
        var subject = Expect.Accepted(PrincipalResolver.ForCertificate(registry.Load(), device, new ConnectionFacts { ClientId = "sensor-1" }));

        var id = TestPki.AwsCertificateId(device);
        Assert.Matches("^[0-9a-f]{64}$", id);
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("certs/" + id));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("certs/" + id.ToUpperInvariant()));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("certs/" + TestPki.AwsCertificateId(other)));
    }

    [Fact]
    public void TestAuthorization_overrides_add_and_skip_policies_without_touching_the_cached_principal()
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        registry
            .Policy("ConnectPolicy", Aws.Policy(Aws.Allow("iot:Connect", "*")))
            .Policy("ExtraPolicy", Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("extra"))))
            .Certificate("sensor-1", device, "ACTIVE", "ConnectPolicy");
        var snapshot = registry.Load();
        var id = TestPki.AwsCertificateId(device);
        var facts = new ConnectionFacts { ClientId = "sensor-1" };

        var overridden = Expect.Accepted(PrincipalResolver.ForCertificateId(snapshot, id, facts, new PolicyOverrides(["ExtraPolicy"], ["ConnectPolicy"])));
        Expect.Allowed(overridden, "iot:Publish", Aws.Topic("extra"));
        Expect.ImplicitDeny(overridden, "iot:Connect", Aws.Client("sensor-1"));

        var plain = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, facts));
        Expect.Allowed(plain, "iot:Connect", Aws.Client("sensor-1"));
        Expect.ImplicitDeny(plain, "iot:Publish", Aws.Topic("extra"));
    }

    [Fact]
    public void A_decision_says_which_statement_of_which_policy_decided()
    {
        var device = TestPki.CreateDevice("CN=sensor-1");
        registry
            .Policy("Allowing", Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("*"))))
            .Policy("Denying", Aws.Policy(Aws.Allow("iot:Connect", "*"), Aws.Deny("iot:Publish", Aws.Topic("secret/*"))))
            .Certificate("sensor-1", device, "ACTIVE", "Allowing", "Denying");
        var subject = Expect.Accepted(PrincipalResolver.ForCertificate(registry.Load(), device, new ConnectionFacts { ClientId = "sensor-1" }));

        var denied = Expect.ExplicitDeny(subject, "iot:Publish", Aws.Topic("secret/key"));
        Assert.Equal("Denying", Expect.DecidingPolicy(denied));
        Assert.Equal(1, denied.DecidingStatement!.Index);
        Assert.Equal(DecisionKind.Allowed, subject.Decide("iot:Publish", Aws.Topic("public/x")).Kind);
    }
}
