using System.Diagnostics.CodeAnalysis;
using ExtAuthz.Envoy.ControlPlane;

namespace ExtAuthz.Envoy.DataPlane;

/// <summary>
/// What <see cref="HttpDataPlane.Match"/> (or <see cref="ControlPlaneRoutes.Match"/>) made of a request:
/// either an AWS IoT operation, with the permissions it needs and the parameters it names, or a refusal with
/// an HTTP status and a reason.
/// A struct, so that matching allocates only the strings and the permission list it returns.
/// </summary>
public readonly struct DataPlaneRoute
{
    private readonly DataPlaneAccess[]? permissions;

    private DataPlaneRoute(string? operation, DataPlaneAccess[]? permissions, int httpStatus, string? reason)
    {
        Operation = operation;
        this.permissions = permissions;
        HttpStatus = httpStatus;
        Reason = reason;
    }

    /// <summary>The AWS API name (<c>Publish</c>, <c>GetThingShadow</c>, …, <c>WebSocketUpgrade</c>); null for a refusal.</summary>
    public string? Operation { get; }

    /// <summary>Whether the request is an operation; otherwise <see cref="HttpStatus"/> and <see cref="Reason"/> say why not.</summary>
    [MemberNotNullWhen(true, nameof(Operation))]
    public bool IsOperation => Operation is not null;

    /// <summary>
    /// Every permission the operation needs; all must be allowed. Empty for <c>WebSocketUpgrade</c>
    /// (identity only: the MQTT gate decides what the connection may do) and for refusals.
    /// </summary>
    public IReadOnlyList<DataPlaneAccess> Permissions => permissions ?? [];

    /// <summary>
    /// Control plane only: permissions whose resource AWS reads from a header or the JSON body, which
    /// matching (method and path) cannot see. Each must be resolved (<see cref="DeferredAccess.Resolve"/>) and
    /// allowed as well as <see cref="Permissions"/>; one that cannot be resolved denies the request. Empty
    /// on the data plane.
    /// </summary>
    public IReadOnlyList<DeferredAccess> Deferred => DeferredOrNull ?? [];

    private DeferredAccess[]? DeferredOrNull { get; init; }

    /// <summary>400 (malformed), 404 (no such operation) or 405 (a known path with another method); 0 for an operation.</summary>
    public int HttpStatus { get; }

    /// <summary>Why the request was refused, in words; null for an operation.</summary>
    public string? Reason { get; }

    /// <summary>The topic (Publish, GetRetainedMessage), percent-decoded once and validated.</summary>
    public string? Topic { get; private init; }

    /// <summary>The thing (shadow and job operations).</summary>
    public string? ThingName { get; private init; }

    /// <summary>The named shadow's name; null for the classic shadow.</summary>
    public string? ShadowName { get; private init; }

    /// <summary>
    /// The job ID (DescribeJobExecution, UpdateJobExecution), for the <c>iot:JobId</c> condition key;
    /// DescribeJobExecution's may be <c>$next</c>.
    /// </summary>
    public string? JobId { get; private init; }

    /// <summary>The MQTT client to disconnect (DeleteConnection).</summary>
    public string? ClientId { get; private init; }

    /// <summary>Publish's QoS: 0 (the default) or 1.</summary>
    public int Qos { get; private init; }

    /// <summary>Publish's RETAIN flag (default false).</summary>
    public bool Retain { get; private init; }

    internal static DataPlaneRoute For(string operation, DataPlaneAccess[] permissions) => new(operation, permissions, 0, null);

    internal static DataPlaneRoute Refuse(int httpStatus, string reason) => new(null, null, httpStatus, reason);

    internal DataPlaneRoute WithTopic(string topic, int qos = 0, bool retain = false) => this with { Topic = topic, Qos = qos, Retain = retain };

    internal DataPlaneRoute WithThing(string thingName, string? shadowName = null, string? jobId = null) =>
        this with { ThingName = thingName, ShadowName = shadowName, JobId = jobId };

    internal DataPlaneRoute WithClient(string clientId) => this with { ClientId = clientId };

    internal DataPlaneRoute WithDeferred(DeferredAccess[] deferred) => this with { DeferredOrNull = deferred };
}
