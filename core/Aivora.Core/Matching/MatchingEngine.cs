using System.Runtime.CompilerServices;
using Aivora.Core.Collections;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Hashing;
using Aivora.Core.Instruments;
using Aivora.Core.Orders;

namespace Aivora.Core.Matching;

/// <summary>
/// The matching core: every instrument's book, the order pool, the id indexes and engine time.
/// Single-threaded and deterministic: it reads no clock and no randomness, time arrives with each
/// command, and every outcome goes to <typeparamref name="TSink"/> in a fixed order.
/// All storage is sized from <see cref="EngineConfig"/> at construction; after that the engine
/// never allocates, and a full table is a reject, not a resize.
/// </summary>
/// <remarks>
/// Event order per command (the reference book in tests reproduces it exactly):
/// expiries due at the command's time first; then for a new order Accepted, and per maker touched
/// Trade + BookOrderChanged/BookOrderRemoved (or SelfTradePrevented / Cancelled + BookOrderRemoved),
/// one LevelChanged when the aggressor leaves each level, then the aggressor's own end:
/// Cancelled (IOC remainder, STP, reduce-only, capacity) or BookOrderAdded + LevelChanged.
/// </remarks>
public sealed class MatchingEngine<TSink, TPositions>
    where TSink : struct, IEngineEventSink
    where TPositions : struct, IPositionKeeper
{
    private const int None = -1;
    private const int NotStopped = -1;

    private readonly OrderBook[] _books;
    private readonly OpenHashMap<IntKey> _bookIndex;
    private readonly OrderSlot[] _orders;
    private readonly int[] _freeOrders;
    private readonly OpenHashMap<OrderIdKey> _byOrderId;
    private readonly OpenHashMap<ClientOrderKey> _byClientOrderId;
    private readonly AccountSlot[] _accounts;
    private readonly OpenHashMap<IntKey> _accountIndex;
    private readonly ExpiryHeap _expiries;
    private readonly int _maxRestingOrders;
    private int _freeOrderCount;
    private int _accountCount;
    private int _restingCount;
    private long _nextOrderId = 1;
    private long _nextTradeId = 1;
    private long _nowNs;
    private TSink _sink;
    private TPositions _positions;

    public MatchingEngine(EngineConfig config, TSink sink = default, TPositions positions = default)
    {
        config.Validate();
        _sink = sink;
        _positions = positions;
        _maxRestingOrders = config.MaxRestingOrders;

        _books = new OrderBook[config.Instruments.Count];
        _bookIndex = new OpenHashMap<IntKey>(_books.Length);
        for (var i = 0; i < _books.Length; i++)
        {
            _books[i] = new OrderBook(config.Instruments[i], config.MaxPriceLevelsPerSide);
            _bookIndex.TryAdd(new IntKey(config.Instruments[i].Id), i);
        }

        // One slot beyond the resting capacity: the aggressor in flight always has a home.
        var slots = config.MaxRestingOrders + 1;
        _orders = new OrderSlot[slots];
        _freeOrders = new int[slots];
        for (var i = 0; i < slots; i++)
        {
            _freeOrders[i] = slots - 1 - i;
        }

        _freeOrderCount = slots;
        _byOrderId = new OpenHashMap<OrderIdKey>(slots);
        _byClientOrderId = new OpenHashMap<ClientOrderKey>(slots);
        _accounts = new AccountSlot[config.MaxAccounts];
        _accountIndex = new OpenHashMap<IntKey>(config.MaxAccounts);
        _expiries = new ExpiryHeap(slots);
        Prefault.Touch(_orders);
        Prefault.Touch(_accounts);
    }

    /// <summary>The sink, by reference: callers read counters or recorded events from it.</summary>
    public ref TSink Sink => ref _sink;

    public ref TPositions Positions => ref _positions;

    public long NowNs => _nowNs;

    public int RestingOrderCount => _restingCount;

    public long NextOrderId => _nextOrderId;

    public long NextTradeId => _nextTradeId;

    // ------------------------------------------------------------------ commands

    public void Process(in EngineCommand command)
    {
        AdvanceTo(command.NowNs);
        switch (command.Kind)
        {
            case CommandKind.PlaceOrder:
                Place(in command);
                break;
            case CommandKind.CancelOrder:
                Cancel(in command);
                break;
            case CommandKind.AmendOrder:
                Amend(in command);
                break;
            case CommandKind.ReduceOrder:
                Reduce(in command);
                break;
            case CommandKind.MassCancel:
                MassCancel(in command);
                break;
            case CommandKind.SetTradingState:
                SetTradingState(in command);
                break;
            case CommandKind.SetReferencePrice:
                SetReferencePrice(in command);
                break;
            case CommandKind.AdvanceTime:
                break;
            default:
                Reject(in command, RejectReason.UnknownCommand);
                break;
        }
    }

    private void Place(in EngineCommand c)
    {
        if (!_bookIndex.TryGetValue(new IntKey(c.InstrumentId), out var bookIndex))
        {
            Reject(in c, RejectReason.UnknownInstrument);
            return;
        }

        var book = _books[bookIndex];
        var reason = ValidateNewOrder(book, in c, out var priceTicks);
        if (reason != RejectReason.None)
        {
            Reject(in c, reason);
            return;
        }

        var accountKnown = _accountIndex.TryGetValue(new IntKey(c.AccountId), out var accountSlot);
        if (!accountKnown && _accountCount == _accounts.Length)
        {
            Reject(in c, RejectReason.CapacityAccounts);
            return;
        }

        if (c.ClientOrderId != 0 && _byClientOrderId.ContainsKey(new ClientOrderKey(c.AccountId, c.ClientOrderId)))
        {
            Reject(in c, RejectReason.DuplicateClientOrderId);
            return;
        }

        if (c.TimeInForce.CanRest() && _restingCount >= _maxRestingOrders)
        {
            Reject(in c, RejectReason.CapacityOrders);
            return;
        }

        if ((c.Flags & OrderFlags.ReduceOnly) != 0 && _positions.ReduceOnlyAllowance(c.AccountId, c.InstrumentId, c.Side) <= 0)
        {
            Reject(in c, RejectReason.ReduceOnlyWouldIncrease);
            return;
        }

        if ((c.Flags & (OrderFlags.PostOnly | OrderFlags.PostOnlySlide)) != 0 && Crosses(book, c.Side, priceTicks))
        {
            if ((c.Flags & OrderFlags.PostOnlySlide) == 0 || !TrySlide(book, c.Side, ref priceTicks))
            {
                Reject(in c, RejectReason.PostOnlyWouldTake);
                return;
            }
        }

        if (!accountKnown)
        {
            accountSlot = _accountCount++;
            _accounts[accountSlot] = new AccountSlot { AccountId = c.AccountId, Head = None, Tail = None };
            _accountIndex.TryAdd(new IntKey(c.AccountId), accountSlot);
        }

        var orderId = _nextOrderId++;
        var stp = c.Stp.Resolve();
        if (c.TimeInForce == TimeInForce.Fok && !CanFillCompletely(book, in c, priceTicks, stp))
        {
            EmitAccepted(in c, orderId, priceTicks);
            EmitOrderEnd(EventKind.OrderCancelled, CancelReason.FillOrKill, orderId, c.ClientOrderId, c.AccountId, c.InstrumentId, c.Side, priceTicks, c.QtyLots);
            return;
        }

        var slot = _freeOrders[--_freeOrderCount];
        ref var o = ref _orders[slot];
        o.OrderId = orderId;
        o.ClientOrderId = c.ClientOrderId;
        o.PriceTicks = priceTicks;
        o.QtyLots = c.QtyLots;
        o.FilledLots = 0;
        o.ExpiryNs = c.ExpiryNs;
        o.StpGroup = c.StpGroup;
        o.AccountId = c.AccountId;
        o.AccountSlot = accountSlot;
        o.BookIndex = bookIndex;
        o.Level = None;
        o.Prev = None;
        o.Next = None;
        o.Side = c.Side;
        o.TimeInForce = c.Type == OrderType.Market && c.TimeInForce == TimeInForce.Gtc ? TimeInForce.Ioc : c.TimeInForce;
        o.Flags = c.Flags;
        o.Stp = stp;

        _byOrderId.TryAdd(new OrderIdKey(orderId), slot);
        if (c.ClientOrderId != 0)
        {
            _byClientOrderId.TryAdd(new ClientOrderKey(c.AccountId, c.ClientOrderId), slot);
        }

        LinkToAccount(slot, ref o);
        EmitAccepted(in c, orderId, priceTicks);
        var stop = Match(book, slot);
        FinishAggressor(book, slot, stop);
    }

    private void Cancel(in EngineCommand c)
    {
        var slot = ResolveOrder(in c, out var reason);
        if (slot == None)
        {
            Reject(in c, reason);
            return;
        }

        CancelResting(slot, CancelReason.User);
    }

    private void Amend(in EngineCommand c)
    {
        var slot = ResolveOrder(in c, out var reason);
        if (slot == None)
        {
            Reject(in c, reason);
            return;
        }

        ref var o = ref _orders[slot];
        var book = _books[o.BookIndex];
        var newPrice = c.PriceTicks == 0 ? o.PriceTicks : c.PriceTicks;
        var newQty = c.QtyLots == 0 ? o.QtyLots : c.QtyLots;
        reason = ValidateAmend(book, ref o, newPrice, newQty);
        if (reason != RejectReason.None)
        {
            Reject(in c, reason);
            return;
        }

        if (newQty <= o.FilledLots)
        {
            // Amending to at or below what already filled leaves nothing to work: a cancel.
            CancelResting(slot, CancelReason.User);
            return;
        }

        if (newPrice == o.PriceTicks)
        {
            ref var level = ref book.Levels[o.Level];
            if (newQty < o.QtyLots)
            {
                // Quantity down at the same price keeps time priority.
                level.TotalLots -= o.QtyLots - newQty;
                o.QtyLots = newQty;
                EmitAmended(ref o, keptPriority: true);
                EmitBookOrder(EventKind.BookOrderChanged, ref o);
                EmitLevel(book, o.Side, ref level);
            }
            else
            {
                // Quantity up goes to the back of the same level.
                EmitAmended(ref o, keptPriority: false, newQty);
                EmitBookOrder(EventKind.BookOrderRemoved, ref o);
                var levelIndex = o.Level;
                UnlinkFromLevel(ref level, ref o);
                o.QtyLots = newQty;
                LinkAtTail(book, levelIndex, slot, ref o);
                EmitBookOrder(EventKind.BookOrderAdded, ref o);
                EmitLevel(book, o.Side, ref level);
            }

            return;
        }

        if ((o.Flags & (OrderFlags.PostOnly | OrderFlags.PostOnlySlide)) != 0 && Crosses(book, o.Side, newPrice))
        {
            Reject(in c, RejectReason.PostOnlyWouldTake);
            return;
        }

        // A price change re-queues: the order leaves the book and re-enters as an aggressor.
        EmitAmended(ref o, keptPriority: false, newQty, newPrice);
        RemoveFromBook(book, slot);
        o.PriceTicks = newPrice;
        o.QtyLots = newQty;
        var stop = Match(book, slot);
        FinishAggressor(book, slot, stop);
    }

    private void Reduce(in EngineCommand c)
    {
        var slot = ResolveOrder(in c, out var reason);
        if (slot == None)
        {
            Reject(in c, reason);
            return;
        }

        ref var o = ref _orders[slot];
        var book = _books[o.BookIndex];
        reason = c.QtyLots <= 0 ? RejectReason.InvalidQuantity
            : book.LotSize != 1 && c.QtyLots % book.LotSize != 0 ? RejectReason.QuantityOffLotGrid
            : RejectReason.None;
        if (reason != RejectReason.None)
        {
            Reject(in c, reason);
            return;
        }

        // Reducing only lowers risk: allowed in every trading state, like a cancel.
        if (c.QtyLots >= o.QtyLots - o.FilledLots)
        {
            CancelResting(slot, CancelReason.User);
            return;
        }

        ref var level = ref book.Levels[o.Level];
        o.QtyLots -= c.QtyLots;
        level.TotalLots -= c.QtyLots;
        EmitAmended(ref o, keptPriority: true);
        EmitBookOrder(EventKind.BookOrderChanged, ref o);
        EmitLevel(book, o.Side, ref level);
    }

    private void MassCancel(in EngineCommand c)
    {
        if (c.AccountId < 0)
        {
            Reject(in c, RejectReason.InvalidAccount);
            return;
        }

        if (c.SideFilter > SideFilter.Both)
        {
            Reject(in c, RejectReason.InvalidSide);
            return;
        }

        var onlyBook = None;
        if (c.InstrumentId != 0)
        {
            if (!_bookIndex.TryGetValue(new IntKey(c.InstrumentId), out onlyBook))
            {
                Reject(in c, RejectReason.UnknownInstrument);
                return;
            }
        }

        var count = 0;
        if (c.AccountId != 0)
        {
            // The account's list is in order-id order: cancel in that order.
            if (_accountIndex.TryGetValue(new IntKey(c.AccountId), out var accountSlot))
            {
                var slot = _accounts[accountSlot].Head;
                while (slot != None)
                {
                    ref var o = ref _orders[slot];
                    var next = o.AccountNext;
                    if ((onlyBook == None || o.BookIndex == onlyBook) && SideMatches(c.SideFilter, o.Side))
                    {
                        CancelResting(slot, CancelReason.MassCancel);
                        count++;
                    }

                    slot = next;
                }
            }
        }
        else
        {
            // Every account: instruments in configuration order, bids then asks, best level first, FIFO.
            for (var b = 0; b < _books.Length; b++)
            {
                if (onlyBook != None && b != onlyBook)
                {
                    continue;
                }

                var book = _books[b];
                if (SideMatches(c.SideFilter, Side.Buy))
                {
                    count += CancelSide(book, book.Bids);
                }

                if (SideMatches(c.SideFilter, Side.Sell))
                {
                    count += CancelSide(book, book.Asks);
                }
            }
        }

        var done = NewEvent(EventKind.MassCancelDone);
        done.AccountId = c.AccountId;
        done.InstrumentId = c.InstrumentId;
        done.Reason = (byte)c.SideFilter;
        done.Count = count;
        _sink.OnEvent(in done);
    }

    private int CancelSide(OrderBook book, PriceLadder ladder)
    {
        var count = 0;
        while (ladder.Count > 0)
        {
            CancelResting(book.Levels[ladder.BestLevel].Head, CancelReason.MassCancel);
            count++;
        }

        return count;
    }

    private void SetTradingState(in EngineCommand c)
    {
        if (!_bookIndex.TryGetValue(new IntKey(c.InstrumentId), out var bookIndex))
        {
            Reject(in c, RejectReason.UnknownInstrument);
            return;
        }

        if (c.TradingState > TradingState.Halted)
        {
            Reject(in c, RejectReason.InvalidTradingState);
            return;
        }

        _books[bookIndex].State = c.TradingState;
        var e = NewEvent(EventKind.TradingStateChanged);
        e.InstrumentId = c.InstrumentId;
        e.Reason = (byte)c.TradingState;
        _sink.OnEvent(in e);
    }

    private void SetReferencePrice(in EngineCommand c)
    {
        if (!_bookIndex.TryGetValue(new IntKey(c.InstrumentId), out var bookIndex))
        {
            Reject(in c, RejectReason.UnknownInstrument);
            return;
        }

        if (c.PriceTicks <= 0)
        {
            Reject(in c, RejectReason.InvalidPrice);
            return;
        }

        _books[bookIndex].ReferencePriceTicks = c.PriceTicks;
        var e = NewEvent(EventKind.ReferencePriceChanged);
        e.InstrumentId = c.InstrumentId;
        e.PriceTicks = c.PriceTicks;
        _sink.OnEvent(in e);
    }

    /// <summary>Moves engine time forward (never back) and expires every GTD order now due.</summary>
    private void AdvanceTo(long nowNs)
    {
        if (nowNs > _nowNs)
        {
            _nowNs = nowNs;
        }

        while (_expiries.Count > 0 && _expiries.MinExpiryNs <= _nowNs)
        {
            var slot = _expiries.MinSlot;
            ref var o = ref _orders[slot];
            EmitOrderEnd(EventKind.OrderExpired, CancelReason.Expiry, o.OrderId, o.ClientOrderId, o.AccountId, _books[o.BookIndex].InstrumentId, o.Side, o.PriceTicks, o.RemainingLots);
            RemoveFromBook(_books[o.BookIndex], slot);
            Release(slot);
        }
    }

    // ------------------------------------------------------------------ validation

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

    // ------------------------------------------------------------------ matching

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsSelfTrade(ref OrderSlot taker, ref OrderSlot maker) =>
        maker.AccountId == taker.AccountId || (taker.StpGroup != 0 && maker.StpGroup == taker.StpGroup);

    /// <summary>
    /// FOK pre-check, so a kill has no side effects. Counts only liquidity matching would
    /// certainly take: own orders under expire-maker are skipped (they would be cancelled), any
    /// other self-trade mode ends the walk (it would stop or shrink the aggressor), and resting
    /// reduce-only orders count as nothing (what they may fill depends on fills before them).
    /// </summary>
    private bool CanFillCompletely(OrderBook book, in EngineCommand c, long priceTicks, SelfTradePrevention stp)
    {
        var need = c.QtyLots;
        if ((c.Flags & OrderFlags.ReduceOnly) != 0 && _positions.ReduceOnlyAllowance(c.AccountId, c.InstrumentId, c.Side) < need)
        {
            return false;
        }

        var oppositeSide = c.Side.Opposite();
        var ladder = book.Ladder(oppositeSide);
        var limitKey = OrderBook.KeyOf(oppositeSide, priceTicks);
        for (var i = 0; i < ladder.Count; i++)
        {
            var levelIndex = ladder.LevelAt(i);
            ref var level = ref book.Levels[levelIndex];
            if (OrderBook.KeyOf(oppositeSide, level.PriceTicks) < limitKey)
            {
                break;
            }

            for (var m = level.Head; m != None; m = _orders[m].Next)
            {
                ref var maker = ref _orders[m];
                if (stp != SelfTradePrevention.None &&
                    (maker.AccountId == c.AccountId || (c.StpGroup != 0 && maker.StpGroup == c.StpGroup)))
                {
                    if (stp == SelfTradePrevention.ExpireMaker)
                    {
                        continue;
                    }

                    return false;
                }

                if (maker.IsReduceOnly)
                {
                    continue;
                }

                need -= maker.RemainingLots;
                if (need <= 0)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// Matches the aggressor in <paramref name="takerSlot"/> against the opposite side, best level
    /// first, FIFO within a level, at the makers' prices. Returns the reason the aggressor was
    /// stopped early (self-trade prevention, reduce-only exhausted), or <see cref="NotStopped"/>.
    /// </summary>
    private int Match(OrderBook book, int takerSlot)
    {
        ref var taker = ref _orders[takerSlot];
        var oppositeSide = taker.Side.Opposite();
        var ladder = book.Ladder(oppositeSide);
        var limitKey = OrderBook.KeyOf(oppositeSide, taker.PriceTicks);
        var stp = taker.Stp;
        var instrumentId = book.InstrumentId;
        var stop = NotStopped;

        while (ladder.Count > 0 && taker.QtyLots > taker.FilledLots && ladder.BestKey >= limitKey)
        {
            var levelIndex = ladder.BestLevel;
            ref var level = ref book.Levels[levelIndex];
            var m = level.Head;
            while (m != None)
            {
                ref var maker = ref _orders[m];
                var takerRemaining = taker.QtyLots - taker.FilledLots;
                var makerRemaining = maker.QtyLots - maker.FilledLots;
                var fill = Math.Min(takerRemaining, makerRemaining);

                if (stp != SelfTradePrevention.None && IsSelfTrade(ref taker, ref maker))
                {
                    EmitSelfTradePrevented(ref taker, ref maker, fill, stp);
                    if (stp == SelfTradePrevention.ExpireTaker)
                    {
                        stop = (int)CancelReason.SelfTradePrevention;
                        break;
                    }

                    var next = maker.Next;
                    if (stp == SelfTradePrevention.DecrementAndCancel && makerRemaining > fill)
                    {
                        maker.QtyLots -= fill;
                        level.TotalLots -= fill;
                        EmitBookOrder(EventKind.BookOrderChanged, ref maker);
                        next = m;
                    }
                    else
                    {
                        CancelWhileMatching(ref level, m, CancelReason.SelfTradePrevention);
                    }

                    if (stp == SelfTradePrevention.ExpireBoth ||
                        (stp == SelfTradePrevention.DecrementAndCancel && takerRemaining == fill))
                    {
                        stop = (int)CancelReason.SelfTradePrevention;
                        break;
                    }

                    if (stp == SelfTradePrevention.DecrementAndCancel)
                    {
                        taker.QtyLots -= fill;
                    }

                    m = next;
                    continue;
                }

                if (taker.IsReduceOnly)
                {
                    var allowance = _positions.ReduceOnlyAllowance(taker.AccountId, instrumentId, taker.Side);
                    if (allowance <= 0)
                    {
                        stop = (int)CancelReason.ReduceOnly;
                        break;
                    }

                    fill = Math.Min(fill, allowance);
                }

                if (maker.IsReduceOnly)
                {
                    var allowance = _positions.ReduceOnlyAllowance(maker.AccountId, instrumentId, maker.Side);
                    if (allowance <= 0)
                    {
                        var next = maker.Next;
                        CancelWhileMatching(ref level, m, CancelReason.ReduceOnly);
                        m = next;
                        continue;
                    }

                    fill = Math.Min(fill, allowance);
                }

                maker.FilledLots += fill;
                taker.FilledLots += fill;
                level.TotalLots -= fill;
                _positions.OnFill(taker.AccountId, instrumentId, taker.Side, maker.PriceTicks, fill);
                _positions.OnFill(maker.AccountId, instrumentId, maker.Side, maker.PriceTicks, fill);
                EmitTrade(instrumentId, ref taker, ref maker, fill);

                if (maker.FilledLots == maker.QtyLots)
                {
                    var next = maker.Next;
                    EmitBookOrder(EventKind.BookOrderRemoved, ref maker);
                    UnlinkFromLevel(ref level, ref maker);
                    Release(m);
                    m = next;
                }
                else
                {
                    // Partly filled maker: stays in place. The same maker is visited again only
                    // when a reduce-only allowance capped this fill.
                    EmitBookOrder(EventKind.BookOrderChanged, ref maker);
                }

                if (taker.FilledLots == taker.QtyLots)
                {
                    break;
                }
            }

            EmitLevel(book, oppositeSide, ref level);
            if (level.Count == 0)
            {
                ladder.RemoveBest();
                book.FreeLevel(levelIndex);
            }

            if (stop != NotStopped)
            {
                break;
            }
        }

        return stop;
    }

    /// <summary>After matching: the aggressor is done, cancelled, or rests.</summary>
    private void FinishAggressor(OrderBook book, int slot, int stop)
    {
        ref var o = ref _orders[slot];
        if (stop != NotStopped)
        {
            EmitOrderEnd(ref o, EventKind.OrderCancelled, (CancelReason)stop);
            Release(slot);
            return;
        }

        if (o.FilledLots == o.QtyLots)
        {
            Release(slot);
            return;
        }

        if (!o.TimeInForce.CanRest())
        {
            EmitOrderEnd(ref o, EventKind.OrderCancelled, o.TimeInForce == TimeInForce.Fok ? CancelReason.FillOrKill : CancelReason.IocRemainder);
            Release(slot);
            return;
        }

        var ladder = book.Ladder(o.Side);
        var key = OrderBook.KeyOf(o.Side, o.PriceTicks);
        var index = ladder.Find(key);
        int levelIndex;
        if (index >= 0)
        {
            levelIndex = ladder.LevelAtIndex(index);
        }
        else if (ladder.IsFull)
        {
            EmitOrderEnd(ref o, EventKind.OrderCancelled, CancelReason.Capacity);
            Release(slot);
            return;
        }
        else
        {
            levelIndex = book.AllocateLevel(o.PriceTicks);
            ladder.InsertAt(~index, key, levelIndex);
        }

        LinkAtTail(book, levelIndex, slot, ref o);
        EmitBookOrder(EventKind.BookOrderAdded, ref o);
        EmitLevel(book, o.Side, ref book.Levels[levelIndex]);
        if (o.TimeInForce == TimeInForce.Gtd && !_expiries.Contains(slot))
        {
            _expiries.Insert(slot, o.ExpiryNs, o.OrderId);
        }
    }

    // ------------------------------------------------------------------ book and pool plumbing

    /// <summary>Cancels a resting order: Cancelled, BookOrderRemoved, LevelChanged; frees it.</summary>
    private void CancelResting(int slot, CancelReason reason)
    {
        ref var o = ref _orders[slot];
        EmitOrderEnd(ref o, EventKind.OrderCancelled, reason);
        RemoveFromBook(_books[o.BookIndex], slot);
        Release(slot);
    }

    /// <summary>Cancels a maker inside the matching loop: the caller reports the level afterwards.</summary>
    private void CancelWhileMatching(ref PriceLevel level, int slot, CancelReason reason)
    {
        ref var o = ref _orders[slot];
        EmitOrderEnd(ref o, EventKind.OrderCancelled, reason);
        EmitBookOrder(EventKind.BookOrderRemoved, ref o);
        UnlinkFromLevel(ref level, ref o);
        Release(slot);
    }

    /// <summary>Takes a resting order off its level (BookOrderRemoved, LevelChanged), dropping an emptied level.</summary>
    private void RemoveFromBook(OrderBook book, int slot)
    {
        ref var o = ref _orders[slot];
        var levelIndex = o.Level;
        ref var level = ref book.Levels[levelIndex];
        EmitBookOrder(EventKind.BookOrderRemoved, ref o);
        UnlinkFromLevel(ref level, ref o);
        EmitLevel(book, o.Side, ref level);
        if (level.Count == 0)
        {
            var ladder = book.Ladder(o.Side);
            var key = OrderBook.KeyOf(o.Side, level.PriceTicks);
            if (ladder.BestKey == key)
            {
                ladder.RemoveBest();
            }
            else
            {
                ladder.RemoveAt(ladder.Find(key));
            }

            book.FreeLevel(levelIndex);
        }
    }

    private void UnlinkFromLevel(ref PriceLevel level, ref OrderSlot o)
    {
        if (o.Prev != None)
        {
            _orders[o.Prev].Next = o.Next;
        }
        else
        {
            level.Head = o.Next;
        }

        if (o.Next != None)
        {
            _orders[o.Next].Prev = o.Prev;
        }
        else
        {
            level.Tail = o.Prev;
        }

        level.TotalLots -= o.QtyLots - o.FilledLots;
        level.Count--;
        o.Level = None;
        o.Prev = None;
        o.Next = None;
        _restingCount--;
    }

    private void LinkAtTail(OrderBook book, int levelIndex, int slot, ref OrderSlot o)
    {
        ref var level = ref book.Levels[levelIndex];
        o.Level = levelIndex;
        o.Next = None;
        o.Prev = level.Tail;
        if (level.Tail != None)
        {
            _orders[level.Tail].Next = slot;
        }
        else
        {
            level.Head = slot;
        }

        level.Tail = slot;
        level.TotalLots += o.QtyLots - o.FilledLots;
        level.Count++;
        _restingCount++;
    }

    private void LinkToAccount(int slot, ref OrderSlot o)
    {
        ref var account = ref _accounts[o.AccountSlot];
        o.AccountNext = None;
        o.AccountPrev = account.Tail;
        if (account.Tail != None)
        {
            _orders[account.Tail].AccountNext = slot;
        }
        else
        {
            account.Head = slot;
        }

        account.Tail = slot;
        account.OpenOrders++;
    }

    /// <summary>Returns an order that is off the book to the pool and forgets its ids.</summary>
    private void Release(int slot)
    {
        ref var o = ref _orders[slot];
        _byOrderId.Remove(new OrderIdKey(o.OrderId));
        if (o.ClientOrderId != 0)
        {
            _byClientOrderId.Remove(new ClientOrderKey(o.AccountId, o.ClientOrderId));
        }

        ref var account = ref _accounts[o.AccountSlot];
        if (o.AccountPrev != None)
        {
            _orders[o.AccountPrev].AccountNext = o.AccountNext;
        }
        else
        {
            account.Head = o.AccountNext;
        }

        if (o.AccountNext != None)
        {
            _orders[o.AccountNext].AccountPrev = o.AccountPrev;
        }
        else
        {
            account.Tail = o.AccountPrev;
        }

        account.OpenOrders--;
        if (o.TimeInForce == TimeInForce.Gtd)
        {
            _expiries.Remove(slot);
        }

        o.OrderId = 0;
        _freeOrders[_freeOrderCount++] = slot;
    }

    // ------------------------------------------------------------------ events

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private EngineEvent NewEvent(EventKind kind) => new() { Kind = kind, TimeNs = _nowNs };

    private void Reject(in EngineCommand c, RejectReason reason)
    {
        var e = NewEvent(EventKind.OrderRejected);
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
        var e = NewEvent(EventKind.OrderAccepted);
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
        var e = NewEvent(kind);
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
        var e = NewEvent(EventKind.OrderAmended);
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

    private void EmitTrade(int instrumentId, ref OrderSlot taker, ref OrderSlot maker, long qtyLots)
    {
        var e = NewEvent(EventKind.Trade);
        e.TradeId = _nextTradeId++;
        e.InstrumentId = instrumentId;
        e.PriceTicks = maker.PriceTicks;
        e.QtyLots = qtyLots;
        e.Side = taker.Side;
        e.OrderId = taker.OrderId;
        e.AccountId = taker.AccountId;
        e.OtherOrderId = maker.OrderId;
        e.OtherAccountId = maker.AccountId;
        e.RemainingLots = taker.QtyLots - taker.FilledLots;
        e.OtherRemainingLots = maker.QtyLots - maker.FilledLots;
        _sink.OnEvent(in e);
    }

    private void EmitSelfTradePrevented(ref OrderSlot taker, ref OrderSlot maker, long qtyLots, SelfTradePrevention mode)
    {
        var e = NewEvent(EventKind.SelfTradePrevented);
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

    private void EmitBookOrder(EventKind kind, ref OrderSlot o)
    {
        var e = NewEvent(kind);
        e.InstrumentId = _books[o.BookIndex].InstrumentId;
        e.OrderId = o.OrderId;
        e.Side = o.Side;
        e.PriceTicks = o.PriceTicks;
        e.QtyLots = kind == EventKind.BookOrderRemoved ? 0 : o.QtyLots - o.FilledLots;
        _sink.OnEvent(in e);
    }

    private void EmitLevel(OrderBook book, Side side, ref PriceLevel level)
    {
        var e = NewEvent(EventKind.LevelChanged);
        e.InstrumentId = book.InstrumentId;
        e.Side = side;
        e.PriceTicks = level.PriceTicks;
        e.QtyLots = level.TotalLots;
        e.Count = level.Count;
        _sink.OnEvent(in e);
    }

    // ------------------------------------------------------------------ queries (cold)

    public bool TryGetOrder(long orderId, out OrderView view)
    {
        if (!_byOrderId.TryGetValue(new OrderIdKey(orderId), out var slot))
        {
            view = default;
            return false;
        }

        view = ViewOf(ref _orders[slot]);
        return true;
    }

    public bool TryGetOrderByClientId(int accountId, long clientOrderId, out OrderView view)
    {
        if (!_byClientOrderId.TryGetValue(new ClientOrderKey(accountId, clientOrderId), out var slot))
        {
            view = default;
            return false;
        }

        view = ViewOf(ref _orders[slot]);
        return true;
    }

    private OrderView ViewOf(ref OrderSlot o) => new(
        o.OrderId, o.ClientOrderId, o.AccountId, _books[o.BookIndex].InstrumentId, o.Side, o.PriceTicks,
        o.QtyLots, o.FilledLots, o.QtyLots - o.FilledLots, o.TimeInForce, o.Flags, o.ExpiryNs);

    /// <summary>Best price on a side, or 0 when the side is empty.</summary>
    public long BestPrice(int instrumentId, Side side)
    {
        var book = BookOf(instrumentId);
        var ladder = book.Ladder(side);
        return ladder.Count == 0 ? 0 : book.Levels[ladder.BestLevel].PriceTicks;
    }

    public int LevelCount(int instrumentId, Side side) => BookOf(instrumentId).Ladder(side).Count;

    /// <summary>Copies up to destination.Length levels, best first; returns how many.</summary>
    public int GetLevels(int instrumentId, Side side, Span<LevelView> destination)
    {
        var book = BookOf(instrumentId);
        var ladder = book.Ladder(side);
        var n = Math.Min(destination.Length, ladder.Count);
        for (var i = 0; i < n; i++)
        {
            ref var level = ref book.Levels[ladder.LevelAt(i)];
            destination[i] = new LevelView(level.PriceTicks, level.TotalLots, level.Count);
        }

        return n;
    }

    /// <summary>Resting orders on one side in priority order (best level first, FIFO): for tests and tools.</summary>
    public List<OrderView> RestingOrders(int instrumentId, Side side)
    {
        var book = BookOf(instrumentId);
        var ladder = book.Ladder(side);
        var result = new List<OrderView>();
        for (var i = 0; i < ladder.Count; i++)
        {
            for (var m = book.Levels[ladder.LevelAt(i)].Head; m != None; m = _orders[m].Next)
            {
                result.Add(ViewOf(ref _orders[m]));
            }
        }

        return result;
    }

    public TradingState GetTradingState(int instrumentId) => BookOf(instrumentId).State;

    private OrderBook BookOf(int instrumentId) =>
        _bookIndex.TryGetValue(new IntKey(instrumentId), out var index)
            ? _books[index]
            : throw new ArgumentException($"unknown instrument {instrumentId}", nameof(instrumentId));

    /// <summary>
    /// Hash of everything that decides future behaviour: per instrument (configuration order) its
    /// state and reference price, then bids and asks best level first, each order FIFO; then the
    /// id counters and engine time. Equal hashes ⇒ (with overwhelming probability) equal books.
    /// </summary>
    public ulong StateHash()
    {
        var h = new StateHasher();
        foreach (var book in _books)
        {
            h.Add(book.InstrumentId);
            h.Add((long)book.State);
            h.Add(book.ReferencePriceTicks);
            foreach (var side in (ReadOnlySpan<Side>)[Side.Buy, Side.Sell])
            {
                var ladder = book.Ladder(side);
                h.Add(ladder.Count);
                for (var i = 0; i < ladder.Count; i++)
                {
                    ref var level = ref book.Levels[ladder.LevelAt(i)];
                    h.Add(level.PriceTicks);
                    h.Add(level.TotalLots);
                    h.Add(level.Count);
                    for (var m = level.Head; m != None; m = _orders[m].Next)
                    {
                        AddOrder(ref h, ref _orders[m]);
                    }
                }
            }
        }

        h.Add(_nextOrderId);
        h.Add(_nextTradeId);
        h.Add(_nowNs);
        return h.Value;
    }

    private static void AddOrder(ref StateHasher h, ref OrderSlot o)
    {
        h.Add(o.OrderId);
        h.Add(o.ClientOrderId);
        h.Add(o.AccountId);
        h.Add((long)o.Side);
        h.Add(o.PriceTicks);
        h.Add(o.QtyLots);
        h.Add(o.FilledLots);
        h.Add((long)o.TimeInForce);
        h.Add((long)o.Flags);
        h.Add((long)o.Stp);
        h.Add(o.StpGroup);
        h.Add(o.ExpiryNs);
    }

    /// <summary>
    /// Cross-checks every internal structure (exchange-core style, for tests): level totals and
    /// counts against their orders, FIFO links, ladder order, id indexes, account lists and the
    /// pool's free count. Returns the first inconsistency, or null.
    /// </summary>
    public string? ValidateInvariants()
    {
        var resting = 0;
        foreach (var book in _books)
        {
            foreach (var side in (ReadOnlySpan<Side>)[Side.Buy, Side.Sell])
            {
                var ladder = book.Ladder(side);
                long previousKey = long.MaxValue;
                for (var i = 0; i < ladder.Count; i++)
                {
                    ref var level = ref book.Levels[ladder.LevelAt(i)];
                    var key = OrderBook.KeyOf(side, level.PriceTicks);
                    if (key >= previousKey)
                    {
                        return $"instrument {book.InstrumentId} {side}: ladder not strictly ordered at {level.PriceTicks}";
                    }

                    previousKey = key;
                    long total = 0;
                    var count = 0;
                    var prev = None;
                    for (var m = level.Head; m != None; m = _orders[m].Next)
                    {
                        ref var o = ref _orders[m];
                        if (o.Prev != prev || o.Level != ladder.LevelAt(i) || o.PriceTicks != level.PriceTicks || o.Side != side)
                        {
                            return $"order {o.OrderId}: broken level link";
                        }

                        if (o.FilledLots >= o.QtyLots || o.FilledLots < 0)
                        {
                            return $"order {o.OrderId}: resting with nothing left ({o.FilledLots}/{o.QtyLots})";
                        }

                        if (!_byOrderId.TryGetValue(new OrderIdKey(o.OrderId), out var s) || s != m)
                        {
                            return $"order {o.OrderId}: missing from the order-id index";
                        }

                        if (o.ClientOrderId != 0 && (!_byClientOrderId.TryGetValue(new ClientOrderKey(o.AccountId, o.ClientOrderId), out s) || s != m))
                        {
                            return $"order {o.OrderId}: missing from the client-order-id index";
                        }

                        total += o.QtyLots - o.FilledLots;
                        count++;
                        prev = m;
                    }

                    if (level.Tail != prev || total != level.TotalLots || count != level.Count || count == 0)
                    {
                        return $"instrument {book.InstrumentId} {side} level {level.PriceTicks}: total/count/tail mismatch";
                    }

                    resting += count;
                }
            }
        }

        if (resting != _restingCount || _byOrderId.Count != resting || _freeOrderCount != _orders.Length - resting)
        {
            return $"resting count {_restingCount} vs {resting} in books, {_byOrderId.Count} indexed, {_freeOrderCount} free";
        }

        var inAccounts = 0;
        for (var a = 0; a < _accountCount; a++)
        {
            var n = 0;
            long previousId = 0;
            for (var m = _accounts[a].Head; m != None; m = _orders[m].AccountNext)
            {
                if (_orders[m].OrderId <= previousId || _orders[m].AccountSlot != a)
                {
                    return $"account {_accounts[a].AccountId}: list out of order";
                }

                previousId = _orders[m].OrderId;
                n++;
            }

            if (n != _accounts[a].OpenOrders)
            {
                return $"account {_accounts[a].AccountId}: open order count mismatch";
            }

            inAccounts += n;
        }

        return inAccounts != resting ? $"{inAccounts} orders in account lists vs {resting} resting" : null;
    }
}
