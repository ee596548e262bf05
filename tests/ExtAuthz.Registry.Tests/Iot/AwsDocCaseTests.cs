using System.Security.Cryptography.X509Certificates;
using ExtAuthz.Registry.Tests.Support;

namespace ExtAuthz.Registry.Tests.Iot;

/// <summary>
/// The AWS IoT Developer Guide's documented decisions whose context AWS computes from a certificate, a
/// thing, a Cognito identity or the CONNECT packet, reproduced through the registry: the guide's policy
/// (restated), a fleet that produces the context the guide describes, and the guide's outcome. Each test
/// names the case it mirrors (the ids of ../shared/aws-iot-doc-cases, which these tests do not read).
/// Requests whose context cannot come from a real connection (a CONNECT attribute AWS has not defined
/// yet, "SomeNewFeature") are left to the engine's own doc-case replay.
/// </summary>
public sealed class AwsDocCaseTests : IDisposable
{
    private const string ThingName = "${iot:Connection.Thing.ThingName}";
    private const string Sub = "${cognito-identity.amazonaws.com:sub}";
    private const string CognitoIdentity = "us-east-1:11111111-2222-3333-4444-555555555555";

    private readonly IotRegistry registry = new();
    private readonly X509Certificate2 device = TestPki.CreateDevice("CN=thing1");

    public void Dispose() => registry.Dispose();

    // ---- certificate-policy-examples ----

    [Fact] // cert-registered-commonname-list-anyvalue-thingtopic
    public void Registered_thing_with_Administrator_in_its_common_names_publishes_under_admin_slash_its_name()
    {
        var admin = TestPki.CreateDevice("CN=Administrator");
        var snapshot = Fleet(Aws.Policy(
            Aws.Allow("iot:Connect", Aws.Client(ThingName)),
            Aws.Allow("iot:Publish", Aws.Topic($"admin/{ThingName}"),
                Aws.Condition(("ForAnyValue:StringEquals", "iot:Certificate.Subject.CommonName.List", "Administrator")))),
            r => r.Certificate("admin", admin, "ACTIVE", "DocPolicy").AttachedThing("thing1", "admin"));
        var subject = Mqtt(snapshot, admin, "thing1");

        Expect.Allowed(subject, "iot:Publish", Aws.Topic("admin/thing1"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("admin/thing2"));
    }

    [Fact] // cert-registered-commonname2-administrator
    public void The_third_common_name_must_be_Administrator_to_publish_under_admin()
    {
        var administrator = Named(("CN", "device"), ("CN", "Operator"), ("CN", "Administrator"));
        var operatorCert = Named(("CN", "device"), ("CN", "Administrator"), ("CN", "Operator"));
        var twoNames = Named(("CN", "device"), ("CN", "Administrator"));
        var snapshot = Fleet(Aws.Policy(
            Aws.Allow("iot:Connect", Aws.Client(ThingName)),
            Aws.Allow("iot:Publish", Aws.Topic("admin/*"), Aws.Condition(("StringEquals", "iot:Certificate.Subject.CommonName.2", "Administrator")))),
            r => r.Certificate("administrator", administrator, "ACTIVE", "DocPolicy")
                .Certificate("operator", operatorCert, "ACTIVE", "DocPolicy")
                .Certificate("two-names", twoNames, "ACTIVE", "DocPolicy")
                .Thing("thing1", null, null, null, ("administrator", false), ("operator", false), ("two-names", false)));

        Expect.Allowed(Mqtt(snapshot, administrator, "thing1"), "iot:Publish", Aws.Topic("admin/reboot"));
        Expect.ImplicitDeny(Mqtt(snapshot, operatorCert, "thing1"), "iot:Publish", Aws.Topic("admin/reboot"));
        Expect.ImplicitDeny(Mqtt(snapshot, twoNames, "thing1"), "iot:Publish", Aws.Topic("admin/reboot"));
    }

    [Fact] // cert-registered-publish-certificateid-topic
    public void A_registered_thing_publishes_only_on_the_topic_named_after_its_certificate_ID()
    {
        var snapshot = Fleet(Aws.Policy(
            Aws.Allow("iot:Publish", Aws.Topic("${iot:CertificateId}")),
            Aws.Allow("iot:Connect", Aws.Client(ThingName))),
            r => r.Certificate("thing1", device, "ACTIVE", "DocPolicy").AttachedThing("thing1", "thing1"));
        var subject = Mqtt(snapshot, device, "thing1");

        Expect.Allowed(subject, "iot:Publish", Aws.Topic(TestPki.AwsCertificateId(device)));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic(new string('f', 64)));
    }

