using System.ComponentModel;
using System.Diagnostics;
using System.Reflection;

namespace ExtAuthz.Deploy.Tests;

/// <summary>What the build recorded about this machine (see the csproj), and running the tools the tests need.</summary>
internal static class TestEnvironment
{
    /// <summary>The repository whose envoy/, examples/ and k8s/ are checked.</summary>
    public static string RepositoryRoot =>
        Metadata("RepositoryRoot") is { Length: > 0 } root && Directory.Exists(root)
            ? root
            : throw new InvalidOperationException("the repository root was not recorded at build time (see ExtAuthz.Deploy.Tests.csproj)");

    public static string? Metadata(string key) =>
        typeof(TestEnvironment).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value;

    /// <summary>Runs a program to completion; a failure names the command and carries its output.</summary>
    public static void Run(string program, string directory, string why, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var command = $"{program} {string.Join(' ', arguments.Take(12))}{(arguments.Length > 12 ? $" … ({arguments.Length} arguments)" : "")}";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {command}");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"could not run {program} ({e.Message}); {why}", e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{command} did not finish in 3 minutes; {why}");
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{command} exited {process.ExitCode}; {why}:\n{stderr.Result}{stdout.Result}");
            }
        }
    }
}
