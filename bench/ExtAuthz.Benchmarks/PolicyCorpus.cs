using System.Globalization;
using System.Text;

namespace ExtAuthz.Benchmarks;

/// <summary>
/// Deterministic, realistic policy documents for the fleet and compile benchmarks. Statement kinds
/// rotate through what real AWS IoT / IAM policies contain: literal and wildcard actions, wildcard
/// resources, <c>${iot:ClientId}</c> / thing-name variables, StringLike / Bool / IpAddress /
/// ForAllValues conditions and a few Deny statements.
/// </summary>
public static class PolicyCorpus
{
    private const string Iot = "arn:aws:iot:us-east-1:123456789012";

    /// <summary>A document with <paramref name="statements"/> statements; <paramref name="doc"/> makes it distinct.</summary>
    public static string Document(int doc, int statements, int kindOffset = 0)
    {
        var sb = new StringBuilder(256 * statements);
        sb.Append("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n");
        for (var s = 0; s < statements; s++)
        {
            if (s > 0)
            {
                sb.Append(",\n");
            }

            sb.Append(Statement(doc, s, (s + kindOffset) % 10));
        }

        sb.Append("\n  ]\n}\n");
        return sb.ToString();
    }

    /// <summary>True when statement <paramref name="s"/> of <paramref name="doc"/> (kind 8) is a Deny.</summary>
    public static bool IsDeny(int doc, int s) => doc % 3 == 0 && s % 20 == 8;

    private static string Statement(int doc, int s, int kind)
    {
        var p = doc.ToString(CultureInfo.InvariantCulture);
        var n = s.ToString(CultureInfo.InvariantCulture);
        return kind switch
        {
            0 => $$"""
                    { "Sid": "Telemetry{{n}}", "Effect": "Allow", "Action": "iot:Publish",
                      "Resource": "{{Iot}}:topic/fleet/p{{p}}/group{{n}}/*/telemetry" }
                """,
            1 => $$"""
                    { "Sid": "Commands{{n}}", "Effect": "Allow", "Action": "iot:Subscribe",
                      "Resource": ["{{Iot}}:topicfilter/fleet/p{{p}}/group{{n}}/+/commands/#",
                                   "{{Iot}}:topicfilter/fleet/p{{p}}/group{{n}}/${iot:Connection.Thing.ThingName}/commands/*"] }
                """,
            2 => $$"""
                    { "Sid": "Receive{{n}}", "Effect": "Allow", "Action": "iot:Receive",
                      "Resource": "{{Iot}}:topic/fleet/p{{p}}/group{{n}}/*" }
                """,
            3 => $$"""
                    { "Sid": "Shadow{{n}}", "Effect": "Allow", "Action": ["iot:GetThingShadow", "iot:UpdateThingShadow"],
                      "Resource": "{{Iot}}:thing/site{{p}}-{{n}}-*" }
                """,
            4 => $$"""
                    { "Sid": "DeviceTopics{{n}}", "Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
                      "Resource": "{{Iot}}:topic/devices/${iot:ClientId}/p{{p}}/s{{n}}/*",
                      "Condition": { "StringLike": { "iot:ClientId": ["sensor-*", "gateway-{{p}}-*"] } } }
                """,
            5 => $$"""
                    { "Sid": "Retained{{n}}", "Effect": "Allow", "Action": "iot:*RetainedMessage*",
                      "Resource": "{{Iot}}:topic/retained/p{{p}}/s{{n}}/*" }
                """,
            6 => $$"""
                    { "Sid": "Connect{{n}}", "Effect": "Allow", "Action": "iot:Connect",
                      "Resource": "{{Iot}}:client/p{{p}}-s{{n}}-*",
                      "Condition": { "ForAllValues:StringEquals": { "iot:ConnectAttributes": ["PersistentConnect", "LastWill"] } } }
                """,
            7 => $$"""
                    { "Sid": "Firmware{{n}}", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
                      "Resource": ["arn:aws:s3:::firmware-{{p}}/${iot:Connection.Thing.ThingName}/*", "arn:aws:s3:::firmware-{{p}}/common/{{n}}/*"] }
                """,
            8 when IsDeny(doc, s) => $$"""
                    { "Sid": "Quarantine{{n}}", "Effect": "Deny", "Action": ["iot:Publish", "iot:Connect"],
                      "Resource": ["{{Iot}}:topic/quarantine/p{{p}}/${iot:ClientId}/*", "{{Iot}}:client/quarantined-{{p}}-{{n}}-*"] }
                """,
            8 => $$"""
                    { "Sid": "Status{{n}}", "Effect": "Allow", "Action": "iot:Publish",
                      "Resource": "{{Iot}}:topic/region/{{p}}/{{n}}/?/status",
                      "Condition": { "IpAddress": { "aws:SourceIp": ["10.{{doc % 250}}.0.0/16", "2001:db8:{{doc % 9999}}::/48"] } } }
                """,
            _ => $$"""
                    { "Sid": "Jobs{{n}}", "Effect": "Allow", "Action": ["iot:DescribeJobExecution", "iot:Get*"],
                      "Resource": "{{Iot}}:thing/p{{p}}-s{{n}}-*",
                      "Condition": { "Bool": { "iot:Connection.Thing.IsAttached": "true" } } }
                """,
        };
    }
}