    [Fact] // cert-unregistered-commonname-list-anyvalue
    public void A_client_without_a_thing_publishes_on_admin_when_any_common_name_is_Administrator()
    {
        var withAdministrator = Named(("CN", "device-7"), ("CN", "Administrator"));
        var withoutAdministrator = Named(("CN", "device-7"), ("CN", "Operator"));
        var snapshot = Fleet(Aws.Policy(
            Aws.Allow("iot:Connect", [Aws.Client("client1"), Aws.Client("client2"), Aws.Client("client3")]),
            Aws.Allow("iot:Publish", Aws.Topic("admin"), Aws.Condition(("ForAnyValue:StringEquals", "iot:Certificate.Subject.CommonName.List", "Administrator")))),
            r => r.Certificate("with", withAdministrator, "ACTIVE", "DocPolicy").Certificate("without", withoutAdministrator, "ACTIVE", "DocPolicy"));

        Expect.Allowed(Mqtt(snapshot, withAdministrator, "client1"), "iot:Publish", Aws.Topic("admin"));
        Expect.ImplicitDeny(Mqtt(snapshot, withoutAdministrator, "client1"), "iot:Publish", Aws.Topic("admin"));
    }

    [Fact] // cert-unregistered-publish-commonname-topic
    public void A_client_without_a_thing_publishes_on_the_topic_named_after_its_common_name()
    {
        var sensor = TestPki.CreateDevice("CN=sensor-0042");
        var snapshot = Fleet(Aws.Policy(
            Aws.Allow("iot:Publish", Aws.Topic("${iot:Certificate.Subject.CommonName}")),
            Aws.Allow("iot:Connect", [Aws.Client("client1"), Aws.Client("client2"), Aws.Client("client3")])),
            r => r.Certificate("sensor", sensor, "ACTIVE", "DocPolicy"));
        var subject = Mqtt(snapshot, sensor, "client3");

        Expect.Allowed(subject, "iot:Connect", Aws.Client("client3"));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("sensor-0042"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("sensor-0043"));
    }

    // ---- cert-policy-variables ----

    [Fact] // certvars-registered-organization-list
    public void A_registered_thing_publishes_only_when_every_organization_is_Example_Corp_or_AnyCompany()
    {
        var anyCompany = Named(("O", "AnyCompany"), ("CN", "thing1"));
        var exampleCorp = Named(("O", "Example Corp"), ("CN", "thing1"));
        var other = Named(("O", "Other Inc"), ("CN", "thing1"));
        var snapshot = Fleet(Aws.Policy(
            Aws.Allow("iot:Connect", Aws.Client(ThingName)),
            Aws.Allow("iot:Publish", Aws.Topic($"my/topic/{ThingName}"),
                Aws.Condition(("ForAllValues:StringEquals", "iot:Certificate.Subject.Organization.List", new[] { "Example Corp", "AnyCompany" })))),
            r => r.Certificate("any", anyCompany, "ACTIVE", "DocPolicy").Certificate("example", exampleCorp, "ACTIVE", "DocPolicy").Certificate("other", other, "ACTIVE", "DocPolicy")
                .Thing("thing1", null, null, null, ("any", false), ("example", false), ("other", false)));

        Expect.Allowed(Mqtt(snapshot, anyCompany, "thing1"), "iot:Publish", Aws.Topic("my/topic/thing1"));
        Expect.Allowed(Mqtt(snapshot, exampleCorp, "thing1"), "iot:Publish", Aws.Topic("my/topic/thing1"));
        Expect.ImplicitDeny(Mqtt(snapshot, other, "thing1"), "iot:Publish", Aws.Topic("my/topic/thing1"));
        Expect.Allowed(Mqtt(snapshot, other, "thing1"), "iot:Connect", Aws.Client("thing1"));
    }

