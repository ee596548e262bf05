using Microsoft.Extensions.Logging;

namespace ExtAuthz.Envoy.Observability;

internal static partial class DecisionLogLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Error,
        Message = "Decision log sink failed; decisions are dropped (and counted) until a retry in {RetryInterval} succeeds")]
    public static partial void SinkFailed(ILogger logger, Exception exception, TimeSpan retryInterval);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information,
        Message = "Decision log sink works again after {Failures} failed writes; {Dropped} decisions were dropped meanwhile")]
    public static partial void SinkRecovered(ILogger logger, long failures, long dropped);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning,
        Message = "Decision log not written within {DrainTimeout}; {Dropped} queued decisions dropped")]
    public static partial void DrainTimedOut(ILogger logger, TimeSpan drainTimeout, long dropped);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Error,
        Message = "Decision log writer stopped unexpectedly; further decisions are dropped (and counted)")]
    public static partial void WriterFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning,
        Message = "Closing the decision log sink failed")]
    public static partial void CloseFailed(ILogger logger, Exception exception);
}
