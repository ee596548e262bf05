using System.Globalization;
using System.Net;
using ExtAuthz.Mqtt.Gate;
using ExtAuthz.Mqtt.Hosting;
using ExtAuthz.Mqtt.Upstream;

namespace ExtAuthz.Serving;

/// <summary><c>extauthz serve</c>'s flags, parsed and checked before anything starts.</summary>
internal sealed class ServeOptions
{
    public static readonly IPEndPoint DefaultListen = new(IPAddress.Loopback, 9191);

    public static readonly IPEndPoint DefaultAdmin = new(IPAddress.Loopback, 9193);

    public static readonly IPEndPoint DefaultHttpPublish = new(IPAddress.Loopback, 9195);

    /// <summary>The file in a configuration directory that holds flags for <c>serve</c> (<see cref="Parse"/>).</summary>
    public const string SettingsFile = "serve.args";

    /// <summary>Flags whose value is a path: in a <see cref="SettingsFile"/>, relative to its directory.</summary>
    private static readonly HashSet<string> PathFlags = new(StringComparer.Ordinal)
    {
        "--config", "--unix-socket", "--decision-log", "--session-key-file", "--mqtt-tls-cert", "--mqtt-tls-key", "--broker-ca",
        "--mqtt-intake-secret-file", "--https-tls-cert", "--https-tls-key", "--dev-certs",
    };

    /// <summary>Configuration directories; none means the embedded defaults.</summary>
    public List<string> Configs { get; } = [];

    /// <summary>The gRPC (h2c) endpoint; null when only a Unix socket is served.</summary>
    public IPEndPoint? Listen { get; set; } = DefaultListen;

    public string? UnixSocket { get; set; }

    /// <summary>The admin HTTP endpoint; null with <c>--admin off</c>.</summary>
    public IPEndPoint? Admin { get; set; } = DefaultAdmin;

    public bool DryRun { get; set; }

    /// <summary><c>-</c> (standard output, the default), a file path (appended), or null (<c>off</c>/<c>none</c>).</summary>
    public string? DecisionLog { get; set; } = "-";

    public int DecisionLogCapacity { get; set; } = 65_536;

