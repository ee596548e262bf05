using Microsoft.Extensions.Logging;

namespace ExtAuthz.Identity.Cognito;

internal static partial class CognitoLog
{
    [LoggerMessage(EventId = 5201, Level = LogLevel.Information,
        Message = "Fetched {Count} signing keys for {Issuer} from {Url}")]
    public static partial void KeysFetched(ILogger logger, int count, string issuer, string url);

    [LoggerMessage(EventId = 5202, Level = LogLevel.Warning,
        Message = "Could not fetch the signing keys for {Issuer}: {Error} ({Kept})")]
    public static partial void FetchFailed(ILogger logger, string issuer, string error, string kept);

    [LoggerMessage(EventId = 5203, Level = LogLevel.Warning,
        Message = "The jwksFile of {Owner} ({Source}) is unusable, so its tokens are refused: {Error}")]
    public static partial void InlineKeysUnusable(ILogger logger, string owner, string source, string error);
}
