using Aivora.Core.Orders;

namespace Aivora.Core.Events;

/// <summary>
/// One outcome of a command. A flat value type passed by reference to the sink: no allocation,
/// easy to journal, compare and encode. <see cref="EventKind"/> documents which fields each kind sets;
/// the rest are zero.
/// </summary>
public struct EngineEvent : IEquatable<EngineEvent>
{
    public EventKind Kind;
    public Side Side;

    /// <summary>RejectReason, CancelReason, SelfTradePrevention mode, TradingState or SideFilter, by kind.</summary>
    public byte Reason;

    /// <summary>For rejects: the CommandKind rejected.</summary>
    public byte Reason2;

    /// <summary>For amends: true when the order kept its time priority.</summary>
    public bool Flag;

    public int InstrumentId;
    public int AccountId;
    public int OtherAccountId;
    public int Count;
    public long OrderId;
    public long ClientOrderId;
    public long OtherOrderId;

    /// <summary>The counterparty order's client order id (a trade's maker).</summary>
    public long OtherClientOrderId;
    public long TradeId;
    public long PriceTicks;
    public long QtyLots;
    public long RemainingLots;
    public long OtherRemainingLots;

    /// <summary>Engine time of the command that produced the event.</summary>
    public long TimeNs;

    /// <summary>Risk figures: what was required (margin, a limit).</summary>
    public long Required;

    /// <summary>Risk figures: what was available.</summary>
    public long Available;

    public readonly bool Equals(EngineEvent other) =>
        Kind == other.Kind && Side == other.Side && Reason == other.Reason && Reason2 == other.Reason2 &&
        Flag == other.Flag && InstrumentId == other.InstrumentId && AccountId == other.AccountId &&
        OtherAccountId == other.OtherAccountId && Count == other.Count && OrderId == other.OrderId &&
        ClientOrderId == other.ClientOrderId && OtherOrderId == other.OtherOrderId && OtherClientOrderId == other.OtherClientOrderId && TradeId == other.TradeId &&
        PriceTicks == other.PriceTicks && QtyLots == other.QtyLots && RemainingLots == other.RemainingLots &&
        OtherRemainingLots == other.OtherRemainingLots && TimeNs == other.TimeNs &&
        Required == other.Required && Available == other.Available;

    public override readonly bool Equals(object? obj) => obj is EngineEvent other && Equals(other);

    public override readonly int GetHashCode() => HashCode.Combine(Kind, OrderId, TradeId, PriceTicks, QtyLots, TimeNs);

    public static bool operator ==(EngineEvent left, EngineEvent right) => left.Equals(right);

    public static bool operator !=(EngineEvent left, EngineEvent right) => !left.Equals(right);

    /// <summary>Diagnostic text (cold path: tests and tools only).</summary>
    public override readonly string ToString() => Kind switch
    {
        EventKind.OrderRejected => $"Rejected cmd={(Commands.CommandKind)Reason2} reason={(RejectReason)Reason} oid={OrderId} cl={ClientOrderId} acct={AccountId} instr={InstrumentId}",
        EventKind.OrderCancelled => $"Cancelled oid={OrderId} cl={ClientOrderId} acct={AccountId} {Side} px={PriceTicks} qty={QtyLots} reason={(CancelReason)Reason}",
        EventKind.Trade => $"Trade #{TradeId} px={PriceTicks} qty={QtyLots} aggr={Side} taker={OrderId}/{AccountId} cl={ClientOrderId} rem={RemainingLots} cum={Required} maker={OtherOrderId}/{OtherAccountId} cl={OtherClientOrderId} rem={OtherRemainingLots} cum={Available}",
        EventKind.SelfTradePrevented => $"STP mode={(SelfTradePrevention)Reason} taker={OrderId} maker={OtherOrderId} qty={QtyLots}",
        EventKind.LevelChanged => $"Level {Side} px={PriceTicks} qty={QtyLots} n={Count}",
        _ => $"{Kind} oid={OrderId} cl={ClientOrderId} acct={AccountId} instr={InstrumentId} {Side} px={PriceTicks} qty={QtyLots} rem={RemainingLots} flag={Flag} n={Count} r={Reason} t={TimeNs}",
    };
}