    public string? SessionKeyFile { get; set; }

    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The query parameter that may carry a bearer token on 443 (browsers' WebSocket upgrades); null: none.</summary>
    public string? TokenQueryParameter { get; set; }

    public Microsoft.Extensions.Logging.LogLevel LogLevel { get; set; } = Microsoft.Extensions.Logging.LogLevel.Information;

    /// <summary>The MQTT gate's h2c endpoint for Envoy's tunnels; null with <c>--mqtt-tunnel off</c>.</summary>
    public IPEndPoint? MqttTunnel { get; set; } = MqttGateHostOptions.DefaultTunnel;

    /// <summary>The MQTT gate's WebSocket endpoint behind Envoy; null with <c>--mqtt-websocket off</c>.</summary>
    public IPEndPoint? MqttWebSocket { get; set; } = MqttGateHostOptions.DefaultWebSocket;

    /// <summary>The gate's own MQTT listener (mutual TLS, or plain TCP with <c>--mqtt-insecure-as</c>); off unless given.</summary>
    public IPEndPoint? MqttListen { get; set; }

    public string? MqttTlsCert { get; set; }

    public string? MqttTlsKey { get; set; }

    /// <summary>Development: <see cref="MqttListen"/> is plain TCP and every client is this registered certificate ID.</summary>
    public string? MqttInsecureAs { get; set; }

    /// <summary>The upstream broker; null for the embedded one.</summary>
    public BrokerEndpoint? Broker { get; set; }

    /// <summary>Where the embedded broker's own TCP listener binds (no <see cref="Broker"/>); null for a random loopback port.</summary>
    public IPEndPoint? EmbeddedBrokerListen { get; set; }

    /// <summary>PEM file of the CAs that alone are trusted for the broker's TLS certificate.</summary>
    public string? BrokerCa { get; set; }

    /// <summary>Peers allowed on the tunnel and WebSocket endpoints; empty means loopback only.</summary>
    public List<IPNetwork> MqttIntakeAllow { get; } = [];

    public string? MqttIntakeSecretFile { get; set; }

    public int MqttMaxPacketSize { get; set; } = new MqttGateOptions().MaxPacketSize;

    public DeniedPublishV311 MqttDenyPublishV3 { get; set; } = DeniedPublishV311.Close;

    public TimeSpan MqttConnectTimeout { get; set; } = new MqttGateOptions().ConnectTimeout;

    /// <summary>The data plane's upstream behind Envoy: <c>POST /topics/{topic}</c> published to the broker; null with <c>--http-publish off</c>.</summary>
    public IPEndPoint? HttpPublish { get; set; } = DefaultHttpPublish;

    /// <summary>The data plane's own HTTPS listener (mutual TLS, as Envoy's 8443); off unless given.</summary>
    public IPEndPoint? HttpsListen { get; set; }

    public string? HttpsTlsCert { get; set; }

    public string? HttpsTlsKey { get; set; }

    /// <summary>Development: the directory where the development PKI is made on start when missing.</summary>
    public string? DevCerts { get; set; }

    /// <summary>Whether <c>--mqtt-listen off</c> was given: the listener's other flags (say, from a settings file) are then ignored.</summary>
    private bool MqttListenOff { get; set; }

    /// <summary>Whether <c>--https-listen off</c> was given, likewise.</summary>
    private bool HttpsListenOff { get; set; }

    /// <summary>The <see cref="SettingsFile"/>s whose flags were read, in order.</summary>
    public List<string> SettingsFiles { get; } = [];

    /// <summary>Whether any of the gate's intakes is on (the HTTP publish endpoints count: they need its broker).</summary>
    public bool MqttGateEnabled => MqttTunnel is not null || MqttWebSocket is not null || MqttListen is not null || HttpPublish is not null || HttpsListen is not null;

    /// <summary>
    /// Parses the command line. A configuration directory given with <c>--config</c> may hold a
    /// <see cref="SettingsFile"/>: flags, one per line with its value (<c>#</c> starts a comment), read
    /// before the command line's, so the command line wins; paths in it are relative to its directory.
    /// </summary>
    public static ServeOptions Parse(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new ServeOptions();
        var state = new ParseState();
        foreach (var directory in ConfigArguments(args))
        {
            var file = Path.Combine(directory, SettingsFile);
            if (File.Exists(file))
            {
                options.SettingsFiles.Add(file);
                ParseInto(options, ReadSettings(file, directory), state, file);
            }
        }

        // The command line's directories first, then those the settings files add, in the order given.
        var added = options.Configs.ToList();
        options.Configs.Clear();
        ParseInto(options, args, state, null);
        options.Configs.AddRange(added);
        if (options.UnixSocket is not null && !state.ListenGiven)
        {
            // A Unix socket replaces the TCP endpoint unless both are asked for.
            options.Listen = null;
        }

        CheckCombinations(options);
        return options;
    }

    /// <summary>The values of the command line's <c>--config</c> flags (a settings file's own are not followed further).</summary>
    private static IEnumerable<string> ConfigArguments(string[] args)
    {
        for (var i = 0; i + 1 < args.Length; i++)
        {
            if (args[i] == "--config")
            {
                yield return args[++i];
            }
        }
    }

    private static string[] ReadSettings(string file, string directory)
    {
        var tokens = new List<string>();
        var number = 0;
        foreach (var raw in File.ReadAllLines(file))
        {
            number++;
            var hash = raw.IndexOf('#', StringComparison.Ordinal);
            var line = (hash >= 0 ? raw[..hash] : raw).Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var space = line.IndexOfAny([' ', '\t']);
            var flag = space < 0 ? line : line[..space];
            if (!flag.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"{file}:{number}: a line holds one flag and its value (e.g. --mqtt-listen 127.0.0.1:8883), not '{line}'");
            }

            tokens.Add(flag);
            if (space >= 0)
            {
                var value = line[(space + 1)..].Trim();
                tokens.Add(PathFlags.Contains(flag) && value is not ("-" or "off" or "none") && !Path.IsPathRooted(value)
                    ? Path.Combine(directory, value)
                    : value);
            }
        }

        return [.. tokens];
    }

    private sealed class ParseState
    {
        public bool ListenGiven { get; set; }
    }

