using Aivora.Core.Events;

namespace Aivora.Node.Simulation;

/// <summary>The node's sink for now: counts everything and lets the simulated makers see their fills.</summary>
public struct NodeSink(MarketMakerFlow flow) : IEngineEventSink
{
    public CountingSink Counters;
    public long FundingSettlements;
    public long FundingPaid;
    public long PositionsFlaggedForLiquidation;
    public long MarkUpdates;
    public long ParameterChanges;

    public void OnEvent(in EngineEvent e)
    {
        Counters.OnEvent(in e);
        switch (e.Kind)
        {
            case EventKind.FundingSettled:
                FundingSettlements++;
                FundingPaid += e.RemainingLots;
                break;
            case EventKind.MarkPriceChanged:
                MarkUpdates++;
                PositionsFlaggedForLiquidation += e.Count;
                break;
            case EventKind.ParameterChanged:
                ParameterChanges++;
                break;
        }

        flow.Observe(in e);
    }
}
