using System.Buffers;
using CsCheck;
using ExtAuthz.Mqtt.Codec;
using static ExtAuthz.Tests.Shared.Sequences;
using static ExtAuthz.Mqtt.Tests.Codec.Wire;

namespace ExtAuthz.Mqtt.Tests.Codec;

/// <summary>
/// Well-formed packets mutated at random, and bytes that are random from the start, thrown at the reader.
/// Whatever arrives, TryRead returns one of its four answers without throwing, consumes exactly the packet it
/// reports (whose Raw is the front of the input and reads back to the same packet), leaves the buffer alone
/// otherwise, and answers the same however the bytes are cut into segments and whatever follows them.
/// CsCheck prints the seed of any failure, so it reproduces.
/// </summary>
public sealed class RandomizedPacketTests
{
    private const int Iterations = 100_000;

    // Values that sit on the codec's decision points: continuation bits, UTF-8 lead bytes and surrogates,
    // wildcards and separators, property identifiers.
    private static readonly byte[] Interesting = [0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF, 0xC0, 0xED, 0xA0, (byte)'+', (byte)'#', (byte)'/', (byte)'$', 0x0B, 0x23, 0x26];

    private static readonly MqttVersion?[] Versions = [null, MqttVersion.V311, MqttVersion.V500];

    [Fact]
    public void Mutated_packets_never_break_the_reader()
    {
        var seeds = Corpus.Valid;
        var tally = new Tally();
        var mutation = Gen.Select(Gen.Int[0, seeds.Count - 1], Gen.Int[0, 9].Array[1, 5], Gen.Int.Array[16], Gen.Byte.Array[0, 40], Gen.Int[0, 15],
            (seed, ops, numbers, noise, context) => (seed, ops, numbers, noise, context));

        mutation.Sample(m =>
        {
            var sample = seeds[m.seed];
            var bytes = Mutate(sample.Bytes, m.ops, m.numbers, m.noise, seeds);
            var (version, direction) = Context(sample, m.context);
            tally.Add(Check(bytes, version, direction, MaxFor(m.numbers[15], bytes.Length), m.numbers));
        }, iter: Iterations);

        tally.AssertEveryAnswerWasSeen(Iterations);
    }

    [Fact]
    public void Random_bytes_never_break_the_reader()
    {
        var tally = new Tally();

        // A valid first byte half of the time, so the bytes get past the fixed header and into the parsers.
        var firstBytes = Corpus.Valid.Select(s => s.Bytes[0]).Distinct().ToArray();
        var random = Gen.Select(Gen.Byte.Array[0, 80], Gen.Int[0, 2 * firstBytes.Length - 1], Gen.Int[0, 5], Gen.Int.Array[16],
            (bytes, first, context, numbers) => (bytes, first, context, numbers));

        random.Sample(r =>
        {
            var bytes = r.bytes.ToArray();
            if (bytes.Length > 0 && r.first < firstBytes.Length)
            {
                bytes[0] = firstBytes[r.first];
            }

            var version = Versions[r.context % 3];
            var direction = version is null || r.context < 3 ? Up : Down;
            tally.Add(Check(bytes, version, direction, MaxFor(r.numbers[15], bytes.Length), r.numbers));
        }, iter: Iterations / 2);

        Assert.True(tally.Total == Iterations / 2);
    }

    /// <summary>Reads <paramref name="bytes"/> and checks every promise the reader makes; returns its answer.</summary>
    private static MqttReadStatus Check(byte[] bytes, MqttVersion? version, MqttDirection direction, int max, int[] numbers)
    {
        var result = Read(bytes, version, direction, max);
        Assert.True(Enum.IsDefined(result.Status));
        if (result.Status == MqttReadStatus.Packet)
        {
            var packet = result.Packet!;
            Assert.Null(result.Error);
            Assert.InRange(result.Consumed, 2, Math.Min(bytes.Length, max));
            Assert.Equal(bytes.AsSpan(0, (int)result.Consumed).ToArray(), packet.Raw.ToArray());
            Assert.Equal(bytes.AsSpan((int)result.Consumed).ToArray(), result.Rest.ToArray());

            // Raw alone reads back to the same packet (a CONNECT again before any version).
            var again = Read(packet.Raw.ToArray(), version, direction, max);
            Assert.Equal(MqttReadStatus.Packet, again.Status);
            Assert.Equal(Describe(packet), Describe(again.Packet!));

            // Every proper prefix of it only asks for more.
            var prefix = (int)((uint)numbers[0] % (uint)result.Consumed);
            Assert.Equal(MqttReadStatus.NeedMoreData, Read(bytes[..prefix], version, direction, max).Status);
        }
        else
        {
            Assert.Null(result.Packet);
            Assert.Equal(0, result.Consumed);
            Assert.Equal(result.Status == MqttReadStatus.NeedMoreData, result.Error is null);
        }

        // The same answer when the bytes come in random segments, and when they sit at the front of a longer
        // buffer (the reader must not look past its input, and cannot have looked past a complete packet).
        var cuts = numbers[1..6].Select(n => (int)((uint)n % (uint)(bytes.Length + 1))).ToArray();
        Assert.Equal(Summary(result), Summary(Read(Segmented(bytes, cuts), version, direction, max)));
        var longer = new ReadOnlySequence<byte>([.. bytes, 0x30, 0xFF, 0xFF, 0xFF, 0x7F], 0, bytes.Length);
        Assert.Equal(Summary(result), Summary(Read(longer, version, direction, max)));
        if (result.Status != MqttReadStatus.NeedMoreData)
        {
            Assert.Equal(Summary(result), Summary(Read([.. bytes, .. Hex("C0 00 FF")], version, direction, max)));
        }

        return result.Status;
    }

