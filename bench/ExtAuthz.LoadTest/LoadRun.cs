using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Envoy.Service.Auth.V3;

namespace ExtAuthz.LoadTest;

/// <summary>One phase on one server, as printed and saved.</summary>
internal sealed record PhaseRow(
    string Phase, int? Rate, string Server, int Repeat, long Calls, double Seconds, double PerSecond,
    Percentiles Latency, Percentiles? SendLag, long NotAllowed, long Errors, long Timeouts,
    double ServerCpuMicrosPerCheck, double ClientCpuMicrosPerCheck, double? LoadAverage);

/// <summary>A ratio of ours to the no-op server's (pooled, and in each repeat), with its target when it has one; the target is judged on the pooled value.</summary>
internal sealed record Ratio(string What, double Value, IReadOnlyList<double> PerRepeat, string Target, bool? Met)
{
    /// <summary>Less sensitive than the pooled value to one repeat that something else on the machine disturbed.</summary>
    public double MedianOfRepeats
    {
        get
        {
            var sorted = PerRepeat.Order().ToList();
            return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
        }
    }
}

internal sealed record RunReport(
    DateTimeOffset Started, DateTimeOffset Finished, string Machine, string? LoadAverageBefore, string? LoadAverageAfter,
    string NoopCommand, string ServiceCommand, string[] Settings, IReadOnlyList<PhaseRow> Phases, IReadOnlyList<PhaseRow> Pooled, IReadOnlyList<Ratio> Ratios);

/// <summary>
/// <c>run</c>: generates a fleet, starts the no-op server and <c>extauthz serve</c> on it, warms both up,
/// then runs each phase on both servers back to back (alternating which goes first on each repeat, so
/// drifting background load does not always favour the same one), prints every phase as it ends and
/// then the pooled figures and the ratios against the targets.
/// </summary>
internal static class LoadRun
{
    public const string Noop = "no-op";
    public const string Ours = "extauthz";

    /// <summary>Unmeasured start of each closed-loop phase, while the callers' first calls spread out.</summary>
    private static readonly TimeSpan Ramp = TimeSpan.FromSeconds(2);

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    public static async Task<int> RunAsync(string[] args)
    {
        RunOptions options;
        try
        {
            options = RunOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"run: {ex.Message}\n\n{RunOptions.Usage}").ConfigureAwait(false);
            return 64;
        }

        var (serviceFile, serviceArguments) = ServiceCommand(options.ServiceExecutable);
        if (!File.Exists(serviceArguments.Count > 0 ? serviceArguments[0] : serviceFile))
        {
            await Console.Error.WriteLineAsync($"run: the service executable {(serviceArguments.Count > 0 ? serviceArguments[0] : serviceFile)} does not exist (build src/ExtAuthz, or give --service-exe)").ConfigureAwait(false);
            return 2;
        }

        var started = DateTimeOffset.UtcNow;
        var loadBefore = LoadAverage();
        using var fleet = BenchFleet.Create(options.Devices);
        var requests = fleet.AllowedMix(1_024);
        var (selfFile, selfArguments) = SelfCommand();
        var serviceGc = GcSettings(serviceArguments.Count > 0 ? serviceArguments[0] : serviceFile);
        using var noopServer = ServerProcess.Start(Noop, selfFile, [.. selfArguments, "noop-server", "--listen", "127.0.0.1:{port}"], serviceGc, options.ServerCpus);
        using var ourServer = ServerProcess.Start(Ours, serviceFile,
            [.. serviceArguments, "serve", "--config", fleet.Directory, "--listen", "127.0.0.1:{port}", "--admin", "off", "--decision-log", "off",
                "--mqtt-tunnel", "off", "--mqtt-websocket", "off", "--http-publish", "off"],
            new Dictionary<string, string>(), options.ServerCpus);
        using var noop = new Target(noopServer, options.Connections);
        using var ours = new Target(ourServer, options.Connections);