    private static void ParseInto(ServeOptions options, string[] args, ParseState state, string? file)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var flag = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{flag} needs a value" + (file is null ? "" : $" (in {file})"));
            switch (flag)
            {
                case "--config":
                    options.Configs.Add(Value());
                    break;
                case "--listen":
                    options.Listen = Endpoint(flag, Value());
                    state.ListenGiven = true;
                    break;
                case "--unix-socket":
                    options.UnixSocket = Value();
                    break;
                case "--admin":
                    var admin = Value();
                    options.Admin = admin == "off" ? null : Endpoint(flag, admin);
                    break;
                case "--dry-run":
                    options.DryRun = true;
                    break;
                case "--decision-log":
                    var log = Value();
                    options.DecisionLog = log is "off" or "none" ? null : log;
                    break;
                case "--decision-log-capacity":
                    options.DecisionLogCapacity = Positive(flag, Value());
                    break;
                case "--session-key-file":
                    options.SessionKeyFile = Value();
                    break;
                case "--token-query-parameter":
                    options.TokenQueryParameter = Value();
                    break;
                case "--session-lifetime":
                    options.SessionLifetime = TimeSpan.FromSeconds(Positive(flag, Value()));
                    break;
                case "--log-level":
                    var level = Value();
                    options.LogLevel = Enum.TryParse<Microsoft.Extensions.Logging.LogLevel>(level, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
                        ? parsed
                        : throw new ArgumentException($"--log-level must be one of trace, debug, information, warning, error, critical, none; not '{level}'");
                    break;
                case "--mqtt-tunnel":
                    options.MqttTunnel = EndpointOrOff(flag, Value());
                    break;
                case "--mqtt-websocket":
                    options.MqttWebSocket = EndpointOrOff(flag, Value());
                    break;
                case "--mqtt-listen":
                    options.MqttListen = EndpointOrOff(flag, Value());
                    options.MqttListenOff = options.MqttListen is null;
                    break;
                case "--mqtt-tls-cert":
                    options.MqttTlsCert = Value();
                    break;
                case "--mqtt-tls-key":
                    options.MqttTlsKey = Value();
                    break;
                case "--mqtt-insecure-as":
                    var principal = Value();
                    options.MqttInsecureAs = principal.Length == 64 && principal.All(char.IsAsciiHexDigit)
                        ? principal.ToLowerInvariant()
                        : throw new ArgumentException($"--mqtt-insecure-as needs a certificate ID (64 hex digits, the SHA-256 of the certificate's DER), not '{principal}'");
                    break;
                case "--broker":
                    options.Broker = BrokerEndpoint.Parse(Value());
                    break;
                case "--embedded-broker-listen":
                    options.EmbeddedBrokerListen = Endpoint(flag, Value());
                    break;
                case "--broker-ca":
                    options.BrokerCa = Value();
                    break;
                case "--mqtt-intake-allow":
                    foreach (var cidr in Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        options.MqttIntakeAllow.Add(IPNetwork.TryParse(cidr, out var network)
                            ? network
                            : throw new ArgumentException($"--mqtt-intake-allow needs CIDR ranges (e.g. 127.0.0.0/8,10.0.0.0/8), not '{cidr}'"));
                    }

                    break;
                case "--mqtt-intake-secret-file":
                    options.MqttIntakeSecretFile = Value();
                    break;
                case "--mqtt-max-packet-size":
                    var size = Positive(flag, Value());
                    options.MqttMaxPacketSize = size is >= 64 and <= MqttGateOptions.MqttMaxPacketSize
                        ? size
                        : throw new ArgumentException($"--mqtt-max-packet-size must be between 64 and {MqttGateOptions.MqttMaxPacketSize} bytes, not {size}");
                    break;
                case "--mqtt-deny-publish-v3":
                    var mode = Value();
                    options.MqttDenyPublishV3 = mode switch
                    {
                        "close" => DeniedPublishV311.Close,
                        "drop" => DeniedPublishV311.Drop,
                        _ => throw new ArgumentException($"--mqtt-deny-publish-v3 must be close or drop, not '{mode}'"),
                    };
                    break;
                case "--mqtt-connect-timeout":
                    options.MqttConnectTimeout = TimeSpan.FromSeconds(Positive(flag, Value()));
                    break;
                case "--http-publish":
                    options.HttpPublish = EndpointOrOff(flag, Value());
                    break;
                case "--https-listen":
                    options.HttpsListen = EndpointOrOff(flag, Value());
                    options.HttpsListenOff = options.HttpsListen is null;
                    break;
                case "--https-tls-cert":
                    options.HttpsTlsCert = Value();
                    break;
                case "--https-tls-key":
                    options.HttpsTlsKey = Value();
                    break;
                case "--dev-certs":
                    options.DevCerts = Value();
                    break;
                default:
                    var where = file is null ? "" : $" in {file}";
                    throw new ArgumentException(flag.StartsWith('-') ? $"unknown flag {flag}{where}" : $"unexpected argument '{flag}'{where} (configuration directories go after --config)");
            }
        }
    }

    /// <summary>The gate's flags that only make sense together, and every endpoint on a port of its own.</summary>
    private static void CheckCombinations(ServeOptions options)
    {
        var tls = options.MqttTlsCert is not null || options.MqttTlsKey is not null;
        if (tls && (options.MqttTlsCert is null || options.MqttTlsKey is null))
        {
            throw new ArgumentException("--mqtt-tls-cert and --mqtt-tls-key go together: the listener's certificate and its private key");
        }

        if (options.MqttListenOff)
        {
            (options.MqttTlsCert, options.MqttTlsKey, options.MqttInsecureAs, tls) = (null, null, null, false);
        }

        if (options.MqttListen is null && (tls || options.MqttInsecureAs is not null))
        {
            throw new ArgumentException("--mqtt-tls-cert, --mqtt-tls-key and --mqtt-insecure-as configure the gate's own listener, which needs --mqtt-listen ADDRESS:PORT");
        }

        if (options.MqttListen is not null && tls == (options.MqttInsecureAs is not null))
        {
            throw new ArgumentException(tls
                ? "--mqtt-listen serves either mutual TLS (--mqtt-tls-cert, --mqtt-tls-key) or, for development, plain TCP (--mqtt-insecure-as), not both"
                : "--mqtt-listen needs --mqtt-tls-cert and --mqtt-tls-key (mutual TLS); for development only, --mqtt-insecure-as CERTIFICATE_ID serves plain TCP instead");
        }

        if (options.HttpsListenOff)
        {
            (options.HttpsTlsCert, options.HttpsTlsKey) = (null, null);
        }

        var https = options.HttpsTlsCert is not null || options.HttpsTlsKey is not null;
        if (https && (options.HttpsTlsCert is null || options.HttpsTlsKey is null))
        {
            throw new ArgumentException("--https-tls-cert and --https-tls-key go together: the listener's certificate and its private key");
        }

        if ((options.HttpsListen is null) == https)
        {
            throw new ArgumentException(https
                ? "--https-tls-cert and --https-tls-key configure the data plane's own HTTPS listener, which needs --https-listen ADDRESS:PORT"
                : "--https-listen needs --https-tls-cert and --https-tls-key (the server's certificate and key; clients authenticate with theirs)");
        }

        if (options.BrokerCa is not null && options.Broker is not { Tls: true })
        {
            throw new ArgumentException("--broker-ca is the trust for a TLS broker: it needs --broker HOST:PORT,tls");
        }

        if (options.EmbeddedBrokerListen is not null && options.Broker is not null)
        {
            throw new ArgumentException("--embedded-broker-listen places the embedded broker's listener; with --broker there is no embedded broker");
        }

        var named = new (string Flag, IPEndPoint? Endpoint)[]
        {
            ("--listen", options.Listen), ("--admin", options.Admin), ("--mqtt-tunnel", options.MqttTunnel),
            ("--mqtt-websocket", options.MqttWebSocket), ("--mqtt-listen", options.MqttListen), ("--http-publish", options.HttpPublish),
            ("--https-listen", options.HttpsListen), ("--embedded-broker-listen", options.EmbeddedBrokerListen),
        };
        var used = named.Where(n => n.Endpoint is not null && n.Endpoint.Port != 0).ToArray();
        foreach (var clash in used.GroupBy(n => n.Endpoint).Where(g => g.Count() > 1))
        {
            throw new ArgumentException($"{string.Join(" and ", clash.Select(n => n.Flag))} are {(clash.Count() == 2 ? "both" : "all")} {clash.Key}; they need different ports");
        }
    }

    private static IPEndPoint? EndpointOrOff(string flag, string text) => text == "off" ? null : Endpoint(flag, text);

    private static IPEndPoint Endpoint(string flag, string text)
    {
        var value = text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase) ? "127.0.0.1" + text["localhost".Length..] : text;
        // IPEndPoint.TryParse takes a bare address as port 0; a port is required here (0 asks for any free one).
        var hasPort = value.StartsWith('[') ? value.Contains("]:", StringComparison.Ordinal) : value.Count(c => c == ':') == 1;
        if (hasPort && IPEndPoint.TryParse(value, out var endpoint))
        {
            return endpoint;
        }

        throw new ArgumentException($"{flag} needs ADDRESS:PORT (e.g. 127.0.0.1:9191, 0.0.0.0:9191 or [::1]:9191), not '{text}'");
    }

    private static int Positive(string flag, string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new ArgumentException($"{flag} needs a positive whole number, not '{text}'");
}
