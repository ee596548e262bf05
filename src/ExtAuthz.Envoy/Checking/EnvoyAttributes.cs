using System.Net;
using System.Text;
using Envoy.Service.Auth.V3;

namespace ExtAuthz.Envoy.Checking;

/// <summary>An HTTP request's method and raw path, as Envoy forwarded them.</summary>
internal readonly record struct RequestLine(string Method, string Path);

/// <summary>
/// Reads a CheckRequest's attributes as Envoy fills them (docs: the reference's §1): headers from the
/// merged <c>headers</c> map or, with <c>encode_raw_headers</c>, the raw <c>header_map</c>; the client
/// address; the domain the client asked for. Missing parts read as absent, never as an exception.
/// </summary>
internal static class EnvoyAttributes
{
    /// <summary>The request's method and raw path (with the query): Envoy's fields, else the pseudo-headers; empty when absent.</summary>
    public static RequestLine RequestLine(AttributeContext.Types.HttpRequest http) => new(
        !string.IsNullOrEmpty(http.Method) ? http.Method : Header(http, ":method", out _, out _) ?? string.Empty,
        !string.IsNullOrEmpty(http.Path) ? http.Path : Header(http, ":path", out _, out _) ?? string.Empty);

    /// <summary>The one value of a request header; <paramref name="count"/> says how many entries carried it (raw headers are not merged).</summary>
    public static string? Header(AttributeContext.Types.HttpRequest http, string name, out int count, out bool invalidUtf8)
    {
        invalidUtf8 = false;
        if (http.Headers.Count > 0)
        {
            count = http.Headers.TryGetValue(name, out var merged) ? 1 : 0;
            return merged;
        }

        count = 0;
        string? first = null;
        if (http.HeaderMap is null)
        {
            return null;
        }

        foreach (var entry in http.HeaderMap.Headers)
        {
            if (!string.Equals(entry.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            count++;
            if (first is not null)
            {
                continue;
            }

            if (!entry.RawValue.IsEmpty)
            {
                try
                {
                    first = StrictUtf8.GetString(entry.RawValue.Span);
                }
                catch (DecoderFallbackException)
                {
                    invalidUtf8 = true;
                    first = string.Empty;
                }
            }
            else
            {
                first = entry.Value;
            }
        }

        return first;
    }

    /// <summary>The client's IP address (<c>aws:SourceIp</c>), when Envoy gave a socket address.</summary>
    public static string? SourceIp(AttributeContext attributes)
    {
        var address = attributes.Source?.Address?.SocketAddress?.Address;
        if (string.IsNullOrEmpty(address) || !IPAddress.TryParse(address, out var ip))
        {
            return null;
        }

        // Envoy sends the canonical form, which is then kept as it is rather than formatted anew.
        Span<char> canonical = stackalloc char[64];
        return ip.TryFormat(canonical, out var written) && canonical[..written].SequenceEqual(address) ? address : ip.ToString();
    }

    /// <summary>The port of the listener the request arrived on, when Envoy gave a socket address.</summary>
    public static uint? DestinationPort(AttributeContext attributes) =>
        attributes.Destination?.Address?.SocketAddress is { } socket && socket.PortSpecifierCase == global::Envoy.Config.Core.V3.SocketAddress.PortSpecifierOneofCase.PortValue
            ? socket.PortValue
            : null;

    /// <summary>
    /// The domain the client connected to (<c>iot:DomainName</c>): the TLS SNI when Envoy sends the TLS
    /// session, else (network filter) the requested server name Envoy puts in <c>destination.service</c>,
    /// else the HTTP authority without its port.
    /// </summary>
    public static string? DomainName(AttributeContext attributes, AttributeContext.Types.HttpRequest? http)
    {
        if (!string.IsNullOrEmpty(attributes.TlsSession?.Sni))
        {
            return attributes.TlsSession.Sni;
        }

        if (http is null)
        {
            return string.IsNullOrEmpty(attributes.Destination?.Service) ? null : attributes.Destination.Service;
        }

        var authority = !string.IsNullOrEmpty(http.Host) ? http.Host : Header(http, ":authority", out _, out _);
        return HostOf(authority);
    }

    /// <summary>The host part of an authority: <c>iot.example.com:8443</c> → <c>iot.example.com</c>, <c>[::1]:443</c> → <c>::1</c>.</summary>
    public static string? HostOf(string? authority)
    {
        if (string.IsNullOrEmpty(authority))
        {
            return null;
        }

        if (authority[0] == '[')
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            return close > 1 ? authority[1..close] : null;
        }

        var colon = authority.LastIndexOf(':');
        return colon < 0 ? authority : colon == 0 ? null : authority[..colon];
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