        Console.WriteLine($"# Check service load test, {started:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine($"machine: {Machine()}; load average {loadBefore ?? "n/a"}");
        Console.WriteLine($"no-op:    {string.Concat(serviceGc.Select(e => $"{e.Key}={e.Value} "))}{noopServer.CommandLine}");
        Console.WriteLine($"extauthz: {ourServer.CommandLine}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"requests: {requests.Length} prebuilt HTTP/2 publishes (EnvoyCheckRequest), {options.Devices} registered device certificates; {options.Connections} connections per server; deadline {options.Deadline.TotalMilliseconds:F0} ms"));

        foreach (var target in new[] { noop, ours })
        {
            await target.Server.WaitReadyAsync(async () => await Target.CallAsync(target.Client(0), requests[0], TimeSpan.FromSeconds(2)).ConfigureAwait(false) == CallOutcome.Allowed,
                TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }

        await VerifyAllowedAsync(ours, requests, 3 * options.Devices).ConfigureAwait(false);
        foreach (var target in new[] { noop, ours })
        {
            var warm = await LoadPhases.ClosedLoopAsync(target, requests, options.Concurrency, TimeSpan.Zero, options.Warmup, options.Deadline).ConfigureAwait(false);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warm-up {target.Name}: {warm.Outcomes.Total / Math.Max(warm.Seconds, 1e-9):N0} checks/s over {warm.Seconds:F0} s"));
        }

        Console.WriteLine();
        Console.WriteLine(RowHeader);
        Console.WriteLine(RowRule);
        var rows = new List<PhaseRow>();
        var pools = new Dictionary<(string Phase, string Server), Samples>();
        for (var repeat = 1; repeat <= options.Repeat; repeat++)
        {
            Target[] order = repeat % 2 == 1 ? [noop, ours] : [ours, noop];
            foreach (var target in order)
            {
                var measured = await LoadPhases.ClosedLoopAsync(target, requests, options.Concurrency, Ramp, options.Duration, options.Deadline).ConfigureAwait(false);
                rows.Add(Print(Row($"closed {options.Concurrency}", null, target, repeat, measured, pools)));
            }

            foreach (var rate in options.Rates)
            {
                foreach (var target in order)
                {
                    var measured = await LoadPhases.OpenLoopAsync(target, requests, rate, options.OpenDuration, options.Deadline).ConfigureAwait(false);
                    rows.Add(Print(Row($"open {rate:N0}/s", rate, target, repeat, measured, pools)));
                }
            }

            foreach (var target in new[] { noop, ours })
            {
                if (target.Server.HasExited)
                {
                    throw new InvalidOperationException($"{target.Name} exited during the run:\n{target.Server.RecentOutput}");
                }
            }
        }

        var pooled = Pool(rows, pools);
        var ratios = Ratios(rows, pooled, options);
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"## Pooled over {options.Repeat} repeat(s) (closed loop: mean throughput; open loop: percentiles of all samples)"));
        Console.WriteLine();
        Console.WriteLine(RowHeader);
        Console.WriteLine(RowRule);
        foreach (var row in pooled)
        {
            Print(row);
        }

        Console.WriteLine();
        Console.WriteLine("| Ratio (extauthz / no-op) | Pooled | Median of repeats | Each repeat | Target | Met (pooled)? |");
        Console.WriteLine("|---|---:|---:|---|---|---|");
        foreach (var ratio in ratios)
        {
            var each = string.Join(" / ", ratio.PerRepeat.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {ratio.What} | {ratio.Value:F2} | {ratio.MedianOfRepeats:F2} | {each} | {ratio.Target} | {(ratio.Met is { } met ? met ? "yes" : "**no**" : "—")} |"));
        }

        var loadAfter = LoadAverage();
        Console.WriteLine();
        Console.WriteLine($"load average after: {loadAfter ?? "n/a"}");
        if (options.JsonFile is { } file)
        {
            var report = new RunReport(started, DateTimeOffset.UtcNow, Machine(), loadBefore, loadAfter, noopServer.CommandLine, ourServer.CommandLine,
                args, rows, pooled, ratios);
            await File.WriteAllTextAsync(file, JsonSerializer.Serialize(report, Json)).ConfigureAwait(false);
            Console.WriteLine($"saved {file}");
        }

        return 0;
    }

    private const string RowHeader =
        "| Phase | Server | Rep | Calls | Checks/s | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs | Not allowed | Errors | Timeouts | Server CPU µs/check | Client CPU µs/check | Send lag p99 / max µs | Load |";

    private const string RowRule = "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

    /// <summary>The row of one phase on one server; its samples also join the phase's pool across repeats.</summary>
    private static PhaseRow Row(string phase, int? rate, Target target, int repeat, PhaseMeasurement measured, Dictionary<(string Phase, string Server), Samples> pools)
    {
        if (!pools.TryGetValue((phase, target.Name), out var pool))
        {
            pool = new Samples(new LatencySamples(measured.Latencies.Count), measured.SendLags is null ? null : new LatencySamples(measured.SendLags.Count));
            pools.Add((phase, target.Name), pool);
        }

        pool.Latencies.AddRange(measured.Latencies);
        if (measured.SendLags is not null)
        {
            pool.SendLags?.AddRange(measured.SendLags);
        }

        var calls = measured.Outcomes.Total;
        return new PhaseRow(phase, rate, target.Name, repeat, calls, measured.Seconds, calls / measured.Seconds,
            measured.Latencies.Summarize(), measured.SendLags?.Summarize(),
            measured.Outcomes.NotAllowed, measured.Outcomes.Errors, measured.Outcomes.Timeouts,
            measured.ServerCpu.TotalMicroseconds / Math.Max(calls, 1), measured.ClientCpu.TotalMicroseconds / Math.Max(calls, 1),
            LoadAverageOneMinute());
    }

    private static PhaseRow Print(PhaseRow row)
    {
        var lag = row.SendLag is { } sendLag ? string.Create(CultureInfo.InvariantCulture, $"{sendLag.P99:N0} / {sendLag.Max:N0}") : "—";
        var repeat = row.Repeat == 0 ? "all" : row.Repeat.ToString(CultureInfo.InvariantCulture);
        var load = row.LoadAverage is { } average ? average.ToString("F1", CultureInfo.InvariantCulture) : "—";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {row.Phase} | {row.Server} | {repeat} | {row.Calls:N0} | {row.PerSecond:N0} | {row.Latency.P50:N0} | {row.Latency.P90:N0} | {row.Latency.P99:N0} | {row.Latency.P999:N0} | {row.Latency.Max:N0} | {row.NotAllowed:N0} | {row.Errors:N0} | {row.Timeouts:N0} | {row.ServerCpuMicrosPerCheck:F1} | {row.ClientCpuMicrosPerCheck:F1} | {lag} | {load} |"));
        return row;
    }

    /// <summary>Each phase and server over all repeats (<c>Repeat</c> 0): calls, time and CPU summed; percentiles over all samples.</summary>
    private static List<PhaseRow> Pool(List<PhaseRow> rows, Dictionary<(string Phase, string Server), Samples> pools) =>
        [.. rows.GroupBy(r => (r.Phase, r.Server)).Select(group =>
        {
            var all = group.ToList();
            var calls = all.Sum(r => r.Calls);
            var seconds = all.Sum(r => r.Seconds);
            var serverCpu = all.Sum(r => r.ServerCpuMicrosPerCheck * r.Calls) / Math.Max(calls, 1);
            var clientCpu = all.Sum(r => r.ClientCpuMicrosPerCheck * r.Calls) / Math.Max(calls, 1);
            var pool = pools[group.Key];
            return new PhaseRow(group.Key.Phase, all[0].Rate, group.Key.Server, 0, calls, seconds, calls / seconds,
                pool.Latencies.Summarize(), pool.SendLags?.Summarize(),
                all.Sum(r => r.NotAllowed), all.Sum(r => r.Errors), all.Sum(r => r.Timeouts), serverCpu, clientCpu, null);
        })];

    private static List<Ratio> Ratios(List<PhaseRow> rows, List<PhaseRow> pooled, RunOptions options)
    {
        // The same measure of ours over the no-op's, pooled and for each repeat (rows of one repeat pair up by phase).
        Ratio Of(string what, string phase, Func<PhaseRow, double> measure, string target, Func<double, bool>? met)
        {
            var value = measure(pooled.Single(r => r.Phase == phase && r.Server == Ours)) / measure(pooled.Single(r => r.Phase == phase && r.Server == Noop));
            var perRepeat = rows.Where(r => r.Phase == phase && r.Server == Ours)
                .Select(ours => measure(ours) / measure(rows.Single(r => r.Phase == phase && r.Server == Noop && r.Repeat == ours.Repeat)))
                .ToList();
            return new Ratio(what, value, perRepeat, target, met?.Invoke(value));
        }

        var closed = $"closed {options.Concurrency}";
        var ratios = new List<Ratio>
        {
            Of($"closed-loop throughput ({options.Concurrency} callers)", closed, r => r.PerSecond, "≥ 0.85", v => v >= 0.85),
            Of("closed-loop server CPU per check (informational)", closed, r => r.ServerCpuMicrosPerCheck, "—", null),
        };
        foreach (var rate in options.Rates)
        {
            var phase = $"open {rate:N0}/s";
            Func<double, bool>? required = rate == 5_000 ? v => v <= 1.25 : null;
            var target = required is null ? "—" : "≤ 1.25";
            ratios.Add(Of(string.Create(CultureInfo.InvariantCulture, $"open loop {rate:N0}/s p50 (informational)"), phase, r => r.Latency.P50, "—", null));
            ratios.Add(Of(string.Create(CultureInfo.InvariantCulture, $"open loop {rate:N0}/s p99"), phase, r => r.Latency.P99, target, required));
            ratios.Add(Of(string.Create(CultureInfo.InvariantCulture, $"open loop {rate:N0}/s p99.9"), phase, r => r.Latency.P999, target, required));
        }

        return ratios;
    }

    /// <summary>Checks that the service allows each kind of request sent (one per device and topic), so that every phase measures real decisions.</summary>
    private static async Task VerifyAllowedAsync(Target target, CheckRequest[] requests, int count)
    {
        foreach (var request in requests.Take(count))
        {
            var response = await target.Client(0).CheckAsync(request, deadline: DateTime.UtcNow.AddSeconds(5)).ResponseAsync.ConfigureAwait(false);
            if (response.Status is { Code: not 0 } status)
            {
                throw new InvalidOperationException($"{target.Name} refused {request.Attributes.Request.Http.Path} (status {status.Code}: {status.Message}); the load test sends only requests the fleet's policy allows");
            }
        }
    }

    /// <summary>The service: --service-exe, else the ExtAuthz built with this project (its apphost when there is one).</summary>
    private static (string File, List<string> Arguments) ServiceCommand(string? given)
    {
        var path = given ?? typeof(LoadRun).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ExtAuthzServiceDll").Value
            ?? throw new InvalidOperationException("the build did not record where ExtAuthz.dll is");
        if (!path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            return (Path.GetFullPath(path), []);
        }

        var appHost = Path.ChangeExtension(path, OperatingSystem.IsWindows() ? ".exe" : null);
        return given is null && File.Exists(appHost) ? (appHost, []) : (DotnetHost(), [Path.GetFullPath(path)]);
    }

    /// <summary>
    /// The service's GC settings (server, concurrent) from the runtimeconfig.json beside it, as environment
    /// variables for the no-op server, so that both servers collect garbage the same way (the generator
    /// itself runs with workstation GC). Without that file: server GC, the service's Web SDK default.
    /// </summary>
    private static Dictionary<string, string> GcSettings(string serviceFile)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(serviceFile)) ?? ".";
        var config = Path.Combine(directory, Path.GetFileNameWithoutExtension(serviceFile) + ".runtimeconfig.json");
        var settings = new Dictionary<string, string>(StringComparer.Ordinal) { ["DOTNET_gcServer"] = "1" };
        if (!File.Exists(config))
        {
            return settings;
        }

