using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ExtAuthz.Mqtt.Codec;

namespace ExtAuthz.Mqtt.Tests.Gate;

/// <summary>MQTT bytes by hand over the gate's mutual-TLS listener, for what no well-behaved client sends.</summary>
internal sealed class RawClient : IAsyncDisposable
{
    private readonly TcpClient tcp;
    private readonly SslStream tls;
    private byte[] pending = [];

    private RawClient(TcpClient tcp, SslStream tls)
    {
        this.tcp = tcp;
        this.tls = tls;
    }

    public static async Task<RawClient> ConnectAsync(RunningGate gate, X509Certificate2 certificate, X509Certificate2 serverCa)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", gate.ListenPort);
        var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ClientCertificates = [certificate],
            RemoteCertificateValidationCallback = (_, presented, _, _) => IssuedBy(presented, serverCa),
        });
        return new RawClient(tcp, tls);
    }

    private static bool IssuedBy(X509Certificate? presented, X509Certificate2 ca)
    {
        if (presented is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        return chain.Build(leaf);
    }

    /// <summary>A minimal CONNECT: clean session, keep-alive 60 s, no will, no credentials.</summary>
    public static byte[] Connect(string clientId, byte level = 5)
    {
        var id = Encoding.UTF8.GetBytes(clientId);
        List<byte> body = [0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', level, 0x02, 0, 60];
        if (level == 5)
        {
            body.Add(0);
        }

        body.AddRange([(byte)(id.Length >> 8), (byte)id.Length, .. id]);
        return [0x10, (byte)body.Count, .. body];
    }

    public async Task SendAsync(params byte[] bytes) => await tls.WriteAsync(bytes);

    /// <summary>The next packet from the gate, or null when it closed the connection.</summary>
    public async Task<MqttPacket?> ReceiveAsync(MqttVersion version = MqttVersion.V500, TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(5));
        var buffer = new byte[4096];
        while (true)
        {
            var sequence = new ReadOnlySequence<byte>(pending);
            if (MqttPacketReader.TryRead(ref sequence, version, MqttDirection.ServerToClient, 1 << 20, out var packet, out var error) is var status
                && status == MqttReadStatus.Packet)
            {
                pending = sequence.ToArray();
                return packet;
            }

            Assert.True(status == MqttReadStatus.NeedMoreData, error);
            int read;
            try
            {
                read = await tls.ReadAsync(buffer, timeout.Token);
            }
            catch (IOException)
            {
                return null;
            }

            if (read == 0)
            {
                return null;
            }

            pending = [.. pending, .. buffer.AsSpan(0, read)];
        }
    }

    public async ValueTask DisposeAsync()
    {
        await tls.DisposeAsync();
        tcp.Dispose();
    }
}
