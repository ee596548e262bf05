namespace ExtAuthz.Registry;

/// <summary>How a <see cref="RegistrySource"/> watches its directories and reloads.</summary>
public sealed record RegistrySourceOptions
{
    /// <summary>
    /// Quiet time after the last file-system event before reloading, so that a burst (the kubelet's
    /// swap is several renames and deletes; an editor writes twice) is loaded once.
    /// </summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The longest a reload waits for a burst of events to end; a directory that never stops changing
    /// is still reloaded at least this often.
    /// </summary>
    public TimeSpan MaxDebounce { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often the safety net compares the directories' stamp (each <c>..data</c> link target and each
    /// visible file's path, size and modification time; no file is read) with the one last loaded.
    /// </summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>While no configuration has loaded yet (<see cref="RegistrySource.Current"/> is null), how often to retry even if nothing changed.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Use <see cref="FileSystemWatcher"/>; when false (or when watching fails) only the poll notices changes.</summary>
    public bool WatchFileSystem { get; init; } = true;

    /// <summary>Clock for delays, the poll and the snapshots' LoadedAt.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Debounce, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDebounce, Debounce);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(PollInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RetryInterval, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
