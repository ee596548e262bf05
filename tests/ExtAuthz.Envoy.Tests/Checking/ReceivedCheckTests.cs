using System.Buffers;
using System.Text;
using CsCheck;
using Envoy.Service.Auth.V3;
using ExtAuthz.Envoy.Checking;
using ExtAuthz.Envoy.Simulation;
using ExtAuthz.Envoy.Tests.Support;
using ExtAuthz.Identity.Cognito;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.Identity.Sessions;
using ExtAuthz.Identity.Tests.Support;
using ExtAuthz.Identity.X509;
using ExtAuthz.Tests.Shared;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Metadata = Envoy.Config.Core.V3.Metadata;

namespace ExtAuthz.Envoy.Tests.Checking;

/// <summary>
/// <see cref="ReceivedCheck"/> reads only what a device's Check reads off the wire and keeps the client
/// certificate as bytes: once materialized the request must be exactly what Google.Protobuf parses from
/// the same bytes, on any input; and a Check decided from it must answer as one decided from the request
/// parsed whole.
/// </summary>
public sealed class ReceivedCheckTests : IDisposable
{
    private readonly CheckFleet fleet = new();
    private readonly List<DecisionRecord> records = [];
    // Frozen, so an upgrade's session handle (which holds its issue time) is the same in the two answers compared.
    private readonly SessionHandles sessions = SessionHandles.WithRandomKey(TimeSpan.FromMinutes(1), new FixedTime(DateTimeOffset.UtcNow));
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
            Assert.Null(received.Materialize());

            Assert.Equal(CheckRequest.Parser.ParseFrom(bytes), received.Request);
            Assert.True(received.IsWhole);
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

                var received = ReceivedCheck.Parse(Segmented(bytes, m.segments));
                if (whole is not null && !received.IsWhole)
                {
                    // Before materializing: exactly the fields the reader reads, as the whole parse has them.
                    Assert.Equal(FieldsRead(whole), received.Request);
                }

                var held = (received.ParseError ?? received.Materialize()) is null ? received.Request : null;