    [Fact] // certvars-unregistered-organization-list
    public void A_client_without_a_thing_publishes_on_its_topic_only_from_the_listed_organizations()
    {
        var exampleCorp = Named(("O", "Example Corp"), ("CN", "client2"));
        var other = Named(("O", "Other Inc"), ("CN", "client2"));
        var snapshot = Fleet(Aws.Policy(
            Aws.Allow("iot:Connect", [Aws.Client("client1"), Aws.Client("client2"), Aws.Client("client3")]),
            Aws.Allow("iot:Publish", Aws.Topic("my/topic/${iot:ClientId}"),
                Aws.Condition(("ForAllValues:StringEquals", "iot:Certificate.Subject.Organization.List", new[] { "Example Corp", "AnyCompany" })))),
            r => r.Certificate("example", exampleCorp, "ACTIVE", "DocPolicy").Certificate("other", other, "ACTIVE", "DocPolicy"));

        Expect.Allowed(Mqtt(snapshot, exampleCorp, "client2"), "iot:Publish", Aws.Topic("my/topic/client2"));
        Expect.ImplicitDeny(Mqtt(snapshot, other, "client2"), "iot:Publish", Aws.Topic("my/topic/client2"));
    }

    // ---- pub-sub-policy (Cognito) ----

    [Fact] // cognito-http-publish-own-topic
    public void Cognito_identities_publish_over_HTTP_on_the_topic_named_after_their_identity()
    {
        var policy = Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic(Sub)));
        var own = Aws.Topic(CognitoIdentity);
        var withIotPolicy = CognitoFleet(policy, attachIotPolicy: true);

        var unauthenticated = Expect.Accepted(PrincipalResolver.ForCognito(withIotPolicy, CognitoIdentity, CognitoAndIamTests.Pool, false, ConnectionFacts.None));
        Expect.Allowed(unauthenticated, "iot:Publish", own);
        Expect.ImplicitDeny(unauthenticated, "iot:Publish", Aws.Topic("us-east-1:99999999-2222-3333-4444-555555555555"));

        var authenticated = Expect.Accepted(PrincipalResolver.ForCognito(withIotPolicy, CognitoIdentity, CognitoAndIamTests.Pool, true, ConnectionFacts.None));
        Expect.Allowed(authenticated, "iot:Publish", own);

        using var other = new IotRegistry();
        var withoutIotPolicy = CognitoFleet(policy, attachIotPolicy: false, other);
        var unattached = Expect.Accepted(PrincipalResolver.ForCognito(withoutIotPolicy, CognitoIdentity, CognitoAndIamTests.Pool, true, ConnectionFacts.None));
        Expect.ImplicitDeny(unattached, "iot:Publish", own);
    }

    [Fact] // cognito-mqtt-connect-publish-own-topic
    public void Cognito_identities_connect_with_their_identity_as_client_ID_and_publish_on_their_topic()
    {
        var policy = Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic(Sub)), Aws.Allow("iot:Connect", Aws.Client(Sub)));
        var withIotPolicy = CognitoFleet(policy, attachIotPolicy: true);
        var pool = CognitoAndIamTests.Pool;

        var asItself = Expect.Accepted(PrincipalResolver.ForCognito(withIotPolicy, CognitoIdentity, pool, false, new ConnectionFacts { ClientId = CognitoIdentity }));
        Expect.Allowed(asItself, "iot:Connect", Aws.Client(CognitoIdentity));
        var asOther = Expect.Accepted(PrincipalResolver.ForCognito(withIotPolicy, CognitoIdentity, pool, false, new ConnectionFacts { ClientId = "someOtherClient" }));
        Expect.ImplicitDeny(asOther, "iot:Connect", Aws.Client("someOtherClient"));

        var authenticated = Expect.Accepted(PrincipalResolver.ForCognito(withIotPolicy, CognitoIdentity, pool, true, new ConnectionFacts { ClientId = CognitoIdentity }));
        Expect.Allowed(authenticated, "iot:Publish", Aws.Topic(CognitoIdentity));

        using var other = new IotRegistry();
        var withoutIotPolicy = CognitoFleet(policy, attachIotPolicy: false, other);
        var unattached = Expect.Accepted(PrincipalResolver.ForCognito(withoutIotPolicy, CognitoIdentity, pool, true, new ConnectionFacts { ClientId = CognitoIdentity }));
        Expect.ImplicitDeny(unattached, "iot:Connect", Aws.Client(CognitoIdentity));
    }

    // ---- connect-and-pub, connect-policy ----

    [Fact] // connect-and-publish-registered-thingname-topic
    public void A_registered_thing_connects_as_itself_and_publishes_on_its_own_topic()
    {
        var snapshot = Fleet(Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic(ThingName)), Aws.Allow("iot:Connect", Aws.Client(ThingName))),
            r => r.Certificate("thing1", device, "ACTIVE", "DocPolicy").AttachedThing("thing1", "thing1"));
        var subject = Mqtt(snapshot, device, "thing1");

        Expect.Allowed(subject, "iot:Connect", Aws.Client("thing1"));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("thing1"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("thing2"));
        Expect.ImplicitDeny(Mqtt(snapshot, device, "ghost"), "iot:Connect", Aws.Client("ghost"));
    }

    [Fact] // connect-deny-client1-client2-allow-thingname
    public void Client_IDs_client1_and_client2_are_denied_even_as_registered_things()
    {
        var snapshot = Fleet(Aws.Policy(
            Aws.Deny("iot:Connect", [Aws.Client("client1"), Aws.Client("client2")]),
            Aws.Allow("iot:Connect", Aws.Client(ThingName))),
            r => r.Certificate("device", device, "ACTIVE", "DocPolicy").AttachedThing("thing1", "device").AttachedThing("client1", "device"));

        Expect.Allowed(Mqtt(snapshot, device, "thing1"), "iot:Connect", Aws.Client("thing1"));
        Expect.ExplicitDeny(Mqtt(snapshot, device, "client1"), "iot:Connect", Aws.Client("client1"));
        Expect.ExplicitDeny(Mqtt(snapshot, device, "client2"), "iot:Connect", Aws.Client("client2"));
    }

    [Fact] // connect-lastwill-topic-clean-only
    public void Only_a_clean_connect_with_the_expected_will_topic_is_allowed()
    {
        var snapshot = Fleet(Aws.Policy(
            Aws.Allow("iot:Connect", "*", Aws.Condition(("ArnEquals", "iot:LastWillTopic", Aws.Topic("my/lastwill/topicName")))),
            Aws.Deny("iot:Connect", "*", Aws.Condition(("ForAnyValue:StringEquals", "iot:ConnectAttributes", new[] { "PersistentConnect" })))),
            r => r.Certificate("device", device, "ACTIVE", "DocPolicy"));

        Expect.Allowed(Mqtt(snapshot, device, "c1", will: "my/lastwill/topicName"), "iot:Connect", Aws.Client("c1"));
        Expect.ExplicitDeny(Mqtt(snapshot, device, "c1", persistent: true, will: "my/lastwill/topicName"), "iot:Connect", Aws.Client("c1"));
    }

    [Fact] // connect-lastwill-topic
    public void Connect_is_allowed_only_with_the_expected_will_topic()
    {
        var snapshot = Fleet(Aws.Policy(Aws.Allow("iot:Connect", "*", Aws.Condition(("ArnEquals", "iot:LastWillTopic", Aws.Topic("my/lastwill/topicName"))))),
            r => r.Certificate("device", device, "ACTIVE", "DocPolicy"));

        Expect.Allowed(Mqtt(snapshot, device, "c1", will: "my/lastwill/topicName"), "iot:Connect", Aws.Client("c1"));
        Expect.Allowed(Mqtt(snapshot, device, "c1", persistent: true, will: "my/lastwill/topicName"), "iot:Connect", Aws.Client("c1"));
        Expect.ImplicitDeny(Mqtt(snapshot, device, "c1", will: "other"), "iot:Connect", Aws.Client("c1"));
        Expect.ImplicitDeny(Mqtt(snapshot, device, "c1"), "iot:Connect", Aws.Client("c1"));
    }

    [Fact] // connectattributes-allow-all-deny-persistent
    public void Allow_every_connect_but_deny_persistent_sessions()
    {
        var snapshot = ConnectFleet(
            Aws.Allow("iot:Connect", "*"),
            Aws.Deny("iot:Connect", "*", Aws.Condition(("ForAnyValue:StringEquals", "iot:ConnectAttributes", new[] { "PersistentConnect" }))));

        Expect.ExplicitDeny(Mqtt(snapshot, device, "c1", persistent: true), "iot:Connect", Aws.Client("c1"));
        Expect.Allowed(Mqtt(snapshot, device, "c1", will: "status/gone"), "iot:Connect", Aws.Client("c1"));
    }

    [Fact] // connectattributes-allow-persistent-and-lastwill
    public void Allow_connects_using_at_most_persistent_sessions_and_wills()
    {
        var snapshot = ConnectFleet(Aws.Allow("iot:Connect", "*",
            Aws.Condition(("ForAllValues:StringEquals", "iot:ConnectAttributes", new[] { "PersistentConnect", "LastWill" }))));

        Expect.Allowed(Mqtt(snapshot, device, "c1", persistent: true, will: "status/gone"), "iot:Connect", Aws.Client("c1"));
    }

    [Fact] // connectattributes-allow-persistent
    public void Allow_persistent_connects_but_not_with_a_will()
    {
        var snapshot = ConnectFleet(Aws.Allow("iot:Connect", "*",
            Aws.Condition(("ForAllValues:StringEquals", "iot:ConnectAttributes", new[] { "PersistentConnect" }))));

        Expect.Allowed(Mqtt(snapshot, device, "c1", persistent: true), "iot:Connect", Aws.Client("c1"));
        Expect.ImplicitDeny(Mqtt(snapshot, device, "c1", persistent: true, will: "status/gone"), "iot:Connect", Aws.Client("c1"));
    }

    [Fact] // connectattributes-anyvalue-persistent
    public void Require_a_persistent_session()
    {
        var snapshot = ConnectFleet(Aws.Allow("iot:Connect", "*",
            Aws.Condition(("ForAnyValue:StringEquals", "iot:ConnectAttributes", new[] { "PersistentConnect" }))));

        Expect.Allowed(Mqtt(snapshot, device, "c1", persistent: true), "iot:Connect", Aws.Client("c1"));
        Expect.ImplicitDeny(Mqtt(snapshot, device, "c1"), "iot:Connect", Aws.Client("c1"));
        Expect.ImplicitDeny(Mqtt(snapshot, device, "c1", will: "status/gone"), "iot:Connect", Aws.Client("c1"));
    }

    [Fact] // connectattributes-default-only
    public void Allow_only_connects_using_default_features()
    {
        var snapshot = ConnectFleet(Aws.Allow("iot:Connect", "*",
            Aws.Condition(("ForAllValues:StringEquals", "iot:ConnectAttributes", Array.Empty<string>()))));

        Expect.Allowed(Mqtt(snapshot, device, "c1"), "iot:Connect", Aws.Client("c1"));
        Expect.ImplicitDeny(Mqtt(snapshot, device, "c1", persistent: true), "iot:Connect", Aws.Client("c1"));
        Expect.ImplicitDeny(Mqtt(snapshot, device, "c1", will: "status/gone"), "iot:Connect", Aws.Client("c1"));
    }

    [Fact] // connectattributes-disallow-persistent
    public void Allow_every_connect_whose_attributes_are_not_PersistentConnect()
    {
        var snapshot = ConnectFleet(Aws.Allow("iot:Connect", "*",
            Aws.Condition(("ForAllValues:StringNotEquals", "iot:ConnectAttributes", new[] { "PersistentConnect" }))));

        Expect.ImplicitDeny(Mqtt(snapshot, device, "c1", persistent: true), "iot:Connect", Aws.Client("c1"));
        Expect.Allowed(Mqtt(snapshot, device, "c1", will: "status/gone"), "iot:Connect", Aws.Client("c1"));
        Expect.Allowed(Mqtt(snapshot, device, "c1"), "iot:Connect", Aws.Client("c1"));
    }

    [Fact] // connectattributes-lastwill-only
    public void Allow_clean_connects_with_or_without_a_will()
    {
        var snapshot = ConnectFleet(Aws.Allow("iot:Connect", "*",
            Aws.Condition(("ForAllValues:StringEquals", "iot:ConnectAttributes", new[] { "LastWill" }))));

        Expect.Allowed(Mqtt(snapshot, device, "c1"), "iot:Connect", Aws.Client("c1"));
        Expect.Allowed(Mqtt(snapshot, device, "c1", will: "status/gone"), "iot:Connect", Aws.Client("c1"));
        Expect.ImplicitDeny(Mqtt(snapshot, device, "c1", persistent: true), "iot:Connect", Aws.Client("c1"));
        Expect.ImplicitDeny(Mqtt(snapshot, device, "c1", persistent: true, will: "status/gone"), "iot:Connect", Aws.Client("c1"));
    }

    [Fact] // connectattributes-must-have-both
    public void Require_both_a_persistent_session_and_a_will()
    {
        var snapshot = ConnectFleet(
            Aws.Allow("iot:Connect", "*", Aws.Condition(("ForAllValues:StringEquals", "iot:ConnectAttributes", new[] { "PersistentConnect", "LastWill" }))),
            Aws.Deny("iot:Connect", "*", Aws.Condition(("ForAllValues:StringEquals", "iot:ConnectAttributes", new[] { "PersistentConnect" }))),
            Aws.Deny("iot:Connect", "*", Aws.Condition(("ForAllValues:StringEquals", "iot:ConnectAttributes", new[] { "LastWill" }))),
            Aws.Deny("iot:Connect", "*", Aws.Condition(("ForAllValues:StringEquals", "iot:ConnectAttributes", Array.Empty<string>()))));

        Expect.Allowed(Mqtt(snapshot, device, "c1", persistent: true, will: "status/gone"), "iot:Connect", Aws.Client("c1"));
        Expect.ExplicitDeny(Mqtt(snapshot, device, "c1", persistent: true), "iot:Connect", Aws.Client("c1"));
        Expect.ExplicitDeny(Mqtt(snapshot, device, "c1", will: "status/gone"), "iot:Connect", Aws.Client("c1"));
        Expect.ExplicitDeny(Mqtt(snapshot, device, "c1"), "iot:Connect", Aws.Client("c1"));
    }

    [Fact] // connectattributes-no-persistent-lastwill-ok
    public void Deny_persistent_sessions_and_allow_a_will()
    {
        var snapshot = ConnectFleet(
            Aws.Deny("iot:Connect", "*", Aws.Condition(("ForAnyValue:StringEquals", "iot:ConnectAttributes", new[] { "PersistentConnect" }))),
            Aws.Allow("iot:Connect", "*", Aws.Condition(("ForAllValues:StringEquals", "iot:ConnectAttributes", new[] { "LastWill" }))));

        Expect.Allowed(Mqtt(snapshot, device, "c1", will: "status/gone"), "iot:Connect", Aws.Client("c1"));
        Expect.ExplicitDeny(Mqtt(snapshot, device, "c1", persistent: true), "iot:Connect", Aws.Client("c1"));
        Expect.ExplicitDeny(Mqtt(snapshot, device, "c1", persistent: true, will: "status/gone"), "iot:Connect", Aws.Client("c1"));
    }

    // ---- pub-sub-policy (registered devices) ----

    [Fact] // pubsub-registered-literal-plus-filter
    public void A_plus_in_the_policy_is_a_literal_character_of_the_topic_filter()
    {
        var subject = RegisteredThing1(Aws.Allow("iot:Subscribe", Aws.TopicFilter("some/+/topic")));

        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("some/+/topic"));
        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("some/sensor/topic"));
        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("some/#"));
    }

    [Fact] // pubsub-registered-publish-thingname-prefix
    public void A_registered_thing_publishes_anywhere_under_its_own_name()
    {
        var subject = RegisteredThing1(Aws.Allow("iot:Publish", Aws.Topic($"{ThingName}/*")));

        Expect.Allowed(subject, "iot:Publish", Aws.Topic("thing1/telemetry"));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("thing1/a/b/c"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("thing2/telemetry"));
    }

    [Fact] // pubsub-registered-star-level-filter
    public void A_star_in_a_topic_filter_resource_matches_any_level_text_including_a_plus()
    {
        var subject = RegisteredThing1(Aws.Allow("iot:Subscribe", Aws.TopicFilter("some/*/topic")));

        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("some/string1/topic"));
        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("some/string2/topic"));
        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("some/+/topic"));
        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("other/x/topic"));
    }

    [Fact] // pubsub-registered-subscribe-receive-room
    public void A_registered_thing_subscribes_and_receives_on_its_room_topics()
    {
        var subject = RegisteredThing1(
            Aws.Allow("iot:Subscribe", Aws.TopicFilter($"{ThingName}/room*")),
            Aws.Allow("iot:Receive", Aws.Topic($"{ThingName}/room*")));

        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("thing1/room1"));
        Expect.Allowed(subject, "iot:Receive", Aws.Topic("thing1/room2"));
        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("thing1/kitchen"));
        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("thing2/room1"));
    }

    [Fact] // pubsub-registered-two-topic-filters
    public void A_registered_thing_subscribes_to_exactly_the_two_listed_filters()
    {
        var subject = RegisteredThing1(Aws.Allow("iot:Subscribe", [Aws.TopicFilter("my/topic"), Aws.TopicFilter("my/othertopic")]));

        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("my/topic"));
        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("my/othertopic"));
        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("my/thirdtopic"));
    }

    [Fact] // receive-registered-my-topic
    public void A_registered_thing_receives_only_on_my_topic()
    {
        var subject = RegisteredThing1(
            Aws.Allow("iot:Subscribe", Aws.TopicFilter("my/topic")),
            Aws.Allow("iot:Receive", Aws.Topic("my/topic")));

        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("my/topic"));
        Expect.Allowed(subject, "iot:Receive", Aws.Topic("my/topic"));
        Expect.ImplicitDeny(subject, "iot:Receive", Aws.Topic("my/other"));
    }

    [Fact] // registered-connect-subscribe-filter
    public void A_certificate_attached_only_to_thing1_cannot_connect_as_thing2()
    {
        var snapshot = Fleet(Aws.Policy(
            Aws.Allow("iot:Connect", Aws.Client(ThingName)),
            Aws.Allow("iot:Subscribe", Aws.TopicFilter("my/topic/filter"))),
            r => r.Certificate("thing1", device, "ACTIVE", "DocPolicy").AttachedThing("thing1", "thing1").Thing("thing2", null, null, null));
        var subject = Mqtt(snapshot, device, "thing1");

        Expect.Allowed(subject, "iot:Connect", Aws.Client("thing1"));
        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("my/topic/filter"));
        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("my/topic/other"));
        Expect.ImplicitDeny(Mqtt(snapshot, device, "thing2"), "iot:Connect", Aws.Client("thing2"));
    }

    [Fact] // retained-will-message
    public void Any_client_connects_with_a_will_whose_retained_will_needs_Publish_and_RetainPublish()
    {
        var snapshot = ConnectFleet(
            Aws.Allow("iot:Connect", Aws.Client("*"), Aws.Condition(("ForAllValues:StringEquals", "iot:ConnectAttributes", new[] { "LastWill" }))),
            Aws.Allow("iot:Publish", Aws.Topic("will")),
            Aws.Allow("iot:RetainPublish", Aws.Topic("will")));
        var subject = Mqtt(snapshot, device, "anyClient", will: "will");

        Expect.Allowed(subject, "iot:Connect", Aws.Client("anyClient"));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("will"));
        Expect.Allowed(subject, "iot:RetainPublish", Aws.Topic("will"));
        Expect.ImplicitDeny(Mqtt(snapshot, device, "anyClient", persistent: true), "iot:Connect", Aws.Client("anyClient"));
    }

    // ---- thing-policy-examples ----

    [Fact] // thing-attribute-and-type-publish
    public void An_attached_thing_of_the_right_type_and_attribute_publishes_device_stats()
    {
        var rightThing = TestPki.CreateDevice("CN=right");
        var wrongType = TestPki.CreateDevice("CN=wrong-type");
        var wrongAttribute = TestPki.CreateDevice("CN=wrong-attribute");
        var unattached = TestPki.CreateDevice("CN=unattached");
        var snapshot = Fleet(Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("device/stats"), Aws.Condition(
                ("StringEquals", "iot:Connection.Thing.Attributes[attributeName]", "attributeValue"),
                ("StringEquals", "iot:Connection.Thing.ThingTypeName", "Thing_Type_Name"),
                ("Bool", "iot:Connection.Thing.IsAttached", "true")))),
            r => r.Certificate("right", rightThing, "ACTIVE", "DocPolicy")
                .Certificate("wrong-type", wrongType, "ACTIVE", "DocPolicy")
                .Certificate("wrong-attribute", wrongAttribute, "ACTIVE", "DocPolicy")
                .Certificate("unattached", unattached, "ACTIVE", "DocPolicy")
                .Thing("thing1", "Thing_Type_Name", Attribute("attributeValue"), null, ("right", false))
                .Thing("thing2", "OtherType", Attribute("attributeValue"), null, ("wrong-type", false))
                .Thing("thing3", "Thing_Type_Name", Attribute("otherValue"), null, ("wrong-attribute", false)));

        Expect.Allowed(Mqtt(snapshot, rightThing, "thing1"), "iot:Publish", Aws.Topic("device/stats"));
        Expect.ImplicitDeny(Mqtt(snapshot, wrongType, "thing2"), "iot:Publish", Aws.Topic("device/stats"));
        Expect.ImplicitDeny(Mqtt(snapshot, wrongAttribute, "thing3"), "iot:Publish", Aws.Topic("device/stats"));
        Expect.ImplicitDeny(Mqtt(snapshot, unattached, "thing1"), "iot:Publish", Aws.Topic("device/stats"));
    }

    [Fact] // thing-attribute-in-resource
    public void An_attached_thing_publishes_under_its_attribute_value()
    {
        var unattached = TestPki.CreateDevice("CN=unattached");
        var snapshot = Fleet(Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("${iot:Connection.Thing.Attributes[attributeName]}/*"))),
            r => r.Certificate("thing1", device, "ACTIVE", "DocPolicy").Certificate("unattached", unattached, "ACTIVE", "DocPolicy")
                .Thing("thing1", null, Attribute("building7"), null, ("thing1", false)));

        Expect.Allowed(Mqtt(snapshot, device, "thing1"), "iot:Publish", Aws.Topic("building7/temp"));
        Expect.ImplicitDeny(Mqtt(snapshot, device, "thing1"), "iot:Publish", Aws.Topic("building8/temp"));
        Expect.ImplicitDeny(Mqtt(snapshot, unattached, "thing1"), "iot:Publish", Aws.Topic("building7/temp"));
    }

    [Fact] // thing-isattached-connect
    public void Connect_requires_the_certificate_to_be_attached_to_the_thing()
    {
        var unattached = TestPki.CreateDevice("CN=unattached");
        var snapshot = Fleet(Aws.Policy(Aws.Allow("iot:Connect", "*", Aws.Condition(("Bool", "iot:Connection.Thing.IsAttached", new[] { "true" })))),
            r => r.Certificate("thing1", device, "ACTIVE", "DocPolicy").Certificate("unattached", unattached, "ACTIVE", "DocPolicy").AttachedThing("thing1", "thing1"));

        Expect.Allowed(Mqtt(snapshot, device, "thing1"), "iot:Connect", Aws.Client("thing1"));
        Expect.ImplicitDeny(Mqtt(snapshot, unattached, "thing1"), "iot:Connect", Aws.Client("thing1"));
    }

    private static X509Certificate2 Named(params (string Attribute, string Value)[] subject) => TestPkiExtras.Create(TestPkiExtras.EncodedName(subject), null);

    private static Dictionary<string, string> Attribute(string value) => new(StringComparer.Ordinal) { ["attributeName"] = value };

    private static AuthorizationSubject Mqtt(RegistrySnapshot snapshot, X509Certificate2 certificate, string clientId, bool persistent = false, string? will = null) =>
        Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, certificate, new ConnectionFacts { ClientId = clientId, PersistentSession = persistent, LastWillTopic = will }));

    private RegistrySnapshot Fleet(string policy, Action<IotRegistry> setup)
    {
        registry.Policy("DocPolicy", policy);
        setup(registry);
        return registry.Load();
    }

    /// <summary>The device certificate with the policy attached and no thing: a client whose context is its CONNECT.</summary>
    private RegistrySnapshot ConnectFleet(params string[] statements) =>
        Fleet(Aws.Policy(statements), r => r.Certificate("device", device, "ACTIVE", "DocPolicy"));

    /// <summary>The guide's "registered device": thing1 attached to the certificate, connecting with client ID thing1, Connect on client/${ThingName}.</summary>
    private AuthorizationSubject RegisteredThing1(params string[] statements)
    {
        var snapshot = Fleet(Aws.Policy([Aws.Allow("iot:Connect", Aws.Client(ThingName)), .. statements]),
            r => r.Certificate("thing1", device, "ACTIVE", "DocPolicy").AttachedThing("thing1", "thing1"));
        var subject = Mqtt(snapshot, device, "thing1");
        Expect.Allowed(subject, "iot:Connect", Aws.Client("thing1"));
        return subject;
    }

    /// <summary>The guide's policy as the pool's roles' policy, and (when attached) as the identity's IoT policy.</summary>
    private RegistrySnapshot CognitoFleet(string policy, bool attachIotPolicy, IotRegistry? target = null)
    {
        var fleet = target ?? registry;
        CognitoAndIamTests.Pooled(fleet, policy, policy, identityIotPolicy: null);
        if (attachIotPolicy)
        {
            fleet.Policy("DocPolicy", policy).Attach("DocPolicy", "cognitoIdentity", CognitoIdentity);
        }

        return fleet.Load();
    }
}
