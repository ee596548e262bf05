using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using ExtAuthz.Policy;
using ExtAuthz.Registry.Loading;
using YamlDotNet.RepresentationModel;

namespace ExtAuthz.Registry;

/// <summary>
/// Builds a <see cref="RegistrySnapshot"/> from configuration directories (mounted ConfigMaps and
/// Secrets). All or nothing: every file is parsed, every reference resolved, every PEM and policy
/// compiled; any problem throws a <see cref="ConfigException"/> listing all of them with file, line and
/// reason, and no snapshot is produced. docs/configuration.md describes the format.
/// </summary>
public static partial class RegistryLoader
{
    /// <param name="previous">The snapshot being replaced, if any: certificates it holds (same DER) are reused rather than parsed again.</param>
    public static RegistrySnapshot Load(IReadOnlyList<string> directories, long generation = 1, TimeProvider? time = null, RegistrySnapshot? previous = null)
    {
        ArgumentNullException.ThrowIfNull(directories);
        var errors = new List<ConfigError>();
        var (files, fingerprint) = ConfigFiles.Read(directories, errors);
        var snapshot = new Session(files, errors, previous).Build(generation, (time ?? TimeProvider.System).GetUtcNow(), fingerprint);
        return errors.Count > 0 ? throw new ConfigException(errors) : snapshot!;
    }

    /// <summary>The lowercase hex SHA-256 of a certificate's DER encoding: AWS IoT's certificate ID.</summary>
    public static string CertificateId(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
    }

    [GeneratedRegex(@"^[A-Za-z0-9_+=,.@-]{1,128}$")]
    private static partial Regex PolicyName();

    [GeneratedRegex(@"^[A-Za-z0-9_+=,.@-]{1,64}$")]
    private static partial Regex IamName();

    [GeneratedRegex(@"^[A-Z0-9]{16,128}$")]
    private static partial Regex AccessKeyId();

    [GeneratedRegex(@"^[a-zA-Z0-9:_-]{1,128}$")]
    private static partial Regex ThingName();

    [GeneratedRegex(@"^[0-9]{12}$")]
    private static partial Regex AccountId();

    [GeneratedRegex(@"^[a-z]{2}(-[a-z]+)+-[0-9]+$")]
    private static partial Regex Region();

    [GeneratedRegex(@"^[0-9a-f]{64}$")]
    private static partial Regex CertificateIdPattern();

