using System.Buffers;
using ExtAuthz.Mqtt.Codec;
using static ExtAuthz.Tests.Shared.Sequences;
using static ExtAuthz.Mqtt.Tests.Codec.Wire;

namespace ExtAuthz.Mqtt.Tests.Codec;

/// <summary>
/// A pipe hands over whatever the network delivered: packets arrive cut anywhere and spread over segments.
/// Every proper prefix of a packet must ask for more data, and the whole packet must read the same however it
/// is cut.
/// </summary>
public sealed class SplitPacketTests
{
    public static TheoryData<string> Names => [.. Corpus.Valid.Select(s => s.Name)];

    private static Corpus.Sample Get(string name) => Corpus.Valid.Single(s => s.Name == name);

    [Theory]
    [MemberData(nameof(Names))]
    public void Every_proper_prefix_needs_more_data(string name)
    {
        var sample = Get(name);
        var whole = Describe(Parse(sample.Bytes, sample.Version, sample.Direction));
        for (var length = 0; length < sample.Bytes.Length; length++)
        {
            var prefix = Read(sample.Bytes[..length], sample.Version, sample.Direction);
            Assert.True(prefix.Status == MqttReadStatus.NeedMoreData, $"{length} bytes: {prefix.Status} {prefix.Error}");
            Assert.Equal(0, prefix.Consumed);
        }

        Assert.Equal(whole, Describe(Read(sample.Bytes, sample.Version, sample.Direction).Packet!));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Cut_in_two_at_every_byte_it_reads_the_same(string name)
    {
        var sample = Get(name);
        var whole = Describe(Parse(sample.Bytes, sample.Version, sample.Direction));
        for (var cut = 1; cut < sample.Bytes.Length; cut++)
        {
            var result = Read(Segmented(sample.Bytes, cut), sample.Version, sample.Direction);
            Assert.Equal(MqttReadStatus.Packet, result.Status);
            Assert.Equal(whole, Describe(result.Packet!));
            Assert.Equal(sample.Bytes, result.Packet!.Raw.ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Arriving_one_byte_per_segment_it_needs_more_data_until_complete(string name)
    {
        var sample = Get(name);
        var whole = Describe(Parse(sample.Bytes, sample.Version, sample.Direction));
        var everyByte = Enumerable.Range(1, sample.Bytes.Length).ToArray();
        for (var length = 0; length < sample.Bytes.Length; length++)
        {
            Assert.Equal(MqttReadStatus.NeedMoreData, Read(Segmented(sample.Bytes[..length], everyByte), sample.Version, sample.Direction).Status);
        }

        var complete = Read(Segmented(sample.Bytes, everyByte), sample.Version, sample.Direction);
        Assert.Equal(MqttReadStatus.Packet, complete.Status);
        Assert.Equal(whole, Describe(complete.Packet!));
    }

    [Fact]
    public void A_stream_cut_into_single_bytes_yields_its_packets_in_order_and_nothing_else()
    {
        var stream = Concat(Connect311(), Get("3.1.1 SUBSCRIBE").Bytes, Get("3.1.1 PUBLISH QoS 0").Bytes, Get("3.1.1 PINGREQ").Bytes,
            Get("3.1.1 PUBLISH QoS 1 retained").Bytes, Get("3.1.1 DISCONNECT").Bytes);
        var buffer = Segmented(stream, Enumerable.Range(1, stream.Length).ToArray());
        MqttVersion? version = null;
        var raws = new List<byte[]>();
        while (MqttPacketReader.TryRead(ref buffer, version, Up, MqttPacketReader.DefaultMaxPacketSize, out var packet, out _) == MqttReadStatus.Packet)
        {
            version ??= packet!.Version;
            raws.Add(packet!.Raw.ToArray());
        }

        Assert.Equal(6, raws.Count);
        Assert.Equal(stream, raws.SelectMany(r => r).ToArray());
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void A_packet_followed_by_part_of_the_next_leaves_that_part_in_the_buffer()
    {
        var publish = Get("3.1.1 PUBLISH QoS 0").Bytes;
        var buffer = new ReadOnlySequence<byte>(Concat(publish, publish[..3]));

        Assert.Equal(MqttReadStatus.Packet, MqttPacketReader.TryRead(ref buffer, MqttVersion.V311, Up, 1000, out _, out _));
        Assert.Equal(publish[..3], buffer.ToArray());
        Assert.Equal(MqttReadStatus.NeedMoreData, MqttPacketReader.TryRead(ref buffer, MqttVersion.V311, Up, 1000, out _, out _));
        Assert.Equal(3, buffer.Length);
    }
}
