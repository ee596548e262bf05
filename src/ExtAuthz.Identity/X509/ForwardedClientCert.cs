using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ExtAuthz.Identity.X509;

/// <summary>The outcome of <see cref="ForwardedClientCert.Parse"/>: the elements, or why the header is malformed.</summary>
public readonly record struct ForwardedClientCertParsing(IReadOnlyList<ForwardedClientCert>? Elements, string? Error)
{
    public bool Succeeded => Elements is not null;
}

/// <summary>
/// One element of Envoy's <c>x-forwarded-client-cert</c> header: what one proxy says about the client
/// certificate it saw. The header is elements separated by <c>,</c>; an element is <c>key=value</c>
/// pairs separated by <c>;</c>; keys (case-insensitive) are <c>By</c>, <c>Hash</c>, <c>Cert</c>,
/// <c>Chain</c>, <c>Subject</c>, <c>URI</c>, <c>DNS</c>; a value holding <c>, ; =</c> is double-quoted.
/// Envoy (<c>mutateXfccRequestHeader</c>) writes, in this order: <c>By=</c> per local URI SAN,
/// <c>Hash=</c> (always: lowercase hex SHA-256 of the DER), <c>Cert="…"</c> and <c>Chain="…"</c>
/// (URL-encoded PEM), <c>Subject="…"</c> (RFC 2253, present even when empty), <c>URI=</c> per URI SAN
/// (<c>URI=</c> when none), <c>DNS=</c> per DNS SAN; with <c>SANITIZE_SET</c> the header is exactly one
/// such element. Envoy does not escape inside the quotes (its RFC 2253 subject already writes
/// <c>"</c> as <c>\"</c> and <c>\</c> as <c>\\</c>), so a quoted value is kept verbatim: a backslash
/// only keeps the next character from closing the quotes.
/// </summary>
public sealed class ForwardedClientCert
{
    /// <summary>The longest header accepted (a certificate, its chain and names fit well within it).</summary>
    public const int MaxHeaderLength = 128 * 1024;

    private static readonly string[] Keys = ["By", "Hash", "Cert", "Chain", "Subject", "URI", "DNS"];

    /// <summary>The proxy's own URI SANs.</summary>
    public IReadOnlyList<string> By { get; init; } = [];

    /// <summary>Lowercase hex SHA-256 of the client certificate's DER, as written.</summary>
    public string? Hash { get; init; }

    /// <summary>The client certificate, URL-encoded PEM.</summary>
    public string? Cert { get; init; }

    /// <summary>The client's chain, URL-encoded PEM.</summary>
    public string? Chain { get; init; }

    /// <summary>The client certificate's subject (RFC 2253), verbatim.</summary>
    public string? Subject { get; init; }

    public IReadOnlyList<string> Uri { get; init; } = [];

    public IReadOnlyList<string> Dns { get; init; } = [];

    /// <summary>Parses the header strictly; never throws.</summary>
    public static ForwardedClientCertParsing Parse(string? header)
    {
        if (string.IsNullOrEmpty(header))
        {
            return new(null, "the x-forwarded-client-cert header is empty");
        }

        if (header.Length > MaxHeaderLength)
        {
            return new(null, $"the x-forwarded-client-cert header is {header.Length} characters long; at most {MaxHeaderLength} are accepted");
        }

        var elements = new List<ForwardedClientCert>();
        var builder = new ElementBuilder();
        var position = 0;
        while (true)
        {
            var keyStart = position;
            while (position < header.Length && header[position] is not ('=' or ';' or ',' or '"'))
            {
                position++;
            }

            if (position == keyStart && (position == header.Length || header[position] is ';' or ','))
            {
                return Fail(elements.Count, $"an empty key=value pair at offset {keyStart}");
            }

            if (position == header.Length || header[position] != '=')
            {
                var what = position == header.Length ? "the end of the header" : $"'{header[position]}' at offset {position}";
                return Fail(elements.Count, $"expected key=value but found {what} after '{Excerpt(header, keyStart, position)}'");
            }

            var key = header.AsSpan(keyStart, position - keyStart);
            var known = KeyIndex(key);
            if (known < 0)
            {
                return Fail(elements.Count, key.IsEmpty ? $"empty key at offset {keyStart}" : $"unknown key '{Excerpt(header, keyStart, position)}' (Envoy writes By, Hash, Cert, Chain, Subject, URI, DNS)");
            }

            position++;
            string value;
            if (position < header.Length && header[position] == '"')
            {
                var open = position++;
                var valueStart = position;
                while (position < header.Length && header[position] != '"')
                {
                    position += header[position] == '\\' ? 2 : 1;
                }

                if (position >= header.Length)
                {
                    return Fail(elements.Count, $"the quoted value of {Keys[known]} opened at offset {open} is never closed");
                }

                value = header[valueStart..position];
                position++;
                if (position < header.Length && header[position] is not (';' or ','))
                {
                    return Fail(elements.Count, $"'{header[position]}' at offset {position} follows the quoted value of {Keys[known]}; expected ';' or ','");
                }
            }
            else
            {
                var valueStart = position;
                while (position < header.Length && header[position] is not (';' or ','))
                {
                    if (header[position] == '"')
                    {
                        return Fail(elements.Count, $"a '\"' at offset {position} inside the unquoted value of {Keys[known]}");
                    }

                    position++;
                }

                value = header[valueStart..position];
            }

            if (builder.Add(known, value) is { } duplicate)
            {
                return Fail(elements.Count, duplicate);
            }

            if (position == header.Length)
            {
                elements.Add(builder.Build());
                return new(elements, null);
            }

            if (header[position] == ',')
            {
                elements.Add(builder.Build());
                builder = new ElementBuilder();
            }

            position++;
            if (position == header.Length)
            {
                return Fail(elements.Count, $"the header ends with '{header[^1]}'");
            }
        }
    }

