using ExtAuthz.Envoy.DataPlane;
using ExtAuthz.Envoy.Routing;

namespace ExtAuthz.Envoy.ControlPlane;

/// <summary>
/// Maps a request on the control-plane host (Envoy route hint <c>plane: control</c>) to the AWS IoT
/// control-plane operation it is and the IAM permissions AWS checks for it, from the method and Envoy's
/// raw <c>:path</c> (query included, not decoded). Every route, refusal rule and decision, with its AWS
/// source, is listed in docs/control-plane.md.
/// </summary>
/// <remarks>
/// The path is read by the data plane's rules, with the reader both planes share (<see cref="RequestPath"/>).
/// Routes are found by their first segment and segment count, their words compared literally; a known path
/// with another method is 405 before any parameter is read; parameters are checked against AWS's name
/// patterns. Several operations' resources are in a header or the JSON body (AttachPolicy's target,
/// AttachThingPrincipal's principal, …): those come back as <see cref="DataPlaneRoute.Deferred"/>, never
/// guessed from the path.
/// </remarks>
public static class ControlPlaneRoutes
{
    private const string NotAnOperation = "not an AWS IoT control-plane operation this service knows";

    /// <summary>The longest control-plane route has four segments (<c>/policies/{policyName}/version/{policyVersionId}</c>).</summary>
    private const int Tracked = 4;

    private static readonly Param ThingName = new(1, "thing name", NameRule.Thing);
    private static readonly Param ThingTypeName = new(1, "thing type name", NameRule.ThingType);
    private static readonly Param ThingGroupName = new(1, "thing group name", NameRule.ThingGroup);
    private static readonly Param CertificateId = new(1, "certificate ID", NameRule.Certificate);
    private static readonly Param CaCertificateId = new(1, "CA certificate ID", NameRule.CaCertificate);
    private static readonly Param PolicyName = new(1, "policy name", NameRule.Policy);
    private static readonly Param PolicyVersionId = new(3, "policy version ID", NameRule.PolicyVersion);
    private static readonly Param RuleName = new(1, "rule name", NameRule.Rule);

    /// <summary>AWS documents no pattern for a policy target (an ARN or a Cognito identity ID); it must only decode.</summary>
    private static readonly Param Target = new(1, "policy target", null);

    private static readonly Route Things = new("/things", [], [new("GET", "ListThings")]);

    private static readonly Route Thing = new(
        "/things/{thingName}",
        [ThingName],
        [
            new("POST", "CreateThing", "thing", [new("iot:CreateThing", RequestInput.BillingGroup)]),
            new("GET", "DescribeThing", "thing"),
            new("PATCH", "UpdateThing", "thing"),
            new("DELETE", "DeleteThing", "thing"),
        ]);

    private static readonly Route ThingGroupsForThing = new("/things/{thingName}/thing-groups", [ThingName], [new("GET", "ListThingGroupsForThing", "thing")]);

    private static readonly Route ThingPrincipals = new(
        "/things/{thingName}/principals",
        [ThingName],
        [
            new("GET", "ListThingPrincipals", "thing"),
            new("PUT", "AttachThingPrincipal", deferred: [new("iot:AttachThingPrincipal", RequestInput.PrincipalHeader)]),
            new("DELETE", "DetachThingPrincipal", deferred: [new("iot:DetachThingPrincipal", RequestInput.PrincipalHeader)]),
        ]);

    private static readonly Route ThingPrincipalsV2 = new("/things/{thingName}/principals-v2", [ThingName], [new("GET", "ListThingPrincipalsV2", "thing")]);

    private static readonly Route ThingTypes = new("/thing-types", [], [new("GET", "ListThingTypes")]);

    private static readonly Route ThingType = new(
        "/thing-types/{thingTypeName}",
        [ThingTypeName],
        [
            new("POST", "CreateThingType", "thingtype"),
            new("GET", "DescribeThingType", "thingtype"),
            new("PATCH", "UpdateThingType", "thingtype"),
            new("DELETE", "DeleteThingType", "thingtype"),
        ]);

    private static readonly Route DeprecateThingType = new("/thing-types/{thingTypeName}/deprecate", [ThingTypeName], [new("POST", "DeprecateThingType", "thingtype")]);

