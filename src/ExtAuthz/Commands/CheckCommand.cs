using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Envoy.Config.Core.V3;
using Envoy.Service.Auth.V3;
using ExtAuthz.Envoy;
using ExtAuthz.Envoy.Simulation;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace ExtAuthz.Commands;

/// <summary>
/// <c>extauthz check</c>: builds the CheckRequest Envoy would send for a connection or request
/// (<see cref="EnvoyCheckRequest"/>) and asks a running Check service, as Envoy would: gRPC over h2c.
/// </summary>
internal static class CheckCommand
{
    public const string Help = """
        extauthz check [--server HOST:PORT | --unix-socket PATH] [--cert FILE]
                       [--network | --websocket] [--method METHOD] [--path PATH] [--port 8883|443|8443]
                       [--header 'NAME: VALUE' ...] [--body TEXT|@FILE] [--max-request-bytes N]
                       [--sni NAME] [--source IP[:PORT]] [--plane data|control] [--xfcc] [--http2]
                       [--format human|json] [--print-request] [--timeout SECONDS]

        Builds the CheckRequest Envoy's ext_authz filter sends for a TLS connection or request and calls
        envoy.service.auth.v3.Authorization/Check with it, as Envoy does (gRPC over h2c), then prints
        the answer. Example:

          extauthz check --server 127.0.0.1:9191 --cert device.pem --method POST --path /topics/a/b

        What is checked:
          (default)          an HTTP request on 8443 (--port 443 for the other HTTPS listener):
                             --method (default GET), --path (default /, raw, with its query string)
          --websocket        an MQTT-over-WebSocket upgrade: GET --path (default /mqtt) with upgrade,
                             connection and sec-websocket-* headers; never a body
          --network          a connection to the MQTT listener (8883), as the network filter checks it:
                             addresses, certificate and SNI only, no HTTP request

        The connection and request:
          --cert FILE        the client certificate (PEM; the first CERTIFICATE block is used). It sets
                             source.principal (URI SAN, else DNS SAN, else the RFC 2253 subject) and
                             source.certificate (Envoy's URL-encoded PEM). Without it: no certificate.
          --xfcc             send the certificate in x-forwarded-client-cert, as Envoy writes it with
                             forward_client_cert_details: SANITIZE_SET (Hash, Cert, Subject, URI, DNS),
                             instead of source.certificate; adds the context extension xfcc: trusted
          --header 'NAME: VALUE'
                             a request header (repeatable; repeated names are joined with ',' as
                             Envoy does; 'Host: NAME' sets the authority)
          --body TEXT|@FILE  a request body (text, or the bytes of FILE); adds content-length
          --max-request-bytes N
                             Envoy's with_request_body.max_request_bytes (default 8192), with
                             pack_as_bytes: true (the body arrives as raw_body) and
                             allow_partial_message: false (a longer body is answered 413 by Envoy
                             itself: no Check); 0: no with_request_body, the body is not sent
          --sni NAME         the TLS server name: the network form's destination.service, and the
                             default host (NAME:PORT, NAME alone on 443); default host: 127.0.0.1:PORT
          --source IP[:PORT] the client's address (default 127.0.0.1 and an ephemeral port)
          --port P           the listener: 8883 (--network only), 443 or 8443 (HTTP, default 8443);
                             sent as destination.address and as the context extension port
          --plane P          the context extension plane (data or control), as the route sets it
          --http2            an HTTP/2 client (protocol HTTP/2); default HTTP/1.1

        The rest is Envoy's defaults: include_peer_certificate: true, no include_tls_session,
        use_remote_address: false (x-forwarded-proto: https and an x-request-id are added, no
        x-forwarded-for), no internal_address_config (no x-envoy-internal).

        The call and its answer:
          --server HOST:PORT the Check service (default 127.0.0.1:9191, extauthz serve's default)
          --unix-socket PATH reach the service on a Unix domain socket instead
          --timeout SECONDS  the call's deadline (default 5)
          --format human     (default) the decision, the rpc status code and message, and what Envoy
                             does with the answer: the HTTP status and headers and body of a denial;
                             the headers set, removed and added, and query changes, of an allow; the
                             dynamic metadata
          --format json      the CheckResponse as protobuf JSON
          --print-request    print the CheckRequest (protobuf JSON) and exit without calling: exactly
                             what Envoy would send

        Exit status: 0 when the request is allowed (or with --print-request); 1 when it is denied;
        2 when an input is unusable (the certificate or body file, a request Envoy would refuse itself)
        or the call fails (the service cannot be reached, no answer in time, a gRPC error);
        64 on a command-line error.
        """;

