using ExtAuthz.Registry.Tests.Support;
using static ExtAuthz.Registry.Tests.Loading.LoadingTestKit;

namespace ExtAuthz.Registry.Tests.Loading;

/// <summary>IAM users, groups, roles, access keys from a Secret mount, and Cognito identity pools.</summary>
public sealed class IamLoadingTests : IDisposable
{
    private readonly TempConfigDirectory dir = new();
    private readonly string configMap;
    private readonly string secret;

    public IamLoadingTests()
    {
        configMap = dir.Subdirectory("configmap");
        secret = dir.Subdirectory("secret");
        dir.Write("configmap/operator.json", PolicyJson("iot:Publish"));
        dir.Write("secret/alice-key", "  s3cr3t/value  \n");
    }

    public void Dispose() => dir.Dispose();

    private void Registry(string yaml) => dir.Write("configmap/registry.yaml", Header + yaml);

    private string File => dir["configmap/registry.yaml"];

    [Fact]
    public void Users_inherit_their_groups_policies_and_have_managed_and_inline_ones()
    {
        Registry("""
            iam:
              policies:
                - name: Operator
                  file: operator.json
              groups:
                - name: operators
                  policies: [Operator]
                  inlinePolicies:
                    - name: Describe
                      document: '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iot:DescribeThing", "Resource": "*"}}'
              users:
                - name: alice
                  groups: [operators]
                  policies: [Operator]
                  inlinePolicies:
                    - name: Own
                      file: operator.json
                  accessKeys:
                    - id: AKIAIOSFODNN7EXAMPLE
                      secretFile: alice-key
              roles:
                - name: auditor
                  policies: Operator
            """);

        var snapshot = Load(configMap, secret);

        Assert.Equal("arn:aws:iam::123456789012:policy/Operator", snapshot.IamPolicies["Operator"].Arn);
        var group = snapshot.IamGroups["operators"];
        Assert.Equal(2, group.Policies.Count);
        var alice = snapshot.IamUsers["alice"];
        Assert.Equal("arn:aws:iam::123456789012:user/alice", alice.Arn);
        Assert.Equal(["operators"], alice.Groups);
        // Own managed, own inline, then the group's two.
        Assert.Equal(4, alice.Policies.Count);
        Assert.Same(group.Policies[1], alice.Policies[3]);
        Assert.Equal("arn:aws:iam::123456789012:role/auditor", snapshot.IamRoles["auditor"].Arn);
        Assert.Single(snapshot.IamRoles["auditor"].Policies);
        var key = snapshot.AccessKeys["AKIAIOSFODNN7EXAMPLE"];
        Assert.Equal("s3cr3t/value", key.Secret);
        Assert.Same(alice, key.Owner);
        Assert.DoesNotContain("s3cr3t", key.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Iam_references_and_names_are_checked()
    {
        Registry("""
            iam:
              policies:
                - name: Operator
                  file: operator.json
                - name: Operator
                  file: operator.json
              groups:
                - name: g
                  policies: [Missing]
              users:
                - name: alice
                  groups: [nope]
                - name: alice
              roles:
                - name: r
                  groups: [g]
            """);

        var errors = Refuse(configMap, secret);

        Assert.Equal(5, errors.Count);
        Has(errors, File, 7, "IAM policy 'Operator' is declared twice", column: 7);
        Has(errors, File, 11, "IAM policy 'Missing' is not defined under iam.policies", column: 17);
        Has(errors, File, 14, "IAM group 'nope' is not defined", column: 15);
        Has(errors, File, 15, "IAM user 'alice' is declared twice", column: 7);
        Has(errors, File, 18, "unknown key 'groups' in an IAM role (expected name, policies, inlinePolicies, ", column: 7);
    }

    [Fact]
    public void Access_key_secrets_must_come_from_a_readable_non_empty_file()
    {
        dir.Write("secret/empty", " \n");
        Registry("""
            iam:
              users:
                - name: u
                  accessKeys:
                    - id: AKIAIOSFODNN7EXAMPL1
                      secretFile: missing-key
                    - id: AKIAIOSFODNN7EXAMPL2
                      secretFile: empty
                    - id: AKIAIOSFODNN7EXAMPL3
                    - id: akiaiosfodnn7example
                      secretFile: alice-key
                    - id: AKIAIOSFODNN7EXAMPL4
                      secretFile: alice-key
                    - id: AKIAIOSFODNN7EXAMPL4
                      secretFile: alice-key
            """);

        var errors = Refuse(configMap, secret);

        Assert.Equal(5, errors.Count);
        Has(errors, File, 8, "'secretFile: missing-key' names no file in the configuration directories", column: 23);
        Has(errors, File, 9, $"the secret file {dir["secret/empty"]} is empty", column: 11);
        Has(errors, File, 11, "an access key needs 'secretFile' naming a file from a mounted Secret (secrets never go in a ConfigMap)", column: 11);
        Has(errors, File, 12, "access key ID 'akiaiosfodnn7example' must be 16 to 128 upper-case letters and digits", column: 15);
        Has(errors, File, 16, "access key 'AKIAIOSFODNN7EXAMPL4' is declared twice", column: 11);
    }

    [Fact]
    public void Cognito_identity_pools_name_their_roles_and_token_sources()
    {
        dir.Write("configmap/jwks.keys", "{\"keys\": []}");
        Registry("""
            iam:
              roles:
                - name: auth
                - name: unauth
            cognito:
              identityPools:
                - id: us-east-1:1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d
                  authenticatedRole: auth
                  unauthenticatedRole: unauth
                  jwksFile: jwks.keys
                - id: eu-west-1:00000000-0000-0000-0000-000000000000
                  issuer: https://issuer.example.com
                  jwksUrl: https://issuer.example.com/jwks
            """);

        var pools = Load(configMap, secret).CognitoPools;

        var first = pools["us-east-1:1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"];
        Assert.Equal("auth", first.AuthenticatedRole);
        Assert.Equal("unauth", first.UnauthenticatedRole);
        Assert.Equal("https://cognito-identity.amazonaws.com", first.Issuer);
        Assert.Equal("{\"keys\": []}", first.JwksJson);
        var second = pools["eu-west-1:00000000-0000-0000-0000-000000000000"];
        Assert.Null(second.AuthenticatedRole);
        Assert.Equal("https://issuer.example.com", second.Issuer);
        Assert.Equal("https://issuer.example.com/jwks", second.JwksUrl);
    }

    [Fact]
    public void Cognito_pool_rules_are_enforced()
    {
        Registry("""
            iam:
              users:
                - name: notARole
            cognito:
              identityPools:
                - id: pool-1
                - id: us-east-1:1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d
                  authenticatedRole: notARole
                - id: us-east-1:1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d
            """);

        var errors = Refuse(configMap, secret);

        Assert.Equal(3, errors.Count);
        Has(errors, File, 8, "identity pool ID 'pool-1' must look like us-east-1:uuid", column: 11);
        Has(errors, File, 10, "IAM role 'notARole' is not defined under iam.roles", column: 26);
        Has(errors, File, 11, "identity pool 'us-east-1:1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d' is declared twice", column: 7);
    }

    [Fact]
    public void A_jwks_json_file_is_not_an_iot_policy()
    {
        dir.Write("configmap/jwks.json", "{\"keys\": []}");
        Registry("""
            cognito:
              identityPools:
                - id: us-east-1:1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d
                  jwksFile: jwks.json
            """);

        Assert.NotNull(Load(configMap, secret).CognitoPools.Values.Single().JwksJson);
    }
}
