using Aivora.Core.Orders;

namespace Aivora.Core.Matching;

/// <summary>
/// One live order in the engine's pool. Intrusive links (-1 = none) put it in its price level's
/// FIFO and its account's list without any per-order allocation.
/// </summary>
internal struct OrderSlot
{
    public long OrderId;
    public long ClientOrderId;
    public long PriceTicks;

    /// <summary>Total quantity including what has filled; remaining = QtyLots - FilledLots.</summary>
    public long QtyLots;
    public long FilledLots;
    public long ExpiryNs;
    public long StpGroup;
    public int AccountId;
    public int AccountSlot;
    public int BookIndex;

    /// <summary>Price level index while resting, -1 otherwise.</summary>
    public int Level;
    public int Prev;
    public int Next;
    public int AccountPrev;
    public int AccountNext;

    /// <summary>While indexed with a client order id: that id's home slot in the engine's client-id table, kept so that its
    /// release finds the entry without hashing the key again (in the 4 bytes the slot's 8-byte alignment left over).</summary>
    public int ClientIdHome;
    public Side Side;
    public TimeInForce TimeInForce;
    public OrderFlags Flags;
    public SelfTradePrevention Stp;

    public readonly long RemainingLots => QtyLots - FilledLots;

    public readonly bool IsReduceOnly => (Flags & OrderFlags.ReduceOnly) != 0;
}

/// <summary>All orders at one price on one side, in time priority.</summary>
internal struct PriceLevel
{
    public long PriceTicks;
    public long TotalLots;
    public int Count;
    public int Head;
    public int Tail;
}

internal struct AccountSlot
{
    public int AccountId;
    public int Head;
    public int Tail;
    public int OpenOrders;

    /// <summary>Reduce-only orders resting on any book: trimming after a fill is skipped when zero.</summary>
    public int RestingReduceOnly;
}
