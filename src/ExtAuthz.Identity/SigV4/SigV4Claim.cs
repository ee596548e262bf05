using System.Buffers;
using System.Globalization;

namespace ExtAuthz.Identity.SigV4;

/// <summary>
/// What a SigV4-signed request says about its signature, read from the <c>Authorization</c> header
/// (<c>AWS4-HMAC-SHA256 Credential=AKID/yyyyMMdd/region/service/aws4_request, SignedHeaders=…,
/// Signature=…</c>, dated by <c>x-amz-date</c> or <c>date</c>) or from a presigned URL's query
/// (<c>X-Amz-Algorithm</c>, <c>X-Amz-Credential</c>, <c>X-Amz-Date</c>, <c>X-Amz-SignedHeaders</c>,
/// <c>X-Amz-Signature</c>, optionally <c>X-Amz-Expires</c> and <c>X-Amz-Security-Token</c>), checked
/// for form only. Spans point into the request's strings, or into the caller's buffer for decoded query
/// values, so reading a claim allocates nothing.
/// </summary>
internal ref struct SigV4Claim
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>The longest piece of client input quoted back in a reason.</summary>
    private const int MaxQuoted = 128;

    /// <summary>The longest authentication scheme quoted back (registered schemes are short words).</summary>
    private const int MaxScheme = 32;

    public static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    private static readonly SearchValues<char> Digits = SearchValues.Create("0123456789");

    private static readonly SearchValues<char> UpperCase = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZ");

    /// <summary>The query form (a presigned URL) rather than the Authorization header.</summary>
    public bool Presigned;

    /// <summary>The raw path, before <c>?</c>.</summary>
    public ReadOnlySpan<char> Path;

    /// <summary>The raw query, after <c>?</c>.</summary>
    public ReadOnlySpan<char> Query;

    public ReadOnlySpan<char> AccessKeyId;

    /// <summary>The credential scope, <c>yyyyMMdd/region/service/aws4_request</c>.</summary>
    public ReadOnlySpan<char> Scope;

    public ReadOnlySpan<char> ScopeDate;

    public ReadOnlySpan<char> Region;

    public ReadOnlySpan<char> Service;

    /// <summary>Lower-case names joined by <c>;</c>, sorted, each once, <c>host</c> among them.</summary>
    public ReadOnlySpan<char> SignedHeaders;

    /// <summary>64 hex digits.</summary>
    public ReadOnlySpan<char> Signature;

    /// <summary>The signing time as the string to sign writes it, <c>yyyyMMddTHHmmssZ</c>.</summary>
    public ReadOnlySpan<char> AmzDate;

    /// <summary>The signing time (UTC).</summary>
    public DateTime Date;

    /// <summary>Where the date came from, for reasons: <c>X-Amz-Date</c>, <c>x-amz-date</c> or <c>date</c>.</summary>
    public string DateSource;

    /// <summary>A presigned URL's <c>X-Amz-Expires</c>, in seconds, when it has one.</summary>
    public long? ExpiresSeconds;

    public bool HasSecurityToken;

    public ReadOnlySpan<char> SecurityToken;

    /// <summary>Where percent-decoded query values go (the caller's, so that reading allocates nothing), and how much of it is used.</summary>
    private char[] decoded;

    private int decodedLength;

    /// <summary>Whether the request carries a SigV4 signature of any algorithm: an <c>AWS4-…</c> Authorization header, or <c>X-Amz-Algorithm</c> in the query.</summary>
    public static bool IsPresent(SignedHttpRequest request)
    {
        var headers = request.Headers;
        for (var i = 0; i < headers.Count; i++)
        {
            if (headers[i].Key == "authorization" && headers[i].Value.StartsWith("AWS4-", StringComparison.Ordinal))
            {
                return true;
            }
        }

        var question = request.RawPath.IndexOf('?', StringComparison.Ordinal);
        return question >= 0 && QueryString.Find(request.RawPath.AsSpan(question + 1), "X-Amz-Algorithm", out _) > 0;
    }

    /// <summary>
    /// Reads the claim, or says why there is none (<see cref="IdentityFailure.Missing"/>) or why it is
    /// malformed. Decoded query values are written to <paramref name="decodeBuffer"/>, which must be at
    /// least as long as the request's raw path and outlive the claim.
    /// </summary>
    public static bool TryRead(SignedHttpRequest request, char[] decodeBuffer, out SigV4Claim claim, out IdentityResult failure)
    {
        claim = default;
        claim.DateSource = "";
        claim.decoded = decodeBuffer;
        failure = default;
        var raw = request.RawPath.AsSpan();
        var question = raw.IndexOf('?');
        claim.Path = question < 0 ? raw : raw[..question];
        claim.Query = question < 0 ? [] : raw[(question + 1)..];

        string? first = null;
        string? signed = null;
        var authorizations = 0;
        var headers = request.Headers;
        for (var i = 0; i < headers.Count; i++)
        {
            if (headers[i].Key == "authorization" && headers[i].Value.Length > 0)
            {
                authorizations++;
                first ??= headers[i].Value;
                if (headers[i].Value.StartsWith("AWS4-", StringComparison.Ordinal))
                {
                    signed ??= headers[i].Value;
                }
            }
        }

        var algorithms = QueryString.Find(claim.Query, "X-Amz-Algorithm", out var rawAlgorithm);
        string? error;
        if (signed is null && algorithms == 0)
        {
            failure = IdentityResult.Fail(IdentityFailure.Missing, first is null
                ? "no SigV4 signature: no Authorization header and no X-Amz-Algorithm query parameter"
                : $"no SigV4 signature: the Authorization header's scheme is {QuotableScheme(first) ?? "another"}, not {Algorithm}, and the query has no X-Amz-Algorithm");
            return false;
        }

        if (signed is not null && algorithms > 0)
        {
            error = "the request is signed twice, by an AWS4 Authorization header and by X-Amz-Algorithm in the query; AWS accepts one";
        }
        else if (signed is not null)
        {
            error = authorizations > 1
                ? $"the request has {authorizations} Authorization headers"
                : ReadHeaderForm(request, signed, ref claim);
        }
        else
        {
            claim.Presigned = true;
            error = ReadQueryForm(algorithms, rawAlgorithm, ref claim);
        }

        if (error is not null)
        {
            failure = IdentityResult.Fail(IdentityFailure.Malformed, error, claim.AccessKeyId.IsEmpty ? null : claim.AccessKeyId.ToString());
            return false;
        }

        return true;
    }

    /// <summary>Client input quoted in a reason: cut short, so a reason stays readable whatever was sent.</summary>
    public static string Shorten(ReadOnlySpan<char> text) => text.Length <= MaxQuoted ? text.ToString() : string.Concat(text[..MaxQuoted], "…");

    private static string? ReadHeaderForm(SignedHttpRequest request, string authorization, ref SigV4Claim claim)
    {
        if (!authorization.StartsWith(Algorithm, StringComparison.Ordinal) || authorization.Length == Algorithm.Length || !IsSpace(authorization[Algorithm.Length]))
        {
            var scheme = SchemeOf(authorization);
            return scheme.StartsWith(Algorithm)
                ? $"the Authorization header must be '{Algorithm} Credential=…, SignedHeaders=…, Signature=…'"
                : $"the Authorization header's algorithm {QuotableScheme(authorization) ?? "(unreadable)"} is not supported: only {Algorithm} (SigV4a, AWS4-ECDSA-P256-SHA256, is not)";
        }

        var components = authorization.AsSpan(Algorithm.Length).Trim();
        ReadOnlySpan<char> credential = default, signedHeaders = default, signature = default;
        bool hasCredential = false, hasSignedHeaders = false, hasSignature = false;
        foreach (var range in components.Split(','))
        {
            var component = components[range].Trim();
            var equals = component.IndexOf('=');
            var name = equals < 0 ? component : component[..equals].TrimEnd();
            if (name.StartsWith("AWS4-"))
            {
                return "the request has several Authorization headers (joined with commas)";
            }

            if (equals <= 0)
            {
                return $"'{Shorten(component)}' in the Authorization header is not Name=value";
            }

            var value = component[(equals + 1)..].TrimStart();
            ref var slot = ref credential;
            ref var seen = ref hasCredential;
            if (name is "SignedHeaders")
            {
                slot = ref signedHeaders;
                seen = ref hasSignedHeaders;
            }
            else if (name is "Signature")
            {
                slot = ref signature;
                seen = ref hasSignature;
            }
            else if (name is not "Credential")
            {
                return $"the Authorization header has an unknown component '{Shorten(name)}' (expected Credential, SignedHeaders, Signature)";
            }

            if (seen)
            {
                return $"the Authorization header has {name.ToString()} twice";
            }

            seen = true;
            slot = value;
        }

        var missing = !hasCredential ? "Credential" : !hasSignedHeaders ? "SignedHeaders" : !hasSignature ? "Signature" : null;
        if (missing is not null)
        {
            return $"the Authorization header has no {missing}";
        }

        var error = ReadCredential(credential, ref claim) ?? ReadSignedHeaders(signedHeaders, ref claim) ?? ReadSignature(signature, ref claim);
        if (error is not null)
        {
            return error;
        }

        switch (SingleHeader(request, "x-amz-date", out var amzDate))
        {
            case > 1:
                return "the request has several x-amz-date headers";
            case 1:
                claim.DateSource = "x-amz-date";
                if (!TryParseAmzDate(amzDate, out claim.Date))
                {
                    return $"x-amz-date '{Shorten(amzDate)}' is not a time like 20150830T123600Z";
                }

                claim.AmzDate = amzDate;
                break;
            default:
                // AWS also takes the standard Date header when x-amz-date is absent.
                switch (SingleHeader(request, "date", out var date))
                {
                    case 0:
                        return "the request has neither an x-amz-date nor a date header, so the signature has no time";
                    case > 1:
                        return "the request has several date headers";
                }

                claim.DateSource = "date";
                if (!DateTime.TryParseExact(date, "r", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out claim.Date))
                {
                    return $"the date header '{Shorten(date)}' is not an HTTP date like 'Sun, 30 Aug 2015 12:36:00 GMT'";
                }

                claim.AmzDate = FormatAmzDate(claim.Date);
                break;
        }

        if (!Lists(claim.SignedHeaders, claim.DateSource))
        {
            return $"SignedHeaders must include {claim.DateSource}, the header that dates the request";
        }

        switch (SingleHeader(request, "x-amz-security-token", out var token))
        {
            case > 1:
                return "the request has several x-amz-security-token headers";
            case 1:
                claim.HasSecurityToken = true;
                claim.SecurityToken = token;
                break;
        }

        return null;
    }

    private static string? ReadQueryForm(int algorithms, ReadOnlySpan<char> rawAlgorithm, ref SigV4Claim claim)
    {
        var error = Parameter(ref claim, "X-Amz-Algorithm", algorithms, rawAlgorithm, out var algorithm);
        if (error is not null)
        {
            return error;
        }

        if (!algorithm.SequenceEqual(Algorithm))
        {
            return $"X-Amz-Algorithm {Shorten(algorithm)} is not supported: only {Algorithm} (SigV4a, AWS4-ECDSA-P256-SHA256, is not)";
        }

        error = Required(ref claim, "X-Amz-Credential", out var credential) ?? ReadCredential(credential, ref claim);
        if (error is not null)
        {
            return error;
        }

        error = Required(ref claim, "X-Amz-SignedHeaders", out var signedHeaders) ?? ReadSignedHeaders(signedHeaders, ref claim);
        if (error is not null)
        {
            return error;
        }

        error = Required(ref claim, "X-Amz-Signature", out var signature) ?? ReadSignature(signature, ref claim);
        if (error is not null)
        {
            return error;
        }

        error = Required(ref claim, "X-Amz-Date", out var date);
        if (error is not null)
        {
            return error;
        }

        claim.DateSource = "X-Amz-Date";
        claim.AmzDate = date;
        if (!TryParseAmzDate(date, out claim.Date))
        {
            return $"X-Amz-Date '{Shorten(date)}' is not a time like 20150830T123600Z";
        }

        var count = QueryString.Find(claim.Query, "X-Amz-Expires", out var rawExpires);
        if (count > 0)
        {
            error = Parameter(ref claim, "X-Amz-Expires", count, rawExpires, out var expires);
            if (error is not null)
            {
                return error;
            }

            if (!long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                return $"X-Amz-Expires '{Shorten(expires)}' is not a whole number of seconds";
            }

            claim.ExpiresSeconds = seconds;
        }

        count = QueryString.Find(claim.Query, "X-Amz-Security-Token", out var rawToken);
        if (count > 0)
        {
            error = Parameter(ref claim, "X-Amz-Security-Token", count, rawToken, out var token);
            claim.SecurityToken = token;
            claim.HasSecurityToken = error is null;
        }

        return error;
    }

    private static string? Required(scoped ref SigV4Claim claim, string name, out ReadOnlySpan<char> value)
    {
        var count = QueryString.Find(claim.Query, name, out var raw);
        if (count == 0)
        {
            value = default;
            return $"the presigned URL has no {name}";
        }

        return Parameter(ref claim, name, count, raw, out value);
    }

    /// <summary>The parameter's value, decoded: the raw text itself when it has no escape, else the decoded text in the claim's buffer.</summary>
    private static string? Parameter(scoped ref SigV4Claim claim, string name, int count, ReadOnlySpan<char> raw, out ReadOnlySpan<char> value)
    {
        value = default;
        if (count > 1)
        {
            return $"{name} appears {count} times in the query";
        }

        if (raw.IndexOf('%') < 0)
        {
            value = raw;
            return null;
        }

        if (!QueryString.TryDecode(raw, claim.decoded.AsSpan(claim.decodedLength), out var written))
        {
            return $"{name} has a malformed percent-escape";
        }

        value = claim.decoded.AsSpan(claim.decodedLength, written);
        claim.decodedLength += written;
        return null;
    }

    /// <summary><c>AccessKeyId/yyyyMMdd/region/service/aws4_request</c>.</summary>
    private static string? ReadCredential(ReadOnlySpan<char> credential, ref SigV4Claim claim)
    {
        var slash = credential.IndexOf('/');
        if (slash <= 0)
        {
            return BadCredential(credential);
        }

        claim.AccessKeyId = credential[..slash];
        claim.Scope = credential[(slash + 1)..];
        Span<Range> parts = stackalloc Range[5];
        if (claim.Scope.Split(parts, '/') != 4)
        {
            return BadCredential(credential);
        }

        claim.ScopeDate = claim.Scope[parts[0]];
        claim.Region = claim.Scope[parts[1]];
        claim.Service = claim.Scope[parts[2]];
        var terminator = claim.Scope[parts[3]];
        if (claim.ScopeDate.Length != 8 || claim.ScopeDate.ContainsAnyExcept(Digits) || claim.Region.IsEmpty || claim.Service.IsEmpty)
        {
            return BadCredential(credential);
        }

        return terminator is "aws4_request" ? null : $"the credential scope ends in '{Shorten(terminator)}', not aws4_request";
    }

    private static string BadCredential(ReadOnlySpan<char> credential) =>
        $"the credential '{Shorten(credential)}' is not AccessKeyId/yyyyMMdd/region/service/aws4_request";

    private static string? ReadSignedHeaders(ReadOnlySpan<char> signedHeaders, ref SigV4Claim claim)
    {
        ReadOnlySpan<char> previous = default;
        var host = false;
        foreach (var range in signedHeaders.Split(';'))
        {
            var name = signedHeaders[range];
            if (name.IsEmpty || !IsLowerCaseToken(name))
            {
                return $"SignedHeaders '{Shorten(signedHeaders)}' must be lower-case header names separated by ';'";
            }

            if (!previous.IsEmpty && name.SequenceCompareTo(previous) <= 0)
            {
                return $"SignedHeaders '{Shorten(signedHeaders)}' must list each name once, sorted";
            }

            host |= name is "host";
            previous = name;
        }

        if (!host)
        {
            return $"SignedHeaders '{Shorten(signedHeaders)}' must include host (AWS requires the host header to be signed)";
        }

        claim.SignedHeaders = signedHeaders;
        return null;
    }

    private static string? ReadSignature(ReadOnlySpan<char> signature, ref SigV4Claim claim)
    {
        if (signature.Length != 64 || signature.ContainsAnyExcept(HexDigits))
        {
            return "the signature is not 64 hex digits";
        }

        claim.Signature = signature;
        return null;
    }

    private static bool Lists(ReadOnlySpan<char> signedHeaders, ReadOnlySpan<char> name)
    {
        foreach (var range in signedHeaders.Split(';'))
        {
            if (signedHeaders[range].SequenceEqual(name))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// How many values the header has, and the first. A proxy that joins repeated headers with commas
    /// (Envoy's <c>headers</c> map) makes one entry of several: for headers whose single value never
    /// holds a comma, a comma counts as a second value.
    /// </summary>
    public static int SingleHeader(SignedHttpRequest request, string name, out ReadOnlySpan<char> value)
    {
        value = default;
        var count = 0;
        var headers = request.Headers;
        for (var i = 0; i < headers.Count; i++)
        {
            if (headers[i].Key == name && count++ == 0)
            {
                value = headers[i].Value.AsSpan().Trim();
            }
        }

        if (count == 1 && name != "date" && value.Contains(','))
        {
            count = 2;
        }

        return count;
    }

    private static bool TryParseAmzDate(ReadOnlySpan<char> text, out DateTime date) =>
        DateTime.TryParseExact(text, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out date);

    public static string FormatAmzDate(DateTime date) => date.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    private static ReadOnlySpan<char> SchemeOf(string authorization)
    {
        var span = authorization.AsSpan().TrimStart();
        var space = span.IndexOfAny(' ', '\t');
        return space < 0 ? span : span[..space];
    }

    /// <summary>
    /// The header's scheme, for a reason; null when the value does not start with one (a bare token sent
    /// without a scheme, say), which is not quoted since it may be another kind's credential.
    /// </summary>
    private static string? QuotableScheme(string authorization)
    {
        var scheme = SchemeOf(authorization);
        return scheme.Length <= MaxScheme && IsToken(scheme) && scheme.Length < authorization.Trim().Length ? scheme.ToString() : null;
    }

    private static bool IsSpace(char c) => c is ' ' or '\t';

    /// <summary>An HTTP field name (RFC 9110's token) in lower case.</summary>
    private static bool IsLowerCaseToken(ReadOnlySpan<char> name) => !name.ContainsAny(UpperCase) && IsToken(name);

    /// <summary>RFC 9110's token: what field names and authentication schemes are made of.</summary>
    private static bool IsToken(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!(c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~'))
            {
                return false;
            }
        }

        return true;
    }
}
