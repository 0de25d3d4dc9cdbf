using System.Runtime.CompilerServices;
using Aivora.Core.Collections;
using Aivora.Core.Events;
using Aivora.Core.Orders;

namespace Aivora.Core.Matching;

/// <summary>Linking orders into levels and account lists, and returning them to the pool.</summary>
public sealed partial class MatchingEngine<TSink, TPositions>
    where TSink : struct, IEngineEventSink
    where TPositions : struct, IPositionKeeper
{

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
            book.Ladder(o.Side).Remove(OrderBook.KeyOf(o.Side, level.PriceTicks));

            book.FreeLevel(levelIndex);
        }
    }

    private void UnlinkFromLevel(ref PriceLevel level, ref OrderSlot o)
    {
        var prev = o.Prev;
        var next = o.Next;
        _orders[OrScratch(prev)].Next = next;
        level.Head = IfNone(prev, level.Head, next);
        _orders[OrScratch(next)].Prev = prev;
        level.Tail = IfNone(next, level.Tail, prev);
        level.TotalLots -= o.QtyLots - o.FilledLots;
        level.Count--;
        OpenLotsChanged(ref o, -(o.QtyLots - o.FilledLots));
        LeftItsLevel(ref o);
        o.Prev = None;
    }

    /// <summary>The counts an order leaving its level moves: its account's orders on the book (and the book's bit when none
    /// is left), its account's resting reduce-only orders, the engine's resting orders.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void LeftItsLevel(ref OrderSlot o)
    {
        var left = --_openOrders[OpenIndex(ref o)];
        SetBits.ClearWhen(_openBookMasks, o.AccountSlot * _openBookWords, o.BookIndex, left == 0);   // the book's bit, when none is left

        if (o.IsReduceOnly)
        {
            _accounts[o.AccountSlot].RestingReduceOnly--;
            _restingReduceOnlyCount--;
        }

        o.Level = None;
        o.Next = None;
        _restingCount--;
    }

    /// <summary>
    /// <see cref="UnlinkFromLevel"/> for the matching loop's filled maker: always the level's first order (the loop takes them
    /// in turn), with nothing left (its fills already took its lots off the level's total and its account's open lots).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void UnlinkFilledHead(ref PriceLevel level, ref OrderSlot o)
    {
        System.Diagnostics.Debug.Assert(o.Prev == None && o.FilledLots == o.QtyLots, "the filled maker is the level's head");
        var next = o.Next;
        level.Head = next;
        _orders[OrScratch(next)].Prev = None;
        level.Tail = IfNone(next, level.Tail, None);
        level.Count--;
        LeftItsLevel(ref o);
    }

    private void LinkAtTail(OrderBook book, int levelIndex, int slot, ref OrderSlot o)
    {
        ref var level = ref book.Levels[levelIndex];
        o.Level = levelIndex;
        o.Next = None;
        var tail = level.Tail;
        o.Prev = tail;
        _orders[OrScratch(tail)].Next = slot;
        level.Head = IfNone(tail, level.Head, slot);
        level.Tail = slot;
        level.TotalLots += o.QtyLots - o.FilledLots;
        level.Count++;
        OpenLotsChanged(ref o, o.QtyLots - o.FilledLots);
        _openOrders[OpenIndex(ref o)]++;
        SetBits.Set(_openBookMasks, o.AccountSlot * _openBookWords, o.BookIndex, true);   // set, whether it was or not
        _restingCount++;
        if (o.IsReduceOnly)
        {
            _accounts[o.AccountSlot].RestingReduceOnly++;
            _restingReduceOnlyCount++;
        }
    }

    /// <summary>The slot a link names, or <see cref="_scratchSlot"/> when it names none: without a branch (the JIT keeps the
    /// conditional forms as branches, inside loops and wherever an arm stores), so linking and unlinking never mispredict on
    /// whether a neighbour exists: on a flow where accounts rest one or two orders each, that goes either way.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int OrScratch(int link) => link + ((link >> 31) & (_scratchSlot - link));   // None is -1: link >> 31 is all ones

    /// <summary><paramref name="whenSome"/> when <paramref name="link"/> names a slot, <paramref name="whenNone"/> when it is
    /// <see cref="None"/>: without a branch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int IfNone(int link, int whenSome, int whenNone) => whenSome ^ ((whenSome ^ whenNone) & (link >> 31));

    private int OpenIndex(ref OrderSlot o) => (o.AccountSlot * _books.Length) + o.BookIndex;

    /// <summary>A resting order's remaining quantity moved by <paramref name="delta"/>: its account's open lots on that side follow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void OpenLotsChanged(ref OrderSlot o, long delta)
    {
        if (!o.IsReduceOnly)
        {
            _openLots[(OpenIndex(ref o) << 1) + (int)o.Side] += delta;
        }
    }

    private void LinkToAccount(int slot, ref OrderSlot o)
    {
        ref var account = ref _accounts[o.AccountSlot];
        o.AccountNext = None;
        var tail = account.Tail;
        o.AccountPrev = tail;
        _orders[OrScratch(tail)].AccountNext = slot;
        account.Head = IfNone(tail, account.Head, slot);
        account.Tail = slot;
        account.OpenOrders++;
    }

    /// <summary>
    /// Makes a resting order findable by its exchange and client order ids. An aggressor is indexed only when it rests:
    /// while it matches nothing looks it up by id (its own command is running), and most never rest (IOC, market, filled).
    /// </summary>
    private void IndexOrder(int slot, ref OrderSlot o)
    {
        // Cannot fail: the tables hold every slot, and the entry checks refused a client order id already live.
        _byOrderId.Add(o.OrderId, slot);
        if (o.ClientOrderId != 0)
        {
            var key = new ClientOrderKey(o.AccountId, o.ClientOrderId);
            o.ClientIdHome = ClientIdHomeOf(key);   // usually the command's prefetch hashed it already
            _byClientOrderId.TryAddFrom(o.ClientIdHome, key, slot);   // hashed once: the home is kept for the release
        }
    }

    /// <summary>An aggressor that does not rest: forgets its ids if it had them, and returns it to the pool.</summary>
    private void EndAggressor(int slot, ref OrderSlot o, bool indexed)
    {
        if (indexed)
        {
            Release(slot);
        }
        else
        {
            // A new order that never rested: in no account list, id table or expiry heap (FinishAggressor adds it to them
            // when it rests), so its slot just goes back.
            ReturnToPool(slot, ref o);
        }
    }

    /// <summary>Returns an order that rested (and is off the book now) to the pool: it forgets its ids and expiry and leaves
    /// its account's list.</summary>
    private void Release(int slot)
    {
        ref var o = ref _orders[slot];
        ForgetIds(slot, ref o);
        ForgetExpiry(slot, ref o);
        UnlinkFromAccountIntoPool(slot, ref o);
    }

    /// <summary>A release's first part: the order is no longer found by its exchange or client order id.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ForgetIds(int slot, ref OrderSlot o)
    {
        _byOrderId.Remove(o.OrderId, slot);
        if (o.ClientOrderId != 0)
        {
            _byClientOrderId.RemoveEntryFrom(o.ClientIdHome, slot);
        }
    }

    /// <summary>A GTD order leaves the expiry heap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ForgetExpiry(int slot, ref OrderSlot o)
    {
        if (o.TimeInForce == TimeInForce.Gtd)
        {
            _expiries.Remove(slot);
        }
    }

    /// <summary>The end of every release: the order leaves its account's list and its slot goes back to the pool.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void UnlinkFromAccountIntoPool(int slot, ref OrderSlot o)
    {
        ref var account = ref _accounts[o.AccountSlot];
        var prev = o.AccountPrev;
        var next = o.AccountNext;
        _orders[OrScratch(prev)].AccountNext = next;
        account.Head = IfNone(prev, account.Head, next);
        _orders[OrScratch(next)].AccountPrev = prev;
        account.Tail = IfNone(next, account.Tail, prev);

        account.OpenOrders--;
        ReturnToPool(slot, ref o);
    }

    /// <summary>The slot goes back to the pool, no longer an order (id 0): the last step of every release, and all there is
    /// to the end of a new order that never rested.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ReturnToPool(int slot, ref OrderSlot o)
    {
        o.OrderId = 0;
        _freeOrders[_freeOrderCount++] = slot;
    }

    /// <summary>
    /// A maker the matching loop filled, off its level and out of every count already: its release (both id tables, its
    /// account's list, the pool) waits until a way into the engine reads what it changes (<see cref="ReleaseFilledMakers"/>), so
    /// the sweep, and the events it sends, end before that work. Its expiry goes now: the expiry heap is read between
    /// commands (<see cref="NextExpiryNs"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ReleaseLater(int slot, ref OrderSlot o)
    {
        ForgetExpiry(slot, ref o);
        _filledMakers[_filledMakerCount++] = slot;
    }

    /// <summary>
    /// Releases the makers the last sweep filled (<see cref="ReleaseLater"/>), in the order they filled. Until then a filled
    /// maker is in no book, level or count, but still in its account's list and both id tables, and its slot is not in the
    /// pool. So every way into the engine that reads those calls this first: the command paths (<see cref="ProcessAtTime"/>,
    /// <see cref="PlaceValidated"/>, which takes a slot, and <see cref="ResolveOrder"/>: the state machine places fired stops,
    /// resolves amends and cancels after fills in the same command), the lookups by id and the invariant check. The walks of
    /// an account's list (<see cref="TrimReduceOnly"/>, <see cref="AccountOrders"/>) skip what is off the book (a new order
    /// joins the list only when it rests); the state hash walks the books. The node also calls this when a duty cycle finds
    /// no message (<see cref="Exchange.PerpStateMachine{TSink}.ReleaseFilledMakers"/>), after the sweep's reports went out.
    /// Changes nothing a hash, an event or a query shows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ReleaseFilledMakers()
    {
        if (_filledMakerCount != 0)
        {
            ReleaseFilledMakersNow();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReleaseFilledMakersNow()
    {
        for (var k = 0; k < _filledMakerCount; k++)
        {
            var slot = _filledMakers[k];
            ref var o = ref _orders[slot];
            ForgetIds(slot, ref o);
            UnlinkFromAccountIntoPool(slot, ref o);
        }

        _filledMakerCount = 0;
    }
}
