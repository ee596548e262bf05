using System.Buffers;
using System.Net;
using System.Text;
using ExtAuthz.Mqtt.Codec;
using ExtAuthz.Mqtt.Tests.Gate;
using ExtAuthz.Mqtt.Upstream;
using ExtAuthz.Tests.Shared;
using MQTTnet;
using MQTTnet.Formatter;

namespace ExtAuthz.Mqtt.Tests.Upstream;

/// <summary>The embedded broker: connections handed over in memory (what the gate uses) and its own TCP listener.</summary>
public sealed class EmbeddedBrokerTests
{
    [Fact]
    public async Task A_connection_in_memory_is_a_client_of_the_broker_without_a_socket()
    {
        await using var broker = await EmbeddedBroker.StartAsync();
        await using var connection = await broker.Connector.ConnectAsync(CancellationToken.None);

        await SendAsync(connection, RawClient.Connect("in-memory-1", level: 4));
        var connack = await ReceiveAsync(connection);

        Assert.Equal(MqttPacketType.ConnAck, connack?.Type);
        Assert.Equal(0, connack!.Raw.Span[3]);
        var client = Assert.Single(await broker.Server.GetClientsAsync());
        Assert.Equal("in-memory-1", client.Id);
        Assert.StartsWith("extauthz-gate:", client.RemoteEndPoint.ToString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// Thousands of packets written while the broker reads, many split across its 4 KB reads: the broker takes
    /// each whole and in order (a read that miscounted bytes would corrupt or end the stream). Watched where the
    /// broker accepts each PUBLISH, before any delivery queue, which may drop QoS 0 messages a subscriber is slow to take.
    /// </summary>
    [Fact]
    public async Task A_burst_of_packets_of_every_size_arrives_whole_and_in_order()
    {
        await using var broker = await EmbeddedBroker.StartAsync();
        var received = new List<(string Topic, byte[] Payload)>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        const int Count = 3000;
        broker.Server.InterceptingPublishAsync += args =>
        {
            lock (received)
            {
                received.Add((args.ApplicationMessage.Topic, args.ApplicationMessage.Payload.ToArray()));
                if (received.Count == Count)
                {
                    all.TrySetResult();
                }
            }

            return Task.CompletedTask;
        };

        await using var connection = await broker.Connector.ConnectAsync(CancellationToken.None);
        await SendAsync(connection, RawClient.Connect("publisher", level: 4));
        Assert.Equal(MqttPacketType.ConnAck, (await ReceiveAsync(connection))?.Type);
        var sizes = Enumerable.Range(0, Count).Select(i => (i * 37) % 9000).ToArray();
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < Count; i += 10)
            {
                foreach (var j in Enumerable.Range(i, 10))
                {
                    connection.Output.Write(Publish($"burst/{j}", Payload(j, sizes[j])));
                }

                await connection.Output.FlushAsync();
            }
        });

