using Aivora.Core.Orders;

namespace Aivora.Core.Matching;

/// <summary>A read-only copy of a live order, for queries and tests (not the hot path).</summary>
public readonly record struct OrderView(
    long OrderId,
    long ClientOrderId,
    int AccountId,
    int InstrumentId,
    Side Side,
    long PriceTicks,
    long QtyLots,
    long FilledLots,
    long RemainingLots,
    TimeInForce TimeInForce,
    OrderFlags Flags,
    long ExpiryNs);

/// <summary>One aggregated price level, for queries and tests.</summary>
public readonly record struct LevelView(long PriceTicks, long TotalLots, int OrderCount);