    private static string Summary(Result result) =>
        $"{result.Status} {result.Error} {result.Consumed} {(result.Packet is { } packet ? Describe(packet) : "")}";

    private static byte[] Mutate(byte[] original, int[] ops, int[] numbers, byte[] noise, IReadOnlyList<Corpus.Sample> seeds)
    {
        var bytes = original.ToList();
        for (var i = 0; i < ops.Length; i++)
        {
            var n = numbers[i + 6];
            var at = bytes.Count == 0 ? 0 : (int)((uint)n % (uint)bytes.Count);
            var value = Interesting[(uint)n % (uint)Interesting.Length];
            switch (ops[i])
            {
                case 0 when bytes.Count > 0: bytes[at] ^= (byte)(1 << (n & 7)); break;
                case 1 when bytes.Count > 0: bytes.RemoveAt(at); break;
                case 2: bytes.Insert(at, noise.Length > 0 ? noise[at % noise.Length] : value); break;
                case 3 when bytes.Count > 0: bytes[at] = value; break;
                case 4: bytes.RemoveRange(at, bytes.Count - at); break;
                case 5: bytes.AddRange(noise); break;
                case 6: bytes = [.. noise]; break;
                case 7 when bytes.Count > 1:
                    // A random remaining length in 1 to 4 bytes, so the declared size and the real one disagree.
                    var length = (int)((uint)n % 300);
                    bytes.RemoveRange(1, HeaderLength(bytes) - 1);
                    bytes.InsertRange(1, (n & 0x10000) != 0 ? [.. Vbi(length)] : [(byte)(length | 0x80), 0x80, 0x00]);
                    break;
                case 8 when bytes.Count > 0: bytes.InsertRange(at, bytes.GetRange(at, Math.Min(bytes.Count - at, 1 + (n & 7)))); break;
                default: bytes.AddRange(seeds[(int)((uint)n % (uint)seeds.Count)].Bytes); break;
            }
        }

        return [.. bytes];
    }

    /// <summary>Bytes of fixed header (first byte and remaining length) at the front, as far as they go.</summary>
    private static int HeaderLength(List<byte> bytes)
    {
        var end = 1;
        while (end < bytes.Count && end < 5 && (bytes[end] & 0x80) != 0)
        {
            end++;
        }

        return Math.Min(end + 1, bytes.Count);
    }

    /// <summary>Mostly the seed's own version and direction; sometimes another, to exercise the per-version and per-direction rules.</summary>
    private static (MqttVersion? Version, MqttDirection Direction) Context(Corpus.Sample sample, int context) => context switch
    {
        < 11 => (sample.Version, sample.Direction),
        11 or 12 => (sample.Version ?? MqttVersion.V500, sample.Version is null ? Up : Flip(sample.Direction)),
        13 => (sample.Version is null ? null : Other(sample.Version.Value), sample.Direction),
        14 => (MqttVersion.V311, Down),
        _ => (null, Up),
    };

    private static MqttDirection Flip(MqttDirection direction) => direction == Up ? Down : Up;

    private static MqttVersion Other(MqttVersion version) => version == MqttVersion.V311 ? MqttVersion.V500 : MqttVersion.V311;

    /// <summary>Usually the default limit; one time in eight a small one near the input's size, so TooLarge comes up.</summary>
    private static int MaxFor(int n, int length) => (n & 7) == 0 ? Math.Max(2, length - 3 + (int)((uint)n % 8)) : MqttPacketReader.DefaultMaxPacketSize;

    private sealed class Tally
    {
        private readonly int[] counts = new int[4];

        public int Total => counts.Sum();

        public void Add(MqttReadStatus status) => Interlocked.Increment(ref counts[(int)status]);

        public void AssertEveryAnswerWasSeen(int iterations)
        {
            Assert.Equal(iterations, Total);

            // Each answer must be common enough for the run to have tested it, not just reached it once.
            foreach (var status in Enum.GetValues<MqttReadStatus>())
            {
                Assert.True(counts[(int)status] > iterations / 100, $"{status} came up {counts[(int)status]} times in {iterations}");
            }
        }
    }
}
