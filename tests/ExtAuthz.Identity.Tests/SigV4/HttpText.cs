using System.Text;
using ExtAuthz.Identity.SigV4;

namespace ExtAuthz.Identity.Tests.SigV4;

/// <summary>Requests for the verifier, shaped as Envoy passes them on.</summary>
internal static class HttpText
{
    /// <summary>
    /// HTTP/1.1 request text (request line, headers, blank line, body) as Envoy would describe it: names
    /// lower-cased, values trimmed of surrounding spaces as its codec does, <c>Host</c> as the
    /// <c>:authority</c>, and a repeated header either one entry per value (<c>header_map</c>) or one
    /// entry with the values joined by commas (<c>headers</c>, when <paramref name="joinRepeated"/>).
    /// </summary>
    public static SignedHttpRequest Parse(string text, bool joinRepeated = false)
    {
        var lines = text.Split('\n');
        var requestLine = lines[0];
        var method = requestLine[..requestLine.IndexOf(' ', StringComparison.Ordinal)];
        var target = requestLine[(method.Length + 1)..requestLine.LastIndexOf(' ')];
        var headers = new List<KeyValuePair<string, string>>();
        var line = 1;
        for (; line < lines.Length && lines[line].Length > 0; line++)
        {
            if (lines[line][0] is ' ' or '\t')
            {
                // An obsolete folded line continues the header before it.
                var last = headers[^1];
                headers[^1] = new(last.Key, last.Value + "\n" + lines[line]);
                continue;
            }

            var colon = lines[line].IndexOf(':', StringComparison.Ordinal);
            headers.Add(new(lines[line][..colon].ToLowerInvariant(), lines[line][(colon + 1)..].Trim(' ', '\t')));
        }

        var body = line + 1 < lines.Length ? Encoding.UTF8.GetBytes(string.Join('\n', lines[(line + 1)..])) : null;
        return Shape(method, target, headers, body, joinRepeated);
    }

    /// <summary>
    /// A request as Envoy passes it on: <c>host</c> becomes the authority (Envoy keeps it as
    /// <c>:authority</c> only), the pseudo-headers and the headers Envoy adds are there too, and a
    /// repeated header is joined by commas when <paramref name="joinRepeated"/>.
    /// </summary>
    public static SignedHttpRequest Shape(string method, string target, IEnumerable<KeyValuePair<string, string>> headers, byte[]? body, bool joinRepeated)
    {
        var list = headers.ToList();
        var host = list.Single(h => h.Key == "host").Value;
        list.RemoveAll(h => h.Key == "host");
        if (joinRepeated)
        {
            list = list.GroupBy(h => h.Key, StringComparer.Ordinal)
                .Select(g => new KeyValuePair<string, string>(g.Key, string.Join(',', g.Select(h => h.Value))))
                .ToList();
        }

        list.InsertRange(0, [new(":authority", host), new(":method", method), new(":path", target), new(":scheme", "https")]);
        list.Add(new("x-forwarded-proto", "https"));
        list.Add(new("x-request-id", "2f2b2c5e-7d4a-4b8e-9c55-0f4a7c1d9e21"));
        return new SignedHttpRequest(method, target, host, list, body);
    }

    /// <summary>The request with its headers changed by <paramref name="change"/>.</summary>
    public static SignedHttpRequest WithHeaders(this SignedHttpRequest request, Func<List<KeyValuePair<string, string>>, IEnumerable<KeyValuePair<string, string>>> change) =>
        request with { Headers = change(request.Headers.ToList()).ToList() };

    /// <summary>The request with header <paramref name="name"/>'s value(s) replaced by <paramref name="value"/>.</summary>
    public static SignedHttpRequest WithHeader(this SignedHttpRequest request, string name, string value) =>
        request.WithHeaders(h => h.Where(x => x.Key != name).Append(new(name, value)));

    public static SignedHttpRequest WithoutHeader(this SignedHttpRequest request, string name) =>
        request.WithHeaders(h => h.Where(x => x.Key != name));

    public static string Header(this SignedHttpRequest request, string name) => request.Headers.Single(h => h.Key == name).Value;
}
