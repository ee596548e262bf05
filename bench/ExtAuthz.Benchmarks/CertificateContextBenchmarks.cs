using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using ExtAuthz.Policy;
using ExtAuthz.Registry;

namespace ExtAuthz.Benchmarks;

/// <summary>
/// Building the authorization subject (policy set and request context) for a certificate whose
/// principal is already cached in the snapshot, i.e. every connection after that certificate's first,
/// in the 10,000-policy / 100,000-certificate fleet. <c>ForCertificate</c> includes the SHA-256 of the
/// DER that yields the certificate ID; <c>ForCertificateId</c> starts from the ID (what a caller that
/// caches the ID per connection or per certificate passes). The setup also prints, informationally,
/// the average cost of a certificate's first connection (parsing it and filling the cache).
/// </summary>
[Config(typeof(MicroConfig))]
public class CertificateContextBenchmarks
{
    private RegistrySnapshot snapshot = null!;
    private X509Certificate2 certificate = null!;
    private string certificateId = "";
    private ConnectionFacts facts = null!;
    private string topic = "";
    private byte[] der = [];

    [GlobalSetup]
    public void Setup()
    {
        var directory = RegistryCorpus.Fleet(policies: 10_000, certificates: 100_000);
        snapshot = RegistryLoader.Load([directory]);
        var record = snapshot.Certificates.Values.First(c => snapshot.ThingsByPrincipal.ContainsKey(c.Id));
        certificate = record.Certificate;
        certificateId = record.Id;
        der = certificate.RawData;
        var thing = snapshot.ThingsByPrincipal[record.Id][0].Thing.Name;
        facts = new ConnectionFacts { ClientId = thing, SourceIp = "203.0.113.7", DomainName = "iot.example.com" };
        var site = int.Parse(record.Policies[0]["Policy".Length..], System.Globalization.CultureInfo.InvariantCulture);
        topic = snapshot.IotArn($"topic/site-{site}/{thing}/telemetry");

        // The first connection fills the cache; the benchmarks measure the ones after it.
        var subject = PrincipalResolver.ForCertificateId(snapshot, certificateId, facts).Subject
            ?? throw new InvalidOperationException("the benchmark certificate did not authenticate");
        if (subject.Decide("iot:Publish", topic).Kind != DecisionKind.Allowed)
        {
            throw new InvalidOperationException($"expected {topic} to be allowed");
        }

        if (PrincipalResolver.ForCertificate(snapshot, certificate, facts).Subject?.Context is null)
        {
            throw new InvalidOperationException("ForCertificate did not authenticate the benchmark certificate");
        }

        FirstConnections(1_000);
    }

    /// <summary>Informational: the first connection of <paramref name="count"/> certificates that have a thing (parse, variables, policy set).</summary>
    private void FirstConnections(int count)
    {
        var sample = snapshot.Certificates.Values.Where(c => snapshot.ThingsByPrincipal.ContainsKey(c.Id)).Skip(1).Take(count)
            .Select(c => (c.Id, Facts: new ConnectionFacts { ClientId = snapshot.ThingsByPrincipal[c.Id][0].Thing.Name, SourceIp = "203.0.113.7" }))
            .ToArray();
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        foreach (var (id, connection) in sample)
        {
            _ = PrincipalResolver.ForCertificateId(snapshot, id, connection).Subject ?? throw new InvalidOperationException($"{id} did not authenticate");
        }

        Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"// first connection (uncached ForCertificateId, Stopwatch): {stopwatch.Elapsed.TotalMicroseconds / sample.Length:F1} µs per certificate over {sample.Length:N0} certificates"));
    }

    [Benchmark(Baseline = true, Description = "ForCertificateId (cached principal)")]
    public AuthorizationSubject? ById() => PrincipalResolver.ForCertificateId(snapshot, certificateId, facts).Subject;

    [Benchmark(Description = "ForCertificate (SHA-256 of the DER + cached principal)")]
    public AuthorizationSubject? ByCertificate() => PrincipalResolver.ForCertificate(snapshot, certificate, facts).Subject;

    [Benchmark(Description = "(part of ForCertificate) RawData copy + SHA-256 + lowercase hex")]
    public string CertificateIdOnly() => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(certificate.RawData));

    [Benchmark(Description = "(part of ForCertificate) SHA-256 of the DER only")]
    public byte[] Sha256Only() => System.Security.Cryptography.SHA256.HashData(der);

    [Benchmark(Description = "ForCertificateId + Decide publish")]
    public DecisionKind ByIdAndDecide() => PrincipalResolver.ForCertificateId(snapshot, certificateId, facts).Subject!.Decide("iot:Publish", topic).Kind;
}
