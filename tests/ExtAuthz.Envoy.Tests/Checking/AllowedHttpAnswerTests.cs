using System.Text;
using CsCheck;
using Envoy.Config.Core.V3;
using Envoy.Service.Auth.V3;
using ExtAuthz.Envoy.Checking;
using ExtAuthz.Envoy.Simulation;
using ExtAuthz.Envoy.Tests.Support;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Identity.Sessions;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using static ExtAuthz.Envoy.Tests.Support.CheckFleet;
using RpcStatus = Google.Rpc.Status;

namespace ExtAuthz.Envoy.Tests.Checking;

/// <summary>
/// The allowed HTTP answer is written straight into protobuf's wire format; here it must come out byte for
/// byte as Google.Protobuf serializes the same CheckResponse built as a message, for every kind of allowed
/// answer the handler gives and for header values of any length and any characters.
/// </summary>
public sealed class AllowedHttpAnswerTests : IDisposable
{
    private static readonly string[] AllHeaders = [.. IdentityHeaders.All];

    private readonly CheckFleet fleet = new();
    private readonly List<DecisionRecord> records = [];
    private readonly SessionHandles sessions = SessionHandles.WithRandomKey(TimeSpan.FromMinutes(1));

    public void Dispose() => fleet.Dispose();

    [Fact]
    public void An_allowed_publish_is_the_message_google_protobuf_would_write()
    {
        var answer = Answer(EnvoyCheckRequest.Http("POST", "/topics/sensors/sensor-1/temp").WithClientCertificate(fleet.Sensor1));

        var record = records.Single();
        var expected = Expected(record, enforced: true, Sensor1Headers(record.DecisionId));
        Assert.Equal(("DevicePolicy", "PublishOwnTopics"), (record.Policy, record.Statement));
        Assert.Equal(expected.ToByteArray(), answer.ToByteArray());
        Assert.Equal(expected, answer.ToResponse());
    }

    [Fact]
    public void A_websocket_upgrade_sets_the_session_header_and_removes_none()
    {
        var answer = Answer(EnvoyCheckRequest.WebSocket().WithClientCertificate(fleet.Sensor1).WithSni("iot.example.com"));

        var response = answer.ToResponse();
        Assert.Empty(response.OkResponse.HeadersToRemove);
        Assert.Equal(AllHeaders, response.OkResponse.Headers.Select(h => h.Header.Key));
        Assert.Equal(Canonical(answer), answer.ToByteArray());
    }

    [Fact]
    public void Under_dry_run_a_denial_is_answered_allowed_and_says_it_was_not_enforced()
    {
        var answer = Answer(EnvoyCheckRequest.Http("POST", "/topics/sensors/sensor-2/temp").WithClientCertificate(fleet.Sensor1), dryRun: true);

        var record = records.Single();
        Assert.Equal("IMPLICIT_DENY", record.Decision);
        var expected = Expected(record, enforced: false, Sensor1Headers(record.DecisionId));
        Assert.Equal(expected.ToByteArray(), answer.ToByteArray());
    }

    [Fact]
    public void Under_dry_run_an_unknown_certificate_gets_only_the_decision_id_and_every_identity_header_removed()
    {
        var answer = Answer(EnvoyCheckRequest.Http("POST", "/topics/a").WithClientCertificate(fleet.Stranger), dryRun: true);

        var record = records.Single();
        Assert.Equal("UNAUTHENTICATED", record.Decision);
        var expected = Expected(record, enforced: false, [(IdentityHeaders.DecisionId, record.DecisionId)]);
        Assert.Equal(expected.ToByteArray(), answer.ToByteArray());
        Assert.Equal(AllHeaders[1..], answer.ToResponse().OkResponse.HeadersToRemove);
    }

    [Fact]
    public void Header_values_of_any_length_and_characters_are_written_exactly()
    {
        // Empty and short values, and lengths across the one-, two- and three-byte length prefixes; characters of one to four UTF-8 bytes.
        var part = Gen.OneOf(["a", "-", "0", "é", "中", "😀", "\u0000", " "]);
        var text = Gen.Frequency((1, Gen.Int[0, 2]), (1, Gen.Int[25, 45]), (2, Gen.Int[0, 6_000]))
            .SelectMany(length => part.Array[length]).Select(parts => string.Concat(parts));
        Gen.Select(text, text, Gen.Bool).Sample((decisionId, session, dryRun) =>
        {
            var outcome = new CheckOutcome(decisionId) { SessionHandle = session };
            outcome.Allow("allowed");
            var answer = new CheckAnswer(outcome, dryRun);

            var expected = Expected("ALLOWED", null, null, enforced: true, [(IdentityHeaders.DecisionId, decisionId), (IdentityHeaders.Session, session)]);
            Assert.Equal(expected.ToByteArray(), answer.ToByteArray());
        }, iter: 300);
    }

    /// <summary>What an allowed answer to sensor-1's certificate sets: the decision ID and who it is.</summary>
    private (string Name, string Value)[] Sensor1Headers(string decisionId) =>
    [
        (IdentityHeaders.DecisionId, decisionId),
        (IdentityHeaders.Principal, Id(fleet.Sensor1)),
        (IdentityHeaders.PrincipalKind, "Certificate"),
        (IdentityHeaders.PrincipalArn, $"{Arn}cert/{Id(fleet.Sensor1)}"),
        (IdentityHeaders.Things, "sensor-1"),
    ];

    private CheckAnswer Answer(EnvoyCheckRequest request, bool dryRun = false)
    {
        var handler = new CheckHandler(() => fleet.Snapshot, new CheckHandlerOptions { DryRun = dryRun, Sessions = sessions }, records.Add);
        var answer = handler.Answer(request.Build());
        Assert.True(answer.Allows);
        return answer;
    }

    /// <summary>What Google.Protobuf writes for the message the bytes parse to, unknown fields dropped (a wrong tag would show).</summary>
    private static byte[] Canonical(CheckAnswer answer) =>
        CheckResponse.Parser.WithDiscardUnknownFields(true).ParseFrom(answer.ToByteArray()).ToByteArray();

    private static CheckResponse Expected(DecisionRecord record, bool enforced, (string Name, string Value)[] headers) =>
        Expected(record.Decision, record.Policy, record.Statement, enforced, headers);

    /// <summary>The allowed answer as docs/envoy.md describes it, built with the generated messages.</summary>
    private static CheckResponse Expected(string decision, string? policy, string? statement, bool enforced, (string Name, string Value)[] headers)
    {
        var ok = new OkHttpResponse();
        ok.Headers.AddRange(headers.Select(h => new HeaderValueOption
        {
            Header = new HeaderValue { Key = h.Name, Value = h.Value },
            AppendAction = HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd,
        }));
        ok.HeadersToRemove.AddRange(AllHeaders.Where(name => headers.All(h => h.Name != name)));

        var metadata = new Struct();
        metadata.Fields["decision"] = Value.ForString(decision);
        if (policy is not null)
        {
            metadata.Fields["policy"] = Value.ForString(policy);
            metadata.Fields["statement"] = Value.ForString(statement);
        }

        if (!enforced)
        {
            metadata.Fields["enforced"] = Value.ForBool(false);
        }
        return new CheckResponse { Status = new RpcStatus(), OkResponse = ok, DynamicMetadata = metadata };
    }
}