    private static readonly Route ThingGroups = new("/thing-groups", [], [new("GET", "ListThingGroups")]);

    private static readonly Route ThingGroup = new(
        "/thing-groups/{thingGroupName}",
        [ThingGroupName],
        [
            new("POST", "CreateThingGroup", "thinggroup"),
            new("GET", "DescribeThingGroup", "thinggroup"),
            new("PATCH", "UpdateThingGroup", "thinggroup"),
            new("DELETE", "DeleteThingGroup", "thinggroup"),
        ]);

    private static readonly Route AddThingToThingGroup = new(
        "/thing-groups/addThingToThingGroup",
        [],
        [
            new("PUT", "AddThingToThingGroup", deferred: [new("iot:AddThingToThingGroup", RequestInput.Thing), new("iot:AddThingToThingGroup", RequestInput.ThingGroup)]),
        ]);

    private static readonly Route RemoveThingFromThingGroup = new(
        "/thing-groups/removeThingFromThingGroup",
        [],
        [
            new("PUT", "RemoveThingFromThingGroup", deferred: [new("iot:RemoveThingFromThingGroup", RequestInput.Thing), new("iot:RemoveThingFromThingGroup", RequestInput.ThingGroup)]),
        ]);

    /// <summary>Its thing groups come as lists in the body, which <see cref="DeferredAccess"/> does not model.</summary>
    private static readonly Route UpdateThingGroupsForThing = Route.Unsupported("UpdateThingGroupsForThing");

    private static readonly Route ThingsInThingGroup = new("/thing-groups/{thingGroupName}/things", [ThingGroupName], [new("GET", "ListThingsInThingGroup", "thinggroup")]);

    private static readonly Route PrincipalThings = new(
        "/principals/things",
        [],
        [
            new("GET", "ListPrincipalThings", deferred: [new("iot:ListPrincipalThings", RequestInput.PrincipalHeader)]),
        ]);

    private static readonly Route PrincipalThingsV2 = new(
        "/principals/things-v2",
        [],
        [
            new("GET", "ListPrincipalThingsV2", deferred: [new("iot:ListPrincipalThingsV2", RequestInput.PrincipalHeader)]),
        ]);

    private static readonly Route KeysAndCertificate = new("/keys-and-certificate", [], [new("POST", "CreateKeysAndCertificate")]);

    private static readonly Route Certificates = new("/certificates", [], [new("GET", "ListCertificates"), new("POST", "CreateCertificateFromCsr")]);

    private static readonly Route Certificate = new(
        "/certificates/{certificateId}",
        [CertificateId],
        [
            new("GET", "DescribeCertificate", "cert"),
            new("PUT", "UpdateCertificate", "cert", query: Query.UpdateCertificate),
            new("DELETE", "DeleteCertificate", "cert"),
        ]);

    private static readonly Route RegisterCertificate = new("/certificate/register", [], [new("POST", "RegisterCertificate")]);

    private static readonly Route RegisterCertificateWithoutCa = new("/certificate/register-no-ca", [], [new("POST", "RegisterCertificateWithoutCA")]);

    /// <summary>The CA certificate ID is checked, though AWS lists no resource for the action.</summary>
    private static readonly Route CertificatesByCa = new("/certificates-by-ca/{caCertificateId}", [CaCertificateId], [new("GET", "ListCertificatesByCA")]);

    private static readonly Route RegisterCaCertificate = new("/cacertificate", [], [new("POST", "RegisterCACertificate")]);

    private static readonly Route CaCertificate = new(
        "/cacertificate/{caCertificateId}",
        [CaCertificateId],
        [
            new("GET", "DescribeCACertificate", "cacert"),
            new("PUT", "UpdateCACertificate", "cacert", query: Query.UpdateCaCertificate),
            new("DELETE", "DeleteCACertificate", "cacert"),
        ]);

    private static readonly Route CaCertificates = new("/cacertificates", [], [new("GET", "ListCACertificates")]);

    private static readonly Route RegistrationCode = new("/registrationcode", [], [new("GET", "GetRegistrationCode"), new("DELETE", "DeleteRegistrationCode")]);

    private static readonly Route Policies = new("/policies", [], [new("GET", "ListPolicies")]);

