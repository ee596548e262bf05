using System.Security.Cryptography.X509Certificates;
using ExtAuthz.Registry.Tests.Support;

namespace ExtAuthz.Registry.Tests.Iot;

/// <summary>
/// <c>iot:Connection.Thing.*</c>: they exist only when the thing is attached to the principal and the
/// client ID is the thing name (or the attachment is exclusive); IsAttached says "true" or "false";
/// over HTTP (no client ID) none of them exists.
/// </summary>
public sealed class ThingVariableTests : IDisposable
{
    private static readonly string ThingPolicy = Aws.Policy(
        Aws.Allow("iot:Publish", Aws.Topic("name/${iot:Connection.Thing.ThingName}")),
        Aws.Allow("iot:Publish", Aws.Topic("type/${iot:Connection.Thing.ThingTypeName}")),
        Aws.Allow("iot:Publish", Aws.Topic("building/${iot:Connection.Thing.Attributes[building]}")),
        Aws.Allow("iot:Publish", Aws.Topic("floor/${iot:Connection.Thing.Attributes[floor]}")),
        Aws.Allow("iot:Subscribe", Aws.TopicFilter("attached"), """{"Bool": {"iot:Connection.Thing.IsAttached": "true"}}"""),
        Aws.Allow("iot:Subscribe", Aws.TopicFilter("not-attached"), """{"StringEquals": {"iot:Connection.Thing.IsAttached": "false"}}"""),
        Aws.Allow("iot:Subscribe", Aws.TopicFilter("no-thing-keys"), """{"Null": {"iot:Connection.Thing.IsAttached": "true", "iot:Connection.Thing.ThingName": "true"}}"""),
        Aws.Allow("iot:Subscribe", Aws.TopicFilter("thermostat-in-north"),
            """{"StringEquals": {"iot:Connection.Thing.ThingTypeName": "Thermostat", "iot:Connection.Thing.Attributes[building]": "north"}}"""));

    private static readonly Dictionary<string, string> Attributes = new(StringComparer.Ordinal) { ["building"] = "north", ["floor"] = "02" };

    private readonly IotRegistry registry = new();
    private readonly X509Certificate2 device = TestPki.CreateDevice("CN=device");

    public void Dispose() => registry.Dispose();

    [Fact]
    public void Client_ID_equal_to_an_attached_things_name_resolves_every_thing_variable()
    {
        var subject = Connect(exclusive: false, clientId: "thermostat-7");

        Assert.Equal("thermostat-7", subject.Thing?.Name);
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("name/thermostat-7"));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("type/Thermostat"));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("building/north"));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("floor/02"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("building/south"));
        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("attached"));
        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("not-attached"));
        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("thermostat-in-north"));
    }

    [Fact]
    public void Another_client_ID_on_a_non_exclusive_attachment_leaves_them_unresolved_and_IsAttached_false()
    {
        var subject = Connect(exclusive: false, clientId: "someone-else");

        Assert.Null(subject.Thing);
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("name/thermostat-7"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("name/someone-else"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("type/Thermostat"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("building/north"));
        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("attached"));
        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("not-attached"));
        Assert.Contains("iot:Connection.Thing.ThingName", subject.Explain("iot:Publish", Aws.Topic("name/thermostat-7")).MissingContextValues);
    }

    [Fact]
    public void An_exclusive_attachment_resolves_the_thing_whatever_the_client_ID()
    {
        var subject = Connect(exclusive: true, clientId: "any-client-id");

        Assert.Equal("thermostat-7", subject.Thing?.Name);
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("name/thermostat-7"));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("type/Thermostat"));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("building/north"));
        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("attached"));
    }

    [Fact]
    public void A_thing_named_by_the_client_ID_but_not_attached_to_the_certificate_gives_nothing()
    {
        var other = TestPki.CreateDevice("CN=other");
        registry.Policy("ThingPolicy", ThingPolicy)
            .Certificate("device", device, "ACTIVE", "ThingPolicy")
            .Certificate("other", other)
            .Thing("thermostat-7", "Thermostat", Attributes, null, ("other", false));
        var subject = Expect.Accepted(PrincipalResolver.ForCertificate(registry.Load(), device, new ConnectionFacts { ClientId = "thermostat-7" }));

        Assert.Null(subject.Thing);
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("name/thermostat-7"));
        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("attached"));
        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("not-attached"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Over_HTTP_there_are_no_thing_variables_at_all(bool exclusive)
    {
        var subject = Connect(exclusive, clientId: null);

        Assert.Null(subject.Thing);
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("name/thermostat-7"));
        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("attached"));
        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("not-attached"));
        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("no-thing-keys"));
    }

    [Fact]
    public void A_thing_without_a_type_or_an_attribute_leaves_just_those_unresolved()
    {
        registry.Policy("ThingPolicy", ThingPolicy)
            .Certificate("device", device, "ACTIVE", "ThingPolicy")
            .Thing("bare-thing", null, new Dictionary<string, string>(StringComparer.Ordinal) { ["floor"] = "3" }, null, ("device", false));
        var subject = Expect.Accepted(PrincipalResolver.ForCertificate(registry.Load(), device, new ConnectionFacts { ClientId = "bare-thing" }));

        Expect.Allowed(subject, "iot:Publish", Aws.Topic("name/bare-thing"));
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("floor/3"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("type/"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("building/north"));
        Expect.Allowed(subject, "iot:Subscribe", Aws.TopicFilter("attached"));
    }

    [Fact]
    public void A_certificate_attached_to_several_things_resolves_the_one_its_client_ID_names()
    {
        registry.Policy("ThingPolicy", ThingPolicy)
            .Certificate("device", device, "ACTIVE", "ThingPolicy")
            .Thing("lamp-1", "Lamp", new Dictionary<string, string>(StringComparer.Ordinal) { ["building"] = "east" }, null, ("device", false))
            .Thing("lamp-2", "Lamp", new Dictionary<string, string>(StringComparer.Ordinal) { ["building"] = "west" }, null, ("device", false));
        var snapshot = registry.Load();

        var first = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, new ConnectionFacts { ClientId = "lamp-1" }));
        var second = Expect.Accepted(PrincipalResolver.ForCertificate(snapshot, device, new ConnectionFacts { ClientId = "lamp-2" }));

        Expect.Allowed(first, "iot:Publish", Aws.Topic("building/east"));
        Expect.ImplicitDeny(first, "iot:Publish", Aws.Topic("building/west"));
        Expect.Allowed(second, "iot:Publish", Aws.Topic("building/west"));
        Expect.ImplicitDeny(second, "iot:Publish", Aws.Topic("name/lamp-1"));
    }

    private AuthorizationSubject Connect(bool exclusive, string? clientId)
    {
        registry.Policy("ThingPolicy", ThingPolicy)
            .Certificate("device", device, "ACTIVE", "ThingPolicy")
            .Thing("thermostat-7", "Thermostat", Attributes, null, ("device", exclusive));
        return Expect.Accepted(PrincipalResolver.ForCertificate(registry.Load(), device, new ConnectionFacts { ClientId = clientId }));
    }
}
