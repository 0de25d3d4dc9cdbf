using Aivora.Core.Collections;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Instruments;
using Aivora.Core.Numbers;
using Aivora.Core.Orders;

namespace Aivora.Core.Matching;

/// <summary>Input checks: each failure is one specific reject reason, decided before anything changes.</summary>
public sealed partial class MatchingEngine<TSink, TPositions>
    where TSink : struct, IEngineEventSink
    where TPositions : struct, IPositionKeeper
{

    /// <summary>
    /// Static checks of a new order, first failure wins: its shape (account, side, type, time in
    /// force, STP), the instrument's trading state, then price (tick grid and band; the protection
    /// price for a market order), quantity, notional and expiry. The risk gate runs the same stages
    /// with its own checks between them (the index state after the trading state).
    /// </summary>
    private RejectReason ValidateNewOrder(OrderBook book, in EngineCommand c, out long priceTicks)
    {
        priceTicks = c.PriceTicks;
        var reason = CheckOrderShape(in c);
        if (reason != RejectReason.None)
        {
            return reason;
        }

        reason = CheckTradingState(book, (c.Flags & OrderFlags.ReduceOnly) != 0);
        return reason != RejectReason.None ? reason : CheckPriceAndSize(book, in c, out priceTicks);
    }

    /// <summary>Malformed input: account, side, order type and flags, time in force and its combinations, STP mode.</summary>
    public static RejectReason CheckOrderShape(in EngineCommand c)
    {
        if (c.AccountId <= 0)
        {
            return RejectReason.InvalidAccount;
        }

        if (!c.Side.IsValid())
        {
            return RejectReason.InvalidSide;
        }

        if (c.Type > OrderType.Market || (c.Flags & ~OrderFlagsExtensions.Defined) != 0)
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

        return c.Stp.IsValid() ? RejectReason.None : RejectReason.InvalidSelfTradePrevention;
    }

    /// <summary>The trading state of the instrument at a book index for a new order (the caller has looked the instrument up).</summary>
    internal RejectReason CheckTradingStateAt(int bookIndex, bool reduceOnly) => CheckTradingState(_books[bookIndex], reduceOnly);

    /// <summary>Price (grid, band, market protection), quantity, notional and expiry of a new order on the book at an index;
    /// the effective limit price comes out.</summary>
    internal RejectReason CheckPriceAndSizeAt(int bookIndex, in EngineCommand c, out long priceTicks) => CheckPriceAndSize(_books[bookIndex], in c, out priceTicks);

    private RejectReason CheckPriceAndSize(OrderBook book, in EngineCommand c, out long priceTicks)
    {
        priceTicks = c.PriceTicks;
        RejectReason reason;
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

        reason = CheckQuantity(book, c.QtyLots);
        if (reason != RejectReason.None)
        {
            return reason;
        }

        if (NotionalExceeds(book, priceTicks, c.QtyLots))
        {
            return RejectReason.NotionalAboveMaximum;
        }

        return (c.TimeInForce == TimeInForce.Gtd ? c.ExpiryNs <= _nowNs : c.ExpiryNs != 0) ? RejectReason.InvalidExpiry : RejectReason.None;
    }

    /// <summary>
    /// The figures behind a shape reject, from the same rules that made it, read while the state is the one
    /// that rejected (the gateway calls it from inside the reject's event): <paramref name="limit"/> is the
    /// bound that was broken (band edge on the side broken, minimum or maximum quantity, maximum notional,
    /// tick or lot size), <paramref name="actual"/> the value that broke it (price, quantity, notional in
    /// ticks x lots). False for reasons that have no figures of this kind.
    /// </summary>
    public bool TryExplainReject(RejectReason reason, int instrumentId, long priceTicks, long qtyLots, out long limit, out long actual)
    {
        limit = 0;
        actual = 0;
        if (!_bookIndex.TryGetValue(new IntKey(instrumentId), out var index))
        {
            return false;
        }

        var book = _books[index];
        switch (reason)
        {
            case RejectReason.PriceOutsideBand:
                var (low, high) = BandEdges(book);
                limit = priceTicks > book.ReferencePriceTicks ? high : low;
                actual = priceTicks;
                return true;
            case RejectReason.PriceOffTickGrid:
                (limit, actual) = (book.TickSize, priceTicks);
                return true;
            case RejectReason.QuantityOffLotGrid:
                (limit, actual) = (book.LotSize, qtyLots);
                return true;
            case RejectReason.QuantityBelowMinimum:
                (limit, actual) = (book.MinQuantity, qtyLots);
                return true;
            case RejectReason.QuantityAboveMaximum:
                (limit, actual) = (book.MaxQuantity, qtyLots);
                return true;
            case RejectReason.NotionalAboveMaximum:
                var notional = (Int128)priceTicks * qtyLots;
                (limit, actual) = (book.MaxNotional, notional > long.MaxValue ? long.MaxValue : (long)notional);
                return true;
            default:
                return false;
        }
    }

    /// <summary>True when a limit order at this price would trade on entry (what post-only refuses).</summary>
    public bool WouldTake(int instrumentId, Side side, long priceTicks) =>
        _bookIndex.TryGetValue(new IntKey(instrumentId), out var index) && Crosses(_books[index], side, priceTicks);

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

        var reason = CheckPrice(book, newPrice);
        if (reason != RejectReason.None)
        {
            return reason;
        }

        reason = CheckQuantity(book, newQty);
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

        if (book.ReferencePriceTicks > 0)
        {
            var (low, high) = BandEdges(book);
            if (priceTicks > high || priceTicks < low)
            {
                return RejectReason.PriceOutsideBand;
            }
        }

        return RejectReason.None;
    }

    private static bool NotionalExceeds(OrderBook book, long priceTicks, long qtyLots)
    {
        return !FixedPoint.TryMultiply(priceTicks, qtyLots, out var notional) || notional < 0 || notional > book.MaxNotional;
    }

    /// <summary>The band around the reference price: the lowest and highest price it admits (the one rule the
    /// price check, the protection price and a band reject's figures all read).</summary>
    private static (long Low, long High) BandEdges(OrderBook book)
    {
        var reference = book.ReferencePriceTicks;
        var width = book.Band.WidthTicks(reference);
        return (reference - width, reference + width);
    }

    /// <summary>A market order's limit: the band edge on the grid, rounded toward the reference.</summary>
    private static long ProtectionPrice(OrderBook book, Side side)
    {
        var (low, high) = BandEdges(book);
        var tick = book.TickSize;
        if (side == Side.Buy)
        {
            return Math.Max(tick, high - (high % tick));
        }

        var s = low;
        if (s <= tick)
        {
            return tick;
        }

        var rem = s % tick;
        return rem == 0 ? s : s + (tick - rem);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
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

    /// <summary>
    /// Starts loading the id-table slots the command will look up (a new order: its client order id's, for the duplicate
    /// check, and the exchange order id it will be given; a cancel or amend: the id it names), so pre-trade risk's work
    /// runs while they arrive. Changes nothing.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal void PrefetchLookups(in EngineCommand c)
    {
        switch (c.Kind)
        {
            case CommandKind.PlaceOrder:
                if (c.TimeInForce.CanRest())
                {
                    _byOrderId.Prefetch(_nextOrderId);   // indexed if it rests
                }

                if (c.ClientOrderId != 0)
                {
                    PrefetchClientId(new ClientOrderKey(c.AccountId, c.ClientOrderId));
                }

                break;
            case CommandKind.AmendOrder:
            case CommandKind.CancelOrder:
                if (c.OrderId != 0)
                {
                    _byOrderId.Prefetch(c.OrderId);
                }
                else if (c.ClientOrderId != 0)
                {
                    PrefetchClientId(new ClientOrderKey(c.AccountId, c.ClientOrderId));
                }

                break;
        }
    }

    /// <summary>Hashes the key once, keeps its home for the command's lookups after this (<see cref="ClientIdHomeOf"/>), and
    /// starts loading it.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void PrefetchClientId(ClientOrderKey key)
    {
        _prefetchedClientKey = key;
        _prefetchedClientHome = _byClientOrderId.HomeOf(key);
        _byClientOrderId.PrefetchAt(_prefetchedClientHome);
    }

    /// <summary>The live order with this client order id (its slot), found from the key's home (<see cref="ClientIdHomeOf"/>).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private bool TryFindClientId(ClientOrderKey key, out int slot) => _byClientOrderId.TryGetValueFrom(ClientIdHomeOf(key), key, out slot);

    /// <summary>The key's home in the client-id table: the prefetch's, when it hashed this key, else worked out here.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private int ClientIdHomeOf(ClientOrderKey key) =>
        key.ClientOrderId == _prefetchedClientKey.ClientOrderId && key.AccountId == _prefetchedClientKey.AccountId
            ? _prefetchedClientHome
            : _byClientOrderId.HomeOf(key);

    /// <summary>The slot of the live order a cancel or amend names, by order id (which must be the account's) or by the
    /// account's client order id; None with the reason to reject when there is none.</summary>
    internal int ResolveOrder(in EngineCommand c, out RejectReason reason)
    {
        ReleaseFilledMakers();   // a filled maker's ids go first: it is not found
        reason = RejectReason.UnknownOrder;
        int slot;
        if (c.OrderId != 0)
        {
            if (_byOrderId.TryGetValue(c.OrderId, out slot))
            {
                return _orders[slot].AccountId == c.AccountId ? slot : None;
            }

            if (c.OrderId > 0 && c.OrderId < _nextOrderId)
            {
                reason = RejectReason.OrderNotActive;
            }

            return None;
        }

        if (c.ClientOrderId != 0 && TryFindClientId(new ClientOrderKey(c.AccountId, c.ClientOrderId), out slot))
        {
            return slot;
        }

        return None;
    }
}