    [GeneratedRegex(@"^[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    private static partial Regex CognitoId();

    private static readonly string[] AttachmentTargets = ["certificate", "thingGroup", "cognitoIdentity"];

    private static readonly string[] TopLevelKeys = ["account", "region", "policies", "certificates", "caCertificates", "things", "thingGroups", "policyAttachments", "iam", "cognito"];

    private sealed class Session(IReadOnlyList<ConfigFile> files, List<ConfigError> errors, RegistrySnapshot? previous)
    {
        private readonly HashSet<ConfigFile> referenced = [];
        private readonly ILookup<string, ConfigFile> byName = files.ToLookup(f => f.Name, StringComparer.Ordinal);
        private readonly ILookup<string, ConfigFile> byPath = files.ToLookup(f => f.Path, StringComparer.Ordinal);
        private readonly ILookup<string, ConfigFile> byBaseName = files.ToLookup(f => f.BaseName, StringComparer.Ordinal);
        private readonly List<(YamlNodes Doc, YamlMappingNode Root)> documents = [];
        private string? account;
        private string? region;

        public RegistrySnapshot? Build(long generation, DateTimeOffset now, string fingerprint)
        {
            foreach (var file in files.Where(IsRegistryDocument))
            {
                if (YamlNodes.ParseDocument(file, errors) is { } root)
                {
                    var doc = new YamlNodes(file.Path, errors);
                    Try(() =>
                    {
                        var mapping = doc.Mapping(root, "a registry document", TopLevelKeys, keepGoing: true);
                        documents.Add((doc, mapping));
                        Scalar(doc, mapping, "account", ref account);
                        Scalar(doc, mapping, "region", ref region);
                        MarkReferences(mapping);
                    });
                }
            }

            if (account is null || region is null)
            {
                var where = files.FirstOrDefault(IsRegistryDocument)?.Path ?? (files.Count > 0 ? Path.GetDirectoryName(files[0].Path)! : "configuration");
                errors.Add(new ConfigError(where, 0, 0,
                    "no registry document sets 'account' and 'region' (e.g. account: \"123456789012\", region: us-east-1 in a .yaml file)"));

                // Go on with placeholders so that every other problem is reported too; no snapshot results.
                account ??= "000000000000";
                region ??= "us-east-1";
            }

            var policies = LoadPolicies();
            var certificates = LoadCertificates(policies, ca: false).Cast<CertificateRecord>().ToList();
            var caCertificates = LoadCertificates(policies, ca: true).Cast<CaCertificateRecord>().ToList();
            var groups = LoadThingGroups(policies);
            var index = new CertificateIndex(certificates, caCertificates);
            var (things, thingsByPrincipal) = LoadThings(groups, index);
            var cognitoPolicies = LoadAttachments(policies, groups, index);
            var (iamPolicies, principals, keys) = LoadIam();
            var (providers, trusts) = LoadWebIdentity(principals);
            var pools = LoadCognitoPools(principals);
            if (errors.Count > 0)
            {
                return null;
            }

            return new RegistrySnapshot(generation, now, fingerprint, account, region, policies.Values, certificates, caCertificates,
                things, groups.Values, thingsByPrincipal, cognitoPolicies, iamPolicies, principals, keys, pools,
                files.Select(f => f.Path).ToArray())
            {
                OidcProviders = providers.ToFrozenDictionary(p => p.Url, StringComparer.Ordinal),
                WebIdentityTrusts = trusts.GroupBy(t => t.Provider.Url, StringComparer.Ordinal)
                    .ToFrozenDictionary(g => g.Key, g => (IReadOnlyList<WebIdentityTrust>)[.. g], StringComparer.Ordinal),
            };
        }

        private static readonly string[] FileKeys = ["file", "pemFile", "secretFile", "sessionTokenFile", "jwksFile"];

        /// <summary>
        /// Marks every file a document names before anything is interpreted, so that a JSON file referenced
        /// anywhere (an IAM policy, a JWKS) is never also taken for an AWS IoT policy. Unresolvable names are
        /// reported later, where they are used.
        /// </summary>
        private void MarkReferences(YamlNode node)
        {
            switch (node)
            {
                case YamlMappingNode mapping:
                    foreach (var (key, value) in mapping.Children)
                    {
                        if (key is YamlScalarNode { Value: { } name } && Array.IndexOf(FileKeys, name) >= 0 && value is YamlScalarNode { Value: { Length: > 0 } reference })
                        {
                            referenced.UnionWith(Matching(reference));
                        }
                        else
                        {
                            MarkReferences(value);
                        }
                    }

                    break;
                case YamlSequenceNode sequence:
                    foreach (var item in sequence.Children)
                    {
                        MarkReferences(item);
                    }

                    break;
            }
        }

        /// <summary>A relative path names one file; a bare name may also match files in subdirectories.</summary>
        private ConfigFile[] Matching(string name)
        {
            var matches = byName[name].Concat(byPath[name]).Distinct().ToArray();
            return matches.Length == 0 && !name.Contains('/', StringComparison.Ordinal) ? [.. byBaseName[name]] : matches;
        }

        /// <summary>A certificate the previous snapshot holds under this ID (immutable, shared, parsed at most once).</summary>
        private CertificateData? KnownCertificate(string id) =>
            previous is null ? null
            : previous.Certificates.TryGetValue(id, out var device) ? device.Data
            : previous.CaCertificates.TryGetValue(id, out var ca) ? ca.Data
            : null;

        private static bool IsRegistryDocument(ConfigFile file) =>
            file.Extension is ".yaml" or ".yml" || file.Name.EndsWith(".registry.json", StringComparison.OrdinalIgnoreCase);

        private void Scalar(YamlNodes doc, YamlMappingNode root, string key, ref string? target)
        {
            if (doc.OptionalString(root, key) is not { } value)
            {
                return;
            }

            var node = doc.Node(root, key)!;
            var valid = key == "account" ? AccountId().IsMatch(value) : Region().IsMatch(value);
            if (!valid)
            {
                doc.Report(node, key == "account" ? $"account must be a 12-digit AWS account ID (quote it in YAML), not '{value}'" : $"region must look like us-east-1, not '{value}'");
            }
            else if (target is not null && target != value)
            {
                doc.Report(node, $"{key} '{value}' disagrees with '{target}' set in another document");
            }
            else
            {
                target = value;
            }
        }

        private IEnumerable<(YamlNodes Doc, YamlNode Item)> Items(string key, string what)
        {
            foreach (var (doc, root) in documents)
            {
                IEnumerable<YamlNode> items = [];
                Try(() => items = doc.Sequence(root, key, what).ToArray());
                foreach (var item in items)
                {
                    yield return (doc, item);
                }
            }
        }

        private void Try(Action action)
        {
            try
            {
                action();
            }
            catch (ItemRejectedException)
            {
                // Recorded already; go on to find the other problems.
            }
        }

        private ConfigFile? FileReference(YamlNodes doc, YamlMappingNode item, string key)
        {
            if (doc.OptionalString(item, key) is not { } name)
            {
                return null;
            }

            var matches = Matching(name);
            var node = doc.Node(item, key)!;
            if (matches.Length == 0)
            {
                throw doc.Reject(node, $"'{key}: {name}' names no file in the configuration directories");
            }

            if (matches.Length > 1)
            {
                throw doc.Reject(node, $"'{key}: {name}' is ambiguous: {string.Join(", ", matches.Select(m => m.Path))}");
            }

            referenced.Add(matches[0]);
            return matches[0];
        }

        /// <summary>A policy document from 'file' or inline 'document' (JSON text, or YAML that is converted to JSON).</summary>
        private PolicyDocument? PolicyDocumentOf(YamlNodes doc, YamlMappingNode item, string name, string what)
        {
            var file = FileReference(doc, item, "file");
            var inline = doc.Node(item, "document");
            if (file is not null == inline is not null)
            {
                throw doc.Reject(item, $"{what} needs exactly one of 'file' or 'document'");
            }

            var text = file is not null ? file.Text : InlineText(doc, inline!, "document");
            try
            {
                return PolicyParser.Parse(name, text);
            }
            catch (PolicyParseException ex)
            {
                var (line, column) = file is not null ? (ex.Line, ex.Column) : InlinePosition(doc.File, inline!, ex);
                errors.Add(new ConfigError(file?.Path ?? doc.File, line, column, file is not null ? Describe(ex) : $"{Describe(ex)} (in the inline document)"));
                return null;
            }
        }

        /// <summary>Where a policy error inside an inline block scalar stands in the registry document itself.</summary>
        private (int Line, int Column) InlinePosition(string documentPath, YamlNode inline, PolicyParseException ex)
        {
            if (ex.Line == 0 || inline is not YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Literal or YamlDotNet.Core.ScalarStyle.Folded })
            {
                return ((int)inline.Start.Line, (int)inline.Start.Column);
            }

            var line = TextLine(inline) + ex.Line - 1;
            var text = files.First(f => f.Path == documentPath).Text.Split('\n');
            var indent = line - 1 < text.Length ? text[line - 1].Length - text[line - 1].TrimStart(' ').Length : 0;
            return (line, indent + ex.Column);
        }

        /// <summary>A policy error without its position, which the ConfigError carries.</summary>
        private static string Describe(PolicyParseException ex) =>
            ex.Path.Length == 0 ? $"{ex.PolicyName}: {ex.Reason}" : $"{ex.PolicyName}: {ex.Path}: {ex.Reason}";

        private static string InlineText(YamlNodes doc, YamlNode node, string what) => node switch
        {
            YamlScalarNode { Value: { } text } => text,
            _ => throw doc.Reject(node, $"an inline '{what}' must be text (use a block scalar: {what}: |)"),
        };

        /// <summary>The line an inline scalar's text starts on: a block scalar (|, >) starts on the line after its indicator.</summary>
        private static int TextLine(YamlNode node) =>
            (int)node.Start.Line + (node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Literal or YamlDotNet.Core.ScalarStyle.Folded } ? 1 : 0);

        private Dictionary<string, IotPolicy> LoadPolicies()
        {
            var policies = new Dictionary<string, IotPolicy>(StringComparer.Ordinal);
            foreach (var (doc, node) in Items("policies", "policies"))
            {
                Try(() =>
                {
                    var item = doc.Mapping(node, "a policy", "name", "file", "document", "versions", "defaultVersion", "shadow");
                    var name = doc.RequiredString(item, "name", "a policy");
                    if (!PolicyName().IsMatch(name))
                    {
                        throw doc.Reject(item, $"policy name '{name}' must be 1-128 characters of letters, digits and _+=,.@-");
                    }

                    if (policies.ContainsKey(name))
                    {
                        throw doc.Reject(item, $"policy '{name}' is declared twice");
                    }

                    var shadow = doc.OptionalBool(item, "shadow", false);
                    var versions = new List<IotPolicyVersion>();
                    var versionNodes = doc.Sequence(item, "versions", "versions").ToArray();
                    if (versionNodes.Length > 0)
                    {
                        if (doc.Node(item, "file") is not null || doc.Node(item, "document") is not null)
                        {
                            throw doc.Reject(item, $"policy '{name}' has 'versions'; put 'file'/'document' inside each version");
                        }

                        var failed = false;
                        foreach (var versionNode in versionNodes)
                        {
                            var version = doc.Mapping(versionNode, "a policy version", "id", "file", "document");
                            var id = doc.RequiredString(version, "id", "a policy version");
                            if (versions.Exists(v => v.VersionId == id))
                            {
                                throw doc.Reject(version, $"policy '{name}' has version '{id}' twice");
                            }

                            if (PolicyDocumentOf(doc, version, name, $"version '{id}' of policy '{name}'") is { } document)
                            {
                                versions.Add(new IotPolicyVersion(id, document, doc.Source(version)));
                            }
                            else
                            {
                                failed = true;
                            }
                        }

                        if (failed)
                        {
                            return;
                        }
                    }
                    else if (PolicyDocumentOf(doc, item, name, $"policy '{name}'") is { } document)
                    {
                        versions.Add(new IotPolicyVersion("1", document, doc.Source(item)));
                    }

                    if (versions.Count == 0)
                    {
                        return;
                    }

                    var defaultVersion = doc.OptionalString(item, "defaultVersion") ?? versions[^1].VersionId;
                    if (!versions.Exists(v => v.VersionId == defaultVersion))
                    {
                        throw doc.Reject(doc.Node(item, "defaultVersion")!, $"policy '{name}' has no version '{defaultVersion}' to be the default");
                    }

                    policies[name] = new IotPolicy(name, Arn($"policy/{name}"), versions, defaultVersion, shadow);
                });
            }

            var fromFiles = new Dictionary<string, ConfigFile>(StringComparer.Ordinal);
            foreach (var file in files.Where(f => f.Extension == ".json" && !IsRegistryDocument(f) && !referenced.Contains(f)))
            {
                var name = Path.GetFileNameWithoutExtension(file.BaseName);
                if (fromFiles.TryGetValue(name, out var first))
                {
                    errors.Add(new ConfigError(file.Path, 0, 0, $"{first.Path} and this file both make the policy '{name}'; rename one"));
                    continue;
                }

                fromFiles[name] = file;
                if (policies.ContainsKey(name))
                {
                    errors.Add(new ConfigError(file.Path, 0, 0, $"policy '{name}' is also declared in a registry document; reference this file there ('file: {file.Name}') or rename one"));
                    continue;
                }

                if (!PolicyName().IsMatch(name))
                {
                    errors.Add(new ConfigError(file.Path, 0, 0, $"the file name makes the policy name '{name}', which is not a valid AWS IoT policy name"));
                    continue;
                }

                try
                {
                    policies[name] = new IotPolicy(name, Arn($"policy/{name}"), [new IotPolicyVersion("1", PolicyParser.Parse(name, file.Text), new ConfigSource(file.Path, 0, 0))], "1");
                }
                catch (PolicyParseException ex)
                {
                    errors.Add(new ConfigError(file.Path, ex.Line, ex.Column, Describe(ex)));
                }
            }

            return policies;
        }

        private IReadOnlyList<string> PolicyNames(YamlNodes doc, YamlMappingNode item, IReadOnlyDictionary<string, IotPolicy> policies)
        {
            var names = doc.StringList(item, "policies");
            foreach (var name in names)
            {
                if (!policies.ContainsKey(name))
                {
                    doc.Report(doc.Node(item, "policies")!, $"policy '{name}' is not defined");
                }
            }

            return names;
        }

        private List<object> LoadCertificates(IReadOnlyDictionary<string, IotPolicy> policies, bool ca)
        {
            var key = ca ? "caCertificates" : "certificates";
            var what = ca ? "a CA certificate" : "a certificate";
            var records = new List<object>();
            var ids = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (doc, node) in Items(key, key))
            {
                Try(() =>
                {
                    var item = ca
                        ? doc.Mapping(node, what, "name", "pemFile", "pem", "status", "autoRegistration", "autoRegisteredStatus", "policies")
                        : doc.Mapping(node, what, "name", "pemFile", "pem", "status", "policies");
                    var statusText = doc.OptionalString(item, "status") ?? "ACTIVE";
                    if (ca && statusText is not ("ACTIVE" or "INACTIVE"))
                    {
                        throw doc.Reject(doc.Node(item, "status")!, $"a CA certificate's status is ACTIVE or INACTIVE, not '{statusText}'");
                    }

                    if (!CertificateStatusNames.TryParse(statusText, out var status))
                    {
                        throw doc.Reject(doc.Node(item, "status")!, $"status must be one of {string.Join(", ", CertificateStatusNames.All)}, not '{statusText}'");
                    }

                    var autoStatus = CertificateStatus.PendingActivation;
                    if (ca && doc.OptionalString(item, "autoRegisteredStatus") is { } autoText && !CertificateStatusNames.TryParse(autoText, out autoStatus))
                    {
                        throw doc.Reject(doc.Node(item, "autoRegisteredStatus")!, $"autoRegisteredStatus must be one of {string.Join(", ", CertificateStatusNames.All)}, not '{autoText}'");
                    }

                    var attached = PolicyNames(doc, item, policies);
                    var file = FileReference(doc, item, "pemFile");
                    var inline = doc.Node(item, "pem");
                    if (file is not null == inline is not null)
                    {
                        throw doc.Reject(item, $"{what} needs exactly one of 'pemFile' or 'pem'");
                    }

                    var (pem, pemSource, firstLine) = file is not null ? (file.Text, file.Path, 1) : (InlineText(doc, inline!, "pem"), doc.File, TextLine(inline!));
                    var certificates = Pem.ReadCertificates(pem, pemSource, firstLine, errors, KnownCertificate, parseNow: ca);
                    var label = doc.OptionalString(item, "name");
                    if (label is not null && certificates.Count > 1)
                    {
                        throw doc.Reject(item, $"'name: {label}' labels one certificate, but the PEM holds {certificates.Count}");
                    }

                    foreach (var certificate in certificates)
                    {
                        var id = certificate.Id;
                        if (ca && certificate.Certificate.Extensions["2.5.29.19"] is not X509BasicConstraintsExtension { CertificateAuthority: true })
                        {
                            doc.Report(item, $"certificate {id} ({certificate.Certificate.Subject}) is not a CA certificate (its basic constraints do not say CA:TRUE)");
                            continue;
                        }

                        if (!ids.Add(id))
                        {
                            doc.Report(item, $"certificate {id} is listed twice");
                            continue;
                        }

                        var name = label ?? file?.BaseName;
                        records.Add(ca
                            ? new CaCertificateRecord(id, Arn($"cacert/{id}"), status, certificate, doc.OptionalBool(item, "autoRegistration", false), autoStatus, attached, name, doc.Source(item))
                            : new CertificateRecord(id, Arn($"cert/{id}"), status, certificate, attached, name, doc.Source(item)));
                    }
                });
            }

            return records;
        }

