namespace ExtAuthz.Identity.SigV4;

/// <summary>
/// The parts of an HTTP request that a SigV4 signature covers, as a proxy saw them; nothing here is
/// specific to Envoy, the transport fills it in.
/// </summary>
/// <param name="Method">The request method, as sent (<c>GET</c>, <c>POST</c>, …).</param>
/// <param name="RawPath">
/// The request target as received (<c>:path</c>): the path, then <c>?</c> and the query when there is one;
/// percent-escapes left as they are, since the signature covers the encoded form.
/// </param>
/// <param name="Host">The <c>:authority</c> (the <c>Host</c> header), port included when the client sent one.</param>
/// <param name="Headers">
/// The request headers with lower-case names. A header sent several times is either one entry with the
/// values joined by commas (Envoy's <c>headers</c> map) or one entry per value, in order (Envoy's
/// <c>header_map</c>); both canonicalise alike. Other entries, such as pseudo-headers, are ignored
/// unless signed.
/// </param>
/// <param name="Body">The request body, or null when the proxy did not buffer it (then it is taken as empty, unless the headers say there is one).</param>
public sealed record SignedHttpRequest(
    string Method,
    string RawPath,
    string Host,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    ReadOnlyMemory<byte>? Body);
