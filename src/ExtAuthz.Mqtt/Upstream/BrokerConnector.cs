using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace ExtAuthz.Mqtt.Upstream;

/// <summary>Opens one upstream connection per client connection.</summary>
public interface IBrokerConnector
{
    /// <summary>Where connections go, for logs.</summary>
    string Description { get; }

    /// <exception cref="IOException">The broker cannot be reached (refused, unreachable, TLS failed).</exception>
    ValueTask<BrokerConnection> ConnectAsync(CancellationToken cancellationToken);
}

/// <summary>One connection to the broker, as pipes: over its stream, or in memory to the embedded broker.</summary>
public sealed class BrokerConnection : IDuplexPipe, IAsyncDisposable
{
    private readonly Stream? stream;

    public BrokerConnection(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        this.stream = stream;
        Input = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        Output = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
    }

    /// <summary>A connection in memory: completing both pipes is what closes it.</summary>
    internal BrokerConnection(PipeReader input, PipeWriter output)
    {
        Input = input;
        Output = output;
    }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    public async ValueTask DisposeAsync()
    {
        await Input.CompleteAsync().ConfigureAwait(false);
        await Output.CompleteAsync().ConfigureAwait(false);
        if (stream is not null)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>A broker over TCP, optionally TLS (the system's trust store, or the given CA certificates).</summary>
public sealed class TcpBrokerConnector : IBrokerConnector
{
    private readonly BrokerEndpoint endpoint;
    private readonly X509Certificate2Collection? trust;

    /// <param name="trust">CA certificates that alone are trusted for the broker's TLS certificate; null for the system's store.</param>
    public TcpBrokerConnector(BrokerEndpoint endpoint, X509Certificate2Collection? trust = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        this.endpoint = endpoint;
        this.trust = trust;
    }

    public string Description => endpoint.ToString();

    public async ValueTask<BrokerConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            EndPoint remote = IPAddress.TryParse(endpoint.Host, out var address) ? new IPEndPoint(address, endpoint.Port) : new DnsEndPoint(endpoint.Host, endpoint.Port);
            await socket.ConnectAsync(remote, cancellationToken).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (endpoint.Tls)
            {
                var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = tls;
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = endpoint.Host,
                    RemoteCertificateValidationCallback = trust is null ? null : ValidateWithOwnTrust,
                }, cancellationToken).ConfigureAwait(false);
            }

            return new BrokerConnection(stream);
        }
        catch (Exception ex) when (ex is SocketException or System.Security.Authentication.AuthenticationException)
        {
            await DisposeAsync(socket, stream).ConfigureAwait(false);
            throw new IOException($"cannot connect to the broker {endpoint}: {ex.Message}", ex);
        }
        catch
        {
            await DisposeAsync(socket, stream).ConfigureAwait(false);
            throw;
        }
    }

    private static async ValueTask DisposeAsync(Socket socket, Stream? stream)
    {
        if (stream is not null)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }

        socket.Dispose();
    }

    /// <summary>The broker's chain must end at one of the configured CAs, and its name must match: a private CA replaces the system store, it does not relax the checks.</summary>
    private bool ValidateWithOwnTrust(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var own = new X509Chain();
        own.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        own.ChainPolicy.CustomTrustStore.AddRange(trust!);
        own.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                own.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return own.Build(leaf);
    }
}
