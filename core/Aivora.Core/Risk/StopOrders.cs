using Aivora.Core.Collections;
using Aivora.Core.Commands;
using Aivora.Core.Orders;

namespace Aivora.Core.Risk;

/// <summary>A stop or take-profit order held outside the book.</summary>
public struct HeldStop
{
    public long StopId;
    public long ClientOrderId;
    public long LimitPriceTicks;
    public long QtyLots;
    public long TriggerPriceTicks;
    public int AccountId;
    public int InstrumentId;
    public int InstrumentIndex;
    public Side Side;
    public OrderType Type;
    public TimeInForce TimeInForce;
    public OrderFlags Flags;
    public TriggerSource Source;
    public bool Live;

    /// <summary>Trailing stops: the callback (ticks, or basis points of the anchor) and the best mark since placement.</summary>
    public long CallbackTicks;
    public long CallbackBps;
    public long AnchorTicks;

    public readonly bool Trailing => Type == OrderType.TrailingStopMarket;

    /// <summary>A trailing stop's trigger for its anchor: the callback below it (sell) or above it (buy); bps round toward the anchor.</summary>
    public readonly long TrailingTrigger(long anchorTicks)
    {
        var distance = CallbackTicks > 0 ? CallbackTicks : (long)((Int128)anchorTicks * CallbackBps / 10_000);
        return Side == Side.Sell ? anchorTicks - distance : anchorTicks + distance;
    }

    /// <summary>The order it becomes when it fires.</summary>
    public readonly EngineCommand ToOrder(long nowNs) => EngineCommand.Place(
        nowNs, AccountId, InstrumentId, ClientOrderId, Side, Type.WhenTriggered(),
        Type.WhenTriggered() == OrderType.Market && TimeInForce.CanRest() ? TimeInForce.Ioc : TimeInForce,
        Type.WhenTriggered() == OrderType.Market ? 0 : LimitPriceTicks, QtyLots, Flags);
}

/// <summary>
/// Stop and take-profit orders waiting for their trigger. Per instrument and watched price, two
/// indexed heaps: orders that fire when the price rises to their trigger (keyed by trigger) and
/// orders that fire when it falls to it (keyed by −trigger); a price update collects exactly the
/// orders it crosses. Pre-allocated; a full table is a reject.
/// </summary>
public sealed class StopOrders
{
    private const int Sources = 3;

    private readonly HeldStop[] _stops;
    private readonly int[] _free;
    private readonly IndexedMinHeap[] _rising;
    private readonly IndexedMinHeap[] _falling;
    private readonly OpenHashMap<ClientOrderKey> _byClientOrderId;
    private readonly int[] _trailing;
    private readonly int[] _trailingAt;
    private int _trailingCount;

    // The held stops' slots, densely (swap-removed): a mass cancel visits these, not the whole table.
    private readonly int[] _live;
    private readonly int[] _liveAt;
    private readonly long[] _stopIdScratch;   // SortByStopId's keys
    private int _freeCount;
    private long _nextStopId = 1;

    public StopOrders(int maxStops, int instruments)
    {
        _stops = new HeldStop[maxStops];
        _free = new int[maxStops];
        for (var i = 0; i < maxStops; i++)
        {
            _free[i] = maxStops - 1 - i;
        }

        _freeCount = maxStops;
        _rising = new IndexedMinHeap[instruments * Sources];
        _falling = new IndexedMinHeap[instruments * Sources];
        for (var i = 0; i < _rising.Length; i++)
        {
            _rising[i] = new IndexedMinHeap(maxStops);
            _falling[i] = new IndexedMinHeap(maxStops);
        }

        _byClientOrderId = new OpenHashMap<ClientOrderKey>(maxStops);
        _trailing = new int[maxStops];
        _trailingAt = new int[maxStops];
        _live = new int[maxStops];
        _liveAt = new int[maxStops];
        _stopIdScratch = new long[maxStops];
    }

    /// <summary>The slots of the stops held now, in no particular order (O(held), not O(capacity)).</summary>
    public ReadOnlySpan<int> LiveSlots => _live.AsSpan(0, Count);

    public int Count => _stops.Length - _freeCount;

    public int Capacity => _stops.Length;

    public ref HeldStop this[int slot] => ref _stops[slot];

    public bool Contains(int accountId, long clientOrderId) => _byClientOrderId.ContainsKey(new ClientOrderKey(accountId, clientOrderId));

