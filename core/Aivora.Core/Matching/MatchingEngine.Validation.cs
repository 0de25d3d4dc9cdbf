using Aivora.Core.Collections;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Instruments;
using Aivora.Core.Orders;

namespace Aivora.Core.Matching;

/// <summary>Input checks: each failure is one specific reject reason, decided before anything changes.</summary>
public sealed partial class MatchingEngine<TSink, TPositions>
    where TSink : struct, IEngineEventSink
    where TPositions : struct, IPositionKeeper
{

    private RejectReason ValidateNewOrder(OrderBook book, in EngineCommand c, out long priceTicks)
    {
        priceTicks = c.PriceTicks;
        if (c.AccountId <= 0)
        {
            return RejectReason.InvalidAccount;
        }

        if (!c.Side.IsValid())
        {
            return RejectReason.InvalidSide;
        }

        if (c.Type > OrderType.Market || (c.Flags & ~(OrderFlags.PostOnly | OrderFlags.PostOnlySlide | OrderFlags.ReduceOnly)) != 0)
        {
            return RejectReason.InvalidOrderType;
        }

        if (c.TimeInForce > TimeInForce.Gtd)
        {
            return RejectReason.InvalidTimeInForce;
        }

        var postOnly = (c.Flags & (OrderFlags.PostOnly | OrderFlags.PostOnlySlide)) != 0;
        var immediate = c.TimeInForce == TimeInForce.Ioc || c.TimeInForce == TimeInForce.Fok;
        if ((c.Type == OrderType.Market && (c.TimeInForce == TimeInForce.Gtd || postOnly)) || (postOnly && immediate))
        {
            return RejectReason.InvalidTimeInForce;
        }

        if (!c.Stp.IsValid())
        {
            return RejectReason.InvalidSelfTradePrevention;
        }

        var reason = CheckTradingState(book, (c.Flags & OrderFlags.ReduceOnly) != 0);
        if (reason != RejectReason.None)
        {
            return reason;
        }

        reason = CheckQuantity(book, c.QtyLots);
        if (reason != RejectReason.None)
        {
            return reason;
        }

        if (c.Type == OrderType.Market)
        {
            if (book.ReferencePriceTicks <= 0)
            {
                return RejectReason.NoReferencePrice;
            }

            priceTicks = ProtectionPrice(book, c.Side);
        }
        else
        {
            reason = CheckPrice(book, c.PriceTicks);
            if (reason != RejectReason.None)
            {
                return reason;
            }
        }

        if (NotionalExceeds(book, priceTicks, c.QtyLots))
        {
            return RejectReason.NotionalAboveMaximum;
        }

        if (c.TimeInForce == TimeInForce.Gtd ? c.ExpiryNs <= _nowNs : c.ExpiryNs != 0)
        {
            return RejectReason.InvalidExpiry;
        }

        return RejectReason.None;
    }

    private RejectReason ValidateAmend(OrderBook book, ref OrderSlot o, long newPrice, long newQty)
    {
        if (book.State == TradingState.Halted)
        {
            return RejectReason.InstrumentHalted;
        }

        if (newQty <= 0)
        {
            return RejectReason.InvalidQuantity;
        }

        if (newQty <= o.FilledLots)
        {
            return RejectReason.None;
        }

        var reason = CheckQuantity(book, newQty);
        if (reason != RejectReason.None)
        {
            return reason;
        }

        reason = CheckPrice(book, newPrice);
        if (reason != RejectReason.None)
        {
            return reason;
        }

        if (NotionalExceeds(book, newPrice, newQty))
        {
            return RejectReason.NotionalAboveMaximum;
        }

        if (book.State == TradingState.CloseOnly && !o.IsReduceOnly && (newQty > o.QtyLots || newPrice != o.PriceTicks))
        {
            return RejectReason.InstrumentCloseOnly;
        }

        return newPrice == o.PriceTicks && newQty == o.QtyLots ? RejectReason.AmendNoChange : RejectReason.None;
    }

    private static RejectReason CheckTradingState(OrderBook book, bool reduceOnly) => book.State switch
    {
        TradingState.Halted => RejectReason.InstrumentHalted,
        TradingState.CloseOnly when !reduceOnly => RejectReason.InstrumentCloseOnly,
        _ => RejectReason.None,
    };

    private static RejectReason CheckQuantity(OrderBook book, long qtyLots)
    {
        if (qtyLots <= 0)
        {
            return RejectReason.InvalidQuantity;
        }

        // Grid checks divide; most instruments' steps are 1 tick / 1 lot, so skip the division then.
        if (book.LotSize != 1 && qtyLots % book.LotSize != 0)
        {
            return RejectReason.QuantityOffLotGrid;
        }

        if (qtyLots < book.MinQuantity)
        {
            return RejectReason.QuantityBelowMinimum;
        }

        return qtyLots > book.MaxQuantity ? RejectReason.QuantityAboveMaximum : RejectReason.None;
    }

    private static RejectReason CheckPrice(OrderBook book, long priceTicks)
    {
        if (priceTicks <= 0)
        {
            return RejectReason.InvalidPrice;
        }

        if (book.TickSize != 1 && priceTicks % book.TickSize != 0)
        {
            return RejectReason.PriceOffTickGrid;
        }

        var reference = book.ReferencePriceTicks;
        if (reference > 0)
        {
            var width = book.Band.WidthTicks(reference);
            if (priceTicks > reference + width || priceTicks < reference - width)
            {
                return RejectReason.PriceOutsideBand;
            }
        }

        return RejectReason.None;
    }

    private static bool NotionalExceeds(OrderBook book, long priceTicks, long qtyLots)
    {
        var high = Math.BigMul(priceTicks, qtyLots, out var low);
        return high != 0 || low < 0 || low > book.MaxNotional;
    }

    /// <summary>A market order's limit: the band edge on the grid, rounded toward the reference.</summary>
    private static long ProtectionPrice(OrderBook book, Side side)
    {
        var reference = book.ReferencePriceTicks;
        var width = book.Band.WidthTicks(reference);
        var tick = book.TickSize;
        if (side == Side.Buy)
        {
            var p = reference + width;
            return Math.Max(tick, p - (p % tick));
        }

        var s = reference - width;
        if (s <= tick)
        {
            return tick;
        }

        var rem = s % tick;
        return rem == 0 ? s : s + (tick - rem);
    }

    private static bool Crosses(OrderBook book, Side side, long priceTicks)
    {
        var opposite = side.Opposite();
        var ladder = book.Ladder(opposite);
        return ladder.Count > 0 && ladder.BestKey >= OrderBook.KeyOf(opposite, priceTicks);
    }

    /// <summary>Post-only slide: one tick behind the opposite touch (false when that is no valid price).</summary>
    private static bool TrySlide(OrderBook book, Side side, ref long priceTicks)
    {
        var opposite = book.Ladder(side.Opposite());
        var touch = book.Levels[opposite.BestLevel].PriceTicks;
        var slid = side == Side.Buy ? touch - book.TickSize : touch + book.TickSize;
        if (slid <= 0)
        {
            return false;
        }

        priceTicks = slid;
        return true;
    }

    private static bool SideMatches(SideFilter filter, Side side) => filter == SideFilter.Both || (byte)filter == (byte)side;

    private int ResolveOrder(in EngineCommand c, out RejectReason reason)
    {
        reason = RejectReason.UnknownOrder;
        int slot;
        if (c.OrderId != 0)
        {
            if (_byOrderId.TryGetValue(new OrderIdKey(c.OrderId), out slot))
            {
                return _orders[slot].AccountId == c.AccountId ? slot : None;
            }

            if (c.OrderId > 0 && c.OrderId < _nextOrderId)
            {
                reason = RejectReason.OrderNotActive;
            }

            return None;
        }

        if (c.ClientOrderId != 0 && _byClientOrderId.TryGetValue(new ClientOrderKey(c.AccountId, c.ClientOrderId), out slot))
        {
            return slot;
        }

        return None;
    }
}
