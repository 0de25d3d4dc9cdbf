using System.Runtime.CompilerServices;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Orders;

namespace Aivora.Core.Matching;

/// <summary>Event construction: one method per event kind, all through the inlined sink.</summary>
public sealed partial class MatchingEngine<TSink, TPositions>
    where TSink : struct, IEngineEventSink
    where TPositions : struct, IPositionKeeper
{

    // The events of a fill and of a book change (the matching loop's and order entry's), each built in place by its one
    // emitter, which writes the same fields every time: the fields its kind leaves out were never written, so they are zero
    // without clearing 120 bytes an event, and no copy lives on the stack. The sink reads one only during its call, and no
    // sink calls back into the engine, so no emitter overwrites an event a sink is still reading.
    // Order entry's own events (accepted, ended, amended), the rejects and the self-trade preventions are built the same way,
    // each kind in its own.
    private EngineEvent _tradeEvent;
    private EngineEvent _bookOrderEvent;
    private EngineEvent _levelEvent;
    private EngineEvent _acceptedEvent;
    private EngineEvent _orderEndEvent;
    private EngineEvent _amendedEvent;
    private EngineEvent _rejectedEvent;
    private EngineEvent _selfTradeEvent;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private EngineEvent NewEvent(EventKind kind) => new() { Kind = kind, TimeNs = _nowNs };

    /// <summary>Starts one of the in-place events (see <see cref="_tradeEvent"/>): its kind and the engine's time; the emitter
    /// writes the rest of its fields, the same ones every time. The state machine starts its own in-place events here too.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref EngineEvent InPlace(ref EngineEvent e, EventKind kind)
    {
        e.Kind = kind;
        e.TimeNs = _nowNs;
        return ref e;
    }

    /// <summary>Whether the sink wants this kind (a constant for a struct sink): every emitter asks before it builds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Wanted(EventKind kind) => TSink.Wants(kind);

    /// <summary>Sends an event built elsewhere (the state machine's), if the sink wants its kind.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Publish(in EngineEvent e)
    {
        if (TSink.Wants(e.Kind))
        {
            _sink.OnEvent(in e);
        }
    }

    /// <summary>
    /// Reports a command that changed nothing. Also the risk layer's reject: one place builds the
    /// event, with the figures that explain it when there are any (required vs available).
    /// </summary>
    public void Reject(in EngineCommand c, RejectReason reason, long required = 0, long available = 0)
    {
        if (!Wanted(EventKind.OrderRejected))
        {
            return;
        }

        ref var e = ref InPlace(ref _rejectedEvent, EventKind.OrderRejected);
        e.Required = required;
        e.Available = available;
        e.Reason = (byte)reason;
        e.Reason2 = (byte)c.Kind;
        e.OrderId = c.OrderId;
        e.ClientOrderId = c.ClientOrderId;
        e.AccountId = c.AccountId;
        e.InstrumentId = c.InstrumentId;
        e.Side = c.Side;
        e.PriceTicks = c.PriceTicks;
        e.QtyLots = c.QtyLots;
        _sink.OnEvent(in e);
    }

    private void EmitAccepted(in EngineCommand c, long orderId, long priceTicks)
    {
        if (!Wanted(EventKind.OrderAccepted))
        {
            return;
        }

        ref var e = ref InPlace(ref _acceptedEvent, EventKind.OrderAccepted);
        e.OrderId = orderId;
        e.ClientOrderId = c.ClientOrderId;
        e.AccountId = c.AccountId;
        e.InstrumentId = c.InstrumentId;
        e.Side = c.Side;
        e.PriceTicks = priceTicks;
        e.QtyLots = c.QtyLots;
        _sink.OnEvent(in e);
    }

    private void EmitOrderEnd(ref OrderSlot o, EventKind kind, CancelReason reason) =>
        EmitOrderEnd(kind, reason, o.OrderId, o.ClientOrderId, o.AccountId, _books[o.BookIndex].InstrumentId, o.Side, o.PriceTicks, o.QtyLots - o.FilledLots);

    private void EmitOrderEnd(EventKind kind, CancelReason reason, long orderId, long clientOrderId, int accountId, int instrumentId, Side side, long priceTicks, long qtyLots)
    {
        if (!Wanted(kind))
        {
            return;
        }

        ref var e = ref InPlace(ref _orderEndEvent, kind);
        e.Reason = (byte)reason;
        e.OrderId = orderId;
        e.ClientOrderId = clientOrderId;
        e.AccountId = accountId;
        e.InstrumentId = instrumentId;
        e.Side = side;
        e.PriceTicks = priceTicks;
        e.QtyLots = qtyLots;
        _sink.OnEvent(in e);
    }

    private void EmitAmended(ref OrderSlot o, bool keptPriority, long newQty = 0, long newPrice = 0)
    {
        var qty = newQty == 0 ? o.QtyLots : newQty;
        if (!Wanted(EventKind.OrderAmended))
        {
            return;
        }

        ref var e = ref InPlace(ref _amendedEvent, EventKind.OrderAmended);
        e.OrderId = o.OrderId;
        e.ClientOrderId = o.ClientOrderId;
        e.AccountId = o.AccountId;
        e.InstrumentId = _books[o.BookIndex].InstrumentId;
        e.Side = o.Side;
        e.PriceTicks = newPrice == 0 ? o.PriceTicks : newPrice;
        e.QtyLots = qty;
        e.RemainingLots = qty - o.FilledLots;
        e.Flag = keptPriority;
        _sink.OnEvent(in e);
    }

    /// <summary>
    /// The taker's half of its trade events, written at the matching loop's first fill (<see cref="EmitTrade"/> writes the
    /// rest): it is the same for every fill of the loop, and nothing else writes <see cref="_tradeEvent"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void BeginTradeEvents(int instrumentId, ref OrderSlot taker)
    {
        if (!Wanted(EventKind.Trade))
        {
            return;
        }

        ref var e = ref InPlace(ref _tradeEvent, EventKind.Trade);
        e.InstrumentId = instrumentId;
        e.Side = taker.Side;
        e.OrderId = taker.OrderId;
        e.AccountId = taker.AccountId;
        e.ClientOrderId = taker.ClientOrderId;
    }

    /// <summary>A fill's trade event: the maker's half and the fill's, on the taker's half <see cref="BeginTradeEvents"/> wrote.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EmitTrade(ref OrderSlot taker, ref OrderSlot maker, long qtyLots)
    {
        var tradeId = _nextTradeId++;   // state (the id counter), whether or not the sink wants the event
        if (!Wanted(EventKind.Trade))
        {
            return;
        }

        // Built in place (see _tradeEvent): every field a trade carries is written, the others never are.
        ref var e = ref _tradeEvent;
        e.TradeId = tradeId;
        e.PriceTicks = maker.PriceTicks;
        e.QtyLots = qtyLots;
        e.OtherOrderId = maker.OrderId;
        e.OtherAccountId = maker.AccountId;
        e.OtherClientOrderId = maker.ClientOrderId;
        e.RemainingLots = taker.QtyLots - taker.FilledLots;
        e.OtherRemainingLots = maker.QtyLots - maker.FilledLots;
        e.Required = taker.FilledLots;   // TradeView.TakerFilledLots
        e.Available = maker.FilledLots;  // TradeView.MakerFilledLots
        _sink.OnEvent(in e);
    }

    private void EmitSelfTradePrevented(ref OrderSlot taker, ref OrderSlot maker, long qtyLots, SelfTradePrevention mode)
    {
        if (!Wanted(EventKind.SelfTradePrevented))
        {
            return;
        }

        ref var e = ref InPlace(ref _selfTradeEvent, EventKind.SelfTradePrevented);
        e.Reason = (byte)mode;
        e.InstrumentId = _books[taker.BookIndex].InstrumentId;
        e.Side = taker.Side;
        e.OrderId = taker.OrderId;
        e.AccountId = taker.AccountId;
        e.OtherOrderId = maker.OrderId;
        e.OtherAccountId = maker.AccountId;
        e.QtyLots = qtyLots;
        _sink.OnEvent(in e);
    }

    private void EmitBookOrder(EventKind kind, ref OrderSlot o) => EmitBookOrder(kind, ref o, _books[o.BookIndex].InstrumentId);

    /// <summary><see cref="EmitBookOrder(EventKind, ref OrderSlot)"/> for a caller that has the order's instrument at hand (the matching loop).</summary>
    private void EmitBookOrder(EventKind kind, ref OrderSlot o, int instrumentId)
    {
        if (!Wanted(kind))
        {
            return;
        }

        ref var e = ref InPlace(ref _bookOrderEvent, kind);
        e.InstrumentId = instrumentId;
        e.OrderId = o.OrderId;
        e.Side = o.Side;
        e.PriceTicks = o.PriceTicks;
        e.QtyLots = kind == EventKind.BookOrderRemoved ? 0 : o.QtyLots - o.FilledLots;
        _sink.OnEvent(in e);
    }

    private void EmitLevel(OrderBook book, Side side, ref PriceLevel level)
    {
        if (!Wanted(EventKind.LevelChanged))
        {
            return;
        }

        ref var e = ref InPlace(ref _levelEvent, EventKind.LevelChanged);
        e.InstrumentId = book.InstrumentId;
        e.Side = side;
        e.PriceTicks = level.PriceTicks;
        e.QtyLots = level.TotalLots;
        e.Count = level.Count;
        _sink.OnEvent(in e);
    }
}
