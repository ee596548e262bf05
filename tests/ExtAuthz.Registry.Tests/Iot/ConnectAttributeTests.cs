using ExtAuthz.Registry.Tests.Support;

namespace ExtAuthz.Registry.Tests.Iot;

/// <summary>
/// What the MQTT CONNECT packet adds: <c>iot:ConnectAttributes</c> (PersistentConnect when the session is
/// persistent, LastWill when a will is set) and <c>iot:LastWillTopic</c> (the will's topic ARN); and a
/// retained publish, which needs iot:Publish and iot:RetainPublish, decided separately.
/// </summary>
public sealed class ConnectAttributeTests : IDisposable
{
    private static readonly string ConnectPolicy = Aws.Policy(
        Aws.Allow("iot:Connect", Aws.Client("clean-only"), """{"ForAllValues:StringEquals": {"iot:ConnectAttributes": []}}"""),
        Aws.Allow("iot:Connect", Aws.Client("persistent"), """{"ForAnyValue:StringEquals": {"iot:ConnectAttributes": "PersistentConnect"}}"""),
        Aws.Allow("iot:Connect", Aws.Client("with-will"), """{"ForAnyValue:StringEquals": {"iot:ConnectAttributes": "LastWill"}}"""),
        Aws.Allow("iot:Connect", Aws.Client("will-topic"), Aws.Condition(("ArnEquals", "iot:LastWillTopic", Aws.Topic("devices/will")))),
        Aws.Allow("iot:Connect", Aws.Client("will-under"), Aws.Condition(("ArnLike", "iot:LastWillTopic", Aws.Topic("devices/*")))),
        Aws.Allow("iot:Connect", Aws.Client("no-attributes-key"), """{"Null": {"iot:ConnectAttributes": "true"}}"""));

    private readonly IotRegistry registry = new();

    public void Dispose() => registry.Dispose();

    [Fact]
    public void A_clean_connect_without_a_will_has_an_empty_attribute_set()
    {
        var subject = Connect(new ConnectionFacts { ClientId = "c1" });

        Expect.Allowed(subject, "iot:Connect", Aws.Client("clean-only"));
        Expect.ImplicitDeny(subject, "iot:Connect", Aws.Client("persistent"));
        Expect.ImplicitDeny(subject, "iot:Connect", Aws.Client("with-will"));
        Expect.ImplicitDeny(subject, "iot:Connect", Aws.Client("will-topic"));
        Assert.Equal(0, Expect.Context(subject)["iot:ConnectAttributes"].Count);
        Assert.Contains("iot:LastWillTopic", subject.Explain("iot:Connect", Aws.Client("will-topic")).MissingContextValues);
    }

    [Fact]
    public void A_persistent_session_adds_PersistentConnect()
    {
        var subject = Connect(new ConnectionFacts { ClientId = "c1", PersistentSession = true });

        Expect.Allowed(subject, "iot:Connect", Aws.Client("persistent"));
        Expect.ImplicitDeny(subject, "iot:Connect", Aws.Client("clean-only"));
        Expect.ImplicitDeny(subject, "iot:Connect", Aws.Client("with-will"));
    }

    [Fact]
    public void A_will_adds_LastWill_and_the_will_topic_as_a_topic_ARN()
    {
        var subject = Connect(new ConnectionFacts { ClientId = "c1", LastWillTopic = "devices/will" });

        Expect.Allowed(subject, "iot:Connect", Aws.Client("with-will"));
        Expect.Allowed(subject, "iot:Connect", Aws.Client("will-topic"));
        Expect.Allowed(subject, "iot:Connect", Aws.Client("will-under"));
        Expect.ImplicitDeny(subject, "iot:Connect", Aws.Client("clean-only"));
        Expect.ImplicitDeny(subject, "iot:Connect", Aws.Client("persistent"));
    }

    [Fact]
    public void A_will_on_another_topic_does_not_match_the_will_topic_condition()
    {
        var subject = Connect(new ConnectionFacts { ClientId = "c1", LastWillTopic = "elsewhere/will" });

        Expect.Allowed(subject, "iot:Connect", Aws.Client("with-will"));
        Expect.ImplicitDeny(subject, "iot:Connect", Aws.Client("will-topic"));
        Expect.ImplicitDeny(subject, "iot:Connect", Aws.Client("will-under"));
    }

    [Fact]
    public void A_persistent_session_with_a_will_has_both_attributes()
    {
        var subject = Connect(new ConnectionFacts { ClientId = "c1", PersistentSession = true, LastWillTopic = "devices/will" });

        Expect.Allowed(subject, "iot:Connect", Aws.Client("persistent"));
        Expect.Allowed(subject, "iot:Connect", Aws.Client("with-will"));
        Expect.ImplicitDeny(subject, "iot:Connect", Aws.Client("clean-only"));
    }

    [Fact]
    public void Over_HTTP_there_is_no_connect_attribute_key()
    {
        var subject = Connect(ConnectionFacts.None);

        Assert.False(Expect.Context(subject).ContainsKey("iot:ConnectAttributes"));
        Assert.False(Expect.Context(subject).ContainsKey("iot:ClientId"));
        Expect.Allowed(subject, "iot:Connect", Aws.Client("no-attributes-key"));
        Expect.ImplicitDeny(subject, "iot:Connect", Aws.Client("persistent"));
        Expect.ImplicitDeny(subject, "iot:Connect", Aws.Client("with-will"));
    }

    [Fact]
    public void A_retained_publish_is_two_decisions_Publish_and_RetainPublish()
    {
        var device = TestPki.CreateDevice("CN=device");
        registry
            .Policy("PublishOnly", Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("status/*"))))
            .Policy("RetainStatus", Aws.Policy(Aws.Allow("iot:RetainPublish", Aws.Topic("status/retained/*"))))
            .Certificate("device", device, "ACTIVE", "PublishOnly", "RetainStatus");
        var subject = Expect.Accepted(PrincipalResolver.ForCertificate(registry.Load(), device, new ConnectionFacts { ClientId = "device" }));

        // Both allowed: a retained publish may go through.
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("status/retained/a"));
        Expect.Allowed(subject, "iot:RetainPublish", Aws.Topic("status/retained/a"));

        // Publish allowed but RetainPublish not: the plain publish is fine, the retained one is refused.
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("status/live"));
        Expect.ImplicitDeny(subject, "iot:RetainPublish", Aws.Topic("status/live"));
    }

    [Fact]
    public void RetainPublish_alone_does_not_grant_Publish()
    {
        var device = TestPki.CreateDevice("CN=device");
        registry.Policy("RetainOnly", Aws.Policy(Aws.Allow("iot:RetainPublish", Aws.Topic("*"))))
            .Certificate("device", device, "ACTIVE", "RetainOnly");
        var subject = Expect.Accepted(PrincipalResolver.ForCertificate(registry.Load(), device, new ConnectionFacts { ClientId = "device" }));

        Expect.Allowed(subject, "iot:RetainPublish", Aws.Topic("status/a"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("status/a"));
    }

    private AuthorizationSubject Connect(ConnectionFacts facts)
    {
        var device = TestPki.CreateDevice("CN=device");
        registry.Policy("ConnectPolicy", ConnectPolicy).Certificate("device", device, "ACTIVE", "ConnectPolicy");
        return Expect.Accepted(PrincipalResolver.ForCertificate(registry.Load(), device, facts));
    }
}
