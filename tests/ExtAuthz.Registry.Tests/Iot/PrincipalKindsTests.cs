using ExtAuthz.Registry;

namespace ExtAuthz.Registry.Tests.Iot;

public sealed class PrincipalKindsTests
{
    [Fact]
    public void Every_kind_is_named_as_its_member() =>
        Assert.All(Enum.GetValues<PrincipalKind>(), kind => Assert.Equal(kind.ToString(), kind.Name()));
}
