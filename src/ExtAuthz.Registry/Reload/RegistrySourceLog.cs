using Microsoft.Extensions.Logging;

namespace ExtAuthz.Registry;

internal static partial class RegistrySourceLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information,
        Message = "Registry generation {Generation} loaded from {FileCount} files in {ElapsedMs:F0} ms (fingerprint {Fingerprint})")]
    public static partial void Loaded(ILogger logger, long generation, int fileCount, double elapsedMs, string fingerprint);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug,
        Message = "Registry files unchanged (fingerprint {Fingerprint}); generation {Generation} keeps serving")]
    public static partial void Unchanged(ILogger logger, string fingerprint, long generation);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error,
        Message = "Registry update refused; generation {Generation} keeps serving. {Errors}")]
    public static partial void Refused(ILogger logger, long generation, string errors);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error,
        Message = "Registry could not load and nothing is being served yet; retrying. {Errors}")]
    public static partial void FirstLoadFailed(ILogger logger, string errors);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Debug,
        Message = "Registry files changed while being read; trying again")]
    public static partial void Unsettled(ILogger logger);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Debug,
        Message = "Registry files still invalid, with the same errors as last time")]
    public static partial void RefusedAgain(ILogger logger);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning,
        Message = "Cannot watch {Directory}; changes there are noticed by the periodic check only")]
    public static partial void WatchFailed(ILogger logger, Exception exception, string directory);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning,
        Message = "File watcher error; the periodic check covers it")]
    public static partial void WatcherError(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Error,
        Message = "A SnapshotChanged subscriber threw; reloading goes on")]
    public static partial void SubscriberFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Error,
        Message = "Registry reload loop failed unexpectedly; it goes on")]
    public static partial void LoopFailed(ILogger logger, Exception exception);
}
