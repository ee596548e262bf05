using System.Globalization;

namespace ExtAuthz.Mqtt.Upstream;

/// <summary>An upstream MQTT broker: <c>HOST:PORT</c>, plain TCP, or <c>HOST:PORT,tls</c>.</summary>
public sealed record BrokerEndpoint(string Host, int Port, bool Tls)
{
    public static BrokerEndpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tls = false;
        var address = text;
        var comma = text.IndexOf(',', StringComparison.Ordinal);
        if (comma >= 0)
        {
            var option = text[(comma + 1)..];
            tls = option == "tls" ? true : throw new ArgumentException($"--broker takes HOST:PORT or HOST:PORT,tls; '{option}' is not an option");
            address = text[..comma];
        }

        var colon = address.LastIndexOf(':');
        var host = colon > 0 ? address[..colon] : "";
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (host.Length == 0 || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new ArgumentException($"--broker needs HOST:PORT (e.g. broker.internal:1883, or broker.internal:8883,tls), not '{text}'");
        }

        return new BrokerEndpoint(host, port, tls);
    }

    public override string ToString() => (Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}") + (Tls ? ",tls" : "");
}