    private static readonly Route Policy = new(
        "/policies/{policyName}",
        [PolicyName],
        [
            new("POST", "CreatePolicy", "policy"),
            new("GET", "GetPolicy", "policy"),
            new("DELETE", "DeletePolicy", "policy"),
        ]);

    private static readonly Route PolicyVersions = new(
        "/policies/{policyName}/version",
        [PolicyName],
        [
            new("POST", "CreatePolicyVersion", "policy"),
            new("GET", "ListPolicyVersions", "policy"),
        ]);

    private static readonly Route PolicyVersion = new(
        "/policies/{policyName}/version/{policyVersionId}",
        [PolicyName, PolicyVersionId],
        [
            new("GET", "GetPolicyVersion", "policy"),
            new("DELETE", "DeletePolicyVersion", "policy"),
            new("PATCH", "SetDefaultPolicyVersion", "policy"),
        ]);

    /// <summary>AWS checks AttachPolicy and DetachPolicy on the target (body), not on the policy the path names.</summary>
    private static readonly Route TargetPolicies = new(
        "/target-policies/{policyName}",
        [PolicyName],
        [
            new("PUT", "AttachPolicy", deferred: [new("iot:AttachPolicy", RequestInput.PolicyTarget)]),
            new("POST", "DetachPolicy", deferred: [new("iot:DetachPolicy", RequestInput.PolicyTarget)]),
        ]);

    private static readonly Route AttachedPolicies = new("/attached-policies/{target}", [Target], [new("POST", "ListAttachedPolicies")]);

    private static readonly Route PolicyTargets = new("/policy-targets/{policyName}", [PolicyName], [new("POST", "ListTargetsForPolicy", "policy")]);

    private static readonly Route Rules = new("/rules", [], [new("GET", "ListTopicRules")]);

    private static readonly Route Rule = new(
        "/rules/{ruleName}",
        [RuleName],
        [
            new("POST", "CreateTopicRule", "rule"),
            new("GET", "GetTopicRule", "rule"),
            new("PATCH", "ReplaceTopicRule", "rule"),
            new("DELETE", "DeleteTopicRule", "rule"),
        ]);

    private static readonly Route EnableRule = new("/rules/{ruleName}/enable", [RuleName], [new("POST", "EnableTopicRule", "rule")]);

    private static readonly Route DisableRule = new("/rules/{ruleName}/disable", [RuleName], [new("POST", "DisableTopicRule", "rule")]);

    private static readonly Route Endpoint = new("/endpoint", [], [new("GET", "DescribeEndpoint")]);

    private static readonly Route TestAuthorization = new(
        "/test-authorization",
        [],
        [
            new("POST", "TestAuthorization", deferred: [new("iot:TestAuthorization", RequestInput.TestPrincipal)]),
        ]);

    private static readonly string[] CertificateStatuses = ["ACTIVE", "INACTIVE", "REVOKED", "PENDING_TRANSFER", "REGISTER_INACTIVE", "PENDING_ACTIVATION"];
    private static readonly string[] CaCertificateStatuses = ["ACTIVE", "INACTIVE"];
    private static readonly string[] AutoRegistrationStatuses = ["ENABLE", "DISABLE"];

    /// <summary>The query parameters an operation's route reads (all others are the upstream's).</summary>
    private enum Query
    {
        None,

        /// <summary><c>newStatus</c>, required.</summary>
        UpdateCertificate,

        /// <summary><c>newStatus</c> and <c>newAutoRegistrationStatus</c>, both optional.</summary>
        UpdateCaCertificate,
    }

    /// <summary>Matches one request; never throws for any method or path.</summary>
    public static DataPlaneRoute Match(string method, string rawPath)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(rawPath);

        Span<int> starts = stackalloc int[Tracked];
        Span<int> ends = stackalloc int[Tracked];
        if (RequestPath.Read(rawPath, "control-plane", "", starts, ends, out var path) is { } malformed)
        {
            return DataPlaneRoute.Refuse(400, malformed);
        }

