using ExtAuthz.Registry;
using ExtAuthz.Registry.TestAuthorization;

namespace ExtAuthz.Commands;

/// <summary>
/// <c>extauthz test-authorization</c>: AWS IoT's TestAuthorization, offline, against configuration
/// directories. Request and response are AWS's JSON shapes.
/// </summary>
internal static class TestAuthorizationCommand
{
    public const string Help = """
        extauthz test-authorization --config DIR [--config DIR...] [--request FILE|-]
        extauthz test-authorization --config DIR... --principal P --action-type TYPE --resource ARN [--resource ARN...]
                                    [--action-type TYPE --resource ARN...] [--client-id ID]
                                    [--cognito-identity-pool-id ID] [--unauthenticated]
                                    [--policy-names-to-add NAME[,NAME...]] [--policy-names-to-skip NAME[,NAME...]]

        AWS IoT's TestAuthorization, offline: loads the configuration directories (as the service does),
        resolves the principal as a connection would, and reports for each action type and resource
        which policies allow it, which deny it explicitly and which say nothing.

        The request is AWS's TestAuthorization body (the clientId query parameter as a field), read from
        --request FILE, from standard input ('--request -' or no --request and no --principal), or built
        from the flags:

          { "principal": "arn:aws:iot:REGION:ACCOUNT:cert/ID" | "ID" | "arn:aws:iot:REGION:ACCOUNT:thinggroup/NAME"
                         | "REGION:ID" (Cognito identity) | "arn:aws:iam::ACCOUNT:user/NAME" | ".../role/NAME",
            "cognitoIdentityPoolId": "REGION:ID",      required with a Cognito identity
            "cognitoAuthenticated": true,              extension: false tests the identity as unauthenticated
                                                       (the pool's unauthenticated role); default true
            "clientId": "sensor-1",                    the MQTT client ID; without it, no thing variables
            "policyNamesToAdd": ["P"], "policyNamesToSkip": ["P"],
                                                       AWS IoT policies treated as attached / not attached
            "authInfos": [ {"actionType": "CONNECT" | "PUBLISH" | "SUBSCRIBE" | "RECEIVE",
                            "resources": ["arn:aws:iot:REGION:ACCOUNT:topic/a/b", ...]} ] }   1 to 10 authInfos

        Flags: --principal, --client-id, --cognito-identity-pool-id, --unauthenticated (cognitoAuthenticated:
        false), --policy-names-to-add and --policy-names-to-skip (comma-separated, repeatable); each
        --action-type starts an authInfo and the --resource flags after it are its resources.
        Action types test iot:Connect, iot:Publish, iot:Subscribe and iot:Receive.

        Writes AWS's response to standard output, one result per action type and resource:

          { "authResults": [ { "authInfo": {"actionType": "PUBLISH", "resources": ["arn:..."]},
                               "allowed": {"policies": [{"policyName": "P", "policyArn": "arn:aws:iot:...:policy/P"}]},
                               "denied": {"explicitDeny": {"policies": [...]}, "implicitDeny": {"policies": [...]}},
                               "authDecision": "ALLOWED" | "EXPLICIT_DENY" | "IMPLICIT_DENY",
                               "missingContextValues": ["iot:Connection.Thing.ThingName"] } ] }

        AWS IoT policies are named by name and policy ARN, managed IAM policies by name and IAM ARN,
        inline IAM policies as OWNER/NAME without an ARN. implicitDeny lists the policies with no
        matching statement. A principal that cannot authenticate (unknown, not ACTIVE, unknown pool)
        is an error, not a result.

        Exit status: 0 when the request was evaluated, whatever the decisions; 2 when the request is
        malformed, names an unknown policy or a refused principal, or the configuration does not load
        (the reasons on standard error, nothing on standard output); 64 on a command-line error.
        """;

    private const string Name = "extauthz test-authorization";

    public static async Task<int> RunAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var (options, exit) = await CommandLine.ParseAsync(args, Name, Help, Options.Parse, stdout, stderr).ConfigureAwait(false);
        if (options is null)
        {
            return exit;
        }

