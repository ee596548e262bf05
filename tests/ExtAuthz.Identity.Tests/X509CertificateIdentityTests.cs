using System.Text;
using ExtAuthz.Identity.Tests.Support;
using ExtAuthz.Identity.X509;
using ExtAuthz.Policy;
using ExtAuthz.Registry;

namespace ExtAuthz.Identity.Tests;

public sealed class X509CertificateIdentityTests : IDisposable
{
    private static readonly ConnectionFacts Facts = new() { ClientId = "sensor-1", SourceIp = "10.0.0.7" };

    private readonly Fleet fleet = new();

    public void Dispose() => fleet.Dispose();

    [Fact]
    public void A_registered_active_certificate_becomes_its_principal()
    {
        var device = Pki.Device("CN=sensor-1");
        var snapshot = fleet.Certificate(device).Load();

        var result = X509CertificateIdentity.FromEnvoyCertificate(snapshot, EnvoyCertificate.Encode(device), Facts);

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Equal(IdentityFailure.None, result.Failure);
        Assert.Equal(Pki.Id(device), result.CredentialId);
        Assert.Equal(PrincipalKind.Certificate, result.Subject!.Kind);
        Assert.Equal(Pki.Id(device), result.Subject.PrincipalId);
        Assert.Equal(Fleet.Prefix + "cert/" + Pki.Id(device), result.Subject.PrincipalArn);
        Assert.Equal(DecisionKind.Allowed, result.Subject.Decide("iot:Connect", Fleet.Prefix + "client/sensor-1").Kind);
    }

    [Theory]
    [InlineData("INACTIVE")]
    [InlineData("REVOKED")]
    [InlineData("PENDING_TRANSFER")]
    [InlineData("PENDING_ACTIVATION")]
    [InlineData("REGISTER_INACTIVE")]
    public void A_registered_certificate_that_is_not_active_is_refused(string status)
    {
        var device = Pki.Device("CN=sensor-1");
        var snapshot = fleet.Certificate(device, status).Load();

        var result = X509CertificateIdentity.FromEnvoyCertificate(snapshot, EnvoyCertificate.Encode(device), Facts);

        Assert.Equal(IdentityFailure.NotActive, result.Failure);
        Assert.Contains($"certificate {Pki.Id(device)} is {status}, not ACTIVE", result.FailureReason, StringComparison.Ordinal);
        Assert.Equal(Pki.Id(device), result.CredentialId);
    }

    [Fact]
    public void An_unregistered_certificate_is_refused_without_a_parse()
    {
        var snapshot = fleet.Certificate(Pki.Device("CN=known")).Load();
        var stranger = Pki.Device("CN=known");

        var result = X509CertificateIdentity.FromEnvoyCertificate(snapshot, EnvoyCertificate.Encode(stranger), Facts);

        Assert.Equal(IdentityFailure.Unregistered, result.Failure);
        Assert.Equal($"certificate {Pki.Id(stranger)} is not registered and no auto-registering CA signed it", result.FailureReason);
        Assert.Equal(0, X509CertificateIdentity.CacheStatistics(snapshot).Parses);
    }

