using Aivora.Core.Events;

namespace Aivora.Node.Simulation;

/// <summary>The node's sink for now: counts everything and lets the simulated makers see their fills.</summary>
public struct NodeSink(MarketMakerFlow flow) : IEngineEventSink
{
    public CountingSink Counters;

    public void OnEvent(in EngineEvent e)
    {
        Counters.OnEvent(in e);
        flow.Observe(in e);
    }
}
