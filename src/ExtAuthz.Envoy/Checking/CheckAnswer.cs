using Envoy.Service.Auth.V3;
using Google.Protobuf;
using Grpc.Core;

namespace ExtAuthz.Envoy.Checking;

/// <summary>
/// A Check's answer, to be sent as Envoy's CheckResponse. An allowed HTTP request's answer (every
/// allowed request pays for it) is encoded directly from the outcome (<see cref="AllowedHttpAnswer"/>);
/// every other answer — denials, and 8883's connection check — is built as a CheckResponse message.
/// gRPC writes either straight into its buffer (<see cref="Serialize"/>); <see cref="ToResponse"/>
/// gives the message for callers that read the answer in process.
/// </summary>
public sealed class CheckAnswer
{
    private readonly CheckOutcome outcome;
    private readonly bool enforced;
    private readonly CheckResponse? message;

    internal CheckAnswer(CheckOutcome outcome, bool dryRun)
    {
        this.outcome = outcome;
        enforced = !dryRun || outcome.IsAllowed;
        Allows = outcome.IsAllowed || dryRun;
        message = Allows && !outcome.Network ? null : CheckAnswers.Build(outcome, dryRun);
    }

    /// <summary>Whether Envoy is told to let the request through (<c>status</c> OK): an allow, or any decision under <c>--dry-run</c>.</summary>
    public bool Allows { get; }

    /// <summary>The answer as a CheckResponse message.</summary>
    public CheckResponse ToResponse() => message ?? CheckResponse.Parser.ParseFrom(ToByteArray());

    /// <summary>The answer in protobuf's wire format, as gRPC sends it.</summary>
    public byte[] ToByteArray()
    {
        if (message is not null)
        {
            return message.ToByteArray();
        }

        var layout = AllowedHttpAnswer.Measure(outcome, enforced);
        var bytes = new byte[layout.Size];
        AllowedHttpAnswer.Write(outcome, enforced, layout, bytes);
        return bytes;
    }

    /// <summary>Writes the answer as gRPC's response payload (the Check method's response marshaller).</summary>
    internal void Serialize(SerializationContext context)
    {
        // gRPC needs the length before it hands out its buffer.
        if (message is not null)
        {
            context.SetPayloadLength(message.CalculateSize());
            message.WriteTo(context.GetBufferWriter());
        }
        else
        {
            var layout = AllowedHttpAnswer.Measure(outcome, enforced);
            context.SetPayloadLength(layout.Size);
            var output = context.GetBufferWriter();
            AllowedHttpAnswer.Write(outcome, enforced, layout, output.GetSpan(layout.Size)[..layout.Size]);
            output.Advance(layout.Size);
        }

        context.Complete();
    }
}
