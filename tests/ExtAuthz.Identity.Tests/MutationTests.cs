using System.Text;
using ExtAuthz.Identity.Tests.Support;
using ExtAuthz.Identity.X509;
using ExtAuthz.Registry;

namespace ExtAuthz.Identity.Tests;

/// <summary>
/// Mutated certificates and headers thrown at the identity layer: every one must give a result (an
/// identity or a refusal with a reason), never an exception. Seeded, so a failure reproduces.
/// </summary>
public sealed class MutationTests : IDisposable
{
    private const int Iterations = 3000;

    private static readonly string[] Fragments =
    [
        "%", "%0", "%zz", "%25", "%0A", "%2B", ",", ";", "=", "\"", "\\", "\\\"", "-----BEGIN%20CERTIFICATE-----%0A", "%0A-----END%20CERTIFICATE-----%0A",
        "Hash=", "Cert=\"", "Subject=\"", "URI=", "DNS=", "By=", "é", "\0", "\n", " ", "MII", "AAAA", "%C3%A9", "-----BEGIN%20PRIVATE%20KEY-----%0A",
    ];

    private readonly Fleet fleet = new();

    public void Dispose() => fleet.Dispose();

    [Fact]
    public void Mutated_certificates_and_headers_never_throw()
    {
        var ca = Pki.Ca();
        var registered = Pki.Device("CN=sensor-1", sans: b => b.AddUri(new Uri("spiffe://acme/sensor-1")));
        var autoRegistered = Pki.Device("CN=sensor-2,O=Acme", ca);
        var snapshot = fleet.Certificate(registered).Ca(ca).Load();
        var seeds = new[]
        {
            EnvoyCertificate.Encode(registered),
            EnvoyCertificate.Encode(autoRegistered),
            ForwardedClientCert.Format(registered, by: ["spiffe://acme/envoy"]),
            ForwardedClientCert.Format(autoRegistered),
            ForwardedClientCert.Format(registered, cert: false),
        };
        var random = new Random(20260214);
        var outcomes = new Dictionary<IdentityFailure, int>();

        for (var i = 0; i < Iterations; i++)
        {
            var seed = seeds[random.Next(seeds.Length)];
            var mutated = Mutate(seed, random);
            foreach (var result in new[]
            {
                X509CertificateIdentity.FromEnvoyCertificate(snapshot, mutated, ConnectionFacts.None),
                X509CertificateIdentity.FromForwardedClientCert(snapshot, mutated, ConnectionFacts.None),
            })
            {
                Assert.True(result.Succeeded == (result.Failure == IdentityFailure.None), mutated);
                Assert.True(result.Succeeded || !string.IsNullOrWhiteSpace(result.FailureReason), mutated);
                outcomes[result.Failure] = outcomes.GetValueOrDefault(result.Failure) + 1;
            }

            _ = ForwardedClientCert.Parse(mutated);
            _ = EnvoyCertificate.Decode(mutated);
        }

        Assert.True(outcomes.GetValueOrDefault(IdentityFailure.Malformed) > Iterations / 2, string.Join(", ", outcomes));
        Assert.True(outcomes.GetValueOrDefault(IdentityFailure.None) > 0, string.Join(", ", outcomes));
    }

    [Fact]
    public void Mutated_DER_names_never_throw()
    {
        var name = Pki.Name([Pki.Attribute.Utf8("2.5.4.6", "US")], [Pki.Attribute.Utf8("2.5.4.3", "a,b+c é"), Pki.Attribute.Utf8("1.2.3.4", "x")], [new Pki.Attribute("2.5.4.3", 30, [0, 0x41])]).RawData;
        var random = new Random(7);
        for (var i = 0; i < Iterations; i++)
        {
            var bytes = name.ToArray();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            var cut = random.Next(4) == 0 ? bytes[..random.Next(bytes.Length)] : bytes;
            if (OpenSslSubject.TryFormat(cut, out var text))
            {
                Assert.NotNull(text);
            }
        }
    }

    private static string Mutate(string seed, Random random)
    {
        var text = new StringBuilder(seed);
        for (var edits = random.Next(1, 4); edits > 0; edits--)
        {
            var at = text.Length == 0 ? 0 : random.Next(text.Length);
            switch (random.Next(8))
            {
                case 0:
                    text.Remove(at, Math.Min(text.Length - at, random.Next(1, 8)));
                    break;
                case 1:
                    text.Insert(at, Fragments[random.Next(Fragments.Length)]);
                    break;
                case 2 when text.Length > 0:
                    text[at] = (char)random.Next(0x20, 0x7F);
                    break;
                case 3:
                    text.Length = at;
                    break;
                case 4 when text.Length > 0:
                    text[at] = char.IsUpper(text[at]) ? char.ToLowerInvariant(text[at]) : char.ToUpperInvariant(text[at]);
                    break;
                case 5:
                    text.Insert(at, seed[random.Next(seed.Length)..]);
                    break;
                case 6 when text.Length > 0:
                    text[at] = (char)random.Next(0, 0x10000);
                    break;
                default:
                    // Leave some seeds intact, so success paths are exercised as well.
                    break;
            }
        }

        return text.ToString();
    }
}