        private Dictionary<string, ThingGroupRecord> LoadThingGroups(IReadOnlyDictionary<string, IotPolicy> policies)
        {
            var groups = new Dictionary<string, ThingGroupRecord>(StringComparer.Ordinal);
            var parents = new List<(YamlNodes Doc, YamlNode Node, string Name, string Parent)>();
            foreach (var (doc, node) in Items("thingGroups", "thingGroups"))
            {
                Try(() =>
                {
                    var item = doc.Mapping(node, "a thing group", "name", "parent", "policies");
                    var name = doc.RequiredString(item, "name", "a thing group");
                    if (!ThingName().IsMatch(name))
                    {
                        throw doc.Reject(item, $"thing group name '{name}' must be 1-128 characters of letters, digits, ':', '_' and '-'");
                    }

                    if (groups.ContainsKey(name))
                    {
                        throw doc.Reject(item, $"thing group '{name}' is declared twice");
                    }

                    var parent = doc.OptionalString(item, "parent");
                    if (parent is not null)
                    {
                        parents.Add((doc, doc.Node(item, "parent")!, name, parent));
                    }

                    groups[name] = new ThingGroupRecord(name, Arn($"thinggroup/{name}"), parent, PolicyNames(doc, item, policies), doc.Source(item));
                });
            }

            foreach (var (doc, node, name, parent) in parents)
            {
                if (!groups.ContainsKey(parent))
                {
                    doc.Report(node, $"thing group '{name}' names parent '{parent}', which is not defined");
                    continue;
                }

                var seen = new HashSet<string>(StringComparer.Ordinal) { name };
                for (var current = parent; current is not null && groups.TryGetValue(current, out var group); current = group.Parent)
                {
                    if (!seen.Add(current))
                    {
                        doc.Report(node, $"the parents of thing group '{name}' form a cycle (through '{current}')");
                        break;
                    }
                }
            }

            return groups;
        }

