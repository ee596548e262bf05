namespace ExtAuthz.Commands;

/// <summary>
/// <c>extauthz dev-certs DIR</c>: writes the <see cref="DevelopmentPki"/> and prints each certificate's
/// AWS IoT certificate ID. Never for production: the keys are written in the clear.
/// </summary>
internal static class DevCertsCommand
{
    public const string Help = """
        extauthz dev-certs [--force] DIR

        Creates a development PKI for the quickstart (examples/quickstart/certs) or local tests:

          DIR/ca.pem, DIR/ca.key              self-signed CA (CN=ExampleCorp Dev CA, O=ExampleCorp),
                                              basic constraints CA:true
          DIR/sensor-1.pem, DIR/sensor-1.key  device certificates signed by the CA: CN=sensor-N,
          DIR/sensor-2.pem, DIR/sensor-2.key  O=ExampleCorp, DNS name sensor-N.devices.example.com
          DIR/console.pem, DIR/console.key    an operator console's client certificate: CN=console,
                                              O=ExampleCorp, DNS name console.operators.example.com
          DIR/server.pem, DIR/server.key      a TLS server certificate signed by the CA: CN=localhost,
                                              names localhost, 127.0.0.1 and ::1 (the gate's
                                              --mqtt-tls-cert and serve's --https-tls-cert)

        Keys are ECDSA P-256 in unencrypted PKCS#8 PEM, written with mode 0600 on Unix. DIR is created
        if needed. Existing files are never overwritten unless --force is given.

        Prints one line per certificate: its AWS IoT certificate ID (the lowercase hex SHA-256 of the
        DER) and its file, as sha256sum does. ('extauthz serve --dev-certs DIR' makes what is missing
        when it starts, which is how the quickstart gets its certificates.)

        Exit status: 0 on success; 2 when a file exists (without --force) or cannot be written.
        These keys are unprotected: use them for development only.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args is ["--help" or "-h"])
        {
            await stdout.WriteLineAsync(Help).ConfigureAwait(false);
            return Cli.ExitOk;
        }

        var force = args.Contains("--force");
        var rest = args.Where(a => a != "--force").ToArray();
        if (rest.Length != 1 || rest[0].StartsWith('-'))
        {
            await stderr.WriteLineAsync("extauthz dev-certs: expected one argument, the directory to write to\n\n" + Help).ConfigureAwait(false);
            return Cli.ExitUsage;
        }

        var directory = rest[0];
        var existing = DevelopmentPki.Existing(directory);
        if (existing.Length > 0 && !force)
        {
            await stderr.WriteLineAsync($"extauthz dev-certs: refusing to overwrite {string.Join(", ", existing)} (use --force to replace them)").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }

        try
        {
            foreach (var written in await DevelopmentPki.CreateAsync(directory).ConfigureAwait(false))
            {
                await stdout.WriteLineAsync($"{written.CertificateId}  {written.Path}").ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"extauthz dev-certs: {ex.Message}").ConfigureAwait(false);
            return Cli.ExitBadInput;
        }

        return Cli.ExitOk;
    }
}
