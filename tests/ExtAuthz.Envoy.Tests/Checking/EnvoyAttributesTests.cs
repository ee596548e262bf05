using Envoy.Config.Core.V3;
using Envoy.Service.Auth.V3;
using ExtAuthz.Envoy.Checking;

namespace ExtAuthz.Envoy.Tests.Checking;

/// <summary>The client address as <c>aws:SourceIp</c>: canonical, whatever form the address arrived in.</summary>
public sealed class EnvoyAttributesTests
{
    [Theory]
    [InlineData("192.0.2.7", "192.0.2.7")]
    [InlineData("2001:db8::1", "2001:db8::1")]
    [InlineData("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1")]
    [InlineData("::ffff:192.0.2.7", "::ffff:192.0.2.7")]
    [InlineData("not an address", null)]
    [InlineData("", null)]
    public void The_source_ip_is_the_canonical_form_of_the_address(string address, string? expected) =>
        Assert.Equal(expected, EnvoyAttributes.SourceIp(From(address)));

    [Fact]
    public void An_address_already_canonical_is_used_as_it_came()
    {
        var address = new string("198.51.100.23".AsSpan());

        Assert.Same(address, EnvoyAttributes.SourceIp(From(address)));
    }

    private static AttributeContext From(string address) => new()
    {
        Source = new AttributeContext.Types.Peer { Address = new Address { SocketAddress = new SocketAddress { Address = address, PortValue = 50000 } } },
    };
}