        private (List<ThingRecord> Things, Dictionary<string, IReadOnlyList<ThingAttachment>> ByPrincipal) LoadThings(
            Dictionary<string, ThingGroupRecord> groups, CertificateIndex certificates)
        {
            var things = new List<ThingRecord>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            var byPrincipal = new Dictionary<string, List<ThingAttachment>>(StringComparer.Ordinal);
            foreach (var (doc, node) in Items("things", "things"))
            {
                Try(() =>
                {
                    var item = doc.Mapping(node, "a thing", "name", "type", "attributes", "groups", "principals");
                    var name = doc.RequiredString(item, "name", "a thing");
                    if (!ThingName().IsMatch(name))
                    {
                        throw doc.Reject(item, $"thing name '{name}' must be 1-128 characters of letters, digits, ':', '_' and '-'");
                    }

                    if (!names.Add(name))
                    {
                        throw doc.Reject(item, $"thing '{name}' is declared twice");
                    }

                    var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
                    if (doc.Node(item, "attributes") is { } attributeNode)
                    {
                        var mapping = attributeNode as YamlMappingNode ?? throw doc.Reject(attributeNode, "attributes must be a mapping of name: value");
                        foreach (var (k, v) in mapping.Children)
                        {
                            if (k is not YamlScalarNode { Value: { Length: > 0 } attributeName } || v is not YamlScalarNode { Value: { } attributeValue })
                            {
                                throw doc.Reject(k, "each attribute must be name: value (a single value)");
                            }

                            attributes[attributeName] = attributeValue;
                        }

                        if (attributes.Count > 50)
                        {
                            throw doc.Reject(attributeNode, $"thing '{name}' has {attributes.Count} attributes; AWS IoT allows 50");
                        }
                    }

                    var thingGroups = doc.StringList(item, "groups");
                    foreach (var group in thingGroups.Where(g => !groups.ContainsKey(g)))
                    {
                        doc.Report(doc.Node(item, "groups")!, $"thing group '{group}' is not defined");
                    }

                    var thing = new ThingRecord(name, Arn($"thing/{name}"), doc.OptionalString(item, "type"), attributes, thingGroups, doc.Source(item));
                    things.Add(thing);
                    foreach (var principalNode in doc.Sequence(item, "principals", "principals"))
                    {
                        Try(() =>
                        {
                            var principal = doc.Mapping(principalNode, "a thing principal", "certificate", "cognitoIdentity", "exclusive");
                            if (doc.Node(principal, "certificate") is not null == doc.Node(principal, "cognitoIdentity") is not null)
                            {
                                throw doc.Reject(principalNode, "a thing principal names exactly one of 'certificate' or 'cognitoIdentity'");
                            }

                            var exclusive = doc.OptionalBool(principal, "exclusive", false);
                            var key = doc.OptionalString(principal, "certificate") is { } reference
                                ? CertificateReference(doc, doc.Node(principal, "certificate")!, reference, certificates)
                                : CognitoIdentity(doc, principal);
                            var list = byPrincipal.TryGetValue(key, out var existing) ? existing : byPrincipal[key] = [];
                            if (list.Exists(a => a.Thing.Name == name))
                            {
                                throw doc.Reject(principalNode, $"principal {key} is attached to thing '{name}' twice");
                            }

                            if (exclusive && list.Count > 0 || list.Exists(a => a.Exclusive))
                            {
                                throw doc.Reject(principalNode, $"principal {key} is attached exclusively to one thing and cannot be attached to another");
                            }

                            list.Add(new ThingAttachment(thing, exclusive));
                        });
                    }
                });
            }

            return (things, byPrincipal.ToDictionary(p => p.Key, p => (IReadOnlyList<ThingAttachment>)p.Value, StringComparer.Ordinal));
        }

