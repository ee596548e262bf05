namespace ExtAuthz.Envoy.Observability;

/// <summary>How a <see cref="DecisionLog"/> queues, batches and gives up.</summary>
public sealed record DecisionLogOptions
{
    public const int DefaultCapacity = 65_536;

    /// <summary>
    /// Records waiting to be written, at most; beyond it <see cref="DecisionLog.TryRecord"/> drops and
    /// counts. Bounds memory to this many records when the sink is slower than the Checks.
    /// </summary>
    public int Capacity { get; init; } = DefaultCapacity;

    /// <summary>Bytes of lines gathered before they are written even though more records are waiting; whatever is gathered is written as soon as the queue is empty.</summary>
    public int FlushBytes { get; init; } = 64 * 1024;

    /// <summary>How long <see cref="DecisionLog.DisposeAsync"/> waits for the queue to be written before dropping the rest.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>After a sink write fails, how long records are dropped without trying the sink again.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Clock for <see cref="DrainTimeout"/> and <see cref="RetryInterval"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(FlushBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(DrainTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(RetryInterval, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
