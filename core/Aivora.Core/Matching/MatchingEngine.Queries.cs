using Aivora.Core.Collections;
using Aivora.Core.Events;
using Aivora.Core.Hashing;
using Aivora.Core.Instruments;
using Aivora.Core.Orders;

namespace Aivora.Core.Matching;

/// <summary>Cold-path reads for tools and tests: views, levels, the state hash, invariant checks.</summary>
public sealed partial class MatchingEngine<TSink, TPositions>
    where TSink : struct, IEngineEventSink
    where TPositions : struct, IPositionKeeper
{

    /// <summary>
    /// The account's resting orders, in order-id order, into <paramref name="destination"/>; returns how many
    /// were written (at most its length). Walks the account's own list: no book scan, no allocation.
    /// </summary>
    public int AccountOrders(int accountId, Span<OrderView> destination)
    {
        if (!_accountIndex.TryGetValue(new IntKey(accountId), out var accountSlot))
        {
            return 0;
        }

        var n = 0;
        for (var m = _accounts[accountSlot].Head; m != None && n < destination.Length; m = _orders[m].AccountNext)
        {
            if (_orders[m].Level != None)
            {
                destination[n++] = ViewOf(ref _orders[m]);
            }
        }

        return n;
    }

    public bool TryGetOrder(long orderId, out OrderView view)
    {
        ReleaseFilledMakers();
        if (!_byOrderId.TryGetValue(orderId, out var slot))
        {
            view = default;
            return false;
        }

        view = ViewOf(ref _orders[slot]);
        return true;
    }

    public bool TryGetOrderByClientId(int accountId, long clientOrderId, out OrderView view)
    {
        ReleaseFilledMakers();
        if (!_byClientOrderId.TryGetValue(new ClientOrderKey(accountId, clientOrderId), out var slot))
        {
            view = default;
            return false;
        }

        view = ViewOf(ref _orders[slot]);
        return true;
    }

    /// <summary>The live order in a slot <see cref="ResolveOrder"/> returned (read only: the engine alone changes it).</summary>
    internal ref readonly OrderSlot OrderAt(int slot) => ref _orders[slot];

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
        var n = 0;
        var cursor = ladder.FromBest();
        while (n < destination.Length && cursor.MoveNext())
        {
            ref var level = ref book.Levels[cursor.Level];
            destination[n++] = new LevelView(level.PriceTicks, level.TotalLots, level.Count);
        }

        return n;
    }

    /// <summary>Resting orders on one side in priority order (best level first, FIFO): for tests and tools.</summary>
    public List<OrderView> RestingOrders(int instrumentId, Side side)
    {
        var book = BookOf(instrumentId);
        var ladder = book.Ladder(side);
        var result = new List<OrderView>();
        var cursor = ladder.FromBest();
        while (cursor.MoveNext())
        {
            for (var m = book.Levels[cursor.Level].Head; m != None; m = _orders[m].Next)
            {
                result.Add(ViewOf(ref _orders[m]));
            }
        }

        return result;
    }

    public TradingState GetTradingState(int instrumentId) => BookOf(instrumentId).State;

    /// <summary>Last traded price of an instrument (0 before the first trade, or for an unknown instrument).</summary>
    public long LastTradePrice(int instrumentId) =>
        _bookIndex.TryGetValue(new IntKey(instrumentId), out var index) ? _books[index].LastTradePriceTicks : 0;

    /// <summary><see cref="LastTradePrice"/> by book index.</summary>
    internal long LastTradePriceAt(int bookIndex) => _books[bookIndex].LastTradePriceTicks;

    /// <summary>True when an account has a live order with this client order id.</summary>
    public bool HasLiveClientOrderId(int accountId, long clientOrderId)
    {
        ReleaseFilledMakers();
        return _byClientOrderId.ContainsKey(new ClientOrderKey(accountId, clientOrderId));
    }

    public long ReferencePrice(int instrumentId) => BookOf(instrumentId).ReferencePriceTicks;

    public PriceBand Band(int instrumentId) => BookOf(instrumentId).Band;

    /// <summary>
    /// The limit of a liquidation order that must trade no worse than <paramref name="bankruptcyPriceTicks"/>:
    /// the bankruptcy price on the tick grid, rounded toward the account (a sell up, a buy down), and no
    /// further from the reference than the band's protection price. 0 when nothing at or better than
    /// bankruptcy lies inside the band (the book cannot take it there: the fund or ADL must).
    /// </summary>
    public long LiquidationLimit(int instrumentId, Side side, long bankruptcyPriceTicks)
    {
        var book = BookOf(instrumentId);
        var tick = book.TickSize;
        var bp = Math.Max(1, bankruptcyPriceTicks);
        var limit = side == Side.Sell ? (bp + tick - 1) / tick * tick : bp / tick * tick;
        if (limit <= 0)
        {
            return 0;
        }

        if (book.ReferencePriceTicks <= 0)
        {
            return limit;
        }

        var (low, high) = BandEdges(book);
        var protection = ProtectionPrice(book, side);
        limit = side == Side.Sell ? Math.Max(limit, protection) : Math.Min(limit, protection);
        return limit < low || limit > high ? 0 : limit;
    }

    /// <summary>The largest order quantity not above <paramref name="lots"/> the instrument accepts
    /// (on the lot grid, within the maximum quantity and, at <paramref name="priceTicks"/>, the maximum
    /// notional); 0 when below the minimum.</summary>
    public long OrderableLots(int instrumentId, long lots, long priceTicks)
    {
        var book = BookOf(instrumentId);
        var q = Math.Min(Math.Min(lots, book.MaxQuantity), book.MaxNotional / Math.Max(1, priceTicks));
        q -= q % book.LotSize;
        return q < Math.Max(1, book.MinQuantity) ? 0 : q;
    }

    /// <summary>Replaces an instrument's price band (a scheduled parameter change, applied by the risk layer).</summary>
    public void SetBand(int instrumentId, PriceBand band) => BookOf(instrumentId).Band = band;

    /// <summary>
    /// An account's resting orders on one instrument: how many (every order, for the open-order
    /// limit) and, per side, the remaining lots that can add exposure (reduce-only orders excluded:
    /// the book never lets them grow a position, so they carry no margin). Kept as orders rest, fill
    /// and leave: O(1), however many orders the account has.
    /// </summary>
    public int OpenQuantity(int accountId, int instrumentId, out long buyLots, out long sellLots)
    {
        if (!_bookIndex.TryGetValue(new IntKey(instrumentId), out var bookIndex))
        {
            (buyLots, sellLots) = (0, 0);
            return 0;
        }

        return OpenQuantityAt(AccountSlotOf(accountId), bookIndex, out buyLots, out sellLots);
    }

    /// <summary>The engine's slot of an account (-1: it never had an order here): several of its figures for one lookup.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal int AccountSlotOf(int accountId) => _accountIndex.TryGetValue(new IntKey(accountId), out var slot) ? slot : -1;

    /// <summary><see cref="OpenQuantity"/> by the account's slot (-1: none) and the instrument's index in the configuration.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal int OpenQuantityAt(int accountSlot, int bookIndex, out long buyLots, out long sellLots)
    {
        if (accountSlot < 0)
        {
            (buyLots, sellLots) = (0, 0);
            return 0;
        }

        var i = (accountSlot * _books.Length) + bookIndex;
        buyLots = _openLots[i << 1];
        sellLots = _openLots[(i << 1) + 1];
        return _openOrders[i];
    }

    /// <summary>The books account slot <paramref name="accountSlot"/> (-1: none) has orders resting on, a bit each (see <see cref="SetBits"/>).</summary>
    internal ReadOnlySpan<ulong> OpenBooksOf(int accountSlot) =>
        accountSlot < 0 ? default : _openBookMasks.AsSpan(accountSlot * _openBookWords, _openBookWords);

    /// <summary>Word <paramref name="w"/> of <see cref="OpenBooksOf"/> (0 for slot -1).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal ulong OpenBooksWord(int accountSlot, int w) => accountSlot < 0 ? 0 : _openBookMasks[(accountSlot * _openBookWords) + w];

    /// <summary>The reference price of the instrument at configuration index <paramref name="bookIndex"/>.</summary>
    internal long ReferencePriceAt(int bookIndex) => _books[bookIndex].ReferencePriceTicks;

    /// <summary>Levels the instrument's two ladders carried across their windows' edges as the windows moved (tests, diagnostics).</summary>
    internal long LevelsMovedAcrossWindows(int instrumentId) => BookOf(instrumentId).Bids.LevelsMoved + BookOf(instrumentId).Asks.LevelsMoved;

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
                var cursor = ladder.FromBest();
                while (cursor.MoveNext())
                {
                    ref var level = ref book.Levels[cursor.Level];
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
        ReleaseFilledMakers();
        var resting = 0;
        foreach (var book in _books)
        {
            foreach (var side in (ReadOnlySpan<Side>)[Side.Buy, Side.Sell])
            {
                var ladder = book.Ladder(side);
                long previousKey = long.MaxValue;
                var walked = 0;
                var cursor = ladder.FromBest();
                while (cursor.MoveNext())
                {
                    walked++;
                    ref var level = ref book.Levels[cursor.Level];
                    if (cursor.Key != OrderBook.KeyOf(side, level.PriceTicks) || !ladder.TryGet(cursor.Key, out var found) || found != cursor.Level)
                    {
                        return $"instrument {book.InstrumentId} {side}: ladder key {cursor.Key} does not lead to its level at {level.PriceTicks}";
                    }

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
                        if (o.Prev != prev || o.Level != cursor.Level || o.PriceTicks != level.PriceTicks || o.Side != side)
                        {
                            return $"order {o.OrderId}: broken level link";
                        }

                        if (o.FilledLots >= o.QtyLots || o.FilledLots < 0)
                        {
                            return $"order {o.OrderId}: resting with nothing left ({o.FilledLots}/{o.QtyLots})";
                        }

                        if (!_byOrderId.TryGetValue(o.OrderId, out var s) || s != m)
                        {
                            return $"order {o.OrderId}: missing from the order-id index";
                        }

                        if (o.ClientOrderId != 0 && (!_byClientOrderId.TryGetValue(new ClientOrderKey(o.AccountId, o.ClientOrderId), out s) || s != m))
                        {
                            return $"order {o.OrderId}: missing from the client-order-id index";
                        }

                        if (o.ClientOrderId != 0 && o.ClientIdHome != _byClientOrderId.HomeOf(new ClientOrderKey(o.AccountId, o.ClientOrderId)))
                        {
                            return $"order {o.OrderId}: keeps home {o.ClientIdHome} for its client order id, not the table's";
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

                if (walked != ladder.Count)
                {
                    return $"instrument {book.InstrumentId} {side}: walked {walked} levels of {ladder.Count}";
                }
            }
        }

        if (resting != _restingCount || _byOrderId.Count != resting || _freeOrderCount != _freeOrders.Length - resting)
        {
            return $"resting count {_restingCount} vs {resting} in books, {_byOrderId.Count} indexed, {_freeOrderCount} free";
        }

        var inAccounts = 0;
        var reduceOnlyInAccounts = 0;
        for (var a = 0; a < _accountCount; a++)
        {
            reduceOnlyInAccounts += _accounts[a].RestingReduceOnly;
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

            var reduceOnly = 0;
            for (var m = _accounts[a].Head; m != None; m = _orders[m].AccountNext)
            {
                reduceOnly += _orders[m].IsReduceOnly && _orders[m].Level != None ? 1 : 0;
            }

            if (reduceOnly != _accounts[a].RestingReduceOnly)
            {
                return $"account {_accounts[a].AccountId}: resting reduce-only count {_accounts[a].RestingReduceOnly}, actually {reduceOnly}";
            }

            for (var b = 0; b < _books.Length; b++)
            {
                long buy = 0, sell = 0;
                var count = 0;
                for (var m = _accounts[a].Head; m != None; m = _orders[m].AccountNext)
                {
                    ref var o = ref _orders[m];
                    if (o.BookIndex != b || o.Level == None) continue;
                    count++;
                    if (o.IsReduceOnly) continue;
                    if (o.Side == Side.Buy) buy += o.QtyLots - o.FilledLots;
                    else sell += o.QtyLots - o.FilledLots;
                }

                var i = (a * _books.Length) + b;
                if (_openLots[i << 1] != buy || _openLots[(i << 1) + 1] != sell || _openOrders[i] != count)
                {
                    return $"account {_accounts[a].AccountId} instrument {_books[b].InstrumentId}: open lots {_openLots[i << 1]}/{_openLots[(i << 1) + 1]} x {_openOrders[i]} orders kept, {buy}/{sell} x {count} resting";
                }

                if (((_openBookMasks[(a * _openBookWords) + (b >> 6)] >> (b & 63)) & 1) != (count > 0 ? 1UL : 0UL))
                {
                    return $"account {_accounts[a].AccountId} instrument {_books[b].InstrumentId}: open-books bit {(count > 0 ? "clear" : "set")} with {count} orders resting";
                }
            }

            inAccounts += n;
        }

        if (reduceOnlyInAccounts != _restingReduceOnlyCount)
        {
            return $"resting reduce-only count {_restingReduceOnlyCount} vs {reduceOnlyInAccounts} over the accounts";
        }

        return inAccounts != resting ? $"{inAccounts} orders in account lists vs {resting} resting" : null;
    }
}
