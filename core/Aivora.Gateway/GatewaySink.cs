using Aivora.Core.Events;

namespace Aivora.Gateway;

/// <summary>
/// The state machine's sink on a node with a wire: a struct (the engine specialises on it) that hands
/// each event to the gateway's router, which writes execution reports and buffers market data.
/// </summary>
public readonly struct GatewaySink(EventRouter router) : IEngineEventSink
{
    public EventRouter Router => router;

    public void OnEvent(in EngineEvent e) => router.OnEvent(in e);
}

/// <summary>Every engine event, to whoever on the wire side wants it: execution reports, market data, and the node's own observers.</summary>
public sealed class EventRouter
{
    internal Outbound.ExecutionReports? ExecutionReports;
    internal MarketData.MarketDataPublisher? MarketData;
    internal Func<EngineEvent, EngineEvent>? Explain;

    /// <summary>Counts per event kind and reject reason (the node prints them).</summary>
    public CountingSink Counters;

    /// <summary>Funding settlements seen, and the money the paying sides paid in them.</summary>
    public long FundingSettlements, FundingPaid;

    public void OnEvent(in EngineEvent e)
    {
        Counters.OnEvent(in e);
        if (e.Kind == EventKind.FundingSettled)
        {
            FundingSettlements++;
            FundingPaid += e.AsFundingSettled().TotalPaid;
        }

        if (e.Kind == EventKind.OrderRejected && e.Required == 0 && e.Available == 0 && Explain is not null)
        {
            var explained = Explain(e);
            ExecutionReports?.OnEvent(in explained);
        }
        else
        {
            ExecutionReports?.OnEvent(in e);
        }

        MarketData?.OnEvent(in e);
    }
}
