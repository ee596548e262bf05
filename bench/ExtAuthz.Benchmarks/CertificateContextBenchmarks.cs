using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using ExtAuthz.Policy;
using ExtAuthz.Registry;

namespace ExtAuthz.Benchmarks;

/// <summary>
/// Building the authorization subject (policy set and request context) for a certificate whose
/// principal is already cached in the snapshot, i.e. every connection after that certificate's first.
/// </summary>
[Config(typeof(MicroConfig))]
public class CertificateContextBenchmarks
{
    private RegistrySnapshot snapshot = null!;
    private X509Certificate2 certificate = null!;
    private string certificateId = "";
    private ConnectionFacts facts = null!;
    private string topic = "";

    [GlobalSetup]
    public void Setup()
    {
        var directory = RegistryCorpus.Fleet(policies: 100, certificates: 10_000);
        snapshot = RegistryLoader.Load([directory]);
        var record = snapshot.Certificates.Values.First(c => snapshot.ThingsByPrincipal.ContainsKey(c.Id));
        certificate = record.Certificate;
        certificateId = record.Id;
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
    }

    [Benchmark(Baseline = true, Description = "ForCertificateId (cached principal)")]
    public AuthorizationSubject? ById() => PrincipalResolver.ForCertificateId(snapshot, certificateId, facts).Subject;

    [Benchmark(Description = "ForCertificate (SHA-256 of the DER + cached principal)")]
    public AuthorizationSubject? ByCertificate() => PrincipalResolver.ForCertificate(snapshot, certificate, facts).Subject;

    [Benchmark(Description = "ForCertificateId + Decide publish")]
    public DecisionKind ByIdAndDecide() => PrincipalResolver.ForCertificateId(snapshot, certificateId, facts).Subject!.Decide("iot:Publish", topic).Kind;
}
