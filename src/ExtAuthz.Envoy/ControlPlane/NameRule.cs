using ExtAuthz.Envoy.Routing;

namespace ExtAuthz.Envoy.ControlPlane;

/// <summary>
/// A name AWS IoT constrains: the characters it may hold and its length. The rules are the API
/// reference's patterns (docs/control-plane.md and docs/data-plane.md, "Names"), checked without regular
/// expressions. The control plane's names are listed here; the data plane builds its own (shadow names,
/// job IDs) and shares <see cref="Thing"/>, so both planes word a bad name alike.
/// </summary>
internal sealed class NameRule(string what, int min, int max, string alphabet, Func<char, bool> allowed)
{
    /// <summary><c>[a-zA-Z0-9:_-]</c>, 1–128: thingName.</summary>
    public static readonly NameRule Thing = new("a thing name", 1, 128, "a-z A-Z 0-9 : _ -", RegistryCharacter);

    /// <summary><c>[a-zA-Z0-9:_-]</c>, 1–128: thingTypeName.</summary>
    public static readonly NameRule ThingType = new("a thing type name", 1, 128, "a-z A-Z 0-9 : _ -", RegistryCharacter);

    /// <summary><c>[a-zA-Z0-9:_-]</c>, 1–128: thingGroupName.</summary>
    public static readonly NameRule ThingGroup = new("a thing group name", 1, 128, "a-z A-Z 0-9 : _ -", RegistryCharacter);

    /// <summary><c>[a-zA-Z0-9:_-]</c>, 1–128: billingGroupName.</summary>
    public static readonly NameRule BillingGroup = new("a billing group name", 1, 128, "a-z A-Z 0-9 : _ -", RegistryCharacter);

    /// <summary><c>[\w+=,.@-]</c>, 1–128, <c>\w</c> being ASCII letters, digits and <c>_</c> as in AWS's (Java) patterns: policyName.</summary>
    public static readonly NameRule Policy = new("a policy name", 1, 128, "a-z A-Z 0-9 _ + = , . @ -", PolicyCharacter);

    /// <summary><c>[0-9]+</c>: policyVersionId (AWS documents no maximum length).</summary>
    public static readonly NameRule PolicyVersion = new("a policy version ID", 1, int.MaxValue, "0-9", char.IsAsciiDigit);

    /// <summary><c>[a-zA-Z0-9_]</c>, 1–128: ruleName.</summary>
    public static readonly NameRule Rule = new("a rule name", 1, 128, "a-z A-Z 0-9 _", RuleCharacter);

    /// <summary>
    /// Exactly 64 lowercase hexadecimal digits: certificateId and caCertificateId. Narrower than AWS's
    /// pattern <c>(0x)?[a-fA-F0-9]+</c> on purpose (docs/control-plane.md): AWS issues IDs in lowercase, and
    /// another spelling of the same certificate would be a resource string a policy's ARN does not name.
    /// </summary>
    public static readonly NameRule Certificate = new("a certificate ID", 64, 64, "0-9 a-f", LowercaseHex);

    /// <summary>The same rule, named for CA certificates in reasons.</summary>
    public static readonly NameRule CaCertificate = new("a CA certificate ID", 64, 64, "0-9 a-f", LowercaseHex);

    /// <summary>The reason <paramref name="name"/> breaks the rule (its length, or the first character not allowed and its offset); null when it does not.</summary>
    public string? Error(string name)
    {
        if (name.Length < min || name.Length > max)
        {
            var length = min == max ? $"exactly {min}" : $"{min} to {max}";
            return $"{what} must be {length} characters long, not {name.Length}";
        }

        for (var i = 0; i < name.Length; i++)
        {
            if (!allowed(name[i]))
            {
                return $"{what} may hold only {alphabet}; {RequestPath.Describe(name[i])} at offset {i} is not allowed";
            }
        }

        return null;
    }

    private static bool RegistryCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c is ':' or '_' or '-';

    private static bool PolicyCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '+' or '=' or ',' or '.' or '@' or '-';

    private static bool RuleCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private static bool LowercaseHex(char c) => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f';
}
