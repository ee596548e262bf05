using ExtAuthz.Registry;
using Microsoft.Extensions.Logging;

namespace ExtAuthz.Serving;

/// <summary>
/// The configuration the service decides with: configuration directories watched and hot-reloaded
/// through <see cref="RegistrySource"/>, or (without <c>--config</c>) the embedded defaults, loaded once.
/// </summary>
internal sealed class ServiceConfiguration : IAsyncDisposable
{
    private readonly RegistrySource? source;
    private RegistrySnapshot? embedded;

    public ServiceConfiguration(IReadOnlyList<string> directories, ILogger logger)
    {
        if (directories.Count > 0)
        {
            source = new RegistrySource(directories, logger: logger);
        }
    }

    /// <summary>The snapshot in effect; null until one has loaded.</summary>
    public RegistrySnapshot? Current => source is not null ? source.Current : Volatile.Read(ref embedded);

    /// <summary>The reload status, for configuration directories (null for the embedded defaults).</summary>
    public RegistrySourceStatus? Status => source?.Status;

    public bool IsEmbedded => source is null;

    /// <summary>Calls <paramref name="handler"/> (on the reloading thread) after each new snapshot is in effect; the embedded defaults never change.</summary>
    public void WhenChanged(Action handler)
    {
        if (source is not null)
        {
            source.SnapshotChanged += (_, _) => handler();
        }
    }

    /// <summary>Loads the configuration (a failed first load leaves the service unready and is retried on change).</summary>
    public void Start()
    {
        if (source is not null)
        {
            source.Start();
            return;
        }

        Volatile.Write(ref embedded, LoadEmbedded());
    }

    public async ValueTask DisposeAsync()
    {
        if (source is not null)
        {
            await source.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The embedded default registry, loaded by the same loader as any directory (so it obeys the same rules).</summary>
    internal static RegistrySnapshot LoadEmbedded()
    {
        var directory = Directory.CreateTempSubdirectory("extauthz-defaults-");
        try
        {
            using (var resource = typeof(ServiceConfiguration).Assembly.GetManifestResourceStream("ExtAuthz.Serving.default-registry.yaml")
                ?? throw new InvalidOperationException("the embedded default configuration is missing from the build"))
            using (var file = File.Create(Path.Combine(directory.FullName, "registry.yaml")))
            {
                resource.CopyTo(file);
            }

            return RegistryLoader.Load([directory.FullName], 1);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
