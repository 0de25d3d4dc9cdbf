using System.Numerics;
using System.Runtime.CompilerServices;
using Aivora.Core.Collections;

namespace Aivora.Core.Matching;

/// <summary>
/// Exchange order id → the slot of the resting order that has it. The engine issues order ids in sequence, so an id picks
/// its cell directly: the id's low bits, in a ring of at least twice the slots. No hash and no probing: adding an order
/// writes its cell, removing it clears the cell (a store, nothing read), and a lookup reads the cell and checks the id in
/// the slot it names (which the caller reads next anyway).
/// <code>
///   cells: a ring of R = 2^k slot numbers (-1: none)      displaced: OpenHashMap, id → slot
///   ┌────┬────┬────┬─────┬────┐                          ┌────────────────────────────────┐
///   │ 17 │ -1 │  4 │ ... │ 9  │   id n → cell n &amp; (R − 1)  │ orders still resting when the  │
///   └────┴────┴────┴─────┴────┘                          │ id R (2R, ...) after their own │
///     a cell names a slot; the slot's OrderId must be n    │ took their cell                │
///                                                        └────────────────────────────────┘
/// </code>
/// An order still resting when the id R (or 2R, ...) after its own is added gives its cell up and moves to the displaced
/// table, where it is found and removed from then on; ids below <see cref="_displacedBelow"/> may be there. Live orders
/// are never more than the slots, so the ring wraps onto a resting order only where one outlives R more ids: the table
/// holds the few long-lived ones (an order placed once and never touched), not the churn. Sized once, allocates nothing
/// afterwards.
/// </summary>
internal sealed class OrderIdIndex
{
    private const int Empty = -1;

    private readonly int[] _cells;
    private readonly int _mask;
    private readonly OrderSlot[] _orders;
    private readonly OpenHashMap<OrderIdKey> _displaced;

    /// <summary>One past the highest id ever displaced: no id at or above it is in <see cref="_displaced"/>.</summary>
    private long _displacedBelow;
    private int _count;

    /// <param name="orders">The engine's order slots: a lookup checks the id in the slot a cell names.</param>
    /// <param name="cells">Cells in the ring (rounded up to a power of two; 0: twice the slots). Tests pass a few to make the ring wrap.</param>
    public OrderIdIndex(OrderSlot[] orders, int cells = 0)
    {
        _orders = orders;
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, cells > 0 ? cells : 2 * orders.Length));
        _cells = new int[size];
        _cells.AsSpan().Fill(Empty);
        _mask = size - 1;
        _displaced = new OpenHashMap<OrderIdKey>(orders.Length);
    }

    /// <summary>Orders indexed.</summary>
    public int Count => _count;

    /// <summary>Orders indexed in the displaced table (their cell taken by a later id).</summary>
    public int DisplacedCount => _displaced.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int CellOf(long orderId) => (int)orderId & _mask;

    /// <summary>
    /// Indexes a resting order that is not indexed yet. Its id must be above every id still indexed in the ring (the engine
    /// indexes an order once, when it first rests, and issues ids in sequence).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(long orderId, int slot)
    {
        ref var cell = ref _cells[CellOf(orderId)];
        System.Diagnostics.Debug.Assert(cell != slot, "a cell names only an indexed order, and the order being indexed is not one yet");
        if (cell != Empty)
        {
            Displace(cell);
        }

        cell = slot;
        _count++;
    }

    /// <summary>The order in <paramref name="slot"/> rests still and its cell is wanted by an id one ring (or more) later.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Displace(int slot)
    {
        var orderId = _orders[slot].OrderId;
        _displaced.TryAdd(new OrderIdKey(orderId), slot);   // cannot fail: it holds as many as there are slots
        _displacedBelow = Math.Max(_displacedBelow, orderId + 1);
    }

    /// <summary>The slot of the indexed order with this id; false when none is (never issued, ended, or not resting).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetValue(long orderId, out int slot)
    {
        slot = _cells[CellOf(orderId)];
        if (slot != Empty && _orders[slot].OrderId == orderId)
        {
            return true;
        }

        if (orderId < _displacedBelow && _displaced.Count != 0)
        {
            return _displaced.TryGetValue(new OrderIdKey(orderId), out slot);
        }

        slot = Empty;
        return false;
    }

    /// <summary>Forgets an indexed order (before its slot is reused): its cell is cleared without being read, unless the
    /// order had been displaced, when the cell belongs to a later id.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Remove(long orderId, int slot)
    {
        _count--;
        if (orderId < _displacedBelow && _displaced.Count != 0 && _displaced.RemoveEntry(new OrderIdKey(orderId), slot))
        {
            return;
        }

        _cells[CellOf(orderId)] = Empty;
    }

    /// <summary>Starts loading the id's cell into cache, for a lookup soon after (see <see cref="CachePrefetch"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(long orderId) => CachePrefetch.Line(ref _cells[CellOf(orderId)]);
}
