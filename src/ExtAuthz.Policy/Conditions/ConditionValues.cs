using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ExtAuthz.Policy.Matching;

namespace ExtAuthz.Policy.Conditions;

/// <summary>
/// The compiled values of one condition key. <see cref="MatchesAny"/> answers the positive question
/// ("does this request value match at least one policy value?"); negation and set qualifiers are
/// applied by <see cref="Condition"/>.
/// </summary>
internal abstract class ConditionValues
{
    /// <summary>Variables used in the values, for unresolved checks and missing-value reports.</summary>
    public virtual IEnumerable<Part> Variables => [];

    public abstract bool MatchesAny(string requestValue, IRequestContext context);

    /// <summary>True when some value names a variable the context cannot supply.</summary>
    public bool HasUnresolved(IRequestContext context)
    {
        foreach (var variable in Variables)
        {
            if (Template.Resolve(variable, context) is null)
            {
                return true;
            }
        }

        return false;
    }
}

internal sealed class StringValues(Template[] values, bool ignoreCase) : ConditionValues
{
    private readonly Part[] variables = values.SelectMany(v => v.Variables).ToArray();

    public override IEnumerable<Part> Variables => variables;

    public override bool MatchesAny(string requestValue, IRequestContext context)
    {
        foreach (var value in values)
        {
            if (value.Match(requestValue, context, ignoreCase, detectUnresolved: false) == MatchOutcome.Match)
            {
                return true;
            }
        }

        return false;
    }
}

internal sealed class ArnValues(ArnPattern[] values) : ConditionValues
{
    private readonly Part[] variables = values.SelectMany(v => v.Variables).ToArray();

    public override IEnumerable<Part> Variables => variables;

    public override bool MatchesAny(string requestValue, IRequestContext context)
    {
        var arn = new ArnView(requestValue);
        foreach (var value in values)
        {
            if (value.Match(arn, context, detectUnresolved: false) == MatchOutcome.Match)
            {
                return true;
            }
        }

        return false;
    }
}

internal sealed class BoolValues(Template[] values) : ConditionValues
{
    private readonly Part[] variables = values.SelectMany(v => v.Variables).ToArray();

    public override IEnumerable<Part> Variables => variables;

    public override bool MatchesAny(string requestValue, IRequestContext context)
    {
        if (!requestValue.Equals("true", StringComparison.OrdinalIgnoreCase) && !requestValue.Equals("false", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        foreach (var value in values)
        {
            if (value.Match(requestValue, context, ignoreCase: true, detectUnresolved: false) == MatchOutcome.Match)
            {
                return true;
            }
        }

        return false;
    }
}

internal sealed class NumericValues(decimal[] values, Comparison comparison) : ConditionValues
{
    public static bool TryParse(ReadOnlySpan<char> text, out decimal value) =>
        decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out value);

    public override bool MatchesAny(string requestValue, IRequestContext context)
    {
        if (!TryParse(requestValue, out var number))
        {
            return false;
        }

        foreach (var value in values)
        {
            if (comparison.Holds(number.CompareTo(value)))
            {
                return true;
            }
        }

        return false;
    }
}

internal sealed class DateValues(long[] utcTicks, Comparison comparison) : ConditionValues
{
    /// <summary>W3C/ISO 8601 dates and times, or epoch seconds, as IAM accepts them.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out long utcTicks)
    {
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var epochSeconds)
            && epochSeconds > -62135596800L && epochSeconds < 253402300800L)
        {
            utcTicks = DateTimeOffset.FromUnixTimeSeconds(epochSeconds).UtcTicks;
            return true;
        }

        // ISO 8601 starts with a four-digit year and a dash; other shapes (1/2/2020) are ambiguous and refused.
        if (text.Length >= 10 && char.IsAsciiDigit(text[0]) && char.IsAsciiDigit(text[3]) && text[4] == '-'
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var date))
        {
            utcTicks = date.UtcTicks;
            return true;
        }

        utcTicks = 0;
        return false;
    }

    public override bool MatchesAny(string requestValue, IRequestContext context)
    {
        if (!TryParse(requestValue, out var ticks))
        {
            return false;
        }

        foreach (var value in utcTicks)
        {
            if (comparison.Holds(ticks.CompareTo(value)))
            {
                return true;
            }
        }

        return false;
    }
}

internal sealed class BinaryValues(byte[][] values) : ConditionValues
{
    public override bool MatchesAny(string requestValue, IRequestContext context)
    {
        var rented = ArrayPool<byte>.Shared.Rent(requestValue.Length);
        try
        {
            if (!Convert.TryFromBase64String(requestValue, rented, out var written))
            {
                return false;
            }

            foreach (var value in values)
            {
                if (rented.AsSpan(0, written).SequenceEqual(value))
                {
                    return true;
                }
            }

            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}

/// <summary>IPv4 and IPv6 CIDR blocks; a bare address is a /32 or /128. IPv4-mapped IPv6 addresses match IPv4 blocks.</summary>
internal sealed class IpValues(IpValues.Block[] blocks) : ConditionValues
{
    internal readonly record struct Block(byte[] Network, int PrefixLength);

    public static bool TryParseBlock(string text, out Block block)
    {
        block = default;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var addressText = slash < 0 ? text.AsSpan() : text.AsSpan(0, slash);
        // IPAddress.TryParse also takes shorthand such as "10" (= 0.0.0.10); a policy must spell out all four octets.
        var looksLikeIpv6 = addressText.Contains(':');
        if (!looksLikeIpv6 && addressText.Count('.') != 3)
        {
            return false;
        }

        if (!IPAddress.TryParse(addressText, out var address) || address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0)
        {
            return false;
        }

        var bytes = address.GetAddressBytes();
        var prefix = bytes.Length * 8;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > bytes.Length * 8))
        {
            return false;
        }

        // Requests compare IPv4-mapped IPv6 addresses as IPv4, so a mapped block becomes the IPv4 block it covers.
        if (address.IsIPv4MappedToIPv6 && prefix >= 96)
        {
            bytes = address.MapToIPv4().GetAddressBytes();
            prefix -= 96;
        }

        block = new Block(Mask(bytes, prefix), prefix);
        return true;
    }

    public override bool MatchesAny(string requestValue, IRequestContext context)
    {
        if (!IPAddress.TryParse(requestValue, out var address))
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out var length))
        {
            return false;
        }

        bytes = bytes[..length];
        foreach (var block in blocks)
        {
            if (block.Network.Length == length && InBlock(bytes, block))
            {
                return true;
            }
        }

        return false;
    }

    private static bool InBlock(ReadOnlySpan<byte> address, Block block)
    {
        var full = block.PrefixLength / 8;
        if (!address[..full].SequenceEqual(block.Network.AsSpan(0, full)))
        {
            return false;
        }

        var rest = block.PrefixLength % 8;
        if (rest == 0)
        {
            return true;
        }

        var mask = (byte)(0xFF << (8 - rest));
        return (address[full] & mask) == block.Network[full];
    }

    private static byte[] Mask(byte[] bytes, int prefix)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            var bits = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - bits));
        }

        return bytes;
    }
}

/// <summary><c>Null</c>: "true" holds when the key is absent, "false" when it is present.</summary>
internal sealed class NullValues(bool[] expectAbsent) : ConditionValues
{
    public bool Holds(bool present)
    {
        foreach (var absent in expectAbsent)
        {
            if (absent != present)
            {
                return true;
            }
        }

        return false;
    }

    public override bool MatchesAny(string requestValue, IRequestContext context) => Holds(present: true);
}
