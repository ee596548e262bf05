using System.Buffers;
using BenchmarkDotNet.Attributes;
using Envoy.Service.Auth.V3;
using ExtAuthz.Envoy;
using ExtAuthz.Envoy.Checking;
using ExtAuthz.Envoy.Observability;
using ExtAuthz.Identity.Decisions;
using ExtAuthz.LoadTest;
using ExtAuthz.Registry;
using Google.Protobuf;
using Grpc.Core;

namespace ExtAuthz.Benchmarks;

/// <summary>
/// <see cref="CheckHandler.Answer"/> in process, on CheckRequests built once by EnvoyCheckRequest exactly as
/// Envoy sends them, from a registered device certificate of the load test's fleet (<see cref="BenchFleet"/>:
/// 16 devices, a 7-statement device policy), with the decision observer <c>extauthz serve --decision-log off</c>
/// wires (the decision log, off, and the Prometheus metrics). The certificate is known: the setup's first
/// Check of each request fills the per-snapshot certificate cache, as a device's first request does.
/// Target: ≤ 20 µs for the allowed X.509 HTTP publish.
/// </summary>
[Config(typeof(MicroConfig))]
public class CheckHandlerBenchmarks
{
    private BenchFleet fleet = null!;
    private DecisionLog decisionLog = null!;
    private CheckHandler handler = null!;
    private CheckHandler unobserved = null!;
    private AuthorizationService service = null!;
    private CheckRequest allowedPublish = null!;
    private CheckRequest deniedPublish = null!;
    private CheckRequest mqttConnection = null!;
    private CheckRequest[] loadTestMix = [];
    private int mixNext;
    private byte[] allowedPublishBytes = [];
    private CheckAnswer allowedAnswer = null!;
    private byte[] allowedAnswerBytes = [];
    private byte[] emptyOkBytes = [];
    private readonly PayloadBuffer response = new();

    [GlobalSetup]
    public void Setup()
    {
        fleet = BenchFleet.Create(16);
        var snapshot = RegistryLoader.Load([fleet.Directory]);
        decisionLog = DecisionLog.Open("none");
        var metrics = new CheckMetrics(decisionLog, snapshot: () => snapshot);
        handler = new CheckHandler(() => snapshot, new CheckHandlerOptions(), record =>
        {
            decisionLog.TryRecord(record);
            metrics.Record(record);
        });
        unobserved = new CheckHandler(() => snapshot);
        service = new AuthorizationService(handler);

        allowedPublish = fleet.AllowedPublish(3);
        deniedPublish = fleet.DeniedPublish(3);
        mqttConnection = fleet.MqttConnection(3);
        allowedPublishBytes = allowedPublish.ToByteArray();
        loadTestMix = fleet.AllowedMix(1_024);
        foreach (var request in loadTestMix)
        {
            Expect(handler.Answer(request), allowed: true, nameof(loadTestMix));
        }

        allowedAnswer = handler.Answer(allowedPublish);
        allowedAnswerBytes = allowedAnswer.ToByteArray();
        emptyOkBytes = new CheckResponse { Status = new Google.Rpc.Status(), OkResponse = new OkHttpResponse() }.ToByteArray();

        Expect(handler.Answer(allowedPublish), allowed: true, nameof(allowedPublish));
        Expect(handler.Answer(deniedPublish), allowed: false, nameof(deniedPublish));
        Expect(handler.Answer(mqttConnection), allowed: true, nameof(mqttConnection));
        Expect(unobserved.Answer(allowedPublish), allowed: true, nameof(unobserved));
        Console.WriteLine($"// request sizes: allowed publish {allowedPublish.CalculateSize():N0} B, MQTT connection {mqttConnection.CalculateSize():N0} B; "
            + $"response sizes: allowed {handler.Answer(allowedPublish).ToByteArray().Length:N0} B, denied {handler.Answer(deniedPublish).ToByteArray().Length:N0} B");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        decisionLog.Dispose();
        fleet.Dispose();
    }

    [Benchmark(Baseline = true, Description = "HTTP publish, allowed")]
    public CheckAnswer AllowedPublish() => handler.Answer(allowedPublish);

    [Benchmark(Description = "HTTP publish, allowed: the load test's 1,024 requests in turn (16 devices, 3 topics each)")]
    public CheckAnswer LoadTestMix() => handler.Answer(loadTestMix[mixNext++ & 1023]);

    [Benchmark(Description = "HTTP publish, denied (implicit)")]
    public CheckAnswer DeniedPublish() => handler.Answer(deniedPublish);

    [Benchmark(Description = "MQTT 8883 connection (network filter)")]
    public CheckAnswer MqttConnection() => handler.Answer(mqttConnection);