        private string CognitoIdentity(YamlNodes doc, YamlMappingNode item)
        {
            var id = doc.RequiredString(item, "cognitoIdentity", "this entry (certificate or cognitoIdentity)");
            return CognitoId().IsMatch(id) ? id : throw doc.Reject(doc.Node(item, "cognitoIdentity")!, $"'{id}' is not a Cognito identity ID (region:uuid)");
        }

        /// <summary>A certificate named by ID, by its 'name' label or by its PEM file name.</summary>
        private string CertificateReference(YamlNodes doc, YamlNode node, string reference, CertificateIndex certificates)
        {
            var id = reference;
            if (reference.StartsWith("arn:", StringComparison.Ordinal))
            {
                var expected = Arn("cert/");
                id = reference.StartsWith(expected, StringComparison.Ordinal)
                    ? reference[expected.Length..]
                    : throw doc.Reject(node, $"'{reference}' is not a certificate ARN of this account and region ({expected}<id>)");
            }

            if (CertificateIdPattern().IsMatch(id))
            {
                if (certificates.Contains(id) || certificates.AutoRegistering)
                {
                    return id;
                }

                throw doc.Reject(node, $"certificate {id} is not listed (and no ACTIVE CA certificate auto-registers certificates)");
            }

            var named = certificates.IdsNamed(reference);
            return named.Count switch
            {
                1 => named[0],
                0 => throw doc.Reject(node, $"no certificate has the ID, name or PEM file '{reference}'"),
                _ => throw doc.Reject(node, $"'{reference}' names {named.Count} certificates; use a certificate ID"),
            };
        }