    private const string Name = "extauthz check";
    private const int DefaultMaxRequestBytes = 8192;

    private static readonly JsonFormatter IndentedJson = new(JsonFormatter.Settings.Default.WithIndentation()
        .WithTypeRegistry(TypeRegistry.FromFiles(Google.Rpc.ErrorDetailsReflection.Descriptor, StructReflection.Descriptor, WrappersReflection.Descriptor)));

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var (options, exit) = await CommandLine.ParseAsync(args, Name, Help, Options.Parse, stdout, stderr).ConfigureAwait(false);
        if (options is null)
        {
            return exit;
        }

        CheckRequest request;
        try
        {
            using var certificate = options.CertificateFile is null ? null : ReadCertificate(options.CertificateFile);
            request = BuildRequest(options, certificate);
        }
        catch (BadInputException ex)
        {
            await stderr.WriteLineAsync($"{Name}: {ex.Message}").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }

        if (options.PrintRequest)
        {
            await stdout.WriteLineAsync(IndentedJson.Format(request)).ConfigureAwait(false);
            return Cli.ExitOk;
        }

        if (options.UnixSocket is { } socketPath && !File.Exists(socketPath))
        {
            await stderr.WriteLineAsync($"{Name}: cannot reach the Check service: there is no socket at {socketPath}").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }

        CheckResponse response;
        try
        {
            response = await CallAsync(options, request).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            await stderr.WriteLineAsync($"{Name}: {CallFailure(options, ex)}").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }

