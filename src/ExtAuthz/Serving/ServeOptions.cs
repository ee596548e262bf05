using System.Globalization;
using System.Net;

namespace ExtAuthz.Serving;

/// <summary><c>extauthz serve</c>'s flags, parsed and checked before anything starts.</summary>
internal sealed class ServeOptions
{
    public static readonly IPEndPoint DefaultListen = new(IPAddress.Loopback, 9191);

    public static readonly IPEndPoint DefaultAdmin = new(IPAddress.Loopback, 9193);

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

    public Microsoft.Extensions.Logging.LogLevel LogLevel { get; set; } = Microsoft.Extensions.Logging.LogLevel.Information;

    public static ServeOptions Parse(string[] args)
    {
        var options = new ServeOptions();
        var listenGiven = false;
        for (var i = 0; i < args.Length; i++)
        {
            var flag = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{flag} needs a value");
            switch (flag)
            {
                case "--config":
                    options.Configs.Add(Value());
                    break;
                case "--listen":
                    options.Listen = Endpoint(flag, Value());
                    listenGiven = true;
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
                case "--session-lifetime":
                    options.SessionLifetime = TimeSpan.FromSeconds(Positive(flag, Value()));
                    break;
                case "--log-level":
                    var level = Value();
                    options.LogLevel = Enum.TryParse<Microsoft.Extensions.Logging.LogLevel>(level, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
                        ? parsed
                        : throw new ArgumentException($"--log-level must be one of trace, debug, information, warning, error, critical, none; not '{level}'");
                    break;
                default:
                    throw new ArgumentException(flag.StartsWith('-') ? $"unknown flag {flag}" : $"unexpected argument '{flag}' (configuration directories go after --config)");
            }
        }

        if (options.UnixSocket is not null && !listenGiven)
        {
            // A Unix socket replaces the TCP endpoint unless both are asked for.
            options.Listen = null;
        }

        if (options.Listen is not null && options.Admin is not null && options.Listen.Equals(options.Admin))
        {
            throw new ArgumentException($"--listen and --admin are both {options.Listen}; they need different ports");
        }

        return options;
    }

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
