using System.Globalization;

namespace ExtAuthz.LoadTest;

/// <summary><c>run</c>'s flags.</summary>
internal sealed class RunOptions
{
    public const string Usage = """
        usage: ExtAuthz.LoadTest run [--service-exe PATH] [--duration S] [--warmup S] [--open-duration S]
                                     [--rates R,R,...] [--concurrency N] [--connections N] [--repeat N]
                                     [--deadline-ms MS] [--devices N] [--server-cpus LIST] [--json FILE]

        Starts the no-op Check server and the real service ('extauthz serve'), each as a child process,
        and measures both with the same requests: closed-loop throughput, then open-loop latency at
        fixed rates (counted from each call's scheduled start).

          --service-exe PATH   the ExtAuthz executable (or ExtAuthz.dll, run with dotnet); default: the one
                               built with this project
          --warmup S           unmeasured closed-loop load on each server before any phase (default 10)
          --duration S         each closed-loop phase, measured (default 15; after a 2 s ramp)
          --concurrency N      closed-loop callers, each with one call in flight (default 64)
          --connections N      HTTP/2 connections per server; callers and calls take them in turn (default 4)
          --open-duration S    each open-loop phase (default 15)
          --rates LIST         open-loop rates in checks/s (default 1000,3000,5000)
          --repeat N           run the closed-loop and open-loop phases N times, alternating which
                               server goes first (default 1)
          --deadline-ms MS     each call's gRPC deadline (default 200, Envoy's ext_authz default timeout);
                               calls past it count as timeouts
          --devices N          device certificates in the generated fleet; requests cycle over them (default 16)
          --server-cpus LIST   run both servers under 'taskset -c LIST' (default: unpinned, like the generator)
          --json FILE          also write every phase and the summary as JSON
        """;

    public string? ServiceExecutable { get; private set; }

    public TimeSpan Warmup { get; private set; } = TimeSpan.FromSeconds(10);

    public TimeSpan Duration { get; private set; } = TimeSpan.FromSeconds(15);

    public int Concurrency { get; private set; } = 64;

    public int Connections { get; private set; } = 4;

    public TimeSpan OpenDuration { get; private set; } = TimeSpan.FromSeconds(15);

    public IReadOnlyList<int> Rates { get; private set; } = [1_000, 3_000, 5_000];

    public int Repeat { get; private set; } = 1;

    public TimeSpan Deadline { get; private set; } = TimeSpan.FromMilliseconds(200);

    public int Devices { get; private set; } = 16;

    public string? ServerCpus { get; private set; }

    public string? JsonFile { get; private set; }

    public static RunOptions Parse(string[] args)
    {
        var options = new RunOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var flag = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{flag} needs a value");
            switch (flag)
            {
                case "--service-exe":
                    options.ServiceExecutable = Value();
                    break;
                case "--warmup":
                    options.Warmup = TimeSpan.FromSeconds(Number(flag, Value(), minimum: 0));
                    break;
                case "--duration":
                    options.Duration = TimeSpan.FromSeconds(Number(flag, Value(), minimum: 1));
                    break;
                case "--concurrency":
                    options.Concurrency = Number(flag, Value(), minimum: 1);
                    break;
                case "--connections":
                    options.Connections = Number(flag, Value(), minimum: 1);
                    break;
                case "--open-duration":
                    options.OpenDuration = TimeSpan.FromSeconds(Number(flag, Value(), minimum: 1));
                    break;
                case "--rates":
                    options.Rates = [.. Value().Split(',').Select(rate => Number(flag, rate, minimum: 1))];
                    break;
                case "--repeat":
                    options.Repeat = Number(flag, Value(), minimum: 1);
                    break;
                case "--deadline-ms":
                    options.Deadline = TimeSpan.FromMilliseconds(Number(flag, Value(), minimum: 1));
                    break;
                case "--devices":
                    options.Devices = Number(flag, Value(), minimum: 2);
                    break;
                case "--server-cpus":
                    options.ServerCpus = Value();
                    break;
                case "--json":
                    options.JsonFile = Value();
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{flag}'");
            }
        }

        return options;
    }

    private static int Number(string flag, string text, int minimum) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= minimum
            ? value
            : throw new ArgumentException($"{flag} needs a whole number of at least {minimum}, not '{text}'");
}
