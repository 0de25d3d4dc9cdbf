using Aivora.Core.Collections;
using Aivora.Core.Commands;
using Aivora.Core.Events;
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
/// Trade (the maker's L3 change too: its remaining lots, 0 when the fill took it off the book; no BookOrderChanged or
/// BookOrderRemoved follows a fill) or SelfTradePrevented / Cancelled + BookOrderRemoved,
/// one LevelChanged when the aggressor leaves each level, then the aggressor's own end:
/// Cancelled (IOC remainder, STP, reduce-only, capacity) or BookOrderAdded + LevelChanged.
/// </remarks>
public sealed partial class MatchingEngine<TSink, TPositions>
    where TSink : struct, IEngineEventSink
    where TPositions : struct, IPositionKeeper
{
    private const int None = -1;
    private const int NotStopped = -1;

    private readonly OrderBook[] _books;
    private readonly OpenHashMap<IntKey> _bookIndex;
    private readonly OrderSlot[] _orders;

    /// <summary>A slot past the pool, never given out: unlinking writes a missing neighbour's link here instead of branching on
    /// whether the neighbour exists (a branch that, on a flow of accounts with one or two orders each, goes either way).</summary>
    private readonly int _scratchSlot;
    private readonly int[] _freeOrders;

    /// <summary>Makers the last sweep filled, their release still to come (<see cref="ReleaseFilledMakers"/>): a matching loop
    /// starts after the release (a place through <see cref="PlaceValidated"/>, an amend after <see cref="ResolveOrder"/>), so
    /// these are one command's at most, and never more than the slots.</summary>
    private readonly int[] _filledMakers;
    private int _filledMakerCount;
    private readonly OrderIdIndex _byOrderId;
    private readonly OpenHashMap<ClientOrderKey> _byClientOrderId;

    // The client-id table's home of the last key the command's prefetch hashed (PrefetchLookups), so the lookups after it in
    // the same command (the duplicate check, indexing a resting order, resolving a cancel or amend by client order id) read
    // the table without hashing the key again. A home depends on the key alone: a lookup of any other key hashes its own.
    private ClientOrderKey _prefetchedClientKey;
    private int _prefetchedClientHome;
    private readonly AccountSlot[] _accounts;

    // Per account and book: resting lots by side (reduce-only orders excluded: they add no exposure) and
    // resting order count, kept beside every change of a level's total, so pre-trade risk reads an
    // account's open exposure in O(1) however many orders it has resting. Index: (accountSlot x books + book) x 2 + side.
    private readonly long[] _openLots;
    private readonly int[] _openOrders;

    // Per account, a bit per book it has orders resting on (_openBookWords words each): pre-trade risk sums margin over
    // the instruments an account is in, not every listed one (Collections/SetBits).
    private readonly int _openBookWords;
    private readonly ulong[] _openBookMasks;
    private readonly OpenHashMap<IntKey> _accountIndex;
    private readonly IndexedMinHeap _expiries;
    private readonly int _maxRestingOrders;

    // Accounts that traded in the current command, in order of first fill (for reduce-only trimming).
    private readonly int[] _tradedAccounts;
    private readonly int[] _tradedStamp;
    private int _tradedCount;
    private int _stamp;

    // Books that traded since the state machine last took them, in order of first trade (each once): their last-price stops
    // are looked at when the command ends, whatever traded them (the command, a resumed liquidation, a fired stop).
    private readonly int[] _tradedBooks;
    private readonly bool[] _bookTraded;
    private int _tradedBookHead;
    private int _tradedBookCount;
    private int _freeOrderCount;
    private int _accountCount;
    private int _restingCount;
    private int _restingReduceOnlyCount;   // every account's RestingReduceOnly summed: while 0, a fill reads no maker's account line
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
        _orders = new OrderSlot[slots + 1];   // and one never given out: see _scratchSlot
        _scratchSlot = slots;
        _freeOrders = new int[slots];
        for (var i = 0; i < slots; i++)
        {
            _freeOrders[i] = slots - 1 - i;
        }

        _freeOrderCount = slots;
        _filledMakers = new int[slots];
        _byOrderId = new OrderIdIndex(_orders);
        _byClientOrderId = new OpenHashMap<ClientOrderKey>(slots);
        _prefetchedClientHome = _byClientOrderId.HomeOf(_prefetchedClientKey);
        _accounts = new AccountSlot[config.MaxAccounts];
        _openLots = new long[config.MaxAccounts * config.Instruments.Count * 2];
        _openOrders = new int[config.MaxAccounts * config.Instruments.Count];
        _openBookWords = SetBits.WordsFor(config.Instruments.Count);
        _openBookMasks = new ulong[config.MaxAccounts * _openBookWords];
        _accountIndex = new OpenHashMap<IntKey>(config.MaxAccounts);
        _tradedAccounts = new int[config.MaxAccounts];
        _tradedStamp = new int[config.MaxAccounts];
        _tradedBooks = new int[config.Instruments.Count];
        _bookTraded = new bool[config.Instruments.Count];
        _expiries = new IndexedMinHeap(slots);
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


    public void Process(in EngineCommand command)
    {
        PrefetchLookups(in command);   // the id-table slots load while time advances and the order is validated
        AdvanceTo(command.NowNs);
        ProcessAtTime(in command);
    }

    /// <summary>
    /// <see cref="Process"/> once the command's id-table slots are on their way (<see cref="PrefetchLookups"/>) and time has moved
    /// to it (<see cref="AdvanceTo"/>): the state machine, which does both first for every command, passes the commands it
    /// has no checks for straight here, not through either a second time.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal void ProcessAtTime(in EngineCommand command)
    {
        ReleaseFilledMakers();   // the engine's own commands, and the state machine's cancels, also after fills in the same command
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

        var reason = ValidateNewOrder(_books[bookIndex], in c, out var priceTicks);
        if (reason != RejectReason.None)
        {
            Reject(in c, reason);
            return;
        }

        PlaceValidated(in c, bookIndex, priceTicks, AccountSlotOf(c.AccountId));
    }

    /// <summary>
    /// The rest of a new order's way in, after <see cref="ValidateNewOrder"/>: pre-trade risk runs the same checks
    /// (<see cref="CheckOrderShape"/>, <see cref="CheckTradingStateAt"/>, <see cref="CheckPriceAndSizeAt"/>)
    /// before its own, in the same command (engine time already moved), and hands over the instrument's index
    /// and the effective limit price they produced, so they do not run twice.
    /// </summary>
    internal void PlaceValidated(in EngineCommand c, int bookIndex, long priceTicks, int accountSlot)
    {
        ReleaseFilledMakers();   // a fired stop places after fills in the same command: the pool needs their slots back
        var book = _books[bookIndex];
        var accountKnown = accountSlot != None;
        if (!accountKnown && _accountCount == _accounts.Length)
        {
            Reject(in c, RejectReason.CapacityAccounts);
            return;
        }

        if (c.ClientOrderId != 0 && TryFindClientId(new ClientOrderKey(c.AccountId, c.ClientOrderId), out _))
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
        o.Flags = c.Flags & ~OrderFlags.NoWhatIfs;   // how the order wanted its acknowledgement: not a property of the order
        o.Stp = stp;

        // In its account's list and indexed by its ids only if it rests (FinishAggressor): while it matches, nothing walks the
        // list for it or looks it up (its own command is running), and most never rest (IOC, market, filled on entry).
        EmitAccepted(in c, orderId, priceTicks);
        BeginTrades();
        var stop = Match(book, slot);
        FinishAggressor(book, slot, stop, indexed: false);
        TrimReduceOnly(book);
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
        AmendResolved(in c, slot, reason);
    }

    /// <summary>An amend whose order the caller has already resolved (<see cref="ResolveOrder"/>: the slot, or None and
    /// the reason to reject it), so pre-trade risk and the book look it up once.</summary>
    internal void AmendResolved(in EngineCommand c, int slot, RejectReason reason)
    {
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
                OpenLotsChanged(ref o, -(o.QtyLots - newQty));
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
        BeginTrades();
        var stop = Match(book, slot);
        FinishAggressor(book, slot, stop, indexed: true);
        TrimReduceOnly(book);
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
        OpenLotsChanged(ref o, -c.QtyLots);
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

        var reason = c.CancelReason == CancelReason.User ? CancelReason.MassCancel : c.CancelReason;
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
                        CancelResting(slot, reason);
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
                    count += CancelSide(book, book.Bids, reason);
                }

                if (SideMatches(c.SideFilter, Side.Sell))
                {
                    count += CancelSide(book, book.Asks, reason);
                }
            }
        }

        if (!Wanted(EventKind.MassCancelDone))
        {
            return;
        }

        var done = NewEvent(EventKind.MassCancelDone);
        done.AccountId = c.AccountId;
        done.InstrumentId = c.InstrumentId;
        done.Reason = (byte)c.SideFilter;
        done.Count = count;
        _sink.OnEvent(in done);
    }

    private int CancelSide(OrderBook book, PriceLadder ladder, CancelReason reason)
    {
        var count = 0;
        while (ladder.Count > 0)
        {
            CancelResting(book.Levels[ladder.BestLevel].Head, reason);
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
        if (!Wanted(EventKind.TradingStateChanged))
        {
            return;
        }

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
        if (!Wanted(EventKind.ReferencePriceChanged))
        {
            return;
        }

        var e = NewEvent(EventKind.ReferencePriceChanged);
        e.InstrumentId = c.InstrumentId;
        e.PriceTicks = c.PriceTicks;
        _sink.OnEvent(in e);
    }

    /// <summary>Moves engine time forward (never back) and expires every GTD order now due.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void AdvanceTo(long nowNs)
    {
        if (nowNs > _nowNs)
        {
            _nowNs = nowNs;
        }

        if (_expiries.Count > 0 && _expiries.MinKey <= _nowNs)
        {
            ExpireDue();
        }
    }

    /// <summary>The earliest expiry of a resting GTD order (<see cref="long.MaxValue"/>: none rests): when time must next
    /// move with no order arriving (the node ticks then, <see cref="Exchange.PerpStateMachine{TSink}.NextWorkDueNs"/>).</summary>
    public long NextExpiryNs => _expiries.Count > 0 ? _expiries.MinKey : long.MaxValue;

    /// <summary>Expires the orders whose time has come (out of line: most commands expire nothing).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ExpireDue()
    {
        while (_expiries.Count > 0 && _expiries.MinKey <= _nowNs)
        {
            var slot = _expiries.MinSlot;
            ref var o = ref _orders[slot];
            EmitOrderEnd(EventKind.OrderExpired, CancelReason.Expiry, o.OrderId, o.ClientOrderId, o.AccountId, _books[o.BookIndex].InstrumentId, o.Side, o.PriceTicks, o.RemainingLots);
            RemoveFromBook(_books[o.BookIndex], slot);
            Release(slot);
        }
    }
}
