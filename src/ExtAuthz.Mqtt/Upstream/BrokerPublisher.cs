using System.Buffers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Protocol;

namespace ExtAuthz.Mqtt.Upstream;

/// <summary>
/// Publishes messages that arrived over HTTP (AWS IoT's <c>POST /topics/{topic}</c>, already authorized)
/// to the broker, over one long-lived MQTT 3.1.1 connection of its own, opened on first use and again
/// after it drops. Subscribers behind the gate still get each message through <c>iot:Receive</c>.
/// Thread-safe: concurrent publishes share the connection.
/// </summary>
public sealed class BrokerPublisher : IAsyncDisposable
{
    /// <summary>The client ID's prefix; a random suffix keeps two processes (replicas) on one broker from taking over each other's connection.</summary>
    public const string ClientIdPrefix = "extauthz-http-publish-";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly IMqttClient client;
    private readonly MqttClientOptions options;
    private readonly BrokerEndpoint endpoint;
    private readonly SemaphoreSlim connecting = new(1, 1);

    /// <param name="trust">CA certificates that alone are trusted for a TLS broker's certificate; null for the system's store.</param>
    public BrokerPublisher(BrokerEndpoint endpoint, X509Certificate2Collection? trust = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        this.endpoint = endpoint;
        ClientId = ClientIdPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(endpoint.Host, endpoint.Port)
            .WithClientId(ClientId)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V311)
            .WithCleanSession()
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(60))
            .WithTimeout(Timeout);
        if (endpoint.Tls)
        {
            builder.WithTlsOptions(tls =>
            {
                tls.UseTls().WithTargetHost(endpoint.Host);
                if (trust is not null)
                {
                    tls.WithTrustChain(trust);
                }
            });
        }

        options = builder.Build();
        client = new MqttClientFactory().CreateMqttClient();
    }

    /// <summary>The MQTT client ID the publisher connects to the broker with.</summary>
    public string ClientId { get; }

    /// <summary>Publishes one message; returns null once the broker has it (QoS 1: acknowledged), else why not.</summary>
    public async Task<string?> PublishAsync(string topic, ReadOnlyMemory<byte> payload, int qos, bool retain, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)qos, 1u, nameof(qos));
        try
        {
            await ConnectAsync(cancellationToken).ConfigureAwait(false);
            var message = new MqttApplicationMessageBuilder()
                .WithTopic(topic)
                .WithPayload(new ReadOnlySequence<byte>(payload))
                .WithQualityOfServiceLevel(qos == 1 ? MqttQualityOfServiceLevel.AtLeastOnce : MqttQualityOfServiceLevel.AtMostOnce)
                .WithRetainFlag(retain)
                .Build();
            var result = await client.PublishAsync(message, cancellationToken).ConfigureAwait(false);
            return result.IsSuccess ? null : $"the broker {endpoint} refused the message ({result.ReasonCode})";
        }
        catch (Exception ex) when (ex is MQTTnet.Exceptions.MqttCommunicationException or IOException or TimeoutException or System.Net.Sockets.SocketException
                                       or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return $"the broker {endpoint} cannot be reached: {ex.Message}";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (client.IsConnected)
        {
            try
            {
                await client.DisconnectAsync().ConfigureAwait(false);
            }
            catch (MQTTnet.Exceptions.MqttCommunicationException)
            {
                // The broker is already gone; there is nothing to say goodbye to.
            }
        }

        client.Dispose();
        connecting.Dispose();
    }

    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        if (client.IsConnected)
        {
            return;
        }

        await connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!client.IsConnected)
            {
                var result = await client.ConnectAsync(options, cancellationToken).ConfigureAwait(false);
                if (result.ResultCode != MqttClientConnectResultCode.Success)
                {
                    throw new IOException($"CONNACK {result.ResultCode}");
                }
            }
        }
        finally
        {
            connecting.Release();
        }
    }
}
