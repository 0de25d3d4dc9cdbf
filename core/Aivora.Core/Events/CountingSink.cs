using System.Runtime.CompilerServices;

namespace Aivora.Core.Events;

/// <summary>One counter per reject reason, inline in the sink (no array allocation).</summary>
[InlineArray(128)]
public struct RejectReasonCounts
{
    private long _first;
}

/// <summary>
/// A sink that only counts: what a benchmark or a summary needs, with no per-event cost beyond a
/// few adds. Read it back through <c>engine.Sink</c>.
/// </summary>
public struct CountingSink : IEngineEventSink
{
    public long Events;
    public long Accepted;
    public long Rejected;
    public long Trades;
    public long FilledLots;
    public long Cancelled;
    public long Expired;
    public long Amended;
    public long SelfTradesPrevented;

    /// <summary>Liquidation steps (every kind of step).</summary>
    public long LiquidationSteps;

    /// <summary>Last traded price (0 before the first trade).</summary>
    public long LastTradePriceTicks;

    /// <summary>Rejects by <see cref="RejectReason"/> value.</summary>
    public RejectReasonCounts RejectsByReason;

    public void OnEvent(in EngineEvent e)
    {
        Events++;
        switch (e.Kind)
        {
            case EventKind.OrderAccepted:
                Accepted++;
                break;
            case EventKind.OrderRejected:
                Rejected++;
                RejectsByReason[e.Reason & 127]++;
                break;
            case EventKind.Trade:
                Trades++;
                FilledLots += e.QtyLots;
                LastTradePriceTicks = e.PriceTicks;
                break;
            case EventKind.OrderCancelled:
                Cancelled++;
                break;
            case EventKind.OrderExpired:
                Expired++;
                break;
            case EventKind.OrderAmended:
                Amended++;
                break;
            case EventKind.SelfTradePrevented:
                SelfTradesPrevented++;
                break;
            case EventKind.LiquidationStep:
                LiquidationSteps++;
                break;
        }
    }
}