    /// <summary>
    /// The element Envoy's <c>SANITIZE_SET</c> writes for <paramref name="certificate"/> with
    /// <c>set_current_client_cert_details</c> { cert, chain, subject, uri, dns } as given.
    /// </summary>
    public static string Format(X509Certificate2 certificate, bool cert = true, bool subject = true, bool uri = true, bool dns = true,
        IEnumerable<string>? by = null, IEnumerable<X509Certificate2>? chain = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var parts = new List<string>();
        parts.AddRange((by ?? []).Select(b => "By=" + b));
        parts.Add("Hash=" + Convert.ToHexStringLower(SHA256.HashData(certificate.RawData)));
        if (cert)
        {
            parts.Add($"Cert=\"{EnvoyCertificate.Encode(certificate)}\"");
        }

        if (chain is not null)
        {
            var pem = new StringBuilder();
            foreach (var link in chain)
            {
                pem.Append(EnvoyCertificate.ToPem(link.RawData));
            }

            parts.Add($"Chain=\"{EnvoyCertificate.UrlEncode(pem.ToString())}\"");
        }

        if (subject)
        {
            parts.Add($"Subject=\"{OpenSslSubject.Subject(certificate)}\"");
        }

        if (uri)
        {
            var sans = EnvoyPrincipal.UriSans(certificate);
            parts.AddRange(sans.Count == 0 ? ["URI="] : sans.Select(s => "URI=" + s));
        }

        if (dns)
        {
            parts.AddRange(EnvoyPrincipal.DnsSans(certificate).Select(s => "DNS=" + s));
        }

        return string.Join(';', parts);
    }

    private static int KeyIndex(ReadOnlySpan<char> key)
    {
        for (var i = 0; i < Keys.Length; i++)
        {
            if (key.Equals(Keys[i], StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }

    private static ForwardedClientCertParsing Fail(int element, string reason) =>
        new(null, $"malformed x-forwarded-client-cert (element {element + 1}): {reason}");

    private static string Excerpt(string header, int start, int end)
    {
        var text = header[start..Math.Min(end, start + 40)];
        var clean = new string(text.Select(c => c is >= ' ' and < '\x7f' ? c : '?').ToArray());
        return end - start > 40 ? clean + "…" : clean;
    }

    private sealed class ElementBuilder
    {
        private readonly List<string> by = [];
        private readonly List<string> uri = [];
        private readonly List<string> dns = [];
        private string? hash;
        private string? cert;
        private string? chain;
        private string? subject;

        /// <summary>Adds a value; By, URI and DNS repeat, the others appear at most once (else the reason).</summary>
        public string? Add(int key, string value)
        {
            switch (key)
            {
                case 0:
                    by.Add(value);
                    return null;
                case 5:
                    uri.Add(value);
                    return null;
                case 6:
                    dns.Add(value);
                    return null;
            }

            var existing = key switch
            {
                1 => hash,
                2 => cert,
                3 => chain,
                _ => subject,
            };
            if (existing is not null)
            {
                return $"{Keys[key]} appears twice in one element";
            }

            switch (key)
            {
                case 1:
                    hash = value;
                    break;
                case 2:
                    cert = value;
                    break;
                case 3:
                    chain = value;
                    break;
                default:
                    subject = value;
                    break;
            }

            return null;
        }

        public ForwardedClientCert Build() => new()
        {
            By = by,
            Hash = hash,
            Cert = cert,
            Chain = chain,
            Subject = subject,
            Uri = uri,
            Dns = dns,
        };
    }
}