        return Find(method, path) is { } route ? route.Match(method, path) : DataPlaneRoute.Refuse(404, NotAnOperation);
    }

    /// <summary>
    /// The route of a path, by its first segment and segment count. AddThingToThingGroup and its siblings
    /// are literal words where a thing group name may stand; AWS defines them for PUT only, which no
    /// <c>/thing-groups/{thingGroupName}</c> operation takes, so they are theirs for PUT and a group's name
    /// for every other method.
    /// </summary>
    private static Route? Find(string method, in RequestPath path)
    {
        var count = path.Count;
        if (count is 0 or > Tracked)
        {
            return null;
        }

        switch (path.Segment(0))
        {
            case "things":
                return count switch
                {
                    1 => Things,
                    2 => Thing,
                    3 => path.Segment(2) switch
                    {
                        "thing-groups" => ThingGroupsForThing,
                        "principals" => ThingPrincipals,
                        "principals-v2" => ThingPrincipalsV2,
                        _ => null,
                    },
                    _ => null,
                };
            case "thing-types":
                return count switch
                {
                    1 => ThingTypes,
                    2 => ThingType,
                    3 when path.Segment(2) is "deprecate" => DeprecateThingType,
                    _ => null,
                };
            case "thing-groups":
                return count switch
                {
                    1 => ThingGroups,
                    2 when method == "PUT" && path.Segment(1) is "addThingToThingGroup" => AddThingToThingGroup,
                    2 when method == "PUT" && path.Segment(1) is "removeThingFromThingGroup" => RemoveThingFromThingGroup,
                    2 when method == "PUT" && path.Segment(1) is "updateThingGroupsForThing" => UpdateThingGroupsForThing,
                    2 => ThingGroup,
                    3 when path.Segment(2) is "things" => ThingsInThingGroup,
                    _ => null,
                };
            case "principals" when count == 2:
                return path.Segment(1) switch
                {
                    "things" => PrincipalThings,
                    "things-v2" => PrincipalThingsV2,
                    _ => null,
                };
            case "keys-and-certificate" when count == 1:
                return KeysAndCertificate;
            case "certificates":
                return count switch
                {
                    1 => Certificates,
                    2 => Certificate,
                    _ => null,
                };
            case "certificate" when count == 2:
                return path.Segment(1) switch
                {
                    "register" => RegisterCertificate,
                    "register-no-ca" => RegisterCertificateWithoutCa,
                    _ => null,
                };
            case "certificates-by-ca" when count == 2:
                return CertificatesByCa;
            case "cacertificate":
                return count switch
                {
                    1 => RegisterCaCertificate,
                    2 => CaCertificate,
                    _ => null,
                };
            case "cacertificates" when count == 1:
                return CaCertificates;
            case "registrationcode" when count == 1:
                return RegistrationCode;
            case "policies":
                return count switch
                {
                    1 => Policies,
                    2 => Policy,
                    3 when path.Segment(2) is "version" => PolicyVersions,
                    4 when path.Segment(2) is "version" => PolicyVersion,
                    _ => null,
                };
            case "target-policies" when count == 2:
                return TargetPolicies;
            case "attached-policies" when count == 2:
                return AttachedPolicies;
            case "policy-targets" when count == 2:
                return PolicyTargets;
            case "rules":
                return count switch
                {
                    1 => Rules,
                    2 => Rule,
                    3 when path.Segment(2) is "enable" => EnableRule,
                    3 when path.Segment(2) is "disable" => DisableRule,
                    _ => null,
                };
            case "endpoint" when count == 1:
                return Endpoint;
            case "test-authorization" when count == 1:
                return TestAuthorization;
            default:
                return null;
        }
    }

    /// <summary>Checks the query parameters <paramref name="query"/> names; null when they are well-formed.</summary>
    private static string? QueryError(Query query, in RequestPath path) => query switch
    {
        Query.UpdateCertificate => OneOf(path, "newStatus", required: true, CertificateStatuses),
        Query.UpdateCaCertificate => OneOf(path, "newStatus", required: false, CaCertificateStatuses)
            ?? OneOf(path, "newAutoRegistrationStatus", required: false, AutoRegistrationStatuses),
        _ => null,
    };

    /// <summary>
    /// A query parameter whose value must be one of AWS's (case-sensitive) values; given twice it is refused,
    /// as the data plane refuses its own, since which one AWS would honour is undocumented.
    /// </summary>
    private static string? OneOf(in RequestPath path, string name, bool required, string[] values)
    {
        var found = path.Parameter(name, out var valueStart, out var valueEnd);
        var value = "";
        if (found == 1 && path.Decode(valueStart, valueEnd, name, out value) is { } malformed)
        {
            return malformed;
        }

        return found switch
        {
            0 when required => $"the query parameter '{name}' is required (one of {string.Join(", ", values)})",
            0 => null,
            > 1 => $"the query parameter '{name}' appears more than once",
            _ when Array.IndexOf(values, value) >= 0 => null,
            _ => $"{name} must be one of {string.Join(", ", values)}",
        };
    }

    /// <summary>A path parameter: its segment, its name in reasons, and AWS's rule for it (null: any text that decodes).</summary>
    private sealed record Param(int Segment, string Noun, NameRule? Rule);

    /// <summary>
    /// One operation of a route: its method, its AWS name (the action is <c>iot:{Name}</c>), the resource
    /// type named by the route's first parameter (null: none from the path), and the permissions resolved
    /// from headers or the body. With neither a resource type nor deferred permissions, AWS's resource for
    /// the action is <c>*</c>.
    /// </summary>
    private sealed class Operation
    {
        public Operation(string method, string name, string? resourceType = null, DeferredAccess[]? deferred = null, Query query = Query.None)
        {
            Method = method;
            Name = name;
            Action = "iot:" + name;
            ResourceType = resourceType;
            Deferred = deferred;
            QueryRule = query;
            AnyResource = resourceType is null && deferred is null ? [new(Action, "*")] : [];
        }

        public string Method { get; }

        public string Name { get; }

        public string Action { get; }

        public string? ResourceType { get; }

        public DeferredAccess[]? Deferred { get; }

        public Query QueryRule { get; }

        /// <summary>The permissions when <see cref="ResourceType"/> is null: the action on <c>*</c>, or none when deferred; shared, never changed.</summary>
        public DataPlaneAccess[] AnyResource { get; }
    }

    /// <summary>A path shape (its template for reasons), its parameters and the operations its methods map to.</summary>
    private sealed class Route
    {
        private readonly Param[] parameters;
        private readonly Operation[] operations;
        private readonly string refusal;

        public Route(string template, Param[] parameters, Operation[] operations)
        {
            this.parameters = parameters;
            this.operations = operations;
            var methods = operations.Select(operation => operation.Method).Order(StringComparer.Ordinal);
            refusal = $"method not allowed: {template} allows {string.Join(", ", methods)}";
        }

        private Route(string refusal)
        {
            parameters = [];
            operations = [];
            this.refusal = refusal;
        }

        /// <summary>An AWS operation this service recognizes and refuses (404, naming it) rather than misroute.</summary>
        public static Route Unsupported(string operation) => new($"{operation} is an AWS IoT control-plane operation that ExtAuthz does not support");

        public DataPlaneRoute Match(string method, in RequestPath path)
        {
            Operation? operation = null;
            foreach (var candidate in operations)
            {
                if (candidate.Method == method)
                {
                    operation = candidate;
                    break;
                }
            }

            if (operation is null)
            {
                return DataPlaneRoute.Refuse(operations.Length == 0 ? 404 : 405, refusal);
            }

            string? first = null;
            foreach (var parameter in parameters)
            {
                if ((path.DecodeSegment(parameter.Segment, parameter.Noun, out var value) ?? parameter.Rule?.Error(value)) is { } bad)
                {
                    return DataPlaneRoute.Refuse(400, bad);
                }

                first ??= value;
            }

            if (QueryError(operation.QueryRule, path) is { } badQuery)
            {
                return DataPlaneRoute.Refuse(400, badQuery);
            }

            var route = DataPlaneRoute.For(
                operation.Name,
                operation.ResourceType is { } type ? [new(operation.Action, $"{type}/{first}")] : operation.AnyResource);
            if (operation.Deferred is { } deferred)
            {
                route = route.WithDeferred(deferred);
            }

            return parameters.Length > 0 && parameters[0].Rule == NameRule.Thing ? route.WithThing(first!) : route;
        }
    }
}
