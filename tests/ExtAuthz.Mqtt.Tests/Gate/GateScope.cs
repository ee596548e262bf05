using ExtAuthz.Mqtt.Hosting;

namespace ExtAuthz.Mqtt.Tests.Gate;

/// <summary>A fleet and a gate serving it, for one test.</summary>
internal sealed class GateScope : IAsyncDisposable
{
    private GateScope(GateFleet fleet, RunningGate gate)
    {
        Fleet = fleet;
        Gate = gate;
    }

    public GateFleet Fleet { get; }

    public RunningGate Gate { get; }

    public static async Task<GateScope> StartAsync(Func<MqttGateHostOptions, MqttGateHostOptions>? configure = null)
    {
        var fleet = new GateFleet();
        try
        {
            return new GateScope(fleet, await RunningGate.StartAsync(fleet, configure));
        }
        catch
        {
            await fleet.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Gate.DisposeAsync();
        await Fleet.DisposeAsync();
    }
}
