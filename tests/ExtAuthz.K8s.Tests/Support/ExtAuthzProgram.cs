using System.Net;
using System.Reflection;
using Microsoft.AspNetCore.Http;

namespace ExtAuthz.K8s.Tests.Support;

/// <summary>What <c>extauthz serve</c> makes of its arguments: the endpoints and directories it uses.</summary>
internal sealed record ServeSettings(
    IReadOnlyList<string> Configs,
    IPEndPoint? Listen,
    IPEndPoint? Admin,
    IPEndPoint? MqttTunnel,
    IPEndPoint? MqttWebSocket,
    IPEndPoint? MqttListen,
    IPEndPoint? HttpPublish);

/// <summary>
/// The extauthz program itself, asked through the code that runs in the container: <c>serve</c>'s flag
/// parser, the admin endpoint's paths and the command line. These are internal to the program, so they
/// are reached by name; a rename fails here with the name that is missing.
/// </summary>
internal static class ExtAuthzProgram
{
    private static readonly Assembly Program = Assembly.Load("ExtAuthz");

    /// <summary>Parses <c>serve</c>'s arguments (those after "serve") exactly as the program does; an invalid one throws its message.</summary>
    public static ServeSettings ParseServe(IEnumerable<string> arguments)
    {
        var type = Type("ExtAuthz.Serving.ServeOptions");
        var parse = type.GetMethod("Parse", BindingFlags.Public | BindingFlags.Static, [typeof(string[])])
            ?? throw new MissingMethodException(type.FullName, "Parse(string[])");
        object options;
        try
        {
            options = parse.Invoke(null, [arguments.ToArray()])!;
        }
        catch (TargetInvocationException e) when (e.InnerException is ArgumentException refused)
        {
            throw new ArgumentException($"extauthz serve refuses its arguments: {refused.Message}", refused);
        }

        T Get<T>(string name) => (T)(type.GetProperty(name) ?? throw new MissingMemberException(type.FullName, name)).GetValue(options)!;
        return new ServeSettings(
            Get<List<string>>("Configs"),
            Get<IPEndPoint?>("Listen"),
            Get<IPEndPoint?>("Admin"),
            Get<IPEndPoint?>("MqttTunnel"),
            Get<IPEndPoint?>("MqttWebSocket"),
            Get<IPEndPoint?>("MqttListen"),
            Get<IPEndPoint?>("HttpPublish"));
    }

    /// <summary>Whether the admin endpoint answers this path (AdminEndpoints.IsAdminPath).</summary>
    public static bool IsAdminPath(string path)
    {
        var type = Type("ExtAuthz.Serving.AdminEndpoints");
        var method = type.GetMethod("IsAdminPath", BindingFlags.Public | BindingFlags.Static, [typeof(PathString)])
            ?? throw new MissingMethodException(type.FullName, "IsAdminPath(PathString)");
        return (bool)method.Invoke(null, [new PathString(path)])!;
    }

    /// <summary>Runs an extauthz command line in this process; returns the exit status and what it wrote.</summary>
    public static async Task<(int Status, string Output)> RunAsync(params string[] arguments)
    {
        var type = Type("ExtAuthz.Cli");
        var run = type.GetMethod("RunAsync", BindingFlags.Public | BindingFlags.Static, [typeof(string[]), typeof(TextReader), typeof(TextWriter), typeof(TextWriter)])
            ?? throw new MissingMethodException(type.FullName, "RunAsync(string[], TextReader, TextWriter, TextWriter)");
        using var output = new StringWriter();
        var status = await ((Task<int>)run.Invoke(null, [arguments, TextReader.Null, output, output])!).ConfigureAwait(false);
        return (status, output.ToString());
    }

    private static Type Type(string name) =>
        Program.GetType(name) ?? throw new TypeLoadException($"the extauthz program has no {name} any more; update {nameof(ExtAuthzProgram)}");
}
