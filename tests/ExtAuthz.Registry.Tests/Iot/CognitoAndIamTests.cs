using ExtAuthz.Policy;

namespace ExtAuthz.Registry.Tests.Iot;

/// <summary>
/// Cognito identities and IAM principals. Unauthenticated Cognito identities get the pool's
/// unauthenticated role; authenticated ones get the authenticated role intersected with the IoT
/// policies attached to the identity, for the data-plane actions AWS scopes (Connect, Publish,
/// Subscribe, Receive, Get/Update/DeleteThingShadow) and the role alone for every other action.
/// IAM users and roles get their IAM policies (a user's groups' included).
/// </summary>
public sealed class CognitoAndIamTests : IDisposable
{
    internal const string Pool = "us-east-1:1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d";
    internal const string Identity = "us-east-1:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    internal const string Bare = "us-east-1:9e8d7c6b-5a49-4837-a261-504f3e2d1c0b"; // no IoT policy attached
    private const string Sub = "${cognito-identity.amazonaws.com:sub}";

    private readonly IotRegistry registry = new();

    public void Dispose() => registry.Dispose();

    /// <summary>A pool with the given role policies, and the IoT policy attached to <see cref="Identity"/> (none to <see cref="Bare"/>).</summary>
    internal static IotRegistry Pooled(IotRegistry registry, string authenticatedRolePolicy, string unauthenticatedRolePolicy, string? identityIotPolicy)
    {
        registry.File("iam/AuthenticatedAccess.json", authenticatedRolePolicy)
            .File("iam/UnauthenticatedAccess.json", unauthenticatedRolePolicy)
            .Yaml($"""
                iam:
                  policies:
                    - name: AuthenticatedAccess
                      file: iam/AuthenticatedAccess.json
                  roles:
                    - name: CognitoAuthenticated
                      policies: [AuthenticatedAccess]
                    - name: CognitoUnauthenticated
                      inlinePolicies:
                        - name: UnauthenticatedAccess
                          file: iam/UnauthenticatedAccess.json
                cognito:
                  identityPools:
                    - id: {Pool}
                      authenticatedRole: CognitoAuthenticated
                      unauthenticatedRole: CognitoUnauthenticated
                """);
        if (identityIotPolicy is not null)
        {
            registry.Policy("IdentityIotPolicy", identityIotPolicy).Attach("IdentityIotPolicy", "cognitoIdentity", Identity);
        }

        return registry;
    }