        TestAuthorizationRequest request;
        try
        {
            if (options.FromFlags)
            {
                request = options.Request();
            }
            else
            {
                var text = options.RequestFile is null or "-"
                    ? await stdin.ReadToEndAsync().ConfigureAwait(false)
                    : await File.ReadAllTextAsync(options.RequestFile).ConfigureAwait(false);
                request = TestAuthorizationService.ParseRequest(text);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"{Name}: cannot read {options.RequestFile}: {ex.Message}").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }
        catch (TestAuthorizationException ex)
        {
            await stderr.WriteLineAsync($"{Name}: {ex.Message}").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }

        RegistrySnapshot snapshot;
        try
        {
            snapshot = RegistryLoader.Load(options.Configs);
        }
        catch (ConfigException ex)
        {
            await stderr.WriteLineAsync($"{Name}: the configuration does not load:\n{string.Join('\n', ex.Errors.Select(e => "  " + e))}").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }

        string output;
        try
        {
            output = TestAuthorizationService.Serialize(TestAuthorizationService.Evaluate(snapshot, request));
        }
        catch (TestAuthorizationException ex)
        {
            await stderr.WriteLineAsync($"{Name}: {ex.Message}").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }

        await stdout.WriteLineAsync(output).ConfigureAwait(false);
        return Cli.ExitOk;
    }

    private sealed class Options
    {
        private readonly List<(string ActionType, List<string> Resources)> authInfos = [];

        public List<string> Configs { get; } = [];

        public string? RequestFile { get; private set; }

        public string? Principal { get; private set; }

        public string? ClientId { get; private set; }

        public string? PoolId { get; private set; }

        public bool Unauthenticated { get; private set; }

        public List<string> Add { get; } = [];

        public List<string> Skip { get; } = [];

        public bool FromFlags => Principal is not null;

        public static Options Parse(string[] args)
        {
            var options = new Options();
            var anyRequestFlag = false;
            for (var i = 0; i < args.Length; i++)
            {
                var flag = args[i];
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{flag} needs a value");
                switch (flag)
                {
                    case "--config":
                        options.Configs.Add(Value());
                        break;
                    case "--request":
                        options.RequestFile = Value();
                        break;
                    case "--principal":
                        options.Principal = Value();
                        break;
                    case "--client-id":
                        options.ClientId = Value();
                        anyRequestFlag = true;
                        break;
                    case "--cognito-identity-pool-id":
                        options.PoolId = Value();
                        anyRequestFlag = true;
                        break;
                    case "--unauthenticated":
                        options.Unauthenticated = true;
                        anyRequestFlag = true;
                        break;
                    case "--policy-names-to-add":
                        options.Add.AddRange(Names(Value()));
                        anyRequestFlag = true;
                        break;
                    case "--policy-names-to-skip":
                        options.Skip.AddRange(Names(Value()));
                        anyRequestFlag = true;
                        break;
                    case "--action-type":
                        options.authInfos.Add((Value(), []));
                        anyRequestFlag = true;
                        break;
                    case "--resource":
                        var resource = Value();
                        if (options.authInfos.Count == 0)
                        {
                            throw new ArgumentException("--resource must follow an --action-type");
                        }

                        options.authInfos[^1].Resources.Add(resource);
                        break;
                    default:
                        throw new ArgumentException($"unknown argument '{flag}'");
                }
            }

            if (options.Configs.Count == 0)
            {
                throw new ArgumentException("--config DIR is required");
            }

            if (options.Principal is not null && options.RequestFile is not null)
            {
                throw new ArgumentException("give the request either as --request FILE or as --principal and the other flags, not both");
            }

            if (options.Principal is null && anyRequestFlag)
            {
                throw new ArgumentException("--principal is required when the request is given as flags");
            }

            return options;
        }

        public TestAuthorizationRequest Request() => new()
        {
            Principal = Principal,
            ClientId = ClientId,
            CognitoIdentityPoolId = PoolId,
            CognitoAuthenticated = Unauthenticated ? false : null,
            PolicyNamesToAdd = Add,
            PolicyNamesToSkip = Skip,
            AuthInfos = authInfos.Select(a => new AuthInfo(a.ActionType, a.Resources)).ToArray(),
        };

        private static string[] Names(string value) =>
            value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}
