using System.Text.Json;
using Envoy.Service.Auth.V3;
using ExtAuthz.Envoy.Checking;
using ExtAuthz.Envoy.Observability;
using ExtAuthz.Envoy.Simulation;
using ExtAuthz.Envoy.Tests.Support;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Identity.Sessions;
using ExtAuthz.Identity.X509;
using Google.Protobuf;
using static ExtAuthz.Envoy.Tests.Support.CheckFleet;

namespace ExtAuthz.Envoy.Tests.Checking;

/// <summary>The Check handler on CheckRequests built as Envoy builds them, against a fleet loaded from a real configuration directory.</summary>
public sealed class CheckHandlerTests : IDisposable
{
    private readonly CheckFleet fleet = new();
    private readonly List<DecisionRecord> records = [];
    private readonly SessionHandles sessions = SessionHandles.WithRandomKey(TimeSpan.FromMinutes(1));

    public void Dispose() => fleet.Dispose();

    private CheckHandler Handler(bool dryRun = false, bool loaded = true) =>
        new(() => loaded ? fleet.Snapshot : null, new CheckHandlerOptions { DryRun = dryRun, Sessions = sessions }, records.Add);

    private CheckResponse Check(EnvoyCheckRequest request, bool dryRun = false) => Handler(dryRun).Check(request.Build());

    private EnvoyCheckRequest Http(string method, string path) => EnvoyCheckRequest.Http(method, path).WithClientCertificate(fleet.Sensor1);

    private static JsonElement Body(CheckResponse response) => JsonDocument.Parse(response.DeniedResponse.Body).RootElement;

    private static string? Set(CheckResponse response, string header) =>
        response.OkResponse.Headers.SingleOrDefault(h => h.Header.Key == header)?.Header.Value;