        var allowed = (response.Status?.Code ?? 0) == 0;
        await stdout.WriteLineAsync(options.Format == "json" ? IndentedJson.Format(response) : Describe(response, options.Form)).ConfigureAwait(false);
        return allowed ? Cli.ExitOk : 1;
    }

    private static CheckRequest BuildRequest(Options options, X509Certificate2? certificate)
    {
        try
        {
            var builder = options.Form switch
            {
                EnvoyCheckForm.Network => EnvoyCheckRequest.Network(),
                EnvoyCheckForm.WebSocket => EnvoyCheckRequest.WebSocket(options.Path ?? "/mqtt"),
                _ => EnvoyCheckRequest.Http(options.Method ?? "GET", options.Path ?? "/"),
            };
            builder.WithClientCertificate(certificate).WithSni(options.Sni);
            if (options.Port is { } port)
            {
                builder.WithListenerPort(port);
            }

            if (options.Source is { } source)
            {
                builder.WithSource(source.Port == 0 ? new IPEndPoint(source.Address, builder.Source.Port) : source);
            }

            if (options.Form == EnvoyCheckForm.Network)
            {
                return builder.Build();
            }

            foreach (var (name, value) in options.Headers)
            {
                builder.WithHeader(name, value);
            }

            if (options.Body is { } body)
            {
                builder.WithBody(body.StartsWith('@') ? ReadBody(body[1..]) : System.Text.Encoding.UTF8.GetBytes(body));
            }

            if (options.MaxRequestBytes > 0)
            {
                builder.WithRequestBody(options.MaxRequestBytes, allowPartialMessage: false, packAsBytes: true);
            }

            if (options.Plane is { } plane)
            {
                builder.WithContextExtension(ContextExtensionKeys.Plane, plane);
            }

            if (options.Xfcc)
            {
                builder.ForwardClientCert(ForwardClientCertDetails.SanitizeSet).IncludePeerCertificate(false);
            }

            return builder.WithProtocol(options.Http2 ? EnvoyHttpProtocol.Http2 : EnvoyHttpProtocol.Http11).Build();
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            throw new BadInputException(ex.Message);
        }
    }

    private static byte[] ReadBody(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException($"cannot read the body file {path}: {ex.Message}");
        }
    }

    /// <summary>The first CERTIFICATE block of a PEM file, parsed.</summary>
    private static X509Certificate2 ReadCertificate(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new BadInputException($"cannot read the certificate file {path}: {ex.Message}");
        }

        var rest = text.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            if (rest[fields.Label].SequenceEqual("CERTIFICATE"))
            {
                var der = Convert.FromBase64String(rest[fields.Base64Data].ToString());
                try
                {
                    return X509CertificateLoader.LoadCertificate(der);
                }
                catch (CryptographicException ex)
                {
                    throw new BadInputException($"{path}: its CERTIFICATE block is not an X.509 certificate: {ex.Message}");
                }
            }

            rest = rest[fields.Location.End.Value..];
        }

        throw new BadInputException($"{path} holds no PEM certificate: expected a '-----BEGIN CERTIFICATE-----' block with valid base-64 " +
            "(for a DER file: openssl x509 -inform der -in FILE -out FILE.pem)");
    }

    private static async Task<CheckResponse> CallAsync(Options options, CheckRequest request)
    {
        var handler = new SocketsHttpHandler { ConnectTimeout = options.Timeout };
        if (options.UnixSocket is { } socketPath)
        {
            handler.ConnectCallback = async (_, cancellation) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellation).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }

        // A Unix socket has no authority; gRPC still needs an http:// address to name the call.
        using var channel = GrpcChannel.ForAddress(options.UnixSocket is null ? $"http://{options.Server}" : "http://localhost",
            new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        var client = new global::Envoy.Service.Auth.V3.Authorization.AuthorizationClient(channel);
        return await client.CheckAsync(request, deadline: DateTime.UtcNow.Add(options.Timeout)).ResponseAsync.ConfigureAwait(false);
    }

    private static string CallFailure(Options options, RpcException ex)
    {
        var target = options.UnixSocket is { } socketPath ? $"unix:{socketPath}" : options.Server;
        return ex.StatusCode switch
        {
            StatusCode.Unavailable => $"cannot reach the Check service at {target}: {Cause(ex)}",
            StatusCode.DeadlineExceeded => $"no answer from the Check service at {target} within {options.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s",
            _ => $"the Check call to {target} failed with gRPC status {ex.StatusCode}: {ex.Status.Detail} " +
                "(Envoy counts a failed call as an error: it answers status_on_error, 403 by default, unless failure_mode_allow is set)",
        };
    }

    /// <summary>The root cause of a failed call ("Connection refused"), which gRPC's own detail only summarises.</summary>
    private static string Cause(RpcException ex)
    {
        var cause = ex.Status.DebugException;
        while (cause?.InnerException is not null)
        {
            cause = cause.InnerException;
        }

        return cause is null ? ex.Status.Detail : $"{cause.Message} ({ex.Status.Detail})";
    }

    /// <summary>The answer in words: the decision, and what Envoy does with it.</summary>
    private static string Describe(CheckResponse response, EnvoyCheckForm form)
    {
        var text = new System.Text.StringBuilder();
        var code = response.Status?.Code ?? 0;
        var allowed = code == 0;
        text.Append(allowed ? "ALLOWED" : "DENIED").Append(" (rpc status ").Append(code.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(CodeName(code));
        if (response.Status is null)
        {
            text.Append(", no status: Envoy reads that as OK");
        }
        else if (response.Status.Message.Length > 0)
        {
            text.Append(": ").Append(response.Status.Message);
        }

        text.AppendLine(")");
        if (form == EnvoyCheckForm.Network)
        {
            text.AppendLine(allowed ? "  Envoy lets the connection through" : "  Envoy closes the connection");
        }
        else if (allowed)
        {
            DescribeAllow(text, response.OkResponse);
        }
        else
        {
            DescribeDenial(text, response.DeniedResponse);
        }

        // Envoy stores the metadata under the filter's namespace; the deprecated ok_response copy, which
        // Envoy still reads, wins when present.
#pragma warning disable CS0612
        var metadata = response.OkResponse?.DynamicMetadata ?? response.DynamicMetadata;
#pragma warning restore CS0612
        if (metadata is not null && metadata.Fields.Count > 0)
        {
            var filterName = form == EnvoyCheckForm.Network ? "envoy.filters.network.ext_authz" : "envoy.filters.http.ext_authz";
            text.Append("  dynamic metadata (").Append(filterName).Append("): ").AppendLine(JsonFormatter.Default.Format(metadata));
        }

        return text.ToString().TrimEnd('\n');
    }

    private static void DescribeAllow(System.Text.StringBuilder text, OkHttpResponse? ok)
    {
        if (ok is null)
        {
            return;
        }

        HeaderLines(text, "headers set on the request", ok.Headers);
        if (ok.HeadersToRemove.Count > 0)
        {
            text.Append("  headers removed from the request: ").AppendLine(string.Join(", ", ok.HeadersToRemove));
        }

        HeaderLines(text, "headers added to the response", ok.ResponseHeadersToAdd);
        if (ok.QueryParametersToSet.Count > 0)
        {
            text.Append("  query parameters set: ").AppendLine(string.Join("&", ok.QueryParametersToSet.Select(p => $"{p.Key}={p.Value}")));
        }

        if (ok.QueryParametersToRemove.Count > 0)
        {
            text.Append("  query parameters removed: ").AppendLine(string.Join(", ", ok.QueryParametersToRemove));
        }
    }

    private static void DescribeDenial(System.Text.StringBuilder text, DeniedHttpResponse? denied)
    {
        var status = denied?.Status is { Code: > 0 } set ? (int)set.Code : 0;
        text.Append("  HTTP status: ").AppendLine(status > 0 ? status.ToString(CultureInfo.InvariantCulture) : "403 (none set: Envoy's default)");
        if (denied is null)
        {
            return;
        }

        HeaderLines(text, "headers", denied.Headers);
        if (denied.Body.Length > 0)
        {
            text.AppendLine("  body:").Append("    ").AppendLine(denied.Body.ReplaceLineEndings("\n    "));
        }
    }

    private static void HeaderLines(System.Text.StringBuilder text, string title, Google.Protobuf.Collections.RepeatedField<HeaderValueOption> options)
    {
        if (options.Count == 0)
        {
            return;
        }

        text.Append("  ").Append(title).AppendLine(":");
        foreach (var option in options)
        {
            var header = option.Header ?? new HeaderValue();
            var value = header.RawValue.IsEmpty ? header.Value : header.RawValue.ToStringUtf8();
            // The deprecated append flag overrides append_action in Envoy, so it is shown when set.
#pragma warning disable CS0612
            var action = option.Append is { } append ? $"append: {(append ? "true" : "false")}" : AppendActionName(option.AppendAction);
#pragma warning restore CS0612
            text.Append("    ").Append(header.Key).Append(": ").Append(value).Append("  (").Append(action).AppendLine(")");
        }
    }

    private static string CodeName(int code) =>
        Google.Rpc.CodeReflection.Descriptor.FindTypeByName<EnumDescriptor>("Code")?.FindValueByNumber(code)?.Name ?? "UNKNOWN_CODE";

    private static string AppendActionName(HeaderValueOption.Types.HeaderAppendAction action) =>
        HeaderValueOption.Descriptor.EnumTypes.Single(e => e.Name == "HeaderAppendAction").FindValueByNumber((int)action)?.Name
            ?? ((int)action).ToString(CultureInfo.InvariantCulture);

    /// <summary>An input that cannot be used: reported in one line, exit status 2.</summary>
    private sealed class BadInputException(string message) : Exception(message);

    private sealed class Options
    {
        public EnvoyCheckForm Form { get; private set; } = EnvoyCheckForm.Http;

        public string Server { get; private set; } = "127.0.0.1:9191";

        public string? UnixSocket { get; private set; }

        public string? CertificateFile { get; private set; }

        public string? Method { get; private set; }

        public string? Path { get; private set; }

        public int? Port { get; private set; }

        public List<(string Name, string Value)> Headers { get; } = [];

        public string? Body { get; private set; }

        public uint MaxRequestBytes { get; private set; } = DefaultMaxRequestBytes;

        public string? Sni { get; private set; }

        public IPEndPoint? Source { get; private set; }

        public string? Plane { get; private set; }

        public bool Xfcc { get; private set; }

        public bool Http2 { get; private set; }

        public string Format { get; private set; } = "human";

        public bool PrintRequest { get; private set; }

        public TimeSpan Timeout { get; private set; } = TimeSpan.FromSeconds(5);

        public static Options Parse(string[] args)
        {
            var options = new Options();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < args.Length; i++)
            {
                var flag = args[i];
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{flag} needs a value");
                if (!seen.Add(flag) && flag is not "--header" && flag.StartsWith("--", StringComparison.Ordinal))
                {
                    throw new ArgumentException($"{flag} is given twice");
                }

                switch (flag)
                {
                    case "--server":
                        options.Server = ParseServer(Value());
                        break;
                    case "--unix-socket":
                        options.UnixSocket = Value();
                        break;
                    case "--cert":
                        options.CertificateFile = Value();
                        break;
                    case "--network":
                        options.Form = EnvoyCheckForm.Network;
                        break;
                    case "--websocket":
                        options.Form = EnvoyCheckForm.WebSocket;
                        break;
                    case "--method":
                        options.Method = Value();
                        break;
                    case "--path":
                        options.Path = Value();
                        break;
                    case "--port":
                        options.Port = Value() switch
                        {
                            "8883" => 8883,
                            "443" => 443,
                            "8443" => 8443,
                            var other => throw new ArgumentException($"--port {other}: the listeners are 8883, 443 and 8443"),
                        };
                        break;
                    case "--header":
                        options.Headers.Add(ParseHeader(Value()));
                        break;
                    case "--body":
                        options.Body = Value();
                        if (options.Body == "@")
                        {
                            throw new ArgumentException("--body @FILE needs a file name");
                        }

                        break;
                    case "--max-request-bytes":
                        var bytes = Value();
                        options.MaxRequestBytes = uint.TryParse(bytes, NumberStyles.None, CultureInfo.InvariantCulture, out var max)
                            ? max
                            : throw new ArgumentException($"--max-request-bytes {bytes}: expected a whole number of bytes");
                        break;
                    case "--sni":
                        options.Sni = Value();
                        break;
                    case "--source":
                        var address = Value();
                        options.Source = IPEndPoint.TryParse(address, out var source)
                            ? source
                            : throw new ArgumentException($"--source {address}: expected IP or IP:PORT ([IPv6]:PORT)");
                        break;
                    case "--plane":
                        var plane = Value();
                        options.Plane = plane is ContextExtensionKeys.DataPlane or ContextExtensionKeys.ControlPlane
                            ? plane
                            : throw new ArgumentException($"--plane {plane}: expected data or control");
                        break;
                    case "--xfcc":
                        options.Xfcc = true;
                        break;
                    case "--http2":
                        options.Http2 = true;
                        break;
                    case "--format":
                        var format = Value();
                        options.Format = format is "human" or "json" ? format : throw new ArgumentException($"--format {format}: expected human or json");
                        break;
                    case "--print-request":
                        options.PrintRequest = true;
                        break;
                    case "--timeout":
                        var timeout = Value();
                        options.Timeout = double.TryParse(timeout, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and <= 3600
                            ? TimeSpan.FromSeconds(seconds)
                            : throw new ArgumentException($"--timeout {timeout}: expected seconds, more than 0 and at most 3600");
                        break;
                    default:
                        throw new ArgumentException($"unknown argument '{flag}'");
                }
            }

            options.Validate(seen);
            return options;
        }

        private void Validate(HashSet<string> seen)
        {
            if (seen.Contains("--network") && seen.Contains("--websocket"))
            {
                throw new ArgumentException("--network and --websocket are different checks: give one");
            }

            if (seen.Contains("--server") && UnixSocket is not null)
            {
                throw new ArgumentException("--server and --unix-socket both say where the service is: give one");
            }

            string[] httpOnly = ["--method", "--path", "--header", "--body", "--max-request-bytes", "--plane", "--xfcc", "--http2"];
            if (Form == EnvoyCheckForm.Network && httpOnly.FirstOrDefault(seen.Contains) is { } flag)
            {
                throw new ArgumentException($"{flag} describes an HTTP request; --network checks a connection, and the network filter sends no HTTP request");
            }

            if (Form == EnvoyCheckForm.WebSocket && (seen.Contains("--method") || seen.Contains("--body")))
            {
                throw new ArgumentException($"{(seen.Contains("--method") ? "--method" : "--body")} does not apply to --websocket: the upgrade is a GET, checked on its headers, with no body");
            }

            if (Form == EnvoyCheckForm.Network && Port is not (null or 8883))
            {
                throw new ArgumentException($"--network checks the MQTT listener, 8883; --port {Port} is an HTTPS listener");
            }

            if (Form != EnvoyCheckForm.Network && Port == 8883)
            {
                throw new ArgumentException("--port 8883 is the MQTT listener, which Envoy checks per connection: use --network");
            }

            if (Xfcc && CertificateFile is null)
            {
                throw new ArgumentException("--xfcc needs --cert: Envoy writes x-forwarded-client-cert only for a client certificate");
            }
        }

        private static (string Name, string Value) ParseHeader(string text)
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || text[..colon].Trim().Length == 0)
            {
                throw new ArgumentException($"--header '{text}': expected 'NAME: VALUE'");
            }

            return (text[..colon].Trim(), text[(colon + 1)..]);
        }

        private static string ParseServer(string text)
        {
            var address = text.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? text["http://".Length..].TrimEnd('/') : text;
            if (address.Contains("://", StringComparison.Ordinal))
            {
                throw new ArgumentException($"--server {text}: the Check service speaks h2c; give HOST:PORT");
            }

            var colon = address.LastIndexOf(':');
            if (colon <= 0 || colon < address.LastIndexOf(']') || !ushort.TryParse(address[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port == 0
                || !Uri.TryCreate("http://" + address, UriKind.Absolute, out var uri) || uri.PathAndQuery != "/")
            {
                throw new ArgumentException($"--server {text}: expected HOST:PORT");
            }

            return address;
        }
    }
}