    /// <summary>Informational: the same Check with no observer, so without the DecisionRecord and the metrics.</summary>
    [Benchmark(Description = "HTTP publish, allowed, no observer (no record, no metrics)")]
    public CheckAnswer AllowedPublishUnobserved() => unobserved.Answer(allowedPublish);

    /// <summary>
    /// What the gRPC server does with the message on top of the handler: parse the request's protobuf
    /// bytes, call <see cref="AuthorizationService.Check"/>, serialize the answer with the Check method's
    /// response marshaller (HTTP/2 and gRPC framing excluded; those are the same for the no-op server in
    /// the load test).
    /// </summary>
    [Benchmark(Description = "gRPC adapter: parse request + AuthorizationService.Check + write response")]
    public int AllowedPublishThroughService()
    {
        var request = ReceivedCheck.Parse(new ReadOnlySequence<byte>(allowedPublishBytes));
        return response.Write(service.Check(request, BenchCallContext.Instance).Result);
    }

    /// <summary>Informational, part of the row above: reading the request's bytes as gRPC does (<see cref="ReceivedCheck"/>: only the fields a device's Check reads, the certificate kept as bytes).</summary>
    [Benchmark(Description = "(part of the gRPC adapter) read the request: the fields a device's Check reads, the certificate as bytes")]
    public ReceivedCheck ParseRequest() => ReceivedCheck.Parse(new ReadOnlySequence<byte>(allowedPublishBytes));

    /// <summary>Informational: parsing the request's bytes whole with Google.Protobuf, as the no-op server in the load test does.</summary>
    [Benchmark(Description = "(informational) parse the request whole, as the no-op server does")]
    public CheckRequest ParseRequestWhole() => CheckRequest.Parser.ParseFrom(allowedPublishBytes);

    /// <summary>Informational, part of the row above: writing the allowed answer (headers and dynamic metadata), which the no-op server's empty OK does not pay.</summary>
    [Benchmark(Description = "(part of the gRPC adapter) write the allowed response")]
    public int WriteResponse() => response.Write(allowedAnswer);

    /// <summary>Informational: what the allowed answer costs the client that reads it (the load generator, Envoy's stand-in) to parse.</summary>
    [Benchmark(Description = "(informational) client side: parse the allowed answer")]
    public CheckResponse ParseAllowedAnswer() => CheckResponse.Parser.ParseFrom(allowedAnswerBytes);

    /// <summary>Informational: the same for the no-op server's empty OK, the load test's baseline.</summary>
    [Benchmark(Description = "(informational) client side: parse the no-op server's empty OK")]
    public CheckResponse ParseEmptyOk() => CheckResponse.Parser.ParseFrom(emptyOkBytes);

    private static void Expect(CheckAnswer answer, bool allowed, string what)
    {
        var response = answer.ToResponse();
        if ((response.Status.Code == 0) != allowed)
        {
            throw new InvalidOperationException($"benchmark setup: {what} answered status {response.Status.Code} ({response.Status.Message}), expected {(allowed ? "OK" : "a denial")}");
        }
    }

    /// <summary>gRPC's serialization context for one payload at a time, over a reused buffer.</summary>
    private sealed class PayloadBuffer : SerializationContext
    {
        private readonly ArrayBufferWriter<byte> buffer = new(16 * 1024);

        /// <summary>Serializes <paramref name="answer"/> as the gRPC server does; returns its size.</summary>
        public int Write(CheckAnswer answer)
        {
            buffer.ResetWrittenCount();
            AuthorizationService.CheckMethod.ResponseMarshaller.ContextualSerializer(answer, this);
            return buffer.WrittenCount;
        }

        public override void Complete(byte[] payload) => buffer.Write(payload);

        public override IBufferWriter<byte> GetBufferWriter() => buffer;

        public override void SetPayloadLength(int payloadLength)
        {
        }

        public override void Complete()
        {
        }
    }

    /// <summary>The call context AuthorizationService is given; it reads nothing from it.</summary>
    private sealed class BenchCallContext : ServerCallContext
    {
        public static readonly BenchCallContext Instance = new();

        protected override string MethodCore => "/envoy.service.auth.v3.Authorization/Check";

        protected override string HostCore => "127.0.0.1";

        protected override string PeerCore => "ipv4:127.0.0.1:50000";

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Metadata RequestHeadersCore { get; } = [];

        protected override CancellationToken CancellationTokenCore => CancellationToken.None;

        protected override Metadata ResponseTrailersCore { get; } = [];

        protected override Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore { get; } = new(null, []);

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
            throw new NotSupportedException("the benchmark's call context propagates nothing");

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
