using System.Runtime.CompilerServices;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Orders;

namespace Aivora.Core.Matching;

/// <summary>The matching loop, the FOK pre-check and what happens to an aggressor afterwards.</summary>
public sealed partial class MatchingEngine<TSink, TPositions>
    where TSink : struct, IEngineEventSink
    where TPositions : struct, IPositionKeeper
{

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsSelfTrade(ref OrderSlot taker, ref OrderSlot maker) =>
        maker.AccountId == taker.AccountId || (taker.StpGroup != 0 && maker.StpGroup == taker.StpGroup);

    /// <summary>
    /// Lots a reduce-only order may fill at <paramref name="priceTicks"/>: no more than closes its position, and no more than
    /// its margin scope can pay for (<see cref="IPositionKeeper.ReduceOnlyLotsCovered"/>); when none, the reason it stops,
    /// negated (-<see cref="CancelReason.ReduceOnly"/> or -<see cref="CancelReason.BankruptcyPrice"/>: no out parameter, whose
    /// address would pin a local of the matching loop to memory). Out of line: the loop's reduce-only branches are cold.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private long ReduceOnlyFill(ref OrderSlot o, int instrumentId, long priceTicks, bool isMaker)
    {
        var allowance = _positions.ReduceOnlyAllowance(o.AccountId, instrumentId, o.Side);
        if (allowance <= 0)
        {
            return -(long)CancelReason.ReduceOnly;
        }

        var covered = Math.Min(allowance, _positions.ReduceOnlyLotsCovered(o.AccountId, instrumentId, o.Side, priceTicks, isMaker));
        return covered > 0 ? covered : -(long)CancelReason.BankruptcyPrice;
    }

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
        var cursor = ladder.FromBest();
        while (cursor.MoveNext())
        {
            ref var level = ref book.Levels[cursor.Level];
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
                    // A reduce-only FOK must also be paid for: each lot costs at most what one at this, the worst price it
                    // reaches, costs, so the cover there is enough for all of it.
                    return (c.Flags & OrderFlags.ReduceOnly) == 0 || _positions.ReduceOnlyLotsCovered(c.AccountId, c.InstrumentId, c.Side, maker.PriceTicks, isMaker: false) >= c.QtyLots;
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
        var filledBefore = taker.FilledLots;

        // The best level found once a level (its key and index together); once emptied, removed by that key, which finds the
        // next best in the same step.
        var found = ladder.TryBest(out var bestKey, out var levelIndex);
        while (taker.QtyLots > taker.FilledLots && found && bestKey >= limitKey)
        {
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
                        OpenLotsChanged(ref maker, -fill);
                        EmitBookOrder(EventKind.BookOrderChanged, ref maker, instrumentId);
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
                    var allowance = ReduceOnlyFill(ref taker, instrumentId, maker.PriceTicks, isMaker: false);
                    if (allowance <= 0)
                    {
                        stop = (int)-allowance;
                        break;
                    }

                    fill = Math.Min(fill, allowance);
                }

                if (maker.IsReduceOnly)
                {
                    var allowance = ReduceOnlyFill(ref maker, instrumentId, maker.PriceTicks, isMaker: true);
                    if (allowance <= 0)
                    {
                        var next = maker.Next;
                        CancelWhileMatching(ref level, m, (CancelReason)(-allowance));
                        m = next;
                        continue;
                    }

                    fill = Math.Min(fill, allowance);
                }

                if (taker.FilledLots == filledBefore)
                {
                    NoteTraded(taker.AccountSlot);   // the command's first fill: the taker's account leads the traded list
                    BeginTradeEvents(instrumentId, ref taker);
                }

                maker.FilledLots += fill;
                taker.FilledLots += fill;
                level.TotalLots -= fill;
                OpenLotsChanged(ref maker, -fill);
                _positions.OnFill(taker.AccountId, instrumentId, taker.Side, maker.PriceTicks, fill, isMaker: false);
                _positions.OnFill(maker.AccountId, instrumentId, maker.Side, maker.PriceTicks, fill, isMaker: true);
                if (_restingReduceOnlyCount != 0 && _accounts[maker.AccountSlot].RestingReduceOnly != 0)
                {
                    // Only an account that rests reduce-only orders can need trimming after the command (TrimReduceOnly): during
                    // matching no maker's account gains one (the taker's might, by resting: it is noted above, whatever it rests).
                    // While no order on any book is reduce-only, the maker's account line is not read at all (its release, which
                    // reads it, comes later); the traded list stays short.
                    NoteTraded(maker.AccountSlot);
                }
                book.LastTradePriceTicks = maker.PriceTicks;
                EmitTrade(ref taker, ref maker, fill);

                // The trade is the maker's L3 event too: it carries what the maker has left (OtherRemainingLots), and at 0 the
                // order is off the book. No BookOrderChanged or BookOrderRemoved follows a fill (one event a fill, not two).
                if (maker.FilledLots == maker.QtyLots)
                {
                    var next = maker.Next;
                    UnlinkFilledHead(ref level, ref maker);
                    ReleaseLater(m, ref maker);
                    m = next;
                }

                // Else a partly filled maker stays in place. The same maker is visited again only when a reduce-only allowance
                // capped this fill.

                if (taker.FilledLots == taker.QtyLots)
                {
                    break;
                }
            }

            EmitLevel(book, oppositeSide, ref level);
            if (level.Count == 0)
            {
                book.FreeLevel(levelIndex);
                found = ladder.RemoveBestAndTryNext(bestKey, out bestKey, out levelIndex);
            }

            // A level left with orders is still the best (nothing in the loop touches the ladder): its key and index hold.

            if (stop != NotStopped)
            {
                break;
            }
        }

        if (taker.FilledLots != filledBefore)
        {
            NoteBookTraded(taker.BookIndex);
        }

        return stop;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void NoteBookTraded(int bookIndex)
    {
        if (!_bookTraded[bookIndex])
        {
            _bookTraded[bookIndex] = true;
            var tail = _tradedBookHead + _tradedBookCount;   // a ring of one slot a book: never full while a book is out of it
            _tradedBooks[tail >= _tradedBooks.Length ? tail - _tradedBooks.Length : tail] = bookIndex;
            _tradedBookCount++;
        }
    }

    /// <summary>Whether some book traded since it was last taken (<see cref="TryTakeTradedBook"/>).</summary>
    internal bool AnyBookTraded => _tradedBookCount != 0;

    /// <summary>
    /// The next book that traded since it was last taken, in order of first trade (false when none): the state machine looks
    /// at its last-price stops. A book traded again after it was taken comes back. Without a taker (the book alone) the queue
    /// just stays full: each book is in it once at most.
    /// </summary>
    internal bool TryTakeTradedBook(out int bookIndex)
    {
        if (_tradedBookCount == 0)
        {
            bookIndex = -1;
            return false;
        }

        bookIndex = _tradedBooks[_tradedBookHead];
        _tradedBookHead = _tradedBookHead + 1 == _tradedBooks.Length ? 0 : _tradedBookHead + 1;
        _tradedBookCount--;
        _bookTraded[bookIndex] = false;
        return true;
    }

    private void BeginTrades()
    {
        _tradedCount = 0;
        _stamp++;
    }

    private void NoteTraded(int accountSlot)
    {
        if (_tradedStamp[accountSlot] != _stamp)
        {
            _tradedStamp[accountSlot] = _stamp;
            _tradedAccounts[_tradedCount++] = accountSlot;
        }
    }

    /// <summary>
    /// After a command's fills: every account that traded (in order of first fill; a maker's account only if it rested
    /// reduce-only orders when it filled, see <see cref="Match"/>) has its resting reduce-only orders on this instrument cut
    /// back to what its position now allows, per side, least aggressive first (worst price, then newest): a shrinking
    /// position never leaves reduce-only orders that could only grow or flip it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]   // usually a loop over the taker's account alone, which rests no reduce-only order
    private void TrimReduceOnly(OrderBook book)
    {
        for (var t = 0; t < _tradedCount; t++)
        {
            var accountSlot = _tradedAccounts[t];
            if (_accounts[accountSlot].RestingReduceOnly == 0)
            {
                continue;
            }

            TrimSide(book, accountSlot, Side.Sell);
            TrimSide(book, accountSlot, Side.Buy);
        }
    }

    private void TrimSide(OrderBook book, int accountSlot, Side side)
    {
        var accountId = _accounts[accountSlot].AccountId;
        long resting = 0;
        for (var m = _accounts[accountSlot].Head; m != None; m = _orders[m].AccountNext)
        {
            ref var o = ref _orders[m];
            if (o.IsReduceOnly && o.Side == side && o.Level != None && _books[o.BookIndex] == book)
            {
                resting += o.QtyLots - o.FilledLots;
            }
        }

        var excess = resting - _positions.ReduceOnlyAllowance(accountId, book.InstrumentId, side);
        while (excess > 0)
        {
            // The least aggressive: furthest from the touch, and among equals the newest.
            var worst = None;
            for (var m = _accounts[accountSlot].Head; m != None; m = _orders[m].AccountNext)
            {
                ref var o = ref _orders[m];
                if (!o.IsReduceOnly || o.Side != side || o.Level == None || _books[o.BookIndex] != book)
                {
                    continue;
                }

                if (worst == None || OrderBook.KeyOf(side, o.PriceTicks) < OrderBook.KeyOf(side, _orders[worst].PriceTicks) ||
                    (o.PriceTicks == _orders[worst].PriceTicks && o.OrderId > _orders[worst].OrderId))
                {
                    worst = m;
                }
            }

            ref var trimmed = ref _orders[worst];
            var remaining = trimmed.QtyLots - trimmed.FilledLots;
            if (remaining <= excess)
            {
                excess -= remaining;
                CancelResting(worst, CancelReason.ReduceOnly);
                continue;
            }

            ref var level = ref book.Levels[trimmed.Level];
            trimmed.QtyLots -= excess;
            level.TotalLots -= excess;
            OpenLotsChanged(ref trimmed, -excess);
            excess = 0;
            EmitAmended(ref trimmed, keptPriority: true);
            EmitBookOrder(EventKind.BookOrderChanged, ref trimmed);
            EmitLevel(book, side, ref level);
        }
    }

    /// <summary>
    /// After matching: the aggressor is done, cancelled, or rests. <paramref name="indexed"/>: it is in the id tables already (an amended
    /// order re-entering at a new price); a new order is not (see <see cref="IndexOrder"/>): it is indexed if it rests, and
    /// otherwise only returns to the pool.
    /// </summary>
    private void FinishAggressor(OrderBook book, int slot, int stop, bool indexed)
    {
        ref var o = ref _orders[slot];
        if (stop != NotStopped)
        {
            EmitOrderEnd(ref o, EventKind.OrderCancelled, (CancelReason)stop);
            EndAggressor(slot, ref o, indexed);
            return;
        }

        if (o.FilledLots == o.QtyLots)
        {
            EndAggressor(slot, ref o, indexed);
            return;
        }

        if (!o.TimeInForce.CanRest())
        {
            EmitOrderEnd(ref o, EventKind.OrderCancelled, o.TimeInForce == TimeInForce.Fok ? CancelReason.FillOrKill : CancelReason.IocRemainder);
            EndAggressor(slot, ref o, indexed);
            return;
        }

        var ladder = book.Ladder(o.Side);
        var key = OrderBook.KeyOf(o.Side, o.PriceTicks);
        if (ladder.TryGet(key, out var levelIndex))
        {
        }
        else if (ladder.IsFull)
        {
            EmitOrderEnd(ref o, EventKind.OrderCancelled, CancelReason.Capacity);
            EndAggressor(slot, ref o, indexed);
            return;
        }
        else
        {
            levelIndex = book.AllocateLevel(o.PriceTicks);
            ladder.Add(key, levelIndex);
        }

        if (!indexed)
        {
            // A new order resting: it joins its account's list and the id tables now (see PlaceValidated).
            IndexOrder(slot, ref o);
            LinkToAccount(slot, ref o);
        }

        LinkAtTail(book, levelIndex, slot, ref o);
        EmitBookOrder(EventKind.BookOrderAdded, ref o);
        EmitLevel(book, o.Side, ref book.Levels[levelIndex]);
        if (o.TimeInForce == TimeInForce.Gtd && !_expiries.Contains(slot))
        {
            _expiries.Insert(slot, o.ExpiryNs, o.OrderId);
        }
    }
}
