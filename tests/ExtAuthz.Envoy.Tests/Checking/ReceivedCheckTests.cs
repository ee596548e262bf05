using System.Buffers;
using CsCheck;
using Envoy.Service.Auth.V3;
using ExtAuthz.Envoy.Checking;
using ExtAuthz.Envoy.Simulation;
using ExtAuthz.Envoy.Tests.Support;
using ExtAuthz.Identity.Cognito;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Identity.Sessions;
using ExtAuthz.Tests.Shared;
using Google.Protobuf;

namespace ExtAuthz.Envoy.Tests.Checking;

/// <summary>
/// <see cref="ReceivedCheck"/> holds the headers map back while parsing: once the headers are
/// materialized the request must be exactly what Google.Protobuf parses from the same bytes, on
/// any input; and a Check decided from it must answer as one decided from the request parsed whole.
/// </summary>
public sealed class ReceivedCheckTests : IDisposable
{
    private readonly CheckFleet fleet = new();
    private readonly List<DecisionRecord> records = [];
    private readonly SessionHandles sessions = SessionHandles.WithRandomKey(TimeSpan.FromMinutes(1));
    private readonly CognitoTokenVerifier tokens = new();

    public void Dispose()
    {
        tokens.Dispose();
        fleet.Dispose();
    }

    private CheckHandler Handler() => new(() => fleet.Snapshot, new CheckHandlerOptions { Sessions = sessions, Tokens = tokens }, records.Add);

    private EnvoyCheckRequest[] Requests() =>
    [
        EnvoyCheckRequest.Http("POST", "/topics/sensors/sensor-1/temp?qos=1").WithClientCertificate(fleet.Sensor1).WithSni("iot.example.com")
            .WithHeader("user-agent", "device/1.0").WithHeader("content-type", "application/json"),
        EnvoyCheckRequest.Http("POST", "/topics/sensors/sensor-2/temp").WithClientCertificate(fleet.Sensor1),
        EnvoyCheckRequest.Http("GET", "/things/sensor-1/shadow?name=config").WithClientCertificate(fleet.Sensor1).EncodeRawHeaders(),
        EnvoyCheckRequest.Http("POST", "/topics/sensors/sensor-1/temp").WithClientCertificate(fleet.Sensor1)
            .IncludePeerCertificate(false).ForwardClientCert(ForwardClientCertDetails.SanitizeSet),
        EnvoyCheckRequest.Http("POST", "/topics/sensors/sensor-1/temp").WithClientCertificate(fleet.Sensor1)
            .IncludePeerCertificate(false).ForwardClientCert(ForwardClientCertDetails.SanitizeSet).WithContextExtension(ContextExtensionKeys.Xfcc, ContextExtensionKeys.XfccTrusted),
        EnvoyCheckRequest.WebSocket().WithClientCertificate(fleet.Sensor1).WithSni("iot.example.com"),
        EnvoyCheckRequest.WebSocket().WithClientCertificate(fleet.Sensor1).WithHeader("upgrade", "h2c"),
        EnvoyCheckRequest.Http("POST", $"/topics/apps/{CheckFleet.AppIdentity}/status").WithListenerPort(EnvoyCheckRequest.HttpsPort)
            .WithHeader("authorization", "Bearer " + fleet.CognitoToken()),
        EnvoyCheckRequest.Network().WithClientCertificate(fleet.Sensor1).WithSni("iot.example.com").IncludeTlsSession(),
        EnvoyCheckRequest.Http("POST", "/topics/a").WithHeader("x-padding", new string('p', 70_000)),
    ];

    [Fact]
    public void Once_materialized_the_request_is_what_parsing_it_whole_gives()
    {
        foreach (var request in Requests())
        {
            var bytes = request.Build().ToByteArray();
            var received = ReceivedCheck.Parse(new ReadOnlySequence<byte>(bytes));
            received.MaterializeHeaders();

            Assert.Equal(CheckRequest.Parser.ParseFrom(bytes), received.Request);
            Assert.False(received.HoldsHeaders);
        }
    }