    /// <summary>Holds an order; false when full. Returns its stop id.</summary>
    public bool TryAdd(in EngineCommand c, int instrumentIndex, out long stopId, long anchorTicks = 0)
    {
        stopId = 0;
        if (_freeCount == 0)
        {
            return false;
        }

        var slot = _free[--_freeCount];
        stopId = _nextStopId++;
        _stops[slot] = new HeldStop
        {
            StopId = stopId,
            ClientOrderId = c.ClientOrderId,
            LimitPriceTicks = c.PriceTicks,
            QtyLots = c.QtyLots,
            TriggerPriceTicks = c.TriggerPriceTicks,
            AccountId = c.AccountId,
            InstrumentId = c.InstrumentId,
            InstrumentIndex = instrumentIndex,
            Side = c.Side,
            Type = c.Type,
            TimeInForce = c.TimeInForce,
            Flags = c.Flags,
            Source = c.TriggerSource,
            Live = true,
            CallbackTicks = c.CallbackTicks,
            CallbackBps = c.CallbackBps,
            AnchorTicks = c.Type == OrderType.TrailingStopMarket ? anchorTicks : 0,
        };
        if (c.Type == OrderType.TrailingStopMarket)
        {
            _stops[slot].TriggerPriceTicks = _stops[slot].TrailingTrigger(anchorTicks);
            _trailingAt[slot] = _trailingCount;
            _trailing[_trailingCount++] = slot;
        }

        _liveAt[slot] = Count - 1;
        _live[Count - 1] = slot;
        var trigger = _stops[slot].TriggerPriceTicks;
        _byClientOrderId.TryAdd(new ClientOrderKey(c.AccountId, c.ClientOrderId), slot);
        var heap = HeapIndex(instrumentIndex, c.TriggerSource);
        if (c.Type.FiresOnRise(c.Side))
        {
            _rising[heap].Insert(slot, trigger, stopId);
        }
        else
        {
            _falling[heap].Insert(slot, -trigger, stopId);
        }

        return true;
    }

    /// <summary>Trailing stops held, all instruments together.</summary>
    public int TrailingCount => _trailingCount;

    /// <summary>
    /// A new mark on an instrument: every trailing stop there whose anchor it betters (higher for a sell, lower for
    /// a buy) follows it, and its trigger is re-keyed. Visits the trailing stops only (at most the stop capacity).
    /// </summary>
    public void Trail(int instrumentIndex, long markTicks)
    {
        for (var k = 0; k < _trailingCount; k++)
        {
            var slot = _trailing[k];
            ref var stop = ref _stops[slot];
            if (stop.InstrumentIndex != instrumentIndex || (stop.Side == Side.Sell ? markTicks <= stop.AnchorTicks : markTicks >= stop.AnchorTicks))
            {
                continue;
            }

            stop.AnchorTicks = markTicks;
            stop.TriggerPriceTicks = stop.TrailingTrigger(markTicks);
            var heap = HeapIndex(instrumentIndex, stop.Source);
            if (stop.Side == Side.Buy)
            {
                _rising[heap].Upsert(slot, stop.TriggerPriceTicks, stop.StopId);
            }
            else
            {
                _falling[heap].Upsert(slot, -stop.TriggerPriceTicks, stop.StopId);
            }
        }
    }

    /// <summary>Finds a held stop by the account's client order id (-1 when none).</summary>
    public int Find(int accountId, long clientOrderId) =>
        _byClientOrderId.TryGetValue(new ClientOrderKey(accountId, clientOrderId), out var slot) ? slot : -1;

    public void Remove(int slot)
    {
        ref var stop = ref _stops[slot];
        if (!stop.Live)
        {
            return;
        }

        var heap = HeapIndex(stop.InstrumentIndex, stop.Source);
        _rising[heap].Remove(slot);
        _falling[heap].Remove(slot);
        _byClientOrderId.Remove(new ClientOrderKey(stop.AccountId, stop.ClientOrderId));
        if (stop.Trailing)
        {
            var at = _trailingAt[slot];
            var last = _trailing[--_trailingCount];
            _trailing[at] = last;
            _trailingAt[last] = at;
        }

        var liveAt = _liveAt[slot];
        var lastLive = _live[Count - 1];
        _live[liveAt] = lastLive;
        _liveAt[lastLive] = liveAt;
        stop.Live = false;
        _free[_freeCount++] = slot;
    }

    /// <summary>
    /// Writes the slots of the stops a price crosses (as many as fit), ordered by stop id (time
    /// priority: the deterministic firing order), and returns how many were written.
    /// </summary>
    public int CollectCrossed(int instrumentIndex, TriggerSource source, long priceTicks, Span<int> slots)
    {
        var heap = HeapIndex(instrumentIndex, source);
        var rising = Math.Min(_rising[heap].CollectAtMost(priceTicks, slots), slots.Length);
        var falling = Math.Min(_falling[heap].CollectAtMost(-priceTicks, slots[rising..]), slots.Length - rising);
        var found = slots[..(rising + falling)];
        SortByStopId(found);
        return found.Length;
    }

    /// <summary>Orders held stops' slots by stop id (time priority: the order stops fire and are mass-cancelled in).</summary>
    public void SortByStopId(Span<int> slots)
    {
        var ids = _stopIdScratch.AsSpan(0, slots.Length);
        for (var k = 0; k < slots.Length; k++)
        {
            ids[k] = _stops[slots[k]].StopId;
        }

        ids.Sort(slots);
    }

    private static int HeapIndex(int instrumentIndex, TriggerSource source) => (instrumentIndex * Sources) + (int)source;
}
