using System.Text.RegularExpressions;
using ExtAuthz.Policy;
using ExtAuthz.Registry.Iot;

namespace ExtAuthz.Registry.Lint;

/// <summary>
/// Checks a configuration before it ships: everything loading would refuse (as errors), then what AWS
/// only finds after deployment (Device Defender's audit) or refuses at its API: overly permissive
/// statements, MQTT wildcards in policy resources, the deny-subtree pitfall, variables that can never
/// resolve or are literal for want of a Version, AWS's size and count limits, unattached policies, and
/// policies left in shadow mode. Findings are ordered by file and line; each names its policy and
/// statement. No console I/O.
/// </summary>
public static partial class PolicyLinter
{
    /// <summary>AWS's policy document limit, whitespace excluded.</summary>
    public const int MaxDocumentCharacters = 2048;

    /// <summary>AWS's limit of policies attached to one certificate or Cognito identity.</summary>
    public const int MaxPoliciesPerPrincipal = 10;

    /// <summary>AWS's limit of versions of one policy.</summary>
    public const int MaxPolicyVersions = 5;

    private static readonly HashSet<string> SingleValuedIotKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "iot:ClientId", "iot:DomainName", "iot:CertificateId", "iot:LastWillTopic", "iot:Certificate.SerialNumber",
        "iot:Connection.Thing.ThingName", "iot:Connection.Thing.ThingTypeName", "iot:Connection.Thing.IsAttached",
        "iot:ClientMode", "iot:Delete", "iot:IncludeSocketInformation", "iot:ThingGroupArn", "iot:TunnelDestinationService", "iot:thingArn", "iot:Topic",
        "iot:JobId",
    };

    [GeneratedRegex(@"\$\{([^}]*)\}")]
    private static partial Regex Variable();

    [GeneratedRegex(@"^iot:Connection\.Thing\.Attributes\[[^\]]+\]$", RegexOptions.IgnoreCase)]
    private static partial Regex ThingAttribute();

    [GeneratedRegex(@"^iot:Certificate\.(Subject|Issuer)\.(AlternativeName\.)?([A-Za-z0-9]+)(\.[0-9]+|\.List)?$", RegexOptions.IgnoreCase)]
    private static partial Regex CertificateKey();

    /// <summary>Loads the directories and lints the result; when loading fails, the findings are the load errors.</summary>
    public static LintReport Lint(IReadOnlyList<string> directories)
    {
        ArgumentNullException.ThrowIfNull(directories);
        RegistrySnapshot snapshot;
        try
        {
            snapshot = RegistryLoader.Load(directories);
        }
        catch (ConfigException ex)
        {
            return new LintReport(null, LoadErrors(ex.Errors));
        }

        return new LintReport(snapshot, Lint(snapshot));
    }

    /// <summary>Load errors as findings (severity error, code <see cref="LintCodes.LoadError"/>).</summary>
    public static IReadOnlyList<LintFinding> LoadErrors(IEnumerable<ConfigError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return errors.Select(e => new LintFinding(LintSeverity.Error, LintCodes.LoadError, e.File, e.Line, e.Reason)).ToArray();
    }

    /// <summary>Lints a loaded snapshot.</summary>
    public static IReadOnlyList<LintFinding> Lint(RegistrySnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var locator = new SourceLocator(snapshot);
        var findings = new List<LintFinding>();
        var policies = Policies(snapshot, locator);
        foreach (var policy in policies)
        {
            CheckDocument(policy, findings);
        }

        CheckDenySubtrees(snapshot, policies, findings);
        CheckCounts(snapshot, policies, locator, findings);
        CheckAttachments(snapshot, policies, findings);
        CheckShadow(snapshot, policies, findings);
        return findings
            .Distinct()
            .OrderBy(f => f.File, StringComparer.Ordinal)
            .ThenBy(f => f.Line)
            .ThenBy(f => f.Severity)
            .ThenBy(f => f.Code, StringComparer.Ordinal)
            .ToArray();
    }

    /// <summary>Every policy document in the snapshot: each version of each AWS IoT policy, then the IAM policies (managed and inline).</summary>
    private static List<LintedPolicy> Policies(RegistrySnapshot snapshot, SourceLocator locator)
    {
        var list = new List<LintedPolicy>();
        foreach (var policy in snapshot.Policies.Values.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            foreach (var version in policy.Versions)
            {
                var label = policy.Versions.Count > 1 ? version.VersionId : null;
                list.Add(new LintedPolicy(policy.Name, label, version.Document, iot: true, version.VersionId == policy.DefaultVersionId,
                    locator.Locate(version.Document, version.Source)));
            }
        }

        var seen = new HashSet<PolicyDocument>(ReferenceEqualityComparer.Instance);
        foreach (var policy in snapshot.IamPolicies.Values.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            seen.Add(policy.Document);
            list.Add(new LintedPolicy(policy.Name, null, policy.Document, iot: false, isDefault: true, locator.Locate(policy.Document, null, policy.Name)));
        }

        var principals = snapshot.IamGroups.Values.Concat(snapshot.IamUsers.Values).Concat(snapshot.IamRoles.Values);
        foreach (var principal in principals)
        {
            foreach (var document in principal.Policies.Where(seen.Add))
            {
                list.Add(new LintedPolicy(document.Name, null, document, iot: false, isDefault: true, locator.Locate(document, principal.Source)));
            }
        }

        return list;
    }

    private static void CheckDocument(LintedPolicy policy, List<LintFinding> findings)
    {
        var document = policy.Document;
        var compact = document.Text.Count(c => !char.IsWhiteSpace(c));
        if (compact > MaxDocumentCharacters)
        {
            findings.Add(policy.Finding(LintSeverity.Warning, LintCodes.PolicyTooLarge, null,
                $"the document has {compact:N0} characters without whitespace; AWS IoT refuses policies over {MaxDocumentCharacters:N0}"));
        }

        foreach (var statement in policy.Statements)
        {
            if (!document.VariablesEnabled)
            {
                var literal = statement.Strings().FirstOrDefault(s => s.Contains("${", StringComparison.Ordinal));
                if (literal is not null)
                {
                    var variable = Variable().Match(literal) is { Success: true } m ? m.Value : "${";
                    var version = document.Version is null ? "the policy has no Version" : $"the policy's Version is {document.Version}";
                    findings.Add(policy.Finding(LintSeverity.Error, LintCodes.VariableWithoutVersion, statement,
                        $"uses '{variable}' in '{literal}', which is literal text, not a policy variable, because {version}; add \"Version\": \"2012-10-17\""));
                }
            }
            else
            {
                CheckVariables(policy, statement, findings);
            }

            foreach (var resource in statement.Resources)
            {
                var part = ResourcePart(resource);
                if (part.Contains('+', StringComparison.Ordinal) || part.Contains('#', StringComparison.Ordinal))
                {
                    findings.Add(policy.Finding(LintSeverity.Warning, LintCodes.MqttWildcard, statement,
                        $"uses MQTT's '{(part.Contains('+', StringComparison.Ordinal) ? '+' : '#')}' in '{part}', where policies treat '+' and '#' as ordinary characters: it matches only a topic or filter spelled exactly so. Use '*' (any run, across levels) or '?' (one character)"));
                }
            }

            CheckPermissive(policy, statement, findings);
        }
    }

    private static void CheckVariables(LintedPolicy policy, StatementView statement, List<LintFinding> findings)
    {
        var texts = statement.Resources.Select(ResourcePart)
            .Concat(statement.Conditions.Where(c => c.AllowsVariables).SelectMany(c => c.Values));
        foreach (var text in texts)
        {
            foreach (Match match in Variable().Matches(text))
            {
                var inner = match.Groups[1].Value;
                if (inner is "*" or "?" or "$" || inner.Contains(", '", StringComparison.Ordinal))
                {
                    continue;
                }

                if (VariableProblem(inner.Trim(), policy.Iot) is { } problem)
                {
                    findings.Add(policy.Finding(LintSeverity.Error, LintCodes.UnresolvableVariable, statement,
                        $"uses '${{{inner}}}', which can never resolve: {problem}; the {(statement.Allow ? "Allow" : "Deny")} never matches as intended"));
                }
            }
        }
    }

    /// <summary>Why a variable key can never have a value, or null when it can.</summary>
    internal static string? VariableProblem(string key, bool iotPolicy)
    {
        if (key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (key.StartsWith("cognito-identity.amazonaws.com:", StringComparison.OrdinalIgnoreCase))
        {
            var name = key["cognito-identity.amazonaws.com:".Length..];
            return name.ToUpperInvariant() switch
            {
                "SUB" or "AUD" => null,
                "AMR" => "it is multi-valued, and only single-valued keys substitute",
                _ => "Cognito supplies only cognito-identity.amazonaws.com:sub, :aud and :amr",
            };
        }

        if (key.StartsWith("credentials-iot:", StringComparison.OrdinalIgnoreCase))
        {
            var name = key["credentials-iot:".Length..];
            var known = name.Equals("ThingName", StringComparison.OrdinalIgnoreCase) || name.Equals("ThingTypeName", StringComparison.OrdinalIgnoreCase)
                || name.Equals("AwsCertificateId", StringComparison.OrdinalIgnoreCase);
            return !known ? "the credentials provider supplies only credentials-iot:ThingName, ThingTypeName and AwsCertificateId"
                : iotPolicy ? "credentials-iot: variables work in IAM policies only, not in AWS IoT policies" : null;
        }

        if (!key.StartsWith("iot:", StringComparison.OrdinalIgnoreCase))
        {
            return "it is not an AWS, AWS IoT, Cognito or credentials-provider key";
        }

        if (SingleValuedIotKeys.Contains(key) || ThingAttribute().IsMatch(key))
        {
            return null;
        }

        if (key.Equals("iot:ConnectAttributes", StringComparison.OrdinalIgnoreCase) || key.Equals("iot:Certificate.AvailableKeys", StringComparison.OrdinalIgnoreCase))
        {
            return "it is multi-valued, and only single-valued keys substitute (use it in a ForAnyValue:/ForAllValues: condition)";
        }

        if (CertificateKey().Match(key) is { Success: true } certificate)
        {
            var alternative = certificate.Groups[2].Success;
            var attribute = certificate.Groups[3].Value;
            var names = alternative ? CertificateVariables.AlternativeNameKinds : CertificateVariables.AttributeNames;
            if (!names.Contains(attribute, StringComparer.OrdinalIgnoreCase))
            {
                return $"AWS IoT has no certificate variable '{attribute}' (it knows {string.Join(", ", names)})";
            }

            return certificate.Groups[4].Value.Equals(".List", StringComparison.OrdinalIgnoreCase)
                ? "'.List' is multi-valued, and only single-valued keys substitute (use it in a ForAnyValue:/ForAllValues: condition)"
                : null;
        }

        return "AWS IoT has no such key (see the policy variables in the AWS IoT Developer Guide)";
    }

    private static void CheckPermissive(LintedPolicy policy, StatementView statement, List<LintFinding> findings)
    {
        if (!statement.Allow || statement.NotResource)
        {
            return;
        }

        var allResources = statement.Resources.Any(r => r == "*" || ResourcePart(r) == "*");
        var allActions = statement.NotAction || statement.Actions.Any(a => a == "*" || a.Equals("iot:*", StringComparison.OrdinalIgnoreCase));
        if (allResources && allActions && !statement.HasConditions)
        {
            var actions = statement.NotAction ? $"NotAction {string.Join(", ", statement.Actions)}" : string.Join(", ", statement.Actions);
            findings.Add(policy.Finding(policy.Iot ? LintSeverity.Error : LintSeverity.Warning, LintCodes.OverlyPermissive, statement,
                $"allows {actions} on every resource with no condition: any principal holding it can connect as any client and publish, subscribe and receive on every topic. Name the actions and resources it needs"));
            return;
        }

        if (!policy.Iot || !statement.Compiled.MatchesAction("iot:Connect") || statement.Bound)
        {
            return;
        }

        var anyClient = statement.Resources.FirstOrDefault(r => r == "*" || ResourcePart(r) is var part && (part == "*" || part.StartsWith("client/", StringComparison.Ordinal) && part["client/".Length..].All(c => c == '*')));
        if (anyClient is not null)
        {
            findings.Add(policy.Finding(LintSeverity.Warning, LintCodes.ConnectAnyClient, statement,
                $"allows iot:Connect on '{anyClient}' with no condition tying the client ID to the principal: a holder can connect as any client ID and disconnect the device using it. Use client/${{iot:Connection.Thing.ThingName}} with a Bool iot:Connection.Thing.IsAttached condition"));
            return;
        }

        var clientIdVariable = !policy.Document.VariablesEnabled ? null : statement.Resources.FirstOrDefault(r => ResourcePart(r).Equals("client/${iot:ClientId}", StringComparison.OrdinalIgnoreCase));
        if (clientIdVariable is not null)
        {
            findings.Add(policy.Finding(LintSeverity.Warning, LintCodes.UnboundClientId, statement,
                "allows iot:Connect on client/${iot:ClientId}, which every client ID matches (the variable is the client's own ID): add a Bool iot:Connection.Thing.IsAttached \"true\" condition or use client/${iot:Connection.Thing.ThingName}"));
        }
    }

    /// <summary>
    /// Allow <c>topicfilter/a/*</c> with Deny <c>topicfilter/a/b/*</c>: the client subscribes to <c>a/#</c>
    /// (allowed, not denied) and receives <c>a/b/…</c> unless iot:Receive on that subtree is denied or not
    /// allowed. Checked against every set of policies the Deny's policy is attached with.
    /// </summary>
    private static void CheckDenySubtrees(RegistrySnapshot snapshot, List<LintedPolicy> policies, List<LintFinding> findings)
    {
        var sets = AttachedSets(snapshot);
        foreach (var policy in policies.Where(p => p.Iot && p.IsDefault))
        {
            var withIt = sets.Where(s => s.Contains(policy.Name)).ToList();
            if (withIt.Count == 0)
            {
                withIt.Add([policy.Name]);
            }

            var policySets = withIt.Select(names => PolicySet.Create(names.Where(snapshot.Policies.ContainsKey).Select(n => snapshot.Policies[n].Document))).ToArray();
            foreach (var statement in policy.Statements.Where(s => !s.Allow && !s.NotResource && s.Compiled.MatchesAction("iot:Subscribe")))
            {
                foreach (var resource in statement.Resources)
                {
                    var part = ResourcePart(resource);
                    if (!part.StartsWith("topicfilter/", StringComparison.Ordinal) || part.Contains("${", StringComparison.Ordinal))
                    {
                        continue;
                    }

                    var subtree = part["topicfilter/".Length..];
                    var prefix = ArnPrefix(resource, snapshot);
                    var sample = subtree.Replace('*', 'x').Replace('?', 'x');
                    foreach (var set in policySets)
                    {
                        var broader = BroaderFilters(subtree).FirstOrDefault(f =>
                            PolicyEvaluator.Decide(set, null, new AuthorizationRequest("iot:Subscribe", prefix + "topicfilter/" + f)).IsAllowed);
                        if (broader is null)
                        {
                            continue;
                        }

                        var receive = PolicyEvaluator.Decide(set, null, new AuthorizationRequest("iot:Receive", prefix + "topic/" + sample));
                        if (!receive.IsAllowed)
                        {
                            continue;
                        }

                        var subscribe = PolicyEvaluator.Decide(set, null, new AuthorizationRequest("iot:Subscribe", prefix + "topicfilter/" + broader));
                        findings.Add(policy.Finding(LintSeverity.Error, LintCodes.DenySubtree, statement,
                            $"denies iot:Subscribe on '{part}', but {Describe(subscribe.DecidingStatement)} allows the broader filter '{broader}' and {Describe(receive.DecidingStatement)} allows iot:Receive on topic/{sample}: " +
                            $"a client subscribed to '{broader}' still receives those messages. Also deny iot:Receive on 'topic/{subtree}' (or allow iot:Receive with a NotResource excluding it)"));
                        break;
                    }
                }
            }
        }
    }

    private static string Describe(Statement? statement) =>
        statement is null ? "a statement" : $"{statement.Policy.Name} Statement[{statement.Index}]{(statement.Sid is null ? "" : $" ({statement.Sid})")}";

    /// <summary>Filters broader than a denied subtree: '#', then each ancestor level with '/#', and with '+' in place of each level.</summary>
    private static IEnumerable<string> BroaderFilters(string subtree)
    {
        var cut = subtree.IndexOfAny(['*', '?']);
        var fixedPart = cut < 0 ? subtree : subtree[..cut];
        var levels = fixedPart.Split('/')[..^1];
        yield return "#";
        for (var length = 1; length <= levels.Length; length++)
        {
            yield return string.Join('/', levels[..length]) + "/#";
            for (var plus = 0; plus < length; plus++)
            {
                var copy = levels[..length].ToArray();
                copy[plus] = "+";
                yield return string.Join('/', copy) + "/#";
            }
        }
    }

    /// <summary>The names of the AWS IoT policies that apply together: per certificate (with its things' groups), CA, Cognito identity and thing group.</summary>
    private static List<HashSet<string>> AttachedSets(RegistrySnapshot snapshot)
    {
        var sets = new List<HashSet<string>>();
        foreach (var certificate in snapshot.Certificates.Values)
        {
            var names = new HashSet<string>(certificate.Policies, StringComparer.Ordinal);
            if (snapshot.ThingsByPrincipal.TryGetValue(certificate.Id, out var attachments))
            {
                names.UnionWith(attachments.SelectMany(a => a.Thing.Groups).SelectMany(snapshot.GroupAndAncestors).SelectMany(g => g.Policies));
            }

            sets.Add(names);
        }

        sets.AddRange(snapshot.CaCertificates.Values.Select(ca => new HashSet<string>(ca.Policies, StringComparer.Ordinal)));
        sets.AddRange(snapshot.PoliciesByCognitoIdentity.Values.Select(p => new HashSet<string>(p, StringComparer.Ordinal)));
        sets.AddRange(snapshot.ThingGroups.Keys.Select(g => new HashSet<string>(snapshot.GroupAndAncestors(g).SelectMany(x => x.Policies), StringComparer.Ordinal)));
        return sets.Where(s => s.Count > 0).ToList();
    }

    private static void CheckCounts(RegistrySnapshot snapshot, List<LintedPolicy> policies, SourceLocator locator, List<LintFinding> findings)
    {
        foreach (var policy in snapshot.Policies.Values.Where(p => p.Versions.Count > MaxPolicyVersions))
        {
            var linted = policies.First(p => p.Iot && p.Name == policy.Name && p.IsDefault);
            findings.Add(linted.Finding(LintSeverity.Warning, LintCodes.TooManyVersions, null,
                $"has {policy.Versions.Count} versions; AWS IoT keeps at most {MaxPolicyVersions} (delete old ones with DeletePolicyVersion)") with { Version = null });
        }

        foreach (var certificate in snapshot.Certificates.Values.OrderBy(c => c.Source.File, StringComparer.Ordinal).ThenBy(c => c.Source.Line))
        {
            var count = certificate.Policies.Distinct(StringComparer.Ordinal).Count();
            if (count > MaxPoliciesPerPrincipal)
            {
                var name = certificate.Name is null ? certificate.Id : $"{certificate.Name} ({certificate.Id})";
                findings.Add(new LintFinding(LintSeverity.Warning, LintCodes.TooManyPolicies, certificate.Source.File, certificate.Source.Line,
                    $"certificate {name} has {count} policies attached; AWS IoT allows {MaxPoliciesPerPrincipal} per certificate"));
            }
        }

        foreach (var (identity, names) in snapshot.PoliciesByCognitoIdentity.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (names.Count > MaxPoliciesPerPrincipal)
            {
                var (file, line) = locator.FindText(identity);
                findings.Add(new LintFinding(LintSeverity.Warning, LintCodes.TooManyPolicies, file, line,
                    $"Cognito identity {identity} has {names.Count} policies attached; AWS IoT allows {MaxPoliciesPerPrincipal} per Cognito identity"));
            }
        }
    }

    private static void CheckAttachments(RegistrySnapshot snapshot, List<LintedPolicy> policies, List<LintFinding> findings)
    {
        var attached = new HashSet<string>(StringComparer.Ordinal);
        attached.UnionWith(snapshot.Certificates.Values.SelectMany(c => c.Policies));
        attached.UnionWith(snapshot.CaCertificates.Values.SelectMany(c => c.Policies));
        attached.UnionWith(snapshot.ThingGroups.Values.SelectMany(g => g.Policies));
        attached.UnionWith(snapshot.PoliciesByCognitoIdentity.Values.SelectMany(p => p));
        foreach (var policy in policies.Where(p => p.Iot && p.IsDefault && !attached.Contains(p.Name)))
        {
            findings.Add(policy.Finding(LintSeverity.Info, LintCodes.UnattachedPolicy, null,
                "is attached to no certificate, CA certificate, thing group or Cognito identity, so it applies to nobody (TestAuthorization's policyNamesToAdd can still try it)") with { Version = null });
        }

        var used = new HashSet<PolicyDocument>(snapshot.IamUsers.Values.Concat(snapshot.IamGroups.Values).Concat(snapshot.IamRoles.Values).SelectMany(p => p.Policies),
            ReferenceEqualityComparer.Instance);
        foreach (var policy in snapshot.IamPolicies.Values.Where(p => !used.Contains(p.Document)))
        {
            var linted = policies.First(p => ReferenceEquals(p.Document, policy.Document));
            findings.Add(linted.Finding(LintSeverity.Info, LintCodes.UnattachedPolicy, null,
                "is attached to no IAM user, group or role, so it applies to nobody"));
        }
    }

    /// <summary>
    /// Shadow mode is meant for a rollout, not to stay: a policy left in it silently never protects
    /// anything, so each one is reported (as info, so that --strict does not fail a deliberate rollout).
    /// </summary>
    private static void CheckShadow(RegistrySnapshot snapshot, List<LintedPolicy> policies, List<LintFinding> findings)
    {
        foreach (var policy in policies.Where(p => p.Iot && p.IsDefault && snapshot.Policies[p.Name].Shadow))
        {
            // Shadow mode covers every version, so the finding names the policy alone, at the version in effect.
            findings.Add(new LintFinding(LintSeverity.Info, LintCodes.ShadowPolicy, policy.Location.File, policy.Location.LineOf(1),
                $"policy {policy.Name} is in shadow mode (shadow: true): it is evaluated and its decision logged as shadowDecision, but never enforced; remove 'shadow: true' to enforce it")
            {
                Policy = policy.Name,
            });
        }
    }

    /// <summary>The part of a resource after the fifth colon (the whole text when it is not an ARN).</summary>
    private static string ResourcePart(string resource)
    {
        var index = -1;
        for (var i = 0; i < 5; i++)
        {
            index = resource.IndexOf(':', index + 1);
            if (index < 0)
            {
                return resource;
            }
        }

        return resource[(index + 1)..];
    }

    /// <summary>The ARN up to and including the fifth colon, with the configuration's region and account when the pattern has wildcards there.</summary>
    private static string ArnPrefix(string resource, RegistrySnapshot snapshot)
    {
        var prefix = resource[..^ResourcePart(resource).Length];
        return prefix.Length == 0 || prefix.AsSpan().IndexOfAny('*', '?') >= 0 || prefix.Contains("${", StringComparison.Ordinal)
            ? snapshot.IotArn("")
            : prefix;
    }
}
