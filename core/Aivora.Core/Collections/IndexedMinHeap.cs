namespace Aivora.Core.Collections;

/// <summary>
/// Indexed binary min-heap of slots keyed by (key, tie-break): the minimum in O(1), insert,
/// remove-any and re-key in O(log n), and every slot at or below a bound in O(answers). Used for
/// GTD expiries (expiry, order id) and for positions by liquidation price. The tie-break keeps the
/// order deterministic. Capacity is fixed at construction; nothing is allocated afterwards, but for the scratch of
/// <see cref="CollectAtMost"/> the first time there are more answers than fit in an output longer than 256.
/// </summary>
public sealed class IndexedMinHeap
{
    private const int Absent = -1;

    private readonly long[] _keys;
    private readonly long[] _tieBreaks;
    private readonly int[] _slots;
    private readonly int[] _positionOfSlot;
    private int _count;

    // CollectAtMost's frontier when more answers than fit: nodes whose parent was taken, as a binary heap by (key, tie-break).
    private int[] _frontier = new int[257];

    public IndexedMinHeap(int slotCapacity)
    {
        _keys = new long[slotCapacity];
        _tieBreaks = new long[slotCapacity];
        _slots = new int[slotCapacity];
        _positionOfSlot = new int[slotCapacity];
        _positionOfSlot.AsSpan().Fill(Absent);
    }

    public int Count => _count;

    public long MinKey => _keys[0];

    public int MinSlot => _slots[0];

    public bool Contains(int slot) => _positionOfSlot[slot] != Absent;

    public void Insert(int slot, long key, long tieBreak)
    {
        var i = _count++;
        Place(i, key, tieBreak, slot);
        SiftUp(i);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Remove(int slot)
    {
        // Most calls find nothing to remove (the other side's heap, a band never drawn): that test is inlined at the caller.
        if (_positionOfSlot[slot] != Absent)
        {
            RemovePresent(slot);
        }
    }

    private void RemovePresent(int slot)
    {
        var i = _positionOfSlot[slot];
        _positionOfSlot[slot] = Absent;
        var last = --_count;
        if (i == last)
        {
            return;
        }

        var moved = _slots[last];
        Place(i, _keys[last], _tieBreaks[last], moved);
        SiftUp(i);
        SiftDown(_positionOfSlot[moved]);
    }

    /// <summary>Inserts or moves a slot to a new key.</summary>
    public void Upsert(int slot, long key, long tieBreak)
    {
        var i = _positionOfSlot[slot];
        if (i == Absent)
        {
            Insert(slot, key, tieBreak);
            return;
        }

        if (_keys[i] == key && _tieBreaks[i] == tieBreak)
        {
            return;   // unchanged (a re-key that found the same price): the heap is not touched
        }

        // Re-keyed in place: it moves up or down from where it is, never both.
        _keys[i] = key;
        _tieBreaks[i] = tieBreak;
        SiftUp(i);
        SiftDown(_positionOfSlot[slot]);
    }

    /// <summary>
    /// Writes the slots whose key is at most <paramref name="bound"/> into <paramref name="output"/>
    /// (as many as fit), in key order (ties by tie-break), and returns how many there are. Walks only the part
    /// of the tree at or below the bound: a node above it has no descendant below it. When there are more than fit,
    /// those written are the smallest (a liquidation cascade handles the positions furthest past their price first),
    /// whatever the order the entries were added in.
    /// </summary>
    public int CollectAtMost(long bound, Span<int> output)
    {
        var found = _count == 0 ? 0 : Collect(0, bound, output, 0);
        if (found > output.Length)
        {
            TakeSmallest(bound, output);
            return found;
        }

        // The walk visits the tree in its layout's order, which depends on history: put what fitted in key
        // order (then tie-break), so callers see the same ranking whatever order the entries were added in.
        var written = Math.Min(found, output.Length);
        for (var i = 1; i < written; i++)
        {
            var slot = output[i];
            var at = _positionOfSlot[slot];
            var j = i - 1;
            while (j >= 0 && Less(at, _positionOfSlot[output[j]]))
            {
                output[j + 1] = output[j];
                j--;
            }

            output[j + 1] = slot;
        }

        return found;
    }

    /// <summary>
    /// More slots at or below the bound than <paramref name="output"/> holds: the smallest, in order, taken best-first (the
    /// root, then each time the smallest node of a frontier that holds the children of every node taken). The walk that counted
    /// them wrote those its layout reached first, which depend on the heap's history. Out of line: a cascade's case.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void TakeSmallest(long bound, Span<int> output)
    {
        if (_frontier.Length < output.Length + 1)
        {
            _frontier = new int[output.Length + 1];   // each node taken adds at most two and removes one
        }

        var frontier = _frontier;
        frontier[0] = 0;   // the root: at or below the bound, as more than one slot is
        var size = 1;
        for (var taken = 0; taken < output.Length; taken++)
        {
            var node = frontier[0];
            output[taken] = _slots[node];
            frontier[0] = frontier[--size];
            FrontierDown(frontier, size, 0);
            for (var child = (2 * node) + 1; child <= (2 * node) + 2; child++)
            {
                if (child < _count && _keys[child] <= bound)
                {
                    frontier[size] = child;
                    FrontierUp(frontier, size++);
                }
            }
        }
    }

    private void FrontierUp(int[] frontier, int i)
    {
        while (i > 0 && Less(frontier[i], frontier[(i - 1) >> 1]))
        {
            (frontier[i], frontier[(i - 1) >> 1]) = (frontier[(i - 1) >> 1], frontier[i]);
            i = (i - 1) >> 1;
        }
    }

    private void FrontierDown(int[] frontier, int size, int i)
    {
        while (true)
        {
            var left = (2 * i) + 1;
            if (left >= size)
            {
                return;
            }

            var smallest = left + 1 < size && Less(frontier[left + 1], frontier[left]) ? left + 1 : left;
            if (!Less(frontier[smallest], frontier[i]))
            {
                return;
            }

            (frontier[i], frontier[smallest]) = (frontier[smallest], frontier[i]);
            i = smallest;
        }
    }

    private int Collect(int node, long bound, Span<int> output, int found)
    {
        if (node >= _count || _keys[node] > bound)
        {
            return found;
        }

        if (found < output.Length)
        {
            output[found] = _slots[node];
        }

        found++;
        found = Collect((2 * node) + 1, bound, output, found);
        return Collect((2 * node) + 2, bound, output, found);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private bool Less(int a, int b) =>
        _keys[a] < _keys[b] || (_keys[a] == _keys[b] && _tieBreaks[a] < _tieBreaks[b]);

    private void Place(int i, long key, long tieBreak, int slot)
    {
        _keys[i] = key;
        _tieBreaks[i] = tieBreak;
        _slots[i] = slot;
        _positionOfSlot[slot] = i;
    }

    private void Swap(int a, int b)
    {
        (long ea, long oa, int sa) = (_keys[a], _tieBreaks[a], _slots[a]);
        Place(a, _keys[b], _tieBreaks[b], _slots[b]);
        Place(b, ea, oa, sa);
    }

    private void SiftUp(int i)
    {
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (!Less(i, parent))
            {
                return;
            }

            Swap(i, parent);
            i = parent;
        }
    }

    private void SiftDown(int i)
    {
        while (true)
        {
            var left = (2 * i) + 1;
            if (left >= _count)
            {
                return;
            }

            var smallest = left + 1 < _count && Less(left + 1, left) ? left + 1 : left;
            if (!Less(smallest, i))
            {
                return;
            }

            Swap(i, smallest);
            i = smallest;
        }
    }
}