    [Fact]
    public void A_device_publishes_to_its_own_topic_over_8443()
    {
        var response = Check(Http("POST", "/topics/sensors/sensor-1/temp?qos=1"));

        Assert.Equal(0, response.Status.Code);
        Assert.Equal(Id(fleet.Sensor1), Set(response, IdentityHeaders.Principal));
        Assert.Equal("Certificate", Set(response, IdentityHeaders.PrincipalKind));
        Assert.Equal($"{Arn}cert/{Id(fleet.Sensor1)}", Set(response, IdentityHeaders.PrincipalArn));
        Assert.Equal("sensor-1", Set(response, IdentityHeaders.Things));
        Assert.Equal(records.Single().DecisionId, Set(response, IdentityHeaders.DecisionId));
        Assert.All(response.OkResponse.Headers, h => Assert.Equal(global::Envoy.Config.Core.V3.HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd, h.AppendAction));
        Assert.Equal([IdentityHeaders.Session], response.OkResponse.HeadersToRemove);

        // An allowed HTTP request's metadata is lean: the principal is in the headers, the rest in the decision log.
        var metadata = response.DynamicMetadata.Fields;
        Assert.Equal(["decision", "policy", "statement"], metadata.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("ALLOWED", metadata["decision"].StringValue);
        Assert.Equal("DevicePolicy", metadata["policy"].StringValue);
        Assert.Equal("PublishOwnTopics", metadata["statement"].StringValue);

        var record = records.Single();
        Assert.Equal(("mtls", "Publish", "ALLOWED", "sensor-1", "DevicePolicy", "PublishOwnTopics"),
            (record.Listener, record.Operation, record.Decision, record.Thing, record.Policy, record.Statement));
        Assert.Equal(1, record.Generation);
        Assert.True(record.LatencyMicroseconds > 0);
    }

    [Fact]
    public void Another_devices_topic_is_implicitly_denied_with_a_403_that_says_why()
    {
        var response = Check(Http("POST", "/topics/sensors/sensor-2/temp"));

        Assert.Equal(7, response.Status.Code);
        Assert.Equal(403, (int)response.DeniedResponse.Status.Code);
        Assert.Contains(response.DeniedResponse.Headers, h => h.Header.Key == "content-type" && h.Header.Value == "application/json");
        var body = Body(response);
        Assert.Equal("IMPLICIT_DENY", body.GetProperty("decision").GetString());
        Assert.Equal("iot:Publish", body.GetProperty("action").GetString());
        Assert.Equal($"{Arn}topic/sensors/sensor-2/temp", body.GetProperty("resource").GetString());
        Assert.Equal($"no policy of certificate {Id(fleet.Sensor1)} allows iot:Publish on {Arn}topic/sensors/sensor-2/temp",
            body.GetProperty("reason").GetString());
        Assert.Equal(records.Single().DecisionId, body.GetProperty("decisionId").GetString());
        Assert.Equal(response.Status.Message, body.GetProperty("reason").GetString());
    }

    [Fact]
    public void An_explicit_deny_names_the_policy_and_statement()
    {
        var response = Check(Http("POST", "/topics/sensors/sensor-1/secret"));

        var body = Body(response);
        Assert.Equal("EXPLICIT_DENY", body.GetProperty("decision").GetString());
        Assert.Contains("by policy DevicePolicy, statement NoSecrets", body.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(("DevicePolicy", "NoSecrets"), (records.Single().Policy, records.Single().Statement));
    }

    [Fact]
    public void A_retained_publish_needs_both_publish_and_retain_publish()
    {
        Assert.Equal(0, Check(Http("POST", "/topics/sensors/sensor-1/status?qos=1&retain=true")).Status.Code);

        var denied = Check(Http("POST", "/topics/sensors/sensor-1/temp?retain=true"));
        Assert.Equal(7, denied.Status.Code);
        Assert.Equal("iot:RetainPublish", Body(denied).GetProperty("action").GetString());
    }

    [Theory]
    [InlineData("GET", "/things/sensor-1/shadow", 0)]
    [InlineData("POST", "/things/sensor-1/shadow", 0)]
    [InlineData("DELETE", "/things/sensor-1/shadow", 7)]
    [InlineData("GET", "/things/sensor-2/shadow", 7)]
    [InlineData("GET", "/retainedMessage", 0)]
    [InlineData("GET", "/things/sensor-1/jobs/firmware-7", 0)]
    [InlineData("GET", "/things/sensor-1/jobs/reboot-1", 7)]
    [InlineData("GET", "/things/sensor-2/jobs/firmware-7", 7)]
    public void Shadow_retained_message_and_job_operations_are_decided_on_their_actions_and_keys(string method, string path, int code) =>
        Assert.Equal(code, Check(Http(method, path)).Status.Code);

    [Fact]
    public void The_network_filter_lets_a_registered_device_connect_and_names_it()
    {
        var response = Check(EnvoyCheckRequest.Network().WithClientCertificate(fleet.Sensor1).WithSni("iot.example.com"));

        Assert.Equal(0, response.Status.Code);
        Assert.Equal(CheckResponse.HttpResponseOneofCase.None, response.HttpResponseCase);
        Assert.Equal(Id(fleet.Sensor1), response.DynamicMetadata.Fields["principal"].StringValue);
        Assert.Equal("sensor-1", response.DynamicMetadata.Fields["things"].StringValue);
        Assert.Equal(("mqtt", "Connection"), (records.Single().Listener, records.Single().Operation));
    }

    [Fact]
    public void A_device_auto_registered_through_its_CA_gets_the_CAs_policies()
    {
        Assert.Equal(0, Check(EnvoyCheckRequest.Network().WithClientCertificate(fleet.AutoRegistered)).Status.Code);
        Assert.Equal(0, Check(EnvoyCheckRequest.Http("POST", "/topics/sensors/new-sensor/temp").WithClientCertificate(fleet.AutoRegistered)).Status.Code);
        Assert.All(records, r => Assert.Null(r.Thing));
    }

    [Fact]
    public void An_implicit_deny_names_the_context_values_the_policies_needed()
    {
        var response = Check(Http("GET", "/retainedMessage/things/sensor-1/state"));

        Assert.Equal(7, response.Status.Code);
        Assert.EndsWith("(the policies need iot:Connection.Thing.ThingName, which this request does not have)",
            Body(response).GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("revoked", "REVOKED")]
    [InlineData("stranger", "not registered")]
    public void Revoked_and_unknown_certificates_are_unauthenticated(string who, string reason)
    {
        var certificate = who == "revoked" ? fleet.Revoked : fleet.Stranger;
        var network = Check(EnvoyCheckRequest.Network().WithClientCertificate(certificate));
        var http = Check(EnvoyCheckRequest.Http("POST", "/topics/sensors/x/temp").WithClientCertificate(certificate));

        Assert.Equal(16, network.Status.Code);
        Assert.Contains(reason, network.Status.Message, StringComparison.Ordinal);
        Assert.Equal(16, http.Status.Code);
        Assert.Equal(401, (int)http.DeniedResponse.Status.Code);
        Assert.Equal("UNAUTHENTICATED", Body(http).GetProperty("decision").GetString());
        Assert.All(records, r => Assert.Equal(Id(certificate), r.CertificateId));
    }

    [Fact]
    public void Without_include_peer_certificate_the_answer_says_how_to_fix_Envoy()
    {
        var response = Check(Http("POST", "/topics/sensors/sensor-1/temp").IncludePeerCertificate(false));

        Assert.Equal(16, response.Status.Code);
        Assert.Contains("set include_peer_certificate: true", response.Status.Message, StringComparison.Ordinal);
        Assert.Contains("CN=sensor-1,O=ExtAuthz", response.Status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_certificate_at_all_is_a_401()
    {
        var response = Check(EnvoyCheckRequest.Http("POST", "/topics/a").WithListenerPort(EnvoyCheckRequest.HttpsPort));

        Assert.Equal(16, response.Status.Code);
        Assert.Equal(401, (int)response.DeniedResponse.Status.Code);
        Assert.Contains("send a client certificate, a Cognito token (Authorization: Bearer), or a SigV4 signature", response.Status.Message, StringComparison.Ordinal);
        Assert.Equal("https", records.Single().Listener);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_certificate_in_a_trusted_xfcc_header_identifies_the_client(bool rawHeaders)
    {
        var request = Http("POST", "/topics/sensors/sensor-1/temp").IncludePeerCertificate(false)
            .ForwardClientCert(ForwardClientCertDetails.SanitizeSet).EncodeRawHeaders(rawHeaders);

        var response = Check(request);

        Assert.Equal(0, response.Status.Code);
        Assert.Equal(Id(fleet.Sensor1), Set(response, IdentityHeaders.Principal));
    }

    [Fact]
    public void An_xfcc_header_on_a_route_that_does_not_trust_it_is_ignored()
    {
        var request = Http("POST", "/topics/sensors/sensor-1/temp").IncludePeerCertificate(false)
            .ForwardClientCert(ForwardClientCertDetails.SanitizeSet).WithoutContextExtension(ContextExtensionKeys.Xfcc);

        var response = Check(request);

        Assert.Equal(16, response.Status.Code);
        Assert.Contains("not trusted on this route", response.Status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_forged_xfcc_hash_is_refused()
    {
        var forged = System.Text.RegularExpressions.Regex.Replace(ForwardedClientCert.Format(fleet.Sensor1), "Hash=[0-9a-f]{64}", "Hash=" + new string('0', 64));
        // An Envoy that passes the header through (ALWAYS_FORWARD_ONLY) on a route wrongly marked trusted.
        var request = EnvoyCheckRequest.Http("POST", "/topics/sensors/sensor-1/temp").ForwardClientCert(ForwardClientCertDetails.AlwaysForwardOnly)
            .WithHeader("x-forwarded-client-cert", forged).WithContextExtension(ContextExtensionKeys.Xfcc, ContextExtensionKeys.XfccTrusted);

        var response = Check(request);

        Assert.Equal(16, response.Status.Code);
        Assert.Contains("is not the SHA-256 of its Cert", response.Status.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("garbage", "malformed client certificate")]
    [InlineData("-----BEGIN%20CERTIFICATE-----%0AMIIB%0A-----END%20CERTIFICATE-----%0A", "malformed client certificate")]
    [InlineData("%ZZ", "malformed client certificate")]
    public void Garbage_and_truncated_certificates_are_refused_with_a_reason(string certificate, string reason)
    {
        var request = Http("POST", "/topics/sensors/sensor-1/temp").Build();
        request.Attributes.Source.Certificate = certificate;

        var response = Handler().Check(request);

        Assert.Equal(16, response.Status.Code);
        Assert.Contains(reason, response.Status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_real_certificate_is_refused()
    {
        var request = Http("POST", "/topics/sensors/sensor-1/temp").Build();
        var encoded = request.Attributes.Source.Certificate;
        request.Attributes.Source.Certificate = encoded[..(encoded.Length / 2)];

        var response = Handler().Check(request);

        Assert.Equal(16, response.Status.Code);
        Assert.StartsWith("malformed client certificate", response.Status.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("POST", "/topics/sensors/sensor-1/%ZZ", 400)]
    [InlineData("POST", "/topics/sensors/sensor-1/%4", 400)]
    [InlineData("POST", "/topics/sensors/../sensor-2/temp", 400)]
    [InlineData("POST", "/topics/sensors/%2e%2e/temp", 400)]
    [InlineData("POST", "/topics/sensors/sensor-1/%C0%AF", 400)]
    [InlineData("POST", "/topics/sensors/sensor-1/%FF", 400)]
    [InlineData("POST", "/topics/sensors/+/temp", 400)]
    [InlineData("POST", "/topics/sensors/%23", 400)]
    [InlineData("POST", "/topics/a?qos=2", 400)]
    [InlineData("GET", "/topics/sensors/sensor-1/temp", 405)]
    [InlineData("GET", "/admin", 404)]
    public void Malformed_and_unknown_requests_are_refused_before_any_policy(string method, string path, int status)
    {
        var response = Check(Http(method, path));

        Assert.Equal((int)response.DeniedResponse.Status.Code, status);
        Assert.Equal(status == 400 ? 3 : 5, response.Status.Code);
        Assert.Equal(status == 400 ? "INVALID_REQUEST" : "NOT_FOUND", Body(response).GetProperty("decision").GetString());
        Assert.False(string.IsNullOrEmpty(Body(response).GetProperty("reason").GetString()));
        Assert.Null(records.Single().Action);
    }

    [Fact]
    public void A_64_KiB_path_is_refused_and_a_64_KiB_header_does_not_matter()
    {
        var longPath = Check(Http("POST", "/topics/" + new string('a', 64 * 1024)));
        Assert.Equal(414, (int)longPath.DeniedResponse.Status.Code);

        var bigHeader = Check(Http("POST", "/topics/sensors/sensor-1/temp").WithHeader("x-padding", new string('b', 64 * 1024)));
        Assert.Equal(0, bigHeader.Status.Code);
    }

    [Fact]
    public void Empty_and_attribute_less_requests_are_invalid_not_exceptions()
    {
        var handler = Handler();
        foreach (var request in new[] { null, new CheckRequest(), new CheckRequest { Attributes = new AttributeContext() } })
        {
            var response = handler.Check(request);
            Assert.NotEqual(0, response.Status.Code);
            Assert.False(string.IsNullOrEmpty(response.Status.Message));
        }

        Assert.Equal(["INVALID_REQUEST", "INVALID_REQUEST", "UNAUTHENTICATED"], records.Select(r => r.Decision));
    }

    [Theory]
    [InlineData("port", "9999", "is not 8883, 443 or 8443")]
    [InlineData("plane", "management", "neither \"data\" nor \"control\"")]
    [InlineData("plane", "control", "the control plane takes IAM (SigV4) or Cognito identities")]
    public void Mistaken_context_extensions_are_reported(string key, string value, string reason)
    {
        var response = Check(Http("POST", "/topics/sensors/sensor-1/temp").WithContextExtension(key, value));

        Assert.NotEqual(0, response.Status.Code);
        Assert.Contains(reason, response.Status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Before_any_configuration_loads_every_check_is_unavailable()
    {
        var response = Handler(loaded: false).Check(Http("POST", "/topics/sensors/sensor-1/temp").Build());

        Assert.Equal(14, response.Status.Code);
        Assert.Equal(503, (int)response.DeniedResponse.Status.Code);
        Assert.Equal("UNAVAILABLE", records.Single().Decision);
    }

    [Fact]
    public void A_websocket_upgrade_is_answered_with_a_session_handle_the_gate_can_verify()
    {
        var response = Check(EnvoyCheckRequest.WebSocket().WithClientCertificate(fleet.Sensor1).WithSni("iot.example.com"));

        Assert.Equal(0, response.Status.Code);
        Assert.Equal("WebSocketUpgrade", records.Single().Operation);
        Assert.True(sessions.TryVerify(Set(response, IdentityHeaders.Session), out var claims, out var reason), reason);
        Assert.Equal(("Certificate", Id(fleet.Sensor1), "iot.example.com"), (claims!.PrincipalKind, claims.PrincipalId, claims.DomainName));
        Assert.DoesNotContain(IdentityHeaders.Session, response.OkResponse.HeadersToRemove);
    }

    [Fact]
    public void Get_mqtt_without_an_upgrade_header_is_invalid()
    {
        var response = Check(Http("GET", "/mqtt"));

        Assert.Equal(400, (int)response.DeniedResponse.Status.Code);
        Assert.Contains("upgrade: websocket", response.Status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dry_run_answers_allow_and_records_the_real_decision()
    {
        var response = Check(Http("POST", "/topics/sensors/sensor-2/temp"), dryRun: true);

        Assert.Equal(0, response.Status.Code);
        Assert.Equal(Id(fleet.Sensor1), Set(response, IdentityHeaders.Principal));
        Assert.False(response.DynamicMetadata.Fields["enforced"].BoolValue);
        Assert.Equal("IMPLICIT_DENY", response.DynamicMetadata.Fields["decision"].StringValue);
        Assert.Equal(("IMPLICIT_DENY", false), (records.Single().Decision, records.Single().Enforced));
    }

    [Fact]
    public void A_shadow_policy_is_logged_but_not_enforced()
    {
        var response = Check(Http("POST", "/topics/sensors/sensor-1/debug"));

        Assert.Equal(0, response.Status.Code);
        var record = records.Single();
        Assert.Equal(("ALLOWED", "EXPLICIT_DENY", "ShadowPolicy", "NoDebug"), (record.Decision, record.ShadowDecision, record.ShadowPolicy, record.ShadowStatement));

        Check(Http("POST", "/topics/sensors/sensor-1/temp"));
        Assert.Equal("ALLOWED", records[1].ShadowDecision);
    }

    [Fact]
    public void Decision_ids_are_unique()
    {
        var handler = Handler();
        for (var i = 0; i < 100; i++)
        {
            handler.Check(Http("POST", "/topics/sensors/sensor-1/temp").Build());
        }

        Assert.Equal(100, records.Select(r => r.DecisionId).Distinct().Count());
    }

    [Fact]
    public void A_request_survives_the_wire_unchanged()
    {
        var request = Http("POST", "/topics/sensors/sensor-1/temp").Build();
        var copy = CheckRequest.Parser.ParseFrom(request.ToByteArray());

        Assert.Equal(0, Handler().Check(copy).Status.Code);
    }
}