        await writer;
        await Task.WhenAny(all.Task, Task.Delay(TimeSpan.FromSeconds(30)));
        lock (received)
        {
            Assert.True(received.Count == Count, $"the broker took {received.Count} of {Count} messages within 30 s");
        }

        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"burst/{i}"), received.Select(r => r.Topic));
        Assert.All(Enumerable.Range(0, Count), i => Assert.Equal(Payload(i, sizes[i]), received[i].Payload));
    }

    /// <summary>
    /// A subscriber on the broker's TCP listener gets a whole burst sent through an in-memory connection (8,000 messages
    /// of 4 KB, faster than a socket delivers them): the broker queues up to <see cref="EmbeddedBroker.PendingMessagesPerClient"/>
    /// for it. With MQTTnet's default of 1,000 it dropped 1,152, 1,361 and 2,762 of them in three runs.
    /// </summary>
    [Fact]
    public async Task A_burst_larger_than_mqttnets_default_queue_reaches_a_subscriber()
    {
        await using var broker = await EmbeddedBroker.StartAsync();
        using var subscriber = new MqttClientFactory().CreateMqttClient();
        const int Count = 8000;
        var arrived = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        subscriber.ApplicationMessageReceivedAsync += _ =>
        {
            if (Interlocked.Increment(ref arrived) == Count)
            {
                all.TrySetResult();
            }

            return Task.CompletedTask;
        };
        await subscriber.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(broker.Endpoint.Host, broker.Endpoint.Port).WithClientId("watcher").Build());
        await subscriber.SubscribeAsync("burst/#");
        await using var connection = await broker.Connector.ConnectAsync(CancellationToken.None);
        await SendAsync(connection, RawClient.Connect("publisher", level: 4));
        Assert.Equal(MqttPacketType.ConnAck, (await ReceiveAsync(connection))?.Type);

        for (var i = 0; i < Count; i++)
        {
            connection.Output.Write(Publish($"burst/{i}", Payload(i, 4096)));
        }

        await connection.Output.FlushAsync();
        await Task.WhenAny(all.Task, Task.Delay(TimeSpan.FromSeconds(30)));

        Assert.Equal(Count, Volatile.Read(ref arrived));
    }

    [Fact]
    public async Task Closing_the_gates_side_ends_the_brokers_session()
    {
        await using var broker = await EmbeddedBroker.StartAsync();
        var connection = await broker.Connector.ConnectAsync(CancellationToken.None);
        await SendAsync(connection, RawClient.Connect("leaving", level: 4));
        Assert.NotNull(await ReceiveAsync(connection));

        await connection.DisposeAsync();

        await Eventually.True(async () => (await broker.Server.GetClientsAsync()).Count == 0);
    }

    [Fact]
    public async Task A_client_the_broker_drops_reads_the_end()
    {
        await using var broker = await EmbeddedBroker.StartAsync();
        await using var connection = await broker.Connector.ConnectAsync(CancellationToken.None);
        await SendAsync(connection, RawClient.Connect("dropped", level: 4));
        Assert.NotNull(await ReceiveAsync(connection));

        await broker.Server.DisconnectClientAsync("dropped", new MQTTnet.Server.MqttServerClientDisconnectOptions());

        Assert.Null(await ReceiveAsync(connection));
    }

    [Fact]
    public async Task A_second_client_with_the_same_id_takes_the_session_over_and_the_first_reads_the_end()
    {
        await using var broker = await EmbeddedBroker.StartAsync();
        await using var first = await broker.Connector.ConnectAsync(CancellationToken.None);
        await SendAsync(first, RawClient.Connect("twice", level: 4));
        Assert.NotNull(await ReceiveAsync(first));

        await using var second = await broker.Connector.ConnectAsync(CancellationToken.None);
        await SendAsync(second, RawClient.Connect("twice", level: 4));

        Assert.Equal(MqttPacketType.ConnAck, (await ReceiveAsync(second))?.Type);
        Assert.Null(await ReceiveAsync(first));
    }

    [Fact]
    public async Task The_tcp_listener_binds_where_it_is_told_and_port_0_takes_a_free_one()
    {
        var (placed, port) = await PlacedAsync();
        await using (placed)
        {
            Assert.Equal(new BrokerEndpoint("127.0.0.1", port, Tls: false), placed.Endpoint);
            using var client = new MqttClientFactory().CreateMqttClient();
            var result = await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer("127.0.0.1", port).WithProtocolVersion(MqttProtocolVersion.V311).Build());
            Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        }

        await using var any = await EmbeddedBroker.StartAsync(new IPEndPoint(IPAddress.Loopback, 0));
        Assert.NotEqual(0, any.Endpoint.Port);
    }

    [Fact]
    public async Task A_stopped_broker_refuses_new_connections_with_a_reason()
    {
        var broker = await EmbeddedBroker.StartAsync();
        await broker.DisposeAsync();

        var error = await Assert.ThrowsAsync<IOException>(async () => await broker.Connector.ConnectAsync(CancellationToken.None));

        Assert.Contains("not running", error.Message, StringComparison.Ordinal);
    }

    private static byte[] Payload(int index, int size) => [.. Enumerable.Range(0, size).Select(k => (byte)(index + k))];

    /// <summary>An MQTT 3.1.1 QoS 0 PUBLISH.</summary>
    private static byte[] Publish(string topic, byte[] payload)
    {
        var name = Encoding.UTF8.GetBytes(topic);
        var remaining = 2 + name.Length + payload.Length;
        var header = new List<byte> { 0x30 };
        do
        {
            var digit = (byte)(remaining % 128);
            remaining /= 128;
            header.Add(remaining > 0 ? (byte)(digit | 0x80) : digit);
        }
        while (remaining > 0);

        return [.. header, (byte)(name.Length >> 8), (byte)name.Length, .. name, .. payload];
    }

    private static async Task SendAsync(BrokerConnection connection, byte[] packet)
    {
        await connection.Output.WriteAsync(packet);
    }

    /// <summary>The broker's next packet, or null once it has closed the connection.</summary>
    private static async Task<MqttPacket?> ReceiveAsync(BrokerConnection connection)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (true)
        {
            var result = await connection.Input.ReadAsync(timeout.Token);
            var buffer = result.Buffer;
            var status = MqttPacketReader.TryRead(ref buffer, MqttVersion.V311, MqttDirection.ServerToClient, 1 << 20, out var packet, out var error);
            if (status == MqttReadStatus.Packet)
            {
                connection.Input.AdvanceTo(buffer.Start);
                return packet;
            }

            Assert.True(status == MqttReadStatus.NeedMoreData, error);
            connection.Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                return null;
            }
        }
    }

    /// <summary>A broker on a port chosen here; another test's client can take a free port before the broker binds it, so a few tries.</summary>
    private static async Task<(EmbeddedBroker Broker, int Port)> PlacedAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePorts.Next();
            try
            {
                return (await EmbeddedBroker.StartAsync(new IPEndPoint(IPAddress.Loopback, port)), port);
            }
            catch (System.Net.Sockets.SocketException) when (attempt < 5)
            {
                // Taken meanwhile: another port.
            }
        }
    }

}
