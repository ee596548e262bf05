using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using ExtAuthz.Identity.Decisions;

namespace ExtAuthz.Envoy.Observability;

/// <summary>
/// A <see cref="DecisionRecord"/> as one JSON object (docs/observability.md lists the fields). Written
/// with <see cref="Utf8JsonWriter"/> straight from the record: no reflection, no intermediate strings.
/// </summary>
internal static class DecisionLine
{
    /// <summary>
    /// Compact (no newline can appear outside a string, and JSON escapes those inside), and raw UTF-8
    /// for readable non-ASCII names and topics; the relaxed encoder still escapes quotes, backslashes,
    /// control characters and U+2028/U+2029, and writes a lone surrogate as U+FFFD.
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    private static readonly JsonEncodedText TimeName = JsonEncodedText.Encode("time");
    private static readonly JsonEncodedText DecisionIdName = JsonEncodedText.Encode("decisionId");
    private static readonly JsonEncodedText DecisionName = JsonEncodedText.Encode("decision");
    private static readonly JsonEncodedText EnforcedName = JsonEncodedText.Encode("enforced");
    private static readonly JsonEncodedText ListenerName = JsonEncodedText.Encode("listener");
    private static readonly JsonEncodedText OperationName = JsonEncodedText.Encode("operation");
    private static readonly JsonEncodedText PrincipalKindName = JsonEncodedText.Encode("principalKind");
    private static readonly JsonEncodedText PrincipalName = JsonEncodedText.Encode("principal");
    private static readonly JsonEncodedText CertificateIdName = JsonEncodedText.Encode("certificateId");
    private static readonly JsonEncodedText ThingName = JsonEncodedText.Encode("thing");
    private static readonly JsonEncodedText ClientIdName = JsonEncodedText.Encode("clientId");
    private static readonly JsonEncodedText ActionName = JsonEncodedText.Encode("action");
    private static readonly JsonEncodedText ResourceName = JsonEncodedText.Encode("resource");
    private static readonly JsonEncodedText PolicyName = JsonEncodedText.Encode("policy");
    private static readonly JsonEncodedText StatementName = JsonEncodedText.Encode("statement");
    private static readonly JsonEncodedText ReasonName = JsonEncodedText.Encode("reason");
    private static readonly JsonEncodedText ShadowDecisionName = JsonEncodedText.Encode("shadowDecision");
    private static readonly JsonEncodedText ShadowPolicyName = JsonEncodedText.Encode("shadowPolicy");
    private static readonly JsonEncodedText ShadowStatementName = JsonEncodedText.Encode("shadowStatement");
    private static readonly JsonEncodedText GenerationName = JsonEncodedText.Encode("generation");
    private static readonly JsonEncodedText LatencyName = JsonEncodedText.Encode("latencyUs");

    /// <summary>Writes the record as one complete JSON object; the caller flushes and adds the newline.</summary>
    public static void Write(Utf8JsonWriter writer, DecisionRecord record)
    {
        writer.WriteStartObject();

        // Always 7 fractional digits and "Z": RFC 3339 UTC, and lines sort by time as text.
        Span<byte> time = stackalloc byte[32];
        record.Time.UtcDateTime.TryFormat(time, out var timeLength, "O", CultureInfo.InvariantCulture);
        writer.WriteString(TimeName, time[..timeLength]);

        WriteIfPresent(writer, DecisionIdName, record.DecisionId);
        WriteIfPresent(writer, DecisionName, record.Decision);
        writer.WriteBoolean(EnforcedName, record.Enforced);
        WriteIfPresent(writer, ListenerName, record.Listener);
        WriteIfPresent(writer, OperationName, record.Operation);
        WriteIfPresent(writer, PrincipalKindName, record.PrincipalKind);
        WriteIfPresent(writer, PrincipalName, record.Principal);
        WriteIfPresent(writer, CertificateIdName, record.CertificateId);
        WriteIfPresent(writer, ThingName, record.Thing);
        WriteIfPresent(writer, ClientIdName, record.ClientId);
        WriteIfPresent(writer, ActionName, record.Action);
        WriteIfPresent(writer, ResourceName, record.Resource);
        WriteIfPresent(writer, PolicyName, record.Policy);
        WriteIfPresent(writer, StatementName, record.Statement);
        WriteIfPresent(writer, ReasonName, record.Reason);
        WriteIfPresent(writer, ShadowDecisionName, record.ShadowDecision);
        WriteIfPresent(writer, ShadowPolicyName, record.ShadowPolicy);
        WriteIfPresent(writer, ShadowStatementName, record.ShadowStatement);
        writer.WriteNumber(GenerationName, record.Generation);

        // JSON has no NaN or infinity (the writer would throw); nanosecond precision is plenty and keeps lines short.
        if (double.IsFinite(record.LatencyMicroseconds))
        {
            writer.WriteNumber(LatencyName, Math.Round(record.LatencyMicroseconds, 3));
        }

        writer.WriteEndObject();
    }

    private static void WriteIfPresent(Utf8JsonWriter writer, JsonEncodedText name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }
}
