namespace ExtAuthz.Registry;

/// <summary>
/// What a <see cref="RegistrySource"/> serves and how its last attempts went; one immutable value,
/// replaced whole after each attempt.
/// </summary>
public sealed record RegistrySourceStatus
{
    /// <summary>True once a configuration has loaded: the service can answer.</summary>
    public bool Ready => Generation > 0;

    /// <summary>The serving snapshot's generation; 0 while none has loaded.</summary>
    public long Generation { get; init; }

    public DateTimeOffset? LoadedAt { get; init; }

    public string? Fingerprint { get; init; }

    /// <summary>How many files the serving snapshot was built from.</summary>
    public int FileCount { get; init; }

    /// <summary>
    /// True when the latest attempt was refused: the files on disk are not what is served. False again
    /// once an attempt loads (or finds the files equal to what is served).
    /// </summary>
    public bool Refusing { get; init; }

    /// <summary>Why the most recent refused attempt was refused (every error, one a line); kept after a later success.</summary>
    public string? LastError { get; init; }

    /// <summary>The errors of the most recent refused attempt, each with file, line, column and reason.</summary>
    public IReadOnlyList<ConfigError> LastErrors { get; init; } = [];

    public DateTimeOffset? LastErrorAt { get; init; }

    public DateTimeOffset? LastAttemptAt { get; init; }

    /// <summary>Load attempts that ran to the end (the first load included).</summary>
    public long AttemptCount { get; init; }

    /// <summary>Snapshots swapped in (the first load included).</summary>
    public long ReloadCount { get; init; }

    /// <summary>Attempts refused because the configuration was invalid.</summary>
    public long RefusedCount { get; init; }

    public IReadOnlyList<string> Directories { get; init; } = [];
}

/// <summary>What one reload attempt did.</summary>
public enum ReloadOutcome
{
    /// <summary>A new snapshot was swapped in.</summary>
    Loaded,

    /// <summary>The files are identical (same fingerprint) to the serving snapshot's: no new generation.</summary>
    Unchanged,

    /// <summary>The configuration is invalid; the previous snapshot (if any) keeps serving.</summary>
    Refused,

    /// <summary>The files kept changing while being read; nothing was decided and another attempt is scheduled.</summary>
    Unsettled,
}

/// <summary>The result of <see cref="RegistrySource.ReloadNowAsync"/>.</summary>
public sealed record ReloadResult(ReloadOutcome Outcome, RegistrySnapshot? Snapshot, ConfigException? Error);

/// <summary>Raised after a new snapshot is swapped in.</summary>
public sealed class RegistrySnapshotChangedEventArgs(RegistrySnapshot? previous, RegistrySnapshot current) : EventArgs
{
    /// <summary>The snapshot served before; null for the first load.</summary>
    public RegistrySnapshot? Previous { get; } = previous;

    public RegistrySnapshot Current { get; } = current;
}
