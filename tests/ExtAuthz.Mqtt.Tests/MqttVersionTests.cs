using ExtAuthz.Mqtt.Codec;

namespace ExtAuthz.Mqtt.Tests;

public sealed class MqttVersionTests
{
    [Fact]
    public void Versions_are_the_protocol_level_bytes() => Assert.Equal([4, 5], Enum.GetValues<MqttVersion>().Select(v => (int)v));
}