    [Fact]
    public void Mutated_bytes_parse_to_the_same_request_or_are_refused_the_same_way()
    {
        var seeds = Requests().Select(r => r.Build().ToByteArray()).Where(b => b.Length < 10_000).ToArray();
        var refused = 0;
        Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Int[0, 3].Array[1, 8], Gen.Int.Array[8], Gen.Int[1, 4], (seed, ops, numbers, segments) => (seed, ops, numbers, segments))
            .Sample(m =>
            {
                var bytes = Mutate(seeds[m.seed], m.ops, m.numbers);
                CheckRequest? whole;
                try
                {
                    whole = CheckRequest.Parser.ParseFrom(bytes);
                }
                catch (InvalidProtocolBufferException)
                {
                    whole = null;
                }

                CheckRequest? held;
                try
                {
                    var received = ReceivedCheck.Parse(Segmented(bytes, m.segments));
                    received.MaterializeHeaders();
                    held = received.Request;
                }
                catch (InvalidProtocolBufferException)
                {
                    held = null;
                }

                refused += whole is null ? 1 : 0;
                Assert.Equal(whole, held);
            }, iter: 4000, threads: 1);
        Assert.InRange(refused, 100, 3900);
    }

    [Fact]
    public void A_check_answers_the_same_from_held_headers_as_from_the_request_parsed_whole()
    {
        var handler = Handler();
        foreach (var request in Requests())
        {
            var bytes = request.Build().ToByteArray();
            var whole = handler.Answer(CheckRequest.Parser.ParseFrom(bytes)).ToResponse();
            var fromHeld = handler.Answer(ReceivedCheck.Parse(new ReadOnlySequence<byte>(bytes))).ToResponse();

            var (a, b) = (records[^2], records[^1]);
            Assert.Equal((a.Decision, a.Reason, a.Principal, a.Action, a.Resource), (b.Decision, b.Reason, b.Principal, b.Action, b.Resource));
            Assert.Equal(WithoutDecisionId(whole, a.DecisionId), WithoutDecisionId(fromHeld, b.DecisionId));
        }
    }

    [Fact]
    public void A_device_publish_is_decided_without_parsing_its_headers_and_an_upgrade_parses_them()
    {
        var handler = Handler();
        var publish = ReceivedCheck.Parse(new ReadOnlySequence<byte>(Requests()[0].Build().ToByteArray()));
        var upgrade = ReceivedCheck.Parse(new ReadOnlySequence<byte>(Requests()[5].Build().ToByteArray()));

        Assert.True(handler.Answer(publish).Allows);
        Assert.True(publish.HoldsHeaders);
        Assert.Empty(publish.Request.Attributes.Request.Http.Headers);
        Assert.True(handler.Answer(upgrade).Allows);
        Assert.False(upgrade.HoldsHeaders);
        Assert.Equal("websocket", upgrade.Request.Attributes.Request.Http.Headers["upgrade"]);
    }

    private static byte[] Mutate(byte[] seed, int[] ops, int[] numbers)
    {
        var bytes = seed.ToList();
        for (var i = 0; i < ops.Length && bytes.Count > 0; i++)
        {
            var at = (int)((uint)numbers[i] % (uint)bytes.Count);
            switch (ops[i])
            {
                case 0: bytes[at] ^= (byte)(1 << (numbers[i] & 7)); break;
                case 1: bytes.RemoveAt(at); break;
                case 2: bytes.Insert(at, (byte)numbers[i]); break;
                default: bytes.RemoveRange(at, bytes.Count - at); break;
            }
        }

        return [.. bytes];
    }

    /// <summary>The bytes as gRPC may hand them over: in one segment or several.</summary>
    private static ReadOnlySequence<byte> Segmented(byte[] bytes, int segments) =>
        Sequences.Segmented(bytes, [.. Enumerable.Range(1, segments - 1).Select(i => i * bytes.Length / segments)]);

    private static CheckResponse WithoutDecisionId(CheckResponse response, string decisionId) =>
        CheckResponse.Parser.ParseJson(JsonFormatter.Default.Format(response).Replace(decisionId, "ID", StringComparison.Ordinal));
}