        private Dictionary<string, IReadOnlyList<string>> LoadAttachments(
            Dictionary<string, IotPolicy> policies, Dictionary<string, ThingGroupRecord> groups, CertificateIndex certificates)
        {
            var cognito = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            foreach (var (doc, node) in Items("policyAttachments", "policyAttachments"))
            {
                Try(() =>
                {
                    var item = doc.Mapping(node, "a policy attachment", "policy", "certificate", "thingGroup", "cognitoIdentity");
                    var policy = doc.RequiredString(item, "policy", "a policy attachment");
                    if (!policies.ContainsKey(policy))
                    {
                        throw doc.Reject(doc.Node(item, "policy")!, $"policy '{policy}' is not defined");
                    }

                    var targets = AttachmentTargets.Where(k => doc.Node(item, k) is not null).ToArray();
                    if (targets.Length != 1)
                    {
                        throw doc.Reject(item, "a policy attachment names exactly one target: certificate, thingGroup or cognitoIdentity");
                    }

                    switch (targets[0])
                    {
                        case "certificate":
                            var id = CertificateReference(doc, doc.Node(item, "certificate")!, doc.OptionalString(item, "certificate")!, certificates);
                            if (!certificates.Contains(id))
                            {
                                throw doc.Reject(item, $"policies can be attached only to listed certificates; list {id} under certificates");
                            }

                            certificates.Attach(id, policy);
                            break;
                        case "thingGroup":
                            var groupName = doc.OptionalString(item, "thingGroup")!;
                            if (!groups.TryGetValue(groupName, out var group))
                            {
                                throw doc.Reject(doc.Node(item, "thingGroup")!, $"thing group '{groupName}' is not defined");
                            }

                            groups[groupName] = group with { Policies = [.. group.Policies.Append(policy).Distinct(StringComparer.Ordinal)] };
                            break;
                        default:
                            var identity = CognitoIdentity(doc, item);
                            (cognito.TryGetValue(identity, out var list) ? list : cognito[identity] = []).Add(policy);
                            break;
                    }
                });
            }

            return cognito.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Value.Distinct(StringComparer.Ordinal).ToArray(), StringComparer.Ordinal);
        }

        private (List<IamManagedPolicy> Policies, List<IamPrincipal> Principals, List<AccessKeyRecord> Keys) LoadIam()
        {
            var managed = new Dictionary<string, IamManagedPolicy>(StringComparer.Ordinal);
            var principals = new List<IamPrincipal>();
            var keys = new List<AccessKeyRecord>();
            var iamNodes = documents.Select(d => (d.Doc, Node: d.Doc.Node(d.Root, "iam"))).Where(d => d.Node is not null).ToArray();
            var sections = new List<(YamlNodes Doc, YamlMappingNode Iam)>();
            foreach (var (doc, node) in iamNodes)
            {
                Try(() => sections.Add((doc, doc.Mapping(node!, "iam", "policies", "users", "groups", "roles", "openIdConnectProviders"))));
            }

            IEnumerable<(YamlNodes Doc, YamlNode Item)> Section(string key) =>
                sections.SelectMany(s =>
                {
                    IEnumerable<YamlNode> items = [];
                    Try(() => items = s.Doc.Sequence(s.Iam, key, $"iam.{key}").ToArray());
                    return items.Select(i => (s.Doc, i));
                });

            foreach (var (doc, node) in Section("policies"))
            {
                Try(() =>
                {
                    var item = doc.Mapping(node, "an IAM policy", "name", "file", "document");
                    var name = doc.RequiredString(item, "name", "an IAM policy");
                    if (!PolicyName().IsMatch(name))
                    {
                        throw doc.Reject(item, $"IAM policy name '{name}' must be 1-128 characters of letters, digits and _+=,.@-");
                    }

                    if (managed.ContainsKey(name))
                    {
                        throw doc.Reject(item, $"IAM policy '{name}' is declared twice");
                    }

                    if (PolicyDocumentOf(doc, item, name, $"IAM policy '{name}'") is { } document)
                    {
                        managed[name] = new IamManagedPolicy(name, $"arn:aws:iam::{account}:policy/{name}", document);
                    }
                });
            }

            var groupPolicies = new Dictionary<string, IReadOnlyList<PolicyDocument>>(StringComparer.Ordinal);
            foreach (var (kind, section) in new[] { (IamPrincipalKind.Group, "groups"), (IamPrincipalKind.User, "users"), (IamPrincipalKind.Role, "roles") })
            {
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var (doc, node) in Section(section))
                {
                    Try(() =>
                    {
                        var what = $"an IAM {kind.ToString().ToLowerInvariant()}";
                        var item = kind switch
                        {
                            IamPrincipalKind.User => doc.Mapping(node, what, "name", "groups", "policies", "inlinePolicies", "accessKeys"),
                            IamPrincipalKind.Role => doc.Mapping(node, what, "name", "policies", "inlinePolicies", "webIdentity", "sessions"),
                            _ => doc.Mapping(node, what, "name", "policies", "inlinePolicies"),
                        };
                        var name = doc.RequiredString(item, "name", what);
                        if (!IamName().IsMatch(name))
                        {
                            throw doc.Reject(item, $"IAM name '{name}' must be 1-64 characters of letters, digits and _+=,.@-");
                        }

                        if (!names.Add(name))
                        {
                            throw doc.Reject(item, $"IAM {kind.ToString().ToLowerInvariant()} '{name}' is declared twice");
                        }

                        var documents = new List<PolicyDocument>();
                        foreach (var policyName in doc.StringList(item, "policies"))
                        {
                            if (managed.TryGetValue(policyName, out var policy))
                            {
                                documents.Add(policy.Document);
                            }
                            else
                            {
                                doc.Report(doc.Node(item, "policies")!, $"IAM policy '{policyName}' is not defined under iam.policies");
                            }
                        }

                        var inlineNames = new HashSet<string>(StringComparer.Ordinal);
                        foreach (var inlineNode in doc.Sequence(item, "inlinePolicies", "inlinePolicies"))
                        {
                            Try(() =>
                            {
                                var inline = doc.Mapping(inlineNode, "an inline policy", "name", "file", "document");
                                var inlineName = doc.RequiredString(inline, "name", "an inline policy");
                                if (!IamName().IsMatch(inlineName) || !inlineNames.Add(inlineName))
                                {
                                    throw doc.Reject(inline, $"inline policy name '{inlineName}' must be unique in {name} and 1-64 characters of letters, digits and _+=,.@-");
                                }

                                if (PolicyDocumentOf(doc, inline, $"{name}/{inlineName}", $"inline policy '{inlineName}'") is { } document)
                                {
                                    documents.Add(document);
                                }
                            });
                        }

                        var memberOf = kind == IamPrincipalKind.User ? doc.StringList(item, "groups") : [];
                        foreach (var group in memberOf)
                        {
                            if (groupPolicies.TryGetValue(group, out var inherited))
                            {
                                documents.AddRange(inherited);
                            }
                            else
                            {
                                doc.Report(doc.Node(item, "groups")!, $"IAM group '{group}' is not defined");
                            }
                        }

                        var arnKind = kind.ToString().ToLowerInvariant();
                        var principal = new IamPrincipal(kind, name, $"arn:aws:iam::{account}:{arnKind}/{name}", documents, memberOf, doc.Source(item));
                        principals.Add(principal);
                        if (kind == IamPrincipalKind.Group)
                        {
                            groupPolicies[name] = documents;
                        }

                        foreach (var keyNode in doc.Sequence(item, "accessKeys", "accessKeys"))
                        {
                            Try(() => keys.Add(AccessKeyOf(doc, keyNode, principal, keys, session: false)));
                        }

                        foreach (var keyNode in doc.Sequence(item, "sessions", "sessions"))
                        {
                            Try(() => keys.Add(AccessKeyOf(doc, keyNode, principal, keys, session: true)));
                        }
                    });
                }
            }

            return ([.. managed.Values], principals, keys);
        }

        /// <summary>
        /// A user's long-term access key, or a role's session: AssumeRole's temporary credentials, a key
        /// with its secret, its session token and (optionally) when it expires. Secrets and tokens are
        /// read from files, so they can live in a Secret.
        /// </summary>
        private AccessKeyRecord AccessKeyOf(YamlNodes doc, YamlNode node, IamPrincipal owner, List<AccessKeyRecord> keys, bool session)
        {
            var what = session ? "a role session" : "an access key";
            var key = session ? doc.Mapping(node, what, "id", "secretFile", "sessionTokenFile", "expiration") : doc.Mapping(node, what, "id", "secretFile");
            var id = doc.RequiredString(key, "id", what);
            if (!AccessKeyId().IsMatch(id))
            {
                throw doc.Reject(doc.Node(key, "id")!, $"access key ID '{id}' must be 16 to 128 upper-case letters and digits (like AKIA...)");
            }

            var secret = SecretOf(doc, key, node, "secretFile", "secret", $"{what} needs 'secretFile' naming a file from a mounted Secret (secrets never go in a ConfigMap)");
            string? token = null;
            DateTimeOffset? expiration = null;
            if (session)
            {
                token = SecretOf(doc, key, node, "sessionTokenFile", "session token",
                    "a role session needs 'sessionTokenFile' naming a file from a mounted Secret (the SessionToken AssumeRole returned)");
                if (doc.OptionalString(key, "expiration") is { } text)
                {
                    // A time without its zone would be read in the server's zone: refuse it rather than guess.
                    var zoned = text.EndsWith('Z') || text.LastIndexOfAny(['+', '-']) > text.IndexOf('T', StringComparison.Ordinal);
                    if (!zoned || !DateTimeOffset.TryParseExact(text, ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"], CultureInfo.InvariantCulture,
                        DateTimeStyles.None, out var parsed))
                    {
                        throw doc.Reject(doc.Node(key, "expiration")!, $"expiration '{text}' must be a time with its zone, like 2026-01-01T00:00:00Z (AssumeRole's Expiration)");
                    }

                    expiration = parsed;
                }
            }

            if (keys.Exists(k => k.Id == id))
            {
                throw doc.Reject(node, $"access key '{id}' is declared twice");
            }

            return new AccessKeyRecord(id, secret, owner, doc.Source(key), token, expiration);
        }

        /// <summary>The trimmed content of the file <paramref name="key"/> names; it must exist and not be empty.</summary>
        private string SecretOf(YamlNodes doc, YamlMappingNode item, YamlNode node, string key, string what, string missing)
        {
            var file = FileReference(doc, item, key) ?? throw doc.Reject(item, missing);
            var text = file.Text.Trim();
            return text.Length > 0 ? text : throw doc.Reject(node, $"the {what} file {file.Path} is empty");
        }

        /// <summary>
        /// <c>iam.openIdConnectProviders</c> and the roles' <c>webIdentity</c> trust statements. LoadIam has
        /// already checked the shape of the iam sections and the roles themselves, so a role it refused is
        /// skipped here without a second error; a trust belongs to the role whose entry holds it.
        /// </summary>
        private (List<OidcProvider> Providers, List<WebIdentityTrust> Trusts) LoadWebIdentity(List<IamPrincipal> principals)
        {
            var providers = new Dictionary<string, OidcProvider>(StringComparer.Ordinal);
            var trusts = new List<WebIdentityTrust>();
            var sections = documents.Select(d => (d.Doc, Iam: d.Doc.Node(d.Root, "iam") as YamlMappingNode)).Where(s => s.Iam is not null).ToArray();
            foreach (var (doc, iam) in sections)
            {
                Try(() =>
                {
                    foreach (var node in doc.Sequence(iam!, "openIdConnectProviders", "iam.openIdConnectProviders"))
                    {
                        Try(() =>
                        {
                            var provider = OidcProviderOf(doc, node);
                            if (!providers.TryAdd(provider.Url, provider))
                            {
                                throw doc.Reject(node, $"OpenID Connect provider '{provider.Url}' is declared twice");
                            }
                        });
                    }
                });
            }

            foreach (var (doc, iam) in sections)
            {
                if (doc.Node(iam!, "roles") is not YamlSequenceNode roles)
                {
                    continue;
                }

                foreach (var roleNode in roles.Children.OfType<YamlMappingNode>())
                {
                    var source = doc.Source(roleNode);
                    if (principals.Find(p => p.Kind == IamPrincipalKind.Role && p.Source == source) is not { } role)
                    {
                        continue;
                    }

                    Try(() =>
                    {
                        foreach (var node in doc.Sequence(roleNode, "webIdentity", "webIdentity"))
                        {
                            Try(() => trusts.Add(WebIdentityTrustOf(doc, node, role, providers)));
                        }
                    });
                }
            }

            return ([.. providers.Values], trusts);
        }

        private OidcProvider OidcProviderOf(YamlNodes doc, YamlNode node)
        {
            const string What = "an OpenID Connect provider";
            var item = doc.Mapping(node, What, "url", "clientIds", "jwksFile", "jwksUrl");
            var url = doc.RequiredString(item, "url", What);
            if (!IsHttpsUrl(url, out _) || url.Length > 255)
            {
                throw doc.Reject(doc.Node(item, "url")!, $"OpenID Connect provider URL '{url}' must be https://host[/path] (the issuer its tokens carry), without query or fragment, at most 255 characters");
            }

            var clientIds = doc.StringList(item, "clientIds");
            if (clientIds.Count == 0)
            {
                throw doc.Reject(item, $"OpenID Connect provider '{url}' needs 'clientIds': the audiences (aud) its tokens may carry");
            }

            if (clientIds.FirstOrDefault(c => c.Length > 255) is { } longId)
            {
                throw doc.Reject(doc.Node(item, "clientIds")!, $"client ID '{longId[..32]}…' is longer than 255 characters");
            }

            var jwksUrl = doc.OptionalString(item, "jwksUrl");
            if (jwksUrl is not null && doc.Node(item, "jwksFile") is not null)
            {
                throw doc.Reject(item, $"OpenID Connect provider '{url}' names both 'jwksFile' and 'jwksUrl'; give one (or neither, to use its discovery document)");
            }

            if (jwksUrl is not null && !(IsHttpsUrl(jwksUrl, out var uri) || uri is { Scheme: "http", IsLoopback: true }))
            {
                throw doc.Reject(doc.Node(item, "jwksUrl")!, $"jwksUrl '{jwksUrl}' must be an https URL (plain http only to a loopback address): keys fetched in the clear could be swapped in transit");
            }

            var jwks = FileReference(doc, item, "jwksFile");
            return new OidcProvider(url, $"arn:aws:iam::{account}:oidc-provider/{url["https://".Length..].TrimEnd('/')}", clientIds.Distinct(StringComparer.Ordinal).ToArray(),
                jwks?.Text, jwksUrl, doc.Source(item));
        }

        /// <summary>Absolute https, with a host and neither query, fragment nor user info.</summary>
        private static bool IsHttpsUrl(string text, out Uri? uri) =>
            Uri.TryCreate(text, UriKind.Absolute, out uri) && uri.Scheme == Uri.UriSchemeHttps && uri.Host.Length > 0
            && uri.Query.Length == 0 && uri.Fragment.Length == 0 && uri.UserInfo.Length == 0 && !text.Contains('#', StringComparison.Ordinal);

        /// <summary>
        /// One trust statement: the provider, and the statement's Condition written as YAML (operator →
        /// key → value or list). Only the keys a web identity request has may be named, since a key that
        /// is never present would make a negated operator hold for every token.
        /// </summary>
        private WebIdentityTrust WebIdentityTrustOf(YamlNodes doc, YamlNode node, IamPrincipal role, Dictionary<string, OidcProvider> providers)
        {
            const string What = "a web identity trust";
            var item = doc.Mapping(node, What, "provider", "condition");
            var url = doc.RequiredString(item, "provider", What);
            if (!providers.TryGetValue(url, out var provider))
            {
                throw doc.Reject(doc.Node(item, "provider")!, $"OpenID Connect provider '{url}' is not defined under iam.openIdConnectProviders");
            }

            string[] keys = [$"{provider.KeyPrefix}:sub", $"{provider.KeyPrefix}:aud", $"{provider.KeyPrefix}:amr", "aws:SourceIp"];
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                json.WriteString("Version", PolicyParser.CurrentVersion);
                json.WriteStartArray("Statement");
                json.WriteStartObject();
                json.WriteString("Effect", "Allow");
                json.WriteString("Action", WebIdentityTrust.AssumeAction);
                json.WriteString("Resource", role.Arn);
                if (doc.Node(item, "condition") is { } conditionNode)
                {
                    json.WritePropertyName("Condition");
                    WriteCondition(doc, conditionNode, keys, json);
                }

                json.WriteEndObject();
                json.WriteEndArray();
                json.WriteEndObject();
            }

            try
            {
                var document = PolicyParser.Parse($"{role.Name} trust", System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
                return new WebIdentityTrust(role, provider, PolicySet.Create(document), doc.Source(item));
            }
            catch (PolicyParseException ex)
            {
                throw doc.Reject(ConditionNodeAt(doc, item, ex.Path), $"the trust condition of role '{role.Name}': {ex.Reason}");
            }
        }

        private static void WriteCondition(YamlNodes doc, YamlNode node, string[] keys, System.Text.Json.Utf8JsonWriter json)
        {
            if (node is not YamlMappingNode operators)
            {
                throw doc.Reject(node, "'condition' must be a mapping of condition operators (StringEquals: {key: value})");
            }

            json.WriteStartObject();
            foreach (var (operatorKey, operatorValue) in operators.Children)
            {
                if (operatorValue is not YamlMappingNode entries)
                {
                    throw doc.Reject(operatorValue, $"condition operator '{operatorKey}' must map condition keys to values");
                }

                json.WritePropertyName((operatorKey as YamlScalarNode)?.Value ?? "");
                json.WriteStartObject();
                foreach (var (keyNode, valueNode) in entries.Children)
                {
                    var key = (keyNode as YamlScalarNode)?.Value ?? "";
                    if (!keys.Contains(key, StringComparer.OrdinalIgnoreCase))
                    {
                        throw doc.Reject(keyNode, $"condition key '{key}' is not one a web identity has; use {string.Join(", ", keys)}");
                    }

                    json.WritePropertyName(key);
                    switch (valueNode)
                    {
                        case YamlScalarNode { Value: { } value }:
                            json.WriteStringValue(value);
                            break;
                        case YamlSequenceNode values:
                            json.WriteStartArray();
                            foreach (var element in values.Children)
                            {
                                json.WriteStringValue(element is YamlScalarNode { Value: { } text } ? text : throw doc.Reject(element, $"the values of '{key}' must be single values"));
                            }

                            json.WriteEndArray();
                            break;
                        default:
                            throw doc.Reject(valueNode, $"the value of '{key}' must be a value or a list of values");
                    }
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        /// <summary>The YAML node a policy error in the generated trust statement points at: the operator or key named by its path, else the condition.</summary>
        private static YamlNode ConditionNodeAt(YamlNodes doc, YamlMappingNode item, string path)
        {
            const string Prefix = "Statement[0].Condition.";
            var condition = doc.Node(item, "condition") ?? item;
            if (!path.StartsWith(Prefix, StringComparison.Ordinal) || condition is not YamlMappingNode operators)
            {
                return condition;
            }

            var rest = path[Prefix.Length..];
            foreach (var (operatorKey, operatorValue) in operators.Children)
            {
                var name = (operatorKey as YamlScalarNode)?.Value ?? "";
                if (rest == name)
                {
                    return operatorKey;
                }

                if (rest.StartsWith(name + ".", StringComparison.Ordinal) && operatorValue is YamlMappingNode entries)
                {
                    var key = rest[(name.Length + 1)..];
                    key = key.EndsWith(']') && key.LastIndexOf('[') is var bracket and > 0 ? key[..bracket] : key;
                    return entries.Children.Keys.FirstOrDefault(k => (k as YamlScalarNode)?.Value == key) ?? operatorKey;
                }
            }

            return condition;
        }

        private List<CognitoIdentityPool> LoadCognitoPools(List<IamPrincipal> principals)
        {
            var pools = new List<CognitoIdentityPool>();
            foreach (var (doc, root) in documents)
            {
                if (doc.Node(root, "cognito") is not { } cognitoNode)
                {
                    continue;
                }

                Try(() =>
                {
                    var cognito = doc.Mapping(cognitoNode, "cognito", "identityPools");
                    foreach (var node in doc.Sequence(cognito, "identityPools", "cognito.identityPools"))
                    {
                        Try(() =>
                        {
                            var item = doc.Mapping(node, "an identity pool", "id", "authenticatedRole", "unauthenticatedRole", "issuer", "jwksFile", "jwksUrl");
                            var id = doc.RequiredString(item, "id", "an identity pool");
                            if (!CognitoId().IsMatch(id))
                            {
                                throw doc.Reject(doc.Node(item, "id")!, $"identity pool ID '{id}' must look like us-east-1:uuid");
                            }

                            if (pools.Exists(p => p.Id == id))
                            {
                                throw doc.Reject(item, $"identity pool '{id}' is declared twice");
                            }

                            string? Role(string key)
                            {
                                var role = doc.OptionalString(item, key);
                                if (role is not null && !principals.Exists(p => p.Kind == IamPrincipalKind.Role && p.Name == role))
                                {
                                    doc.Report(doc.Node(item, key)!, $"IAM role '{role}' is not defined under iam.roles");
                                }

                                return role;
                            }

                            var jwks = FileReference(doc, item, "jwksFile");
                            pools.Add(new CognitoIdentityPool(id, Role("authenticatedRole"), Role("unauthenticatedRole"),
                                doc.OptionalString(item, "issuer") ?? "https://cognito-identity.amazonaws.com",
                                jwks?.Text, doc.OptionalString(item, "jwksUrl"), doc.Source(item)));
                        });
                    }
                });
            }

            return pools;
        }

        private string Arn(string resource) => $"arn:aws:iot:{region}:{account}:{resource}";
    }

    /// <summary>Listed certificates by ID and by name, so references resolve in constant time whatever the fleet's size.</summary>
    private sealed class CertificateIndex
    {
        private readonly List<CertificateRecord> certificates;
        private readonly Dictionary<string, int> byId;
        private readonly Dictionary<string, List<string>> byName = new(StringComparer.Ordinal);

        public CertificateIndex(List<CertificateRecord> certificates, List<CaCertificateRecord> caCertificates)
        {
            this.certificates = certificates;
            byId = new Dictionary<string, int>(certificates.Count, StringComparer.Ordinal);
            for (var i = 0; i < certificates.Count; i++)
            {
                byId[certificates[i].Id] = i;
                if (certificates[i].Name is { } name)
                {
                    (byName.TryGetValue(name, out var ids) ? ids : byName[name] = []).Add(certificates[i].Id);
                }
            }

            AutoRegistering = caCertificates.Exists(c => c.AutoRegistration && c.Status == CertificateStatus.Active);
        }

        /// <summary>True when some ACTIVE CA auto-registers certificates it signed.</summary>
        public bool AutoRegistering { get; }

        public bool Contains(string id) => byId.ContainsKey(id);

        public List<string> IdsNamed(string name) => byName.TryGetValue(name, out var ids) ? ids : [];

        /// <summary>AttachPolicy: idempotent.</summary>
        public void Attach(string id, string policy)
        {
            var index = byId[id];
            var record = certificates[index];
            if (!record.Policies.Contains(policy, StringComparer.Ordinal))
            {
                certificates[index] = record with { Policies = [.. record.Policies, policy] };
            }
        }
    }
}
