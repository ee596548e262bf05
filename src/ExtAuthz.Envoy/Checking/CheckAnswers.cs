using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Envoy.Config.Core.V3;
using Envoy.Service.Auth.V3;
using Google.Protobuf.WellKnownTypes;
using ExtAuthz.Policy;
using RpcStatus = Google.Rpc.Status;

namespace ExtAuthz.Envoy.Checking;

/// <summary>
/// CheckResponses as Envoy needs them (the reference's §2 and §7): always a gRPC OK carrying the
/// decision in <c>status</c>; an allow sets identity headers with <c>OVERWRITE_IF_EXISTS_OR_ADD</c>
/// (old and new Envoys both overwrite then) and removes the rest of ours; a deny carries the HTTP
/// status and a JSON body that says why; <c>dynamic_metadata</c> carries the decision for Envoy's access log.
/// </summary>
internal static class CheckAnswers
{
    private static readonly JsonWriterOptions BodyOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static CheckResponse Build(CheckOutcome outcome, bool dryRun)
    {
        var answerAllow = outcome.IsAllowed || dryRun;
        var response = new CheckResponse
        {
            Status = new RpcStatus { Code = answerAllow ? RpcCodes.Ok : outcome.RpcCode, Message = answerAllow ? string.Empty : outcome.Reason ?? string.Empty },
            DynamicMetadata = answerAllow && !outcome.Network
                ? AllowedHttpMetadata(outcome, enforced: !dryRun || outcome.IsAllowed)
                : Metadata(outcome, enforced: !dryRun || outcome.IsAllowed),
        };

        if (outcome.Network)
        {
            // The network filter reads only the status and the dynamic metadata.
            return response;
        }

        if (answerAllow)
        {
            response.OkResponse = Ok(outcome);
        }
        else
        {
            response.DeniedResponse = Denied(outcome);
        }

        return response;
    }

    private static OkHttpResponse Ok(CheckOutcome outcome)
    {
        var ok = new OkHttpResponse();
        Span<bool> set = stackalloc bool[IdentityHeaders.All.Count];
        Add(ok, set, 0, IdentityHeaders.DecisionId, outcome.DecisionId);
        if (outcome.Subject is { } subject)
        {
            Add(ok, set, 1, IdentityHeaders.Principal, subject.PrincipalId);
            Add(ok, set, 2, IdentityHeaders.PrincipalKind, subject.Kind.ToString());
            Add(ok, set, 3, IdentityHeaders.PrincipalArn, subject.PrincipalArn);
            if (outcome.Things is { } things)
            {
                Add(ok, set, 4, IdentityHeaders.Things, things);
            }
        }

        if (outcome.SessionHandle is { } session)
        {
            Add(ok, set, 5, IdentityHeaders.Session, session);
        }

        for (var i = 0; i < set.Length; i++)
        {
            if (!set[i])
            {
                ok.HeadersToRemove.Add(IdentityHeaders.All[i]);
            }
        }

        return ok;
    }

    private static void Add(OkHttpResponse ok, Span<bool> set, int index, string name, string value)
    {
        ok.Headers.Add(Overwrite(name, value));
        set[index] = true;
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

    /// <summary>Everything: <see cref="AllowedHttpMetadata"/>'s fields, and who asked, what for, where, and why.</summary>
    private static Struct Metadata(CheckOutcome outcome, bool enforced)
    {
        var fields = AllowedHttpMetadata(outcome, enforced);
        Put(fields, "listener", outcome.Listener.Name());
        Put(fields, "operation", outcome.Operation);
        Put(fields, "principal", outcome.Subject?.PrincipalId ?? outcome.CertificateId);
        Put(fields, "principal_kind", outcome.Subject?.Kind.ToString());
        Put(fields, "things", outcome.Things);
        Put(fields, "action", outcome.Action);
        Put(fields, "resource", outcome.Resource);
        Put(fields, "reason", outcome.Reason);
        return fields;
    }

    /// <summary>
    /// An allowed HTTP request's metadata, lean because every allowed request pays for it (and Envoy parses
    /// it): the decision, its ID, the deciding policy and statement, and whether it was enforced. Who the
    /// principal is travels in the identity headers, which Envoy's access log reads with
    /// <c>%REQ(x-extauthz-principal)%</c>; the decision log has everything under the decision ID.
    /// </summary>
    private static Struct AllowedHttpMetadata(CheckOutcome outcome, bool enforced)
    {
        var fields = new Struct();
        Put(fields, "decision", outcome.Decision);
        Put(fields, "decision_id", outcome.DecisionId);
        Put(fields, "policy", outcome.DecidingStatement?.Policy.Name);
        Put(fields, "statement", StatementLabel(outcome.DecidingStatement));
        fields.Fields["enforced"] = Value.ForBool(enforced);
        return fields;
    }

    private static void Put(Struct fields, string name, string? value)
    {
        if (value is not null)
        {
            fields.Fields[name] = Value.ForString(value);
        }
    }

    /// <summary>A statement's Sid, or its position (<c>#2</c>) when it has none.</summary>
    public static string? StatementLabel(Statement? statement) =>
        statement is null ? null : statement.Sid ?? "#" + statement.Index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