    [Fact]
    public void Expired_and_not_yet_valid_certificates_are_refused_even_when_cached()
    {
        var device = Pki.Device("CN=sensor-1", notBefore: new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero), notAfter: new DateTimeOffset(2031, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var snapshot = fleet.Certificate(device).Load();
        var encoded = EnvoyCertificate.Encode(device);

        var early = X509CertificateIdentity.FromEnvoyCertificate(snapshot, encoded, Facts, new FixedTime(new DateTimeOffset(2029, 6, 1, 0, 0, 0, TimeSpan.Zero)));
        Assert.Equal(IdentityFailure.NotYetValid, early.Failure);
        Assert.Contains("is not valid before 2030-01-01T00:00:00", early.FailureReason, StringComparison.Ordinal);

        var valid = X509CertificateIdentity.FromEnvoyCertificate(snapshot, encoded, Facts, new FixedTime(new DateTimeOffset(2030, 6, 1, 0, 0, 0, TimeSpan.Zero)));
        Assert.True(valid.Succeeded, valid.FailureReason);

        var late = X509CertificateIdentity.FromEnvoyCertificate(snapshot, encoded, Facts, new FixedTime(new DateTimeOffset(2031, 6, 1, 0, 0, 0, TimeSpan.Zero)));
        Assert.Equal(IdentityFailure.Expired, late.Failure);
        Assert.Contains($"certificate {Pki.Id(device)} expired at 2031-01-01T00:00:00", late.FailureReason, StringComparison.Ordinal);
        Assert.Equal(2, X509CertificateIdentity.CacheStatistics(snapshot).Hits);
    }

    [Fact]
    public void An_active_auto_registering_CA_vouches_for_a_certificate_it_signed_and_it_is_parsed_once()
    {
        var ca = Pki.Ca();
        var device = Pki.Device("CN=new-device", ca);
        var snapshot = fleet.Ca(ca).Load();
        var encoded = EnvoyCertificate.Encode(device);

        var first = X509CertificateIdentity.FromEnvoyCertificate(snapshot, encoded, Facts);
        var second = X509CertificateIdentity.FromEnvoyCertificate(snapshot, encoded, Facts);

        Assert.True(first.Succeeded, first.FailureReason);
        Assert.True(second.Succeeded, second.FailureReason);
        Assert.Equal(Pki.Id(device), second.Subject!.PrincipalId);
        Assert.Equal(new CertificateCacheStatistics(1, X509CertificateIdentity.MinimumCacheCapacity, 1, 1, 1), X509CertificateIdentity.CacheStatistics(snapshot));
    }

    [Fact]
    public void A_certificate_auto_registered_as_pending_activation_is_not_active()
    {
        var ca = Pki.Ca();
        var device = Pki.Device("CN=new-device", ca);
        var snapshot = fleet.Ca(ca, autoRegisteredStatus: "PENDING_ACTIVATION").Load();

        var result = X509CertificateIdentity.FromEnvoyCertificate(snapshot, EnvoyCertificate.Encode(device), Facts);

        Assert.Equal(IdentityFailure.NotActive, result.Failure);
        Assert.Contains("auto-registered as PENDING_ACTIVATION, not ACTIVE", result.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_inactive_CA_or_a_forged_issuer_does_not_vouch()
    {
        var ca = Pki.Ca();
        var impostor = Pki.Ca();
        var inactive = new Fleet();
        try
        {
            var snapshot = inactive.Ca(ca, status: "INACTIVE").Load();
            var result = X509CertificateIdentity.FromEnvoyCertificate(snapshot, EnvoyCertificate.Encode(Pki.Device("CN=d", ca)), Facts);
            Assert.Equal(IdentityFailure.Unregistered, result.Failure);
            Assert.Contains("INACTIVE", result.FailureReason, StringComparison.Ordinal);
        }
        finally
        {
            inactive.Dispose();
        }

        var active = fleet.Ca(ca).Load();
        var forged = X509CertificateIdentity.FromEnvoyCertificate(active, EnvoyCertificate.Encode(Pki.Device("CN=d", impostor)), Facts);
        Assert.Equal(IdentityFailure.Unregistered, forged.Failure);
        Assert.Equal(0, X509CertificateIdentity.CacheStatistics(active).Entries);
    }

    [Theory]
    [InlineData(null, IdentityFailure.Missing, "no client certificate was presented")]
    [InlineData("", IdentityFailure.Missing, "no client certificate was presented")]
    [InlineData("garbage", IdentityFailure.Malformed, "malformed client certificate: the certificate is not PEM")]
    [InlineData("-----BEGIN%20CERTIFICATE-----%0AMIIB%zz", IdentityFailure.Malformed, "bad percent-encoding at offset 36")]
    [InlineData("-----BEGIN%20CERTIFICATE-----%0AMIIBkTCB%0A", IdentityFailure.Malformed, "truncated")]
    public void Missing_and_malformed_certificates_are_refused_with_a_reason(string? encoded, IdentityFailure failure, string reason)
    {
        var snapshot = fleet.Load();
        var result = X509CertificateIdentity.FromEnvoyCertificate(snapshot, encoded, Facts);
        Assert.Equal(failure, result.Failure);
        Assert.Contains(reason, result.FailureReason, StringComparison.Ordinal);
        Assert.Null(result.Subject);
    }

    [Fact]
    public void The_forwarded_client_cert_header_identifies_the_device()
    {
        var device = Pki.Device("CN=sensor-1", sans: b => b.AddDnsName("sensor-1.example"));
        var snapshot = fleet.Certificate(device).Load();
        var header = ForwardedClientCert.Format(device, by: ["spiffe://mesh/envoy"]);

        var result = X509CertificateIdentity.FromForwardedClientCert(snapshot, header, ConnectionFacts.None);
        var again = X509CertificateIdentity.FromForwardedClientCert(snapshot, header, ConnectionFacts.None);

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.True(again.Succeeded, again.FailureReason);
        Assert.Equal(Pki.Id(device), again.Subject!.PrincipalId);
        var statistics = X509CertificateIdentity.CacheStatistics(snapshot);
        Assert.Equal((1, 1, 1, 0), (statistics.Entries, statistics.Hits, statistics.Misses, statistics.Parses));
    }

    [Fact]
    public void Hash_alone_names_a_registered_certificate_but_cannot_auto_register()
    {
        var ca = Pki.Ca();
        var registered = Pki.Device("CN=sensor-1");
        var unlisted = Pki.Device("CN=sensor-2", ca);
        var snapshot = fleet.Certificate(registered).Ca(ca).Load();

        var known = X509CertificateIdentity.FromForwardedClientCert(snapshot, ForwardedClientCert.Format(registered, cert: false), Facts);
        Assert.True(known.Succeeded, known.FailureReason);
        Assert.Equal(Pki.Id(registered), known.Subject!.PrincipalId);

        var unknown = X509CertificateIdentity.FromForwardedClientCert(snapshot, ForwardedClientCert.Format(unlisted, cert: false), Facts);
        Assert.Equal(IdentityFailure.Unregistered, unknown.Failure);
        Assert.Contains("has no Cert", unknown.FailureReason, StringComparison.Ordinal);

        var upper = X509CertificateIdentity.FromForwardedClientCert(snapshot, "Hash=" + Pki.Id(registered).ToUpperInvariant(), Facts);
        Assert.True(upper.Succeeded, upper.FailureReason);
    }

    [Fact]
    public void Forwarded_client_cert_refusals_are_precise()
    {
        var device = Pki.Device("CN=sensor-1");
        var other = Pki.Device("CN=other");
        var snapshot = fleet.Certificate(device).Certificate(other).Load();
        var header = ForwardedClientCert.Format(device);
        var cases = new (string? Header, IdentityFailure Failure, string Reason)[]
        {
            (null, IdentityFailure.Missing, "no x-forwarded-client-cert header"),
            ("", IdentityFailure.Missing, "no x-forwarded-client-cert header"),
            (header + "," + ForwardedClientCert.Format(other), IdentityFailure.Malformed, "holds 2 elements; Envoy's SANITIZE_SET writes exactly one"),
            ($"Cert=\"{EnvoyCertificate.Encode(device)}\"", IdentityFailure.Malformed, "has no Hash"),
            ("Hash=abc", IdentityFailure.Malformed, "not 64 hex digits"),
            (header.Replace("Hash=" + Pki.Id(device), "Hash=" + Pki.Id(other), StringComparison.Ordinal), IdentityFailure.Malformed, $"Hash {Pki.Id(other)} is not the SHA-256 of its Cert ({Pki.Id(device)})"),
            ($"Hash={Pki.Id(device)};Cert=\"%zz\"", IdentityFailure.Malformed, "malformed x-forwarded-client-cert Cert: bad percent-encoding"),
            ($"Hash={Pki.Id(device)};Cert=\"\"", IdentityFailure.Malformed, "malformed x-forwarded-client-cert Cert: no client certificate"),
            ("Hash=" + Pki.Id(device) + ";Subject=\"unterminated", IdentityFailure.Malformed, "never closed"),
        };

        foreach (var (value, failure, reason) in cases)
        {
            var result = X509CertificateIdentity.FromForwardedClientCert(snapshot, value, Facts);
            Assert.True(failure == result.Failure, $"{value}: {result}");
            Assert.Contains(reason, result.FailureReason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_same_encoded_certificate_is_decoded_once_per_snapshot_and_a_new_snapshot_starts_afresh()
    {
        var device = Pki.Device("CN=sensor-1");
        var first = fleet.Certificate(device).Load();
        var encoded = EnvoyCertificate.Encode(device);

        for (var i = 0; i < 5; i++)
        {
            Assert.True(X509CertificateIdentity.FromEnvoyCertificate(first, encoded, Facts).Succeeded);
        }

        Assert.Equal(new CertificateCacheStatistics(1, X509CertificateIdentity.MinimumCacheCapacity, 4, 1, 0), X509CertificateIdentity.CacheStatistics(first));

        var second = fleet.Load(first);
        Assert.Equal(0, X509CertificateIdentity.CacheStatistics(second).Entries);
        var result = X509CertificateIdentity.FromEnvoyCertificate(second, encoded, Facts);
        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Same(second, result.Subject!.Snapshot);
        Assert.Equal(new CertificateCacheStatistics(1, X509CertificateIdentity.MinimumCacheCapacity, 0, 1, 0), X509CertificateIdentity.CacheStatistics(second));
        Assert.Equal(4, X509CertificateIdentity.CacheStatistics(first).Hits);
    }

    [Fact]
    public void Strangers_and_non_Envoy_spellings_are_never_cached()
    {
        var device = Pki.Device("CN=sensor-1");
        var snapshot = fleet.Certificate(device).Load();

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(IdentityFailure.Unregistered, X509CertificateIdentity.FromEnvoyCertificate(snapshot, EnvoyCertificate.Encode(Pki.Device("CN=x")), Facts).Failure);
        }

        var lowercase = EnvoyCertificate.Encode(device).Replace("%0A", "%0a", StringComparison.Ordinal);
        Assert.True(X509CertificateIdentity.FromEnvoyCertificate(snapshot, lowercase, Facts).Succeeded);
        Assert.True(X509CertificateIdentity.FromEnvoyCertificate(snapshot, lowercase, Facts).Succeeded);
        Assert.True(X509CertificateIdentity.FromEnvoyCertificate(snapshot, Pki.Pem(device), Facts).Succeeded);

        var statistics = X509CertificateIdentity.CacheStatistics(snapshot);
        Assert.Equal((0, 0L, 23L), (statistics.Entries, statistics.Hits, statistics.Misses));
    }

    [Fact]
    public void A_certificate_given_as_bytes_resolves_from_the_same_cache_as_its_string()
    {
        var device = Pki.Device("CN=sensor-1");
        var snapshot = fleet.Certificate(device).Load();
        var encoded = EnvoyCertificate.Encode(device);

        var fromBytes = X509CertificateIdentity.FromEnvoyCertificate(snapshot, Encoding.UTF8.GetBytes(encoded), Facts);
        var fromString = X509CertificateIdentity.FromEnvoyCertificate(snapshot, encoded, Facts);
        var againFromBytes = X509CertificateIdentity.FromEnvoyCertificate(snapshot, Encoding.UTF8.GetBytes(encoded), Facts);

        Assert.All([fromBytes, fromString, againFromBytes], r => Assert.Equal((true, Pki.Id(device)), (r.Succeeded, r.CredentialId)));
        var statistics = X509CertificateIdentity.CacheStatistics(snapshot);
        Assert.Equal((1, 2L, 1L), (statistics.Entries, statistics.Hits, statistics.Misses));
    }

    [Fact]
    public void Certificate_bytes_that_are_not_UTF8_are_refused_as_a_string_of_them_would_be()
    {
        var device = Pki.Device("CN=sensor-1");
        var snapshot = fleet.Certificate(device).Load();
        var bytes = Encoding.UTF8.GetBytes(EnvoyCertificate.Encode(device));
        bytes[40] = 0xC0;

        var fromBytes = X509CertificateIdentity.FromEnvoyCertificate(snapshot, bytes, Facts);
        var fromString = X509CertificateIdentity.FromEnvoyCertificate(snapshot, Encoding.UTF8.GetString(bytes), Facts);

        Assert.Equal(IdentityFailure.Malformed, fromBytes.Failure);
        Assert.Equal("malformed client certificate: character U+FFFD at offset 40 cannot appear in a URL-encoded certificate", fromBytes.FailureReason);
        Assert.Equal(fromString.FailureReason, fromBytes.FailureReason);
        Assert.Equal(IdentityFailure.Missing, X509CertificateIdentity.FromEnvoyCertificate(snapshot, ReadOnlySpan<byte>.Empty, Facts).Failure);
    }

    [Fact]
    public void The_cache_holds_encoded_certificates_as_ASCII_and_looks_up_any_string()
    {
        var cache = new CertificateCache(4);
        var entry = new CertificateCache.Entry("id", DateTime.MinValue, DateTime.MaxValue);
        var longKey = new string('A', 10_000);

        Assert.True(cache.TryAdd(CertificateCache.Kind.Certificate, longKey, entry));
        Assert.True(cache.TryGet(CertificateCache.Kind.Certificate, longKey, out _));
        Assert.True(cache.TryGet(Encoding.ASCII.GetBytes(longKey), out _));
        Assert.False(cache.TryGet(CertificateCache.Kind.Certificate, "\u00e9", out _));
        Assert.False(cache.TryGet(CertificateCache.Kind.ForwardedHeader, longKey, out _));
        Assert.Throws<ArgumentException>(() => cache.TryAdd(CertificateCache.Kind.Certificate, "caf\u00e9", entry));
        Assert.True(cache.TryAdd(CertificateCache.Kind.ForwardedHeader, "caf\u00e9", entry));
        Assert.Equal(new CertificateCacheStatistics(2, 4, 2, 2, 0), cache.Statistics());
    }

    [Fact]
    public void A_full_cache_stops_admitting_and_keeps_what_it_has()
    {
        var cache = new CertificateCache(2);
        var entry = new CertificateCache.Entry("id", DateTime.MinValue, DateTime.MaxValue);
        Assert.True(cache.TryAdd(CertificateCache.Kind.Certificate, "a", entry));
        Assert.False(cache.TryAdd(CertificateCache.Kind.Certificate, "a", entry));
        Assert.True(cache.TryAdd(CertificateCache.Kind.ForwardedHeader, "a", entry));
        Assert.False(cache.TryAdd(CertificateCache.Kind.Certificate, "b", entry));
        Assert.True(cache.TryGet(CertificateCache.Kind.Certificate, "a", out _));
        Assert.True(cache.TryGet(CertificateCache.Kind.ForwardedHeader, "a", out _));
        Assert.False(cache.TryGet(CertificateCache.Kind.Certificate, "b", out _));
        Assert.Equal(new CertificateCacheStatistics(2, 2, 2, 1, 0), cache.Statistics());
    }

    [Fact]
    public void The_cache_is_safe_under_concurrent_first_use()
    {
        var devices = Enumerable.Range(0, 8).Select(i => Pki.Device($"CN=d{i}")).ToArray();
        foreach (var device in devices)
        {
            fleet.Certificate(device);
        }

        var snapshot = fleet.Load();
        var encoded = devices.Select(EnvoyCertificate.Encode).ToArray();
        Parallel.For(0, 400, i => Assert.True(X509CertificateIdentity.FromEnvoyCertificate(snapshot, encoded[i % encoded.Length], Facts).Succeeded));

        var statistics = X509CertificateIdentity.CacheStatistics(snapshot);
        Assert.Equal(8, statistics.Entries);
        Assert.Equal(400, statistics.Hits + statistics.Misses);
    }

    [Fact]
    public void Overrides_pass_through_to_the_registry()
    {
        var device = Pki.Device("CN=sensor-1");
        var snapshot = fleet.Certificate(device).Load();
        var result = X509CertificateIdentity.FromEnvoyCertificate(snapshot, EnvoyCertificate.Encode(device), Facts, overrides: new PolicyOverrides([], ["Everything"]));
        Assert.True(result.Succeeded);
        Assert.Equal(DecisionKind.ImplicitDeny, result.Subject!.Decide("iot:Connect", Fleet.Prefix + "client/sensor-1").Kind);
    }
}
