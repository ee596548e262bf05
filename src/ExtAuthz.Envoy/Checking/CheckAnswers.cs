using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Envoy.Config.Core.V3;
using Envoy.Service.Auth.V3;
using ExtAuthz.Registry;
using Google.Protobuf.WellKnownTypes;
using RpcStatus = Google.Rpc.Status;

namespace ExtAuthz.Envoy.Checking;

/// <summary>
/// CheckResponses as Envoy needs them (the reference's §2 and §7): always a gRPC OK carrying the
/// decision in <c>status</c>; a deny carries the HTTP status and a JSON body that says why;
/// <c>dynamic_metadata</c> carries the decision for Envoy's access log. An allowed HTTP request's answer
/// (identity headers set with <c>OVERWRITE_IF_EXISTS_OR_ADD</c>, which old and new Envoys both honour as
/// overwrite, and the rest of ours removed) is encoded by <see cref="AllowedHttpAnswer"/>.
/// </summary>
internal static class CheckAnswers
{
    private static readonly JsonWriterOptions BodyOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Denials, and 8883's connection checks (allowed or not); an allowed HTTP request's answer is <see cref="AllowedHttpAnswer"/>'s.</summary>
    public static CheckResponse Build(CheckOutcome outcome, bool dryRun)
    {
        var answerAllow = outcome.IsAllowed || dryRun;
        var response = new CheckResponse
        {
            Status = new RpcStatus { Code = answerAllow ? RpcCodes.Ok : outcome.RpcCode, Message = answerAllow ? string.Empty : outcome.Reason ?? string.Empty },
            DynamicMetadata = Metadata(outcome, enforced: !dryRun || outcome.IsAllowed),
        };

        if (outcome.Network)
        {
            // The network filter reads only the status and the dynamic metadata.
            return response;
        }

        System.Diagnostics.Debug.Assert(!answerAllow, "an allowed HTTP request's answer is AllowedHttpAnswer's");
        response.DeniedResponse = Denied(outcome);
        return response;
    }

    private static HeaderValueOption Overwrite(string name, string value) => new()
    {
        Header = new HeaderValue { Key = name, Value = value },
        AppendAction = HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd,
    };

    private static DeniedHttpResponse Denied(CheckOutcome outcome)
    {
        var denied = new DeniedHttpResponse
        {
            Status = new global::Envoy.Type.V3.HttpStatus { Code = (global::Envoy.Type.V3.StatusCode)outcome.HttpStatus },
            Body = Body(outcome),
        };
        denied.Headers.Add(Overwrite("content-type", "application/json"));
        denied.Headers.Add(Overwrite(IdentityHeaders.DecisionId, outcome.DecisionId));
        return denied;
    }

    /// <summary><c>{decision, action, resource, reason, decisionId}</c>: enough for a developer to fix the policy or the request.</summary>
    internal static string Body(CheckOutcome outcome)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, BodyOptions))
        {
            json.WriteStartObject();
            json.WriteString("decision", outcome.Decision);
            WriteOptional(json, "action", outcome.Action);
            WriteOptional(json, "resource", outcome.Resource);
            WriteOptional(json, "reason", outcome.Reason);
            json.WriteString("decisionId", outcome.DecisionId);
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }

    /// <summary>
    /// Everything: the decision, its ID, the deciding policy and statement, whether it was enforced, and who
    /// asked, what for, where, and why. (An allowed HTTP request's metadata, <see cref="AllowedHttpAnswer"/>'s,
    /// has only the decision, policy and statement, and <c>enforced</c> when it is false: the decision ID and
    /// the principal travel in its identity headers, and the decision log has everything under the decision ID.)
    /// </summary>
    private static Struct Metadata(CheckOutcome outcome, bool enforced)
    {
        var fields = new Struct();
        Put(fields, "decision", outcome.Decision);
        Put(fields, "decision_id", outcome.DecisionId);
        Put(fields, "policy", outcome.DecidingStatement?.Policy.Name);
        Put(fields, "statement", outcome.DecidingStatement?.Label);
        fields.Fields["enforced"] = Value.ForBool(enforced);
        Put(fields, "listener", outcome.Listener.Name());
        Put(fields, "operation", outcome.Operation);
        Put(fields, "principal", outcome.Subject?.PrincipalId ?? outcome.CertificateId);
        Put(fields, "principal_kind", outcome.Subject?.Kind.Name());
        Put(fields, "things", outcome.Things);
        Put(fields, "action", outcome.Action);
        Put(fields, "resource", outcome.Resource);
        Put(fields, "reason", outcome.Reason);
        return fields;
    }

    private static void Put(Struct fields, string name, string? value)
    {
        if (value is not null)
        {
            fields.Fields[name] = Value.ForString(value);
        }
    }
}