    [Fact]
    public void An_unauthenticated_identity_gets_the_unauthenticated_role_policies_only()
    {
        var snapshot = Pooled(registry,
            authenticatedRolePolicy: Aws.Policy(Aws.Allow("iot:*", "*")),
            unauthenticatedRolePolicy: Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic($"guests/{Sub}/*"))),
            identityIotPolicy: Aws.Policy(Aws.Deny("iot:Publish", "*"))).Load();

        var subject = Expect.Accepted(PrincipalResolver.ForCognito(snapshot, Identity, Pool, authenticated: false, new ConnectionFacts { ClientId = Identity }));

        Assert.Equal(PrincipalKind.CognitoUnauthenticated, subject.Kind);
        Assert.Equal(Identity, subject.PrincipalId);
        Assert.Null(subject.ScopedBoundary);

        // The IoT policy attached to the identity (a Deny of everything) plays no part.
        Expect.Allowed(subject, "iot:Publish", Aws.Topic($"guests/{Identity}/hello"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("guests/someone-else/hello"));

        // Nor does the authenticated role.
        Expect.ImplicitDeny(subject, "iot:Subscribe", Aws.TopicFilter("anything"));
    }

    [Fact]
    public void An_authenticated_identity_needs_both_the_role_and_its_IoT_policy_to_allow()
    {
        var snapshot = Pooled(registry,
            authenticatedRolePolicy: Aws.Policy(
                Aws.Allow("iot:Publish", Aws.Topic("both")),
                Aws.Allow("iot:Publish", Aws.Topic("role-only")),
                Aws.Allow("iot:Publish", Aws.Topic($"users/{Sub}/*")),
                Aws.Allow("iot:Connect", Aws.Client(Sub))),
            unauthenticatedRolePolicy: Aws.Policy(Aws.Allow("iot:*", "*")),
            identityIotPolicy: Aws.Policy(
                Aws.Allow("iot:Publish", Aws.Topic("both")),
                Aws.Allow("iot:Publish", Aws.Topic("iot-only")),
                Aws.Allow("iot:Publish", Aws.Topic($"users/{Sub}/*")),
                Aws.Allow("iot:Connect", "*"))).Load();

        var subject = Expect.Accepted(PrincipalResolver.ForCognito(snapshot, Identity, Pool, authenticated: true, new ConnectionFacts { ClientId = Identity }));

        Assert.Equal(PrincipalKind.CognitoAuthenticated, subject.Kind);
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("both"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("role-only"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic("iot-only"));

        // ${cognito-identity.amazonaws.com:sub} resolves to the identity ID in both policies.
        Expect.Allowed(subject, "iot:Publish", Aws.Topic($"users/{Identity}/notes"));
        Expect.ImplicitDeny(subject, "iot:Publish", Aws.Topic($"users/{Bare}/notes"));
        Expect.Allowed(subject, "iot:Connect", Aws.Client(Identity));
        Expect.ImplicitDeny(subject, "iot:Connect", Aws.Client("someone-else"));
    }

    [Theory]
    [InlineData("iot:Connect", "client/c1", true)]
    [InlineData("iot:Publish", "topic/t", true)]
    [InlineData("iot:Subscribe", "topicfilter/t", true)]
    [InlineData("iot:Receive", "topic/t", true)]
    [InlineData("iot:GetThingShadow", "thing/lamp", true)]
    [InlineData("iot:UpdateThingShadow", "thing/lamp", true)]
    [InlineData("iot:DeleteThingShadow", "thing/lamp", true)]
    [InlineData("iot:GetRetainedMessage", "topic/t", false)]
    [InlineData("iot:ListRetainedMessages", "*", false)]
    [InlineData("iot:ListNamedShadowsForThing", "thing/lamp", false)]
    [InlineData("iot:RetainPublish", "topic/t", false)]
    [InlineData("iot:DescribeThing", "thing/lamp", false)]
    public void Only_the_data_plane_actions_AWS_lists_are_scoped_down_by_the_IoT_policies(string action, string resource, bool scoped)
    {
        // The role allows everything; the identity's IoT policy allows nothing but an unrelated topic
        // and explicitly denies the action under test.
        var snapshot = Pooled(registry,
            authenticatedRolePolicy: Aws.Policy(Aws.Allow("iot:*", "*")),
            unauthenticatedRolePolicy: Aws.Policy(Aws.Allow("iot:*", "*")),
            identityIotPolicy: Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("unrelated")), Aws.Deny(action, "*"))).Load();
        var subject = Expect.Accepted(PrincipalResolver.ForCognito(snapshot, Identity, Pool, authenticated: true, new ConnectionFacts { ClientId = Identity }));
        var arn = resource == "*" ? "*" : Aws.Prefix + resource;

        Assert.Equal(scoped, AuthorizationSubject.CognitoScopedActions.Contains(action));
        Expect.Decision(subject, action, arn, scoped ? DecisionKind.ExplicitDeny : DecisionKind.Allowed);
    }

    [Fact]
    public void An_authenticated_identity_without_an_IoT_policy_is_denied_the_scoped_actions()
    {
        var snapshot = Pooled(registry,
            authenticatedRolePolicy: Aws.Policy(Aws.Allow("iot:*", "*")),
            unauthenticatedRolePolicy: Aws.Policy(Aws.Allow("iot:*", "*")),
            identityIotPolicy: Aws.Policy(Aws.Allow("iot:*", "*"))).Load();

        var bare = Expect.Accepted(PrincipalResolver.ForCognito(snapshot, Bare, Pool, authenticated: true, new ConnectionFacts { ClientId = Bare }));

        Assert.NotNull(bare.ScopedBoundary);
        Assert.True(bare.ScopedBoundary.IsEmpty);
        Expect.ImplicitDeny(bare, "iot:Connect", Aws.Client(Bare));
        Expect.ImplicitDeny(bare, "iot:Publish", Aws.Topic("t"));
        Expect.ImplicitDeny(bare, "iot:Subscribe", Aws.TopicFilter("t"));
        Expect.ImplicitDeny(bare, "iot:UpdateThingShadow", Aws.Thing("lamp"));
        Expect.Allowed(bare, "iot:GetRetainedMessage", Aws.Topic("t"));

        // The identity with the policy attached, in the same pool, is allowed.
        var attached = Expect.Accepted(PrincipalResolver.ForCognito(snapshot, Identity, Pool, authenticated: true, new ConnectionFacts { ClientId = Identity }));
        Expect.Allowed(attached, "iot:Publish", Aws.Topic("t"));
    }

    [Fact]
    public void A_Deny_in_the_role_or_in_the_IoT_policy_is_an_explicit_deny()
    {
        var snapshot = Pooled(registry,
            authenticatedRolePolicy: Aws.Policy(Aws.Allow("iot:Publish", "*"), Aws.Deny("iot:Publish", Aws.Topic("role-denied"))),
            unauthenticatedRolePolicy: Aws.Policy(Aws.Allow("iot:*", "*")),
            identityIotPolicy: Aws.Policy(Aws.Allow("iot:Publish", "*"), Aws.Deny("iot:Publish", Aws.Topic("iot-denied")))).Load();
        var subject = Expect.Accepted(PrincipalResolver.ForCognito(snapshot, Identity, Pool, authenticated: true, new ConnectionFacts { ClientId = Identity }));

        Expect.ExplicitDeny(subject, "iot:Publish", Aws.Topic("role-denied"));
        Assert.All(subject.Explain("iot:Publish", Aws.Topic("role-denied")).ExplicitDenies, m => Assert.False(m.FromBoundary));
        Assert.Equal("IdentityIotPolicy", Expect.DecidingPolicy(Expect.ExplicitDeny(subject, "iot:Publish", Aws.Topic("iot-denied"))));
        Assert.Contains(subject.Explain("iot:Publish", Aws.Topic("iot-denied")).ExplicitDenies, m => m.FromBoundary);
        Expect.Allowed(subject, "iot:Publish", Aws.Topic("fine"));
    }

    [Fact]
    public void Thing_variables_resolve_for_a_Cognito_identity_attached_to_a_thing()
    {
        var snapshot = Pooled(registry,
            authenticatedRolePolicy: Aws.Policy(Aws.Allow("iot:*", "*")),
            unauthenticatedRolePolicy: Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("things/${iot:Connection.Thing.ThingName}"))),
            identityIotPolicy: Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("things/${iot:Connection.Thing.ThingName}"))))
            .Thing("kiosk-1", null, null, null, (Identity, false)).Load();

        var authenticated = Expect.Accepted(PrincipalResolver.ForCognito(snapshot, Identity, Pool, authenticated: true, new ConnectionFacts { ClientId = "kiosk-1" }));
        Expect.Allowed(authenticated, "iot:Publish", Aws.Topic("things/kiosk-1"));
        var other = Expect.Accepted(PrincipalResolver.ForCognito(snapshot, Identity, Pool, authenticated: false, new ConnectionFacts { ClientId = Identity }));
        Expect.ImplicitDeny(other, "iot:Publish", Aws.Topic("things/kiosk-1"));
    }

    [Fact]
    public void An_unknown_pool_or_a_missing_role_is_refused()
    {
        registry.File("iam/Access.json", Aws.Policy(Aws.Allow("iot:*", "*"))).Yaml($"""
            iam:
              policies:
                - name: Access
                  file: iam/Access.json
              roles:
                - name: OnlyAuthenticated
                  policies: [Access]
            cognito:
              identityPools:
                - id: {Pool}
                  authenticatedRole: OnlyAuthenticated
            """);
        var snapshot = registry.Load();

        Expect.Refused(PrincipalResolver.ForCognito(snapshot, Identity, "us-east-1:00000000-0000-4000-8000-000000000000", authenticated: true, ConnectionFacts.None), "not configured");
        Expect.Refused(PrincipalResolver.ForCognito(snapshot, Identity, Pool, authenticated: false, ConnectionFacts.None), "unauthenticated role");
        Expect.Accepted(PrincipalResolver.ForCognito(snapshot, Identity, Pool, authenticated: true, ConnectionFacts.None));
    }

    [Fact]
    public void An_IAM_user_gets_its_own_and_its_groups_policies_and_a_role_its_policies()
    {
        registry
            .File("iam/OperatorAccess.json", Aws.Policy(Aws.Allow("iot:Publish", Aws.Topic("ops/*")), Aws.Deny("iot:Publish", Aws.Topic("ops/secret"))))
            .File("iam/OwnTopics.json", Aws.Policy(Aws.Allow("iot:Subscribe", Aws.TopicFilter("users/${aws:username}/*"))))
            .File("iam/BackendAccess.json", Aws.Policy(Aws.Allow("iot:UpdateThingShadow", Aws.Thing("*"))))
            .Yaml("""
                iam:
                  policies:
                    - name: OperatorAccess
                      file: iam/OperatorAccess.json
                    - name: BackendAccess
                      file: iam/BackendAccess.json
                  groups:
                    - name: operators
                      policies: [OperatorAccess]
                  users:
                    - name: alice
                      groups: [operators]
                      inlinePolicies:
                        - name: OwnTopics
                          file: iam/OwnTopics.json
                    - name: bob
                  roles:
                    - name: Backend
                      policies: [BackendAccess]
                """);
        var snapshot = registry.Load();

        var alice = Expect.Accepted(PrincipalResolver.ForIam(snapshot, snapshot.IamUsers["alice"], ConnectionFacts.None));
        Assert.Equal(PrincipalKind.IamUser, alice.Kind);
        Assert.Equal("arn:aws:iam::123456789012:user/alice", alice.PrincipalArn);
        Expect.Allowed(alice, "iot:Publish", Aws.Topic("ops/restart"));
        Expect.ExplicitDeny(alice, "iot:Publish", Aws.Topic("ops/secret"));
        Expect.Allowed(alice, "iot:Subscribe", Aws.TopicFilter("users/alice/inbox"));
        Expect.ImplicitDeny(alice, "iot:Subscribe", Aws.TopicFilter("users/bob/inbox"));
        Expect.ImplicitDeny(alice, "iot:UpdateThingShadow", Aws.Thing("lamp"));

        var bob = Expect.Accepted(PrincipalResolver.ForIam(snapshot, snapshot.IamUsers["bob"], ConnectionFacts.None));
        Expect.ImplicitDeny(bob, "iot:Publish", Aws.Topic("ops/restart"));

        var backend = Expect.Accepted(PrincipalResolver.ForIam(snapshot, snapshot.IamRoles["Backend"], ConnectionFacts.None));
        Assert.Equal(PrincipalKind.IamRole, backend.Kind);
        Assert.Equal("arn:aws:iam::123456789012:role/Backend", backend.PrincipalArn);
        Expect.Allowed(backend, "iot:UpdateThingShadow", Aws.Thing("lamp"));
        Expect.ImplicitDeny(backend, "iot:Publish", Aws.Topic("ops/restart"));
    }
}
