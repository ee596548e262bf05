using System.Buffers;

namespace ExtAuthz.Tests.Shared;

/// <summary>
/// Byte sequences in several segments, as pipes and gRPC hand them over (compiled into the test projects
/// that need them: <c>&lt;Compile Include="..\Shared\Sequences.cs"/&gt;</c>).
/// </summary>
internal static class Sequences
{
    /// <summary>A sequence of the bytes cut at the given offsets, each piece its own segment.</summary>
    public static ReadOnlySequence<byte> Segmented(byte[] bytes, params int[] cuts)
    {
        var bounds = cuts.Where(c => c > 0 && c < bytes.Length).Distinct().Order().Append(bytes.Length).ToArray();
        Segment? first = null;
        Segment? last = null;
        var start = 0;
        foreach (var end in bounds)
        {
            var piece = bytes.AsMemory(start, end - start);
            last = last is null ? first = new Segment(piece, 0) : last.Append(piece);
            start = end;
        }

        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