                refused += whole is null ? 1 : 0;
                Assert.Equal(whole, held);
            }, iter: 4000, threads: 1);
        Assert.InRange(refused, 100, 3900);
    }

    [Fact]
    public void Mutated_bytes_get_the_answer_of_the_request_parsed_whole_or_its_refusal_when_materialized()
    {
        var handler = Handler();
        var seeds = Requests().Select(r => r.Build().ToByteArray()).Where(b => b.Length < 10_000).ToArray();
        var (decided, refused, deferred) = (0, 0, 0);
        Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Int[0, 2].Array[1, 2], Gen.Int.Array[2], Gen.Int[1, 3], (seed, ops, numbers, segments) => (seed, ops, numbers, segments))
            .Sample(m =>
            {
                var bytes = Mutate(seeds[m.seed], m.ops, m.numbers);
                var received = ReceivedCheck.Parse(Segmented(bytes, m.segments));
                handler.Answer(received);
                var fromReceived = records[^1];
                CheckRequest whole;
                try
                {
                    whole = CheckRequest.Parser.ParseFrom(bytes);
                }
                catch (InvalidProtocolBufferException ex)
                {
                    if (fromReceived.Reason == $"the CheckRequest is not valid protobuf: {ex.Message}")
                    {
                        Assert.Equal(DecisionNames.InvalidRequest, fromReceived.Decision);
                        refused++;
                    }
                    else
                    {
                        // Decided from the fields read, none of them refused: the refusal waits in the unread bytes.
                        Assert.False(received.IsWhole);
                        Assert.Equal(ex.Message, received.Materialize());
                        deferred++;
                    }

                    return;
                }

                handler.Answer(whole);
                var fromWhole = records[^1];
                Assert.Equal((fromWhole.Decision, fromWhole.Reason, fromWhole.Principal, fromWhole.Action, fromWhole.Resource),
                    (fromReceived.Decision, fromReceived.Reason, fromReceived.Principal, fromReceived.Action, fromReceived.Resource));
                decided++;
            }, iter: 3000, threads: 1);
        Assert.True(decided > 300 && refused > 300, $"{decided} decided alike, {refused} refused alike, {deferred} refused when materialized");
    }

    [Fact]
    public void A_check_answers_the_same_from_the_fields_read_as_from_the_request_parsed_whole()
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
    public void A_device_publish_and_connection_are_decided_from_the_fields_read_and_an_upgrade_materializes_the_request()
    {
        var handler = Handler();
        var publish = ReceivedCheck.Parse(new ReadOnlySequence<byte>(Requests()[0].Build().ToByteArray()));
        var connection = ReceivedCheck.Parse(new ReadOnlySequence<byte>(Requests()[8].Build().ToByteArray()));
        var upgrade = ReceivedCheck.Parse(new ReadOnlySequence<byte>(Requests()[5].Build().ToByteArray()));

        Assert.True(handler.Answer(publish).Allows);
        Assert.False(publish.IsWhole);
        var http = publish.Request.Attributes.Request.Http;
        Assert.Equal(("POST", "/topics/sensors/sensor-1/temp?qos=1"), (http.Method, http.Path));
        Assert.Empty(http.Headers);
        Assert.Equal("", http.Id);
        Assert.Equal("", publish.Request.Attributes.Source.Certificate);
        Assert.Equal("", publish.Request.Attributes.Source.Principal);
        Assert.Null(publish.Request.Attributes.MetadataContext);
        Assert.Equal(EnvoyCertificate.Encode(fleet.Sensor1), Encoding.UTF8.GetString(publish.Certificate));
        Assert.True(handler.Answer(connection).Allows);
        Assert.False(connection.IsWhole);
        Assert.Equal("iot.example.com", connection.Request.Attributes.TlsSession.Sni);
        Assert.True(handler.Answer(upgrade).Allows);
        Assert.True(upgrade.IsWhole);
        Assert.Equal("websocket", upgrade.Request.Attributes.Request.Http.Headers["upgrade"]);
    }

    [Fact]
    public void The_last_certificate_field_wins_as_when_parsed_whole()
    {
        var first = EnvoyCheckRequest.Http("POST", "/topics/a").WithClientCertificate(fleet.Sensor1).Build().ToByteArray();
        var second = EnvoyCheckRequest.Http("POST", "/topics/a").WithClientCertificate(fleet.Revoked).Build().ToByteArray();
        var empty = new CheckRequest { Attributes = new AttributeContext { Source = new AttributeContext.Types.Peer { Certificate = "" } } };
        var emptied = new CheckRequest { Attributes = new AttributeContext { Source = new AttributeContext.Types.Peer { Address = new() } } }.ToByteArray();

        // Concatenated messages merge: the second attributes.source.certificate overrides the first.
        foreach (var bytes in new[] { [.. first, .. second], [.. second, .. first], [.. first, .. emptied], first.Concat(empty.ToByteArray()).ToArray() })
        {
            var received = ReceivedCheck.Parse(new ReadOnlySequence<byte>(bytes));
            var whole = CheckRequest.Parser.ParseFrom(bytes);
            Assert.Equal(whole.Attributes.Source.Certificate, Encoding.UTF8.GetString(received.Certificate));
            Assert.Null(received.Materialize());
            Assert.Equal(whole, received.Request);
        }
    }

    [Fact]
    public void Metadata_left_unread_merges_as_when_parsed_whole()
    {
        static Metadata Filter(string filter, string key, string value) =>
            new() { FilterMetadata = { [filter] = new Struct { Fields = { [key] = Value.ForString(value) } } } };

        var first = EnvoyCheckRequest.Http("POST", "/topics/a").WithClientCertificate(fleet.Sensor1).Build();
        first.Attributes.MetadataContext = Filter("envoy.filters.http.jwt_authn", "sub", "device-1");
        first.Attributes.RouteMetadataContext = Filter("extauthz", "tier", "gold");
        var second = new CheckRequest { Attributes = new AttributeContext { MetadataContext = Filter("envoy.filters.http.jwt_authn", "iss", "https://issuer") } };
        var third = new CheckRequest { Attributes = new AttributeContext { MetadataContext = Filter("envoy.filters.http.jwt_authn", "sub", "device-2") } };

        // Concatenated messages merge: maps gain entries, a later entry for the same key replaces an earlier one.
        var bytes = first.ToByteArray().Concat(second.ToByteArray()).Concat(third.ToByteArray()).ToArray();
        var received = ReceivedCheck.Parse(new ReadOnlySequence<byte>(bytes));

        Assert.Null(received.Request.Attributes.MetadataContext);
        Assert.Null(received.Materialize());
        var whole = CheckRequest.Parser.ParseFrom(bytes);
        Assert.Equal(whole, received.Request);
        Assert.Equal("device-2", whole.Attributes.MetadataContext.FilterMetadata["envoy.filters.http.jwt_authn"].Fields["sub"].StringValue);
    }

    [Fact]
    public void A_mangled_certificate_gets_the_same_answer_whether_held_or_parsed_whole()
    {
        var handler = Handler();
        var encoded = Encoding.UTF8.GetBytes(EnvoyCertificate.Encode(fleet.Sensor1));
        var request = EnvoyCheckRequest.Http("POST", "/topics/sensors/sensor-1/temp").Build();
        var notUtf8 = 0;
        Gen.Select(Gen.Int[0, encoded.Length - 1], Gen.Byte, (at, value) => (at, value)).Sample(m =>
        {
            var mangled = (byte[])encoded.Clone();
            mangled[m.at] = m.value;
            var bytes = WithCertificateBytes(request, mangled);
            var held = handler.Answer(ReceivedCheck.Parse(new ReadOnlySequence<byte>(bytes)));
            var fromHeld = records[^1];

            CheckRequest whole;
            try
            {
                whole = CheckRequest.Parser.ParseFrom(bytes);
            }
            catch (InvalidProtocolBufferException ex)
            {
                // Not UTF-8: protobuf refuses the whole request, and so does the held parse, in the same words.
                notUtf8++;
                Assert.False(held.Allows);
                Assert.Equal((DecisionNames.InvalidRequest, $"the CheckRequest is not valid protobuf: {ex.Message}"), (fromHeld.Decision, fromHeld.Reason));
                return;
            }

            var answer = handler.Answer(whole);
            var fromWhole = records[^1];
            Assert.Equal((fromWhole.Decision, fromWhole.Reason, fromWhole.CertificateId), (fromHeld.Decision, fromHeld.Reason, fromHeld.CertificateId));
            Assert.Equal(answer.Allows, held.Allows);
        }, iter: 400, threads: 1);
        Assert.InRange(notUtf8, 50, 350);
    }

    [Fact]
    public void Bytes_that_are_not_a_CheckRequest_are_an_invalid_request_not_an_exception()
    {
        var handler = Handler();
        var truncated = Requests()[0].Build().ToByteArray()[..^7];

        var received = ReceivedCheck.Parse(new ReadOnlySequence<byte>(truncated));
        var answer = handler.Answer(received).ToResponse();

        Assert.NotNull(received.ParseError);
        Assert.Equal(RpcCodes.InvalidArgument, answer.Status.Code);
        Assert.Equal(400, (int)answer.DeniedResponse.Status.Code);
        Assert.Equal($"the CheckRequest is not valid protobuf: {received.ParseError}", records[^1].Reason);
    }

    [Fact]
    public void A_header_protobuf_refuses_is_an_invalid_request_when_the_check_materializes_the_request()
    {
        var handler = Handler();

        // An upgrade reads its headers; a value that is not UTF-8 (Envoy sanitizes every string it sends) is refused.
        var upgrade = Requests()[5].Build().ToByteArray();
        var header = Encoding.UTF8.GetBytes("x-bad");
        var entry = new byte[] { 1 << 3 | 2, (byte)header.Length }.Concat(header).Concat(new byte[] { 2 << 3 | 2, 2, 0xC0, 0xC0 }).ToArray();
        var headers = new byte[] { 3 << 3 | 2, (byte)entry.Length }.Concat(entry).ToArray();
        var http = new byte[] { 2 << 3 | 2, (byte)headers.Length }.Concat(headers).ToArray();
        var inner = new byte[] { 4 << 3 | 2, (byte)http.Length }.Concat(http).ToArray();
        var bytes = upgrade.Concat(new byte[] { 1 << 3 | 2, (byte)inner.Length }).Concat(inner).ToArray();
        Assert.Throws<InvalidProtocolBufferException>(() => CheckRequest.Parser.ParseFrom(bytes));

        var answer = handler.Answer(ReceivedCheck.Parse(new ReadOnlySequence<byte>(bytes))).ToResponse();

        Assert.Equal(RpcCodes.InvalidArgument, answer.Status.Code);
        Assert.StartsWith("the CheckRequest is not valid protobuf: ", records[^1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Concatenated_requests_merge_as_when_parsed_whole()
    {
        // Part of an address sent again: it merges into the socket address before it (a port replaced, a named port instead of a number).
        var addresses = new CheckRequest
        {
            Attributes = new AttributeContext
            {
                Source = new AttributeContext.Types.Peer { Address = new() { SocketAddress = new() { PortValue = 1 } } },
                Destination = new AttributeContext.Types.Peer { Address = new() { SocketAddress = new() { NamedPort = "https" } } },
            },
        };
        var seeds = Requests().Select(r => r.Build().ToByteArray()).Where(b => b.Length < 10_000).Append(addresses.ToByteArray()).ToArray();
        var handler = Handler();
        foreach (var first in seeds)
        {
            foreach (var second in seeds)
            {
                byte[] bytes = [.. first, .. second];
                var whole = CheckRequest.Parser.ParseFrom(bytes);
                var received = ReceivedCheck.Parse(new ReadOnlySequence<byte>(bytes));
                Assert.False(received.IsWhole);
                Assert.Equal(FieldsRead(whole), received.Request);

                handler.Answer(received);
                handler.Answer(whole);
                var (a, b) = (records[^2], records[^1]);
                Assert.Equal((b.Decision, b.Reason, b.Principal, b.Action, b.Resource), (a.Decision, a.Reason, a.Principal, a.Action, a.Resource));

                Assert.Null(received.Materialize());
                Assert.Equal(whole, received.Request);
            }
        }
    }

    [Fact]
    public void A_string_protobuf_refuses_in_a_message_read_is_refused_at_once_even_where_no_check_reads_it()
    {
        var request = Requests()[0].Build();
        request.Attributes.Source.Principal = "CN=ok";
        request.Attributes.Request.Http.Id = "id-ok";
        foreach (var (good, bad) in new[] { ("CN=ok"u8.ToArray(), new byte[] { (byte)'C', 0xFF, 0xFE, (byte)'k', (byte)'!' }), ("id-ok"u8.ToArray(), [(byte)'i', (byte)'d', 0xC0, 0x80, (byte)'k']) })
        {
            var bytes = request.ToByteArray();
            var at = bytes.AsSpan().IndexOf(good);
            bad.CopyTo(bytes, at);
            Assert.Throws<InvalidProtocolBufferException>(() => CheckRequest.Parser.ParseFrom(bytes));

            var received = ReceivedCheck.Parse(new ReadOnlySequence<byte>(bytes));

            Assert.NotNull(received.ParseError);
            Assert.Equal(DecisionNames.InvalidRequest, Decision(Handler(), received));
        }
    }

    private string Decision(CheckHandler handler, ReceivedCheck received)
    {
        handler.Answer(received);
        return records[^1].Decision;
    }

    /// <summary>The fields <see cref="ReceivedCheck.Parse"/> reads, as <paramref name="whole"/> has them, and nothing else.</summary>
    private static CheckRequest FieldsRead(CheckRequest whole)
    {
        static AttributeContext.Types.Peer? Peer(AttributeContext.Types.Peer? peer) => peer is null ? null : new()
        {
            Service = peer.Service,
            Address = peer.Address is null ? null : new global::Envoy.Config.Core.V3.Address
            {
                SocketAddress = peer.Address.SocketAddress is not { } socket ? null : SocketAddress(socket),
            },
        };

        static global::Envoy.Config.Core.V3.SocketAddress SocketAddress(global::Envoy.Config.Core.V3.SocketAddress socket)
        {
            var copy = new global::Envoy.Config.Core.V3.SocketAddress
            {
                Protocol = socket.Protocol,
                Address = socket.Address,
                ResolverName = socket.ResolverName,
                Ipv4Compat = socket.Ipv4Compat,
            };
            if (socket.HasPortValue)
            {
                copy.PortValue = socket.PortValue;
            }

            if (socket.HasNamedPort)
            {
                copy.NamedPort = socket.NamedPort;
            }

            return copy;
        }

        if (whole.Attributes is not { } attributes)
        {
            return new CheckRequest();
        }

        var read = new AttributeContext
        {
            Source = Peer(attributes.Source),
            Destination = Peer(attributes.Destination),
            Request = attributes.Request is not { } request ? null : new AttributeContext.Types.Request
            {
                Http = request.Http is not { } http ? null : new AttributeContext.Types.HttpRequest { Method = http.Method, Path = http.Path, Host = http.Host },
            },
            TlsSession = attributes.TlsSession is null ? null : new AttributeContext.Types.TLSSession { Sni = attributes.TlsSession.Sni },
        };
        read.ContextExtensions.Add(attributes.ContextExtensions);
        return new CheckRequest { Attributes = read };
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

    /// <summary>The request with <c>attributes.source.certificate</c> set to <paramref name="value"/> byte for byte (a later field wins).</summary>
    private static byte[] WithCertificateBytes(CheckRequest request, byte[] value)
    {
        var peer = new byte[] { 5 << 3 | 2 }.Concat(Varint(value.Length)).Concat(value).ToArray();
        var attributes = new byte[] { 1 << 3 | 2 }.Concat(Varint(peer.Length)).Concat(peer).ToArray();
        var root = new byte[] { 1 << 3 | 2 }.Concat(Varint(attributes.Length)).Concat(attributes);
        return [.. request.ToByteArray(), .. root];
    }

    private static byte[] Varint(int value)
    {
        var bytes = new List<byte>();
        for (; value >= 0x80; value >>= 7)
        {
            bytes.Add((byte)(value | 0x80));
        }

        bytes.Add((byte)value);
        return [.. bytes];
    }

    /// <summary>The bytes as gRPC may hand them over: in one segment or several.</summary>
    private static ReadOnlySequence<byte> Segmented(byte[] bytes, int segments) =>
        Sequences.Segmented(bytes, [.. Enumerable.Range(1, segments - 1).Select(i => i * bytes.Length / segments)]);

    private static CheckResponse WithoutDecisionId(CheckResponse response, string decisionId) =>
        CheckResponse.Parser.ParseJson(JsonFormatter.Default.Format(response).Replace(decisionId, "ID", StringComparison.Ordinal));
}