        using var document = JsonDocument.Parse(File.ReadAllText(config));
        if (document.RootElement.TryGetProperty("runtimeOptions", out var runtime) && runtime.TryGetProperty("configProperties", out var properties))
        {
            foreach (var (property, variable) in new[] { ("System.GC.Server", "DOTNET_gcServer"), ("System.GC.Concurrent", "DOTNET_gcConcurrent") })
            {
                if (properties.TryGetProperty(property, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    settings[variable] = value.GetBoolean() ? "1" : "0";
                }
            }
        }

        return settings;
    }

    /// <summary>This program, to start its no-op-server mode: its apphost, or the dotnet host with its dll.</summary>
    private static (string File, List<string> Arguments) SelfCommand()
    {
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("the path of this process is unknown");
        return Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase)
            ? (process, [typeof(LoadRun).Assembly.Location])
            : (process, []);
    }

    /// <summary>A phase's samples on one server over all repeats.</summary>
    private sealed record Samples(LatencySamples Latencies, LatencySamples? SendLags);

    private static string DotnetHost() => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    private static string Machine() =>
        $"{Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, generator GC {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}";

    /// <summary>The three load averages from /proc/loadavg (Linux), or null.</summary>
    private static string? LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : null;

    private static double? LoadAverageOneMinute() =>
        LoadAverage() is { } text && double.TryParse(text.Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;
}
