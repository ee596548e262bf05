using ExtAuthz.Envoy.ControlPlane;
using ExtAuthz.Envoy.DataPlane;

namespace ExtAuthz.Envoy.Tests.ControlPlane;

/// <summary>
/// Every AWS IoT control-plane route: the operation, the permissions AWS checks (action and resource
/// relative to <c>arn:aws:iot:{region}:{account}:</c>, or <c>*</c>) and the permissions whose resource is
/// in a header or the body; and every refusal, with its status and reason.
/// </summary>
public sealed class ControlPlaneRoutesTests
{
    private const string NotAnOperation = "not an AWS IoT control-plane operation this service knows";
    private const string Cert = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    private const string Ca = "6959097001d10501ac7d54c0bdb8db61420f658f2922cc26e46d536119a31126";
    private const string CertificateStatuses = "ACTIVE, INACTIVE, REVOKED, PENDING_TRANSFER, REGISTER_INACTIVE, PENDING_ACTIVATION";

    public static TheoryData<string, string, string, string, string> Routes => new()
    {
        // Things.
        { "GET", "/things", "ListThings", "iot:ListThings *", "" },
        { "GET", "/things?maxResults=10&thingTypeName=t&attributeName=a&attributeValue=v&usePrefixAttributeValue=true", "ListThings", "iot:ListThings *", "" },
        { "POST", "/things/t1", "CreateThing", "iot:CreateThing thing/t1", "iot:CreateThing BillingGroup" },
        { "GET", "/things/t1", "DescribeThing", "iot:DescribeThing thing/t1", "" },
        { "PATCH", "/things/t1", "UpdateThing", "iot:UpdateThing thing/t1", "" },
        { "DELETE", "/things/t1?expectedVersion=3", "DeleteThing", "iot:DeleteThing thing/t1", "" },
        { "GET", "/things/my%3AThing_1-x", "DescribeThing", "iot:DescribeThing thing/my:Thing_1-x", "" },
        { "GET", "/things/my:Thing", "DescribeThing", "iot:DescribeThing thing/my:Thing", "" },
        { "GET", "/things/t1/thing-groups?maxResults=5", "ListThingGroupsForThing", "iot:ListThingGroupsForThing thing/t1", "" },

        // Thing principals: the principal is in x-amzn-principal.
        { "GET", "/things/t1/principals", "ListThingPrincipals", "iot:ListThingPrincipals thing/t1", "" },
        { "GET", "/things/t1/principals-v2?thingPrincipalType=EXCLUSIVE_THING", "ListThingPrincipalsV2", "iot:ListThingPrincipalsV2 thing/t1", "" },
        { "PUT", "/things/t1/principals?thingPrincipalType=EXCLUSIVE_THING", "AttachThingPrincipal", "", "iot:AttachThingPrincipal PrincipalHeader" },
        { "DELETE", "/things/t1/principals", "DetachThingPrincipal", "", "iot:DetachThingPrincipal PrincipalHeader" },
        { "GET", "/principals/things?maxResults=2", "ListPrincipalThings", "", "iot:ListPrincipalThings PrincipalHeader" },
        { "GET", "/principals/things-v2", "ListPrincipalThingsV2", "", "iot:ListPrincipalThingsV2 PrincipalHeader" },

        // Thing types.
        { "GET", "/thing-types", "ListThingTypes", "iot:ListThingTypes *", "" },
        { "POST", "/thing-types/sensor", "CreateThingType", "iot:CreateThingType thingtype/sensor", "" },
        { "GET", "/thing-types/sensor", "DescribeThingType", "iot:DescribeThingType thingtype/sensor", "" },
        { "PATCH", "/thing-types/sensor", "UpdateThingType", "iot:UpdateThingType thingtype/sensor", "" },
        { "DELETE", "/thing-types/sensor", "DeleteThingType", "iot:DeleteThingType thingtype/sensor", "" },
        { "POST", "/thing-types/sensor/deprecate", "DeprecateThingType", "iot:DeprecateThingType thingtype/sensor", "" },

        // Thing groups; the add/remove words are theirs for PUT only, a group's name otherwise.
        { "GET", "/thing-groups?parentGroup=g0&recursive=true", "ListThingGroups", "iot:ListThingGroups *", "" },
        { "POST", "/thing-groups/g1", "CreateThingGroup", "iot:CreateThingGroup thinggroup/g1", "" },
        { "GET", "/thing-groups/g1", "DescribeThingGroup", "iot:DescribeThingGroup thinggroup/g1", "" },
        { "PATCH", "/thing-groups/g1", "UpdateThingGroup", "iot:UpdateThingGroup thinggroup/g1", "" },
        { "DELETE", "/thing-groups/g1", "DeleteThingGroup", "iot:DeleteThingGroup thinggroup/g1", "" },
        { "GET", "/thing-groups/g1/things?recursive=true", "ListThingsInThingGroup", "iot:ListThingsInThingGroup thinggroup/g1", "" },
        { "PUT", "/thing-groups/addThingToThingGroup", "AddThingToThingGroup", "", "iot:AddThingToThingGroup Thing, iot:AddThingToThingGroup ThingGroup" },
        { "PUT", "/thing-groups/removeThingFromThingGroup", "RemoveThingFromThingGroup", "", "iot:RemoveThingFromThingGroup Thing, iot:RemoveThingFromThingGroup ThingGroup" },
        { "GET", "/thing-groups/addThingToThingGroup", "DescribeThingGroup", "iot:DescribeThingGroup thinggroup/addThingToThingGroup", "" },
        { "DELETE", "/thing-groups/removeThingFromThingGroup", "DeleteThingGroup", "iot:DeleteThingGroup thinggroup/removeThingFromThingGroup", "" },
        { "POST", "/thing-groups/updateThingGroupsForThing", "CreateThingGroup", "iot:CreateThingGroup thinggroup/updateThingGroupsForThing", "" },

        // Certificates.
        { "POST", "/keys-and-certificate?setAsActive=true", "CreateKeysAndCertificate", "iot:CreateKeysAndCertificate *", "" },
        { "POST", "/certificates?setAsActive=false", "CreateCertificateFromCsr", "iot:CreateCertificateFromCsr *", "" },
        { "GET", "/certificates?pageSize=10&marker=m&isAscendingOrder=true", "ListCertificates", "iot:ListCertificates *", "" },
        { "POST", "/certificate/register?setAsActive=true", "RegisterCertificate", "iot:RegisterCertificate *", "" },
        { "POST", "/certificate/register-no-ca", "RegisterCertificateWithoutCA", "iot:RegisterCertificateWithoutCA *", "" },
        { "GET", "/certificates/" + Cert, "DescribeCertificate", "iot:DescribeCertificate cert/" + Cert, "" },
        { "PUT", "/certificates/" + Cert + "?newStatus=INACTIVE", "UpdateCertificate", "iot:UpdateCertificate cert/" + Cert, "" },
        { "PUT", "/certificates/" + Cert + "?newStatus=REVOKED&other=x", "UpdateCertificate", "iot:UpdateCertificate cert/" + Cert, "" },
        { "PUT", "/certificates/" + Cert + "?n%65wStatus=%41CTIVE", "UpdateCertificate", "iot:UpdateCertificate cert/" + Cert, "" },
        { "DELETE", "/certificates/" + Cert + "?forceDelete=true", "DeleteCertificate", "iot:DeleteCertificate cert/" + Cert, "" },
        { "GET", "/certificates-by-ca/" + Ca + "?pageSize=5", "ListCertificatesByCA", "iot:ListCertificatesByCA *", "" },

        // CA certificates and the registration code.
        { "POST", "/cacertificate?setAsActive=true&allowAutoRegistration=true", "RegisterCACertificate", "iot:RegisterCACertificate *", "" },
        { "GET", "/cacertificate/" + Ca, "DescribeCACertificate", "iot:DescribeCACertificate cacert/" + Ca, "" },
        { "PUT", "/cacertificate/" + Ca + "?newStatus=ACTIVE&newAutoRegistrationStatus=ENABLE", "UpdateCACertificate", "iot:UpdateCACertificate cacert/" + Ca, "" },
        { "PUT", "/cacertificate/" + Ca, "UpdateCACertificate", "iot:UpdateCACertificate cacert/" + Ca, "" },
        { "DELETE", "/cacertificate/" + Ca, "DeleteCACertificate", "iot:DeleteCACertificate cacert/" + Ca, "" },
        { "GET", "/cacertificates?templateName=t", "ListCACertificates", "iot:ListCACertificates *", "" },
        { "GET", "/registrationcode", "GetRegistrationCode", "iot:GetRegistrationCode *", "" },
        { "DELETE", "/registrationcode", "DeleteRegistrationCode", "iot:DeleteRegistrationCode *", "" },

        // Policies and versions.
        { "GET", "/policies?pageSize=3", "ListPolicies", "iot:ListPolicies *", "" },
        { "POST", "/policies/p1", "CreatePolicy", "iot:CreatePolicy policy/p1", "" },
        { "GET", "/policies/p1", "GetPolicy", "iot:GetPolicy policy/p1", "" },
        { "DELETE", "/policies/p1", "DeletePolicy", "iot:DeletePolicy policy/p1", "" },
        { "GET", "/policies/a.b@c%2Bd=e,f_g-h", "GetPolicy", "iot:GetPolicy policy/a.b@c+d=e,f_g-h", "" },
        { "GET", "/policies/a+b", "GetPolicy", "iot:GetPolicy policy/a+b", "" },
        { "GET", "/policies/...", "GetPolicy", "iot:GetPolicy policy/...", "" },
        { "POST", "/policies/p1/version?setAsDefault=true", "CreatePolicyVersion", "iot:CreatePolicyVersion policy/p1", "" },
        { "GET", "/policies/p1/version", "ListPolicyVersions", "iot:ListPolicyVersions policy/p1", "" },
        { "GET", "/policies/p1/version/2", "GetPolicyVersion", "iot:GetPolicyVersion policy/p1", "" },
        { "DELETE", "/policies/p1/version/2", "DeletePolicyVersion", "iot:DeletePolicyVersion policy/p1", "" },
        { "PATCH", "/policies/p1/version/12", "SetDefaultPolicyVersion", "iot:SetDefaultPolicyVersion policy/p1", "" },

        // Attachments: AWS checks the target (body), not the policy.
        { "PUT", "/target-policies/p1", "AttachPolicy", "", "iot:AttachPolicy PolicyTarget" },
        { "POST", "/target-policies/p1", "DetachPolicy", "", "iot:DetachPolicy PolicyTarget" },
        { "POST", "/attached-policies/arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3Acert%2F" + Cert + "?recursive=true", "ListAttachedPolicies", "iot:ListAttachedPolicies *", "" },
        { "POST", "/attached-policies/us-east-1:0d6ef2c0-58c4-4f2b-9d8a-123456789abc", "ListAttachedPolicies", "iot:ListAttachedPolicies *", "" },
        { "POST", "/policy-targets/p1?pageSize=1", "ListTargetsForPolicy", "iot:ListTargetsForPolicy policy/p1", "" },

        // Topic rules.
        { "GET", "/rules?topic=a%2Fb&ruleDisabled=false", "ListTopicRules", "iot:ListTopicRules *", "" },
        { "POST", "/rules/my_rule_1", "CreateTopicRule", "iot:CreateTopicRule rule/my_rule_1", "" },
        { "GET", "/rules/my_rule_1", "GetTopicRule", "iot:GetTopicRule rule/my_rule_1", "" },
        { "PATCH", "/rules/my_rule_1", "ReplaceTopicRule", "iot:ReplaceTopicRule rule/my_rule_1", "" },
        { "DELETE", "/rules/my_rule_1", "DeleteTopicRule", "iot:DeleteTopicRule rule/my_rule_1", "" },
        { "POST", "/rules/my_rule_1/enable", "EnableTopicRule", "iot:EnableTopicRule rule/my_rule_1", "" },
        { "POST", "/rules/my_rule_1/disable", "DisableTopicRule", "iot:DisableTopicRule rule/my_rule_1", "" },

        // The rest.
        { "GET", "/endpoint?endpointType=iot:Data-ATS", "DescribeEndpoint", "iot:DescribeEndpoint *", "" },
        { "POST", "/test-authorization?clientId=c1", "TestAuthorization", "", "iot:TestAuthorization TestPrincipal" },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public void Each_route_names_its_operation_and_permissions(string method, string path, string operation, string permissions, string deferred)
    {
        var route = Operation(method, path);

        Assert.Equal(operation, route.Operation);
        Assert.Equal(permissions, string.Join(", ", route.Permissions.Select(p => $"{p.Action} {p.Resource}")));
        Assert.Equal(deferred, string.Join(", ", route.Deferred.Select(d => $"{d.Action} {d.Input}")));
        Assert.Equal(0, route.HttpStatus);
        Assert.Null(route.Reason);
    }

    [Fact]
    public void The_table_has_every_operation_once()
    {
        var operations = Routes.Select(row => (string)row[2]).Distinct().ToList();

        Assert.Equal(64, operations.Count);
    }

    [Theory]
    [InlineData("POST", "/things/t1", "t1")]
    [InlineData("GET", "/things/a%3Ab", "a:b")]
    [InlineData("GET", "/things/t1/thing-groups", "t1")]
    [InlineData("PUT", "/things/t1/principals", "t1")]
    [InlineData("DELETE", "/things/t1/principals", "t1")]
    [InlineData("GET", "/things/t1/principals-v2", "t1")]
    [InlineData("GET", "/things", null)]
    [InlineData("GET", "/thing-groups/g1", null)]
    [InlineData("GET", "/principals/things", null)]
    public void Routes_whose_path_names_a_thing_carry_it(string method, string path, string? thingName)
    {
        var route = Operation(method, path);

        Assert.Equal(thingName, route.ThingName);
        Assert.Null(route.Topic);
        Assert.Null(route.JobId);
    }

    public static TheoryData<string, string, int, string> Refusals => new()
    {
        // The path's characters, escapes and segments.
        { "GET", "/things/t 1", 400, "U+0020 at offset 9 may not appear in a URL unencoded; percent-encode it" },
        { "GET", "/things/t\u00e9", 400, "U+00E9 at offset 9 may not appear in a URL unencoded; percent-encode it" },
        { "GET", "/things/t%2", 400, "bad percent-encoding at offset 9: '%' must be followed by two hexadecimal digits" },
        { "GET", "/things?x=%G1", 400, "bad percent-encoding at offset 10: '%' must be followed by two hexadecimal digits" },
        { "PATCH", "/things/t1/principals?x=%", 400, "bad percent-encoding at offset 24: '%' must be followed by two hexadecimal digits" },
        { "GET", "things", 400, "the path must begin with '/'" },
        { "GET", "", 400, "the path must begin with '/'" },
        { "GET", "?a=b", 400, "the path must begin with '/'" },
        { "GET", "/things/", 400, "the path ends with '/'; AWS IoT's control-plane paths have no trailing slash" },
        { "GET", "/things/t1/principals/", 400, "the path ends with '/'; AWS IoT's control-plane paths have no trailing slash" },
        { "GET", "//things", 400, "the path has an empty segment ('//') at offset 1; AWS IoT's control-plane paths have none" },
        { "GET", "/things//principals", 400, "the path has an empty segment ('//') at offset 8; AWS IoT's control-plane paths have none" },
        { "GET", "/things/..", 400, "the path has a '.' or '..' segment at offset 8; dot segments are refused as path traversal" },
        { "GET", "/policies/%2e", 400, "the path has a '.' or '..' segment at offset 10; dot segments are refused as path traversal" },
        { "GET", "/policies/.%2E/x/y/z", 400, "the path has a '.' or '..' segment at offset 10; dot segments are refused as path traversal" },
        { "GET", "/a/b/c/d/./f", 400, "the path has a '.' or '..' segment at offset 9; dot segments are refused as path traversal" },

        // Parameters: decoded once, strictly UTF-8.
        { "GET", "/things/%FF", 400, "the thing name is not valid UTF-8 after percent-decoding: byte 0 of the decoded thing name (offset 8 in the path) begins an invalid sequence" },
        { "GET", "/policies/ab%C3%28", 400, "the policy name is not valid UTF-8 after percent-decoding: byte 2 of the decoded policy name (offset 12 in the path) begins an invalid sequence" },
        { "POST", "/attached-policies/%FF", 400, "the policy target is not valid UTF-8 after percent-decoding: byte 0 of the decoded policy target (offset 19 in the path) begins an invalid sequence" },

        // Names: AWS's patterns.
        { "GET", "/things/bad!name", 400, "a thing name may hold only a-z A-Z 0-9 : _ -; '!' at offset 3 is not allowed" },
        { "GET", "/things/a%2Fb", 400, "a thing name may hold only a-z A-Z 0-9 : _ -; '/' at offset 1 is not allowed" },
        { "GET", "/things/caf%C3%A9", 400, "a thing name may hold only a-z A-Z 0-9 : _ -; U+00E9 at offset 3 is not allowed" },
        { "GET", "/things/" + new string('t', 129), 400, "a thing name must be 1 to 128 characters long, not 129" },
        { "PUT", "/things/t.1/principals", 400, "a thing name may hold only a-z A-Z 0-9 : _ -; '.' at offset 1 is not allowed" },
        { "GET", "/thing-types/t.1", 400, "a thing type name may hold only a-z A-Z 0-9 : _ -; '.' at offset 1 is not allowed" },
        { "GET", "/thing-groups/g%20", 400, "a thing group name may hold only a-z A-Z 0-9 : _ -; U+0020 at offset 1 is not allowed" },
        { "GET", "/certificates/" + Cert.ToUpperInvariant(), 400, "a certificate ID may hold only 0-9 a-f; 'E' at offset 0 is not allowed" },
        { "GET", "/certificates/" + Cert[..63], 400, "a certificate ID must be exactly 64 characters long, not 63" },
        { "GET", "/certificates/0x" + Cert[..62], 400, "a certificate ID may hold only 0-9 a-f; 'x' at offset 1 is not allowed" },
        { "GET", "/cacertificate/zz", 400, "a CA certificate ID must be exactly 64 characters long, not 2" },
        { "GET", "/certificates-by-ca/abc", 400, "a CA certificate ID must be exactly 64 characters long, not 3" },
        { "GET", "/policies/p!", 400, "a policy name may hold only a-z A-Z 0-9 _ + = , . @ -; '!' at offset 1 is not allowed" },
        { "GET", "/policies/p%20q", 400, "a policy name may hold only a-z A-Z 0-9 _ + = , . @ -; U+0020 at offset 1 is not allowed" },
        { "GET", "/policies/" + new string('p', 129), 400, "a policy name must be 1 to 128 characters long, not 129" },
        { "PUT", "/target-policies/p!", 400, "a policy name may hold only a-z A-Z 0-9 _ + = , . @ -; '!' at offset 1 is not allowed" },
        { "GET", "/policies/p1/version/v1", 400, "a policy version ID may hold only 0-9; 'v' at offset 0 is not allowed" },
        { "GET", "/policies/p!/version/v1", 400, "a policy name may hold only a-z A-Z 0-9 _ + = , . @ -; '!' at offset 1 is not allowed" },
        { "GET", "/policies/p1/version/1.0", 400, "a policy version ID may hold only 0-9; '.' at offset 1 is not allowed" },
        { "GET", "/rules/my-rule", 400, "a rule name may hold only a-z A-Z 0-9 _; '-' at offset 2 is not allowed" },
        { "POST", "/rules/r:1/enable", 400, "a rule name may hold only a-z A-Z 0-9 _; ':' at offset 1 is not allowed" },
        { "GET", "/rules/" + new string('r', 129), 400, "a rule name must be 1 to 128 characters long, not 129" },

        // The query parameters a route reads.
        { "PUT", "/certificates/" + Cert, 400, $"the query parameter 'newStatus' is required (one of {CertificateStatuses})" },
        { "PUT", "/certificates/" + Cert + "?NewStatus=ACTIVE", 400, $"the query parameter 'newStatus' is required (one of {CertificateStatuses})" },
        { "PUT", "/certificates/" + Cert + "?newStatus=active", 400, $"newStatus must be one of {CertificateStatuses}" },
        { "PUT", "/certificates/" + Cert + "?newStatus=", 400, $"newStatus must be one of {CertificateStatuses}" },
        { "PUT", "/certificates/" + Cert + "?newStatus", 400, $"newStatus must be one of {CertificateStatuses}" },
        { "PUT", "/certificates/" + Cert + "?newStatus=ACTIVE&newStatus=ACTIVE", 400, "the query parameter 'newStatus' appears more than once" },
        { "PUT", "/certificates/" + Cert + "?newStatus=%FF", 400, "the newStatus is not valid UTF-8 after percent-decoding: byte 0 of the decoded newStatus (offset 89 in the path) begins an invalid sequence" },
        { "PUT", "/cacertificate/" + Ca + "?newStatus=REVOKED", 400, "newStatus must be one of ACTIVE, INACTIVE" },
        { "PUT", "/cacertificate/" + Ca + "?newAutoRegistrationStatus=enable", 400, "newAutoRegistrationStatus must be one of ENABLE, DISABLE" },
        { "PUT", "/cacertificate/" + Ca + "?newAutoRegistrationStatus=ENABLE&newAutoRegistrationStatus=DISABLE", 400, "the query parameter 'newAutoRegistrationStatus' appears more than once" },

        // A known path with another method: the allowed methods, before any parameter is read.
        { "POST", "/things", 405, "method not allowed: /things allows GET" },
        { "PUT", "/things/t1", 405, "method not allowed: /things/{thingName} allows DELETE, GET, PATCH, POST" },
        { "PUT", "/things/bad!", 405, "method not allowed: /things/{thingName} allows DELETE, GET, PATCH, POST" },
        { "get", "/things/t1", 405, "method not allowed: /things/{thingName} allows DELETE, GET, PATCH, POST" },
        { "POST", "/things/t1/thing-groups", 405, "method not allowed: /things/{thingName}/thing-groups allows GET" },
        { "POST", "/things/t1/principals", 405, "method not allowed: /things/{thingName}/principals allows DELETE, GET, PUT" },
        { "PUT", "/things/t1/principals-v2", 405, "method not allowed: /things/{thingName}/principals-v2 allows GET" },
        { "PUT", "/principals/things", 405, "method not allowed: /principals/things allows GET" },
        { "DELETE", "/principals/things-v2", 405, "method not allowed: /principals/things-v2 allows GET" },
        { "DELETE", "/thing-types", 405, "method not allowed: /thing-types allows GET" },
        { "PUT", "/thing-types/tt", 405, "method not allowed: /thing-types/{thingTypeName} allows DELETE, GET, PATCH, POST" },
        { "GET", "/thing-types/tt/deprecate", 405, "method not allowed: /thing-types/{thingTypeName}/deprecate allows POST" },
        { "POST", "/thing-groups", 405, "method not allowed: /thing-groups allows GET" },
        { "PUT", "/thing-groups/g1", 405, "method not allowed: /thing-groups/{thingGroupName} allows DELETE, GET, PATCH, POST" },
        { "PUT", "/thing-groups/addThingToThingGr%6Fup", 405, "method not allowed: /thing-groups/{thingGroupName} allows DELETE, GET, PATCH, POST" },
        { "POST", "/thing-groups/g1/things", 405, "method not allowed: /thing-groups/{thingGroupName}/things allows GET" },
        { "GET", "/keys-and-certificate", 405, "method not allowed: /keys-and-certificate allows POST" },
        { "PUT", "/certificates", 405, "method not allowed: /certificates allows GET, POST" },
        { "PATCH", "/certificates/" + Cert, 405, "method not allowed: /certificates/{certificateId} allows DELETE, GET, PUT" },
        { "GET", "/certificate/register", 405, "method not allowed: /certificate/register allows POST" },
        { "GET", "/certificate/register-no-ca", 405, "method not allowed: /certificate/register-no-ca allows POST" },
        { "POST", "/certificates-by-ca/" + Ca, 405, "method not allowed: /certificates-by-ca/{caCertificateId} allows GET" },
        { "GET", "/cacertificate", 405, "method not allowed: /cacertificate allows POST" },
        { "POST", "/cacertificate/" + Ca, 405, "method not allowed: /cacertificate/{caCertificateId} allows DELETE, GET, PUT" },
        { "POST", "/cacertificates", 405, "method not allowed: /cacertificates allows GET" },
        { "POST", "/registrationcode", 405, "method not allowed: /registrationcode allows DELETE, GET" },
        { "POST", "/policies", 405, "method not allowed: /policies allows GET" },
        { "PUT", "/policies/p1", 405, "method not allowed: /policies/{policyName} allows DELETE, GET, POST" },
        { "DELETE", "/policies/p1/version", 405, "method not allowed: /policies/{policyName}/version allows GET, POST" },
        { "POST", "/policies/p1/version/1", 405, "method not allowed: /policies/{policyName}/version/{policyVersionId} allows DELETE, GET, PATCH" },
        { "GET", "/target-policies/p1", 405, "method not allowed: /target-policies/{policyName} allows POST, PUT" },
        { "DELETE", "/target-policies/p1", 405, "method not allowed: /target-policies/{policyName} allows POST, PUT" },
        { "GET", "/attached-policies/t", 405, "method not allowed: /attached-policies/{target} allows POST" },
        { "GET", "/policy-targets/p1", 405, "method not allowed: /policy-targets/{policyName} allows POST" },
        { "POST", "/rules", 405, "method not allowed: /rules allows GET" },
        { "PUT", "/rules/r1", 405, "method not allowed: /rules/{ruleName} allows DELETE, GET, PATCH, POST" },
        { "GET", "/rules/r1/enable", 405, "method not allowed: /rules/{ruleName}/enable allows POST" },
        { "DELETE", "/rules/r1/disable", 405, "method not allowed: /rules/{ruleName}/disable allows POST" },
        { "POST", "/endpoint", 405, "method not allowed: /endpoint allows GET" },
        { "GET", "/test-authorization", 405, "method not allowed: /test-authorization allows POST" },

        // No such operation.
        { "GET", "/", 404, NotAnOperation },
        { "GET", "/?a=b", 404, NotAnOperation },
        { "GET", "/foo", 404, NotAnOperation },
        { "GET", "/Things", 404, NotAnOperation },
        { "GET", "/%74hings", 404, NotAnOperation },
        { "GET", "/things/t1/shadow", 404, NotAnOperation },
        { "GET", "/things/t1/jobs", 404, NotAnOperation },
        { "GET", "/things/t1/jobs/j1", 404, NotAnOperation },
        { "POST", "/topics/a", 404, NotAnOperation },
        { "GET", "/retainedMessage", 404, NotAnOperation },
        { "GET", "/mqtt", 404, NotAnOperation },
        { "GET", "/things/t1/principals/x", 404, NotAnOperation },
        { "GET", "/a/b/c/d/e", 404, NotAnOperation },
        { "GET", "/policies/p1/versions", 404, NotAnOperation },
        { "GET", "/policies/p1/version/1/x", 404, NotAnOperation },
        { "GET", "/certificate", 404, NotAnOperation },
        { "POST", "/certificate/other", 404, NotAnOperation },
        { "GET", "/certificates/a/b", 404, NotAnOperation },
        { "GET", "/principals", 404, NotAnOperation },
        { "GET", "/principals/x", 404, NotAnOperation },
        { "POST", "/rules/r1/start", 404, NotAnOperation },
        { "POST", "/thing-types/tt/undeprecate", 404, NotAnOperation },
        { "GET", "/thing-groups/g1/x", 404, NotAnOperation },
        { "POST", "/keys-and-certificate/x", 404, NotAnOperation },
        { "GET", "/endpoint/x", 404, NotAnOperation },
        { "PUT", "/principal-policies/p1", 404, NotAnOperation },
        { "POST", "/effective-policies", 404, NotAnOperation },
        { "PUT", "/thing-groups/updateThingGroupsForThing", 404, "UpdateThingGroupsForThing is an AWS IoT control-plane operation that ExtAuthz does not support" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void Each_refusal_has_its_status_and_reason(string method, string path, int status, string reason)
    {
        var route = ControlPlaneRoutes.Match(method, path);

        Assert.False(route.IsOperation, $"{method} {path} matched {route.Operation}");
        Assert.Equal((status, reason), (route.HttpStatus, route.Reason));
        Assert.Empty(route.Permissions);
        Assert.Empty(route.Deferred);
        Assert.Null(route.ThingName);
    }

    [Fact]
    public void Data_plane_routes_have_no_deferred_permissions()
    {
        Assert.Empty(default(DataPlaneRoute).Deferred);
        Assert.Empty(HttpDataPlane.Match("POST", "/topics/a").Deferred);
    }

    [Fact]
    public void Null_arguments_are_programming_errors()
    {
        Assert.Throws<ArgumentNullException>(() => ControlPlaneRoutes.Match(null!, "/things"));
        Assert.Throws<ArgumentNullException>(() => ControlPlaneRoutes.Match("GET", null!));
    }

    [Fact]
    public void Long_names_decode_through_a_pooled_buffer()
    {
        var target = string.Concat(Enumerable.Repeat("%C3%A9", 200));

        Assert.Equal("ListAttachedPolicies", Operation("POST", "/attached-policies/" + target).Operation);
        Assert.Equal(
            "the policy target is not valid UTF-8 after percent-decoding: byte 400 of the decoded policy target (offset 1219 in the path) begins an invalid sequence",
            ControlPlaneRoutes.Match("POST", "/attached-policies/" + target + "%FF").Reason);
    }

    private static DataPlaneRoute Operation(string method, string path)
    {
        var route = ControlPlaneRoutes.Match(method, path);
        Assert.True(route.IsOperation, $"{method} {path}: {route.HttpStatus} {route.Reason}");
        return route;
    }
}
