namespace Aivora.Core.Collections;

/// <summary>
/// Indexed binary min-heap of order slots keyed by (expiry, order id): the next GTD order to
/// expire in O(1), insert and remove-any in O(log n). The order id breaks ties so expiry order is
/// deterministic. Capacity is the order pool's size; nothing is allocated after construction.
/// </summary>
public sealed class ExpiryHeap
{
    private const int Absent = -1;

    private readonly long[] _expiryNs;
    private readonly long[] _orderIds;
    private readonly int[] _slots;
    private readonly int[] _positionOfSlot;
    private int _count;

    public ExpiryHeap(int slotCapacity)
    {
        _expiryNs = new long[slotCapacity];
        _orderIds = new long[slotCapacity];
        _slots = new int[slotCapacity];
        _positionOfSlot = new int[slotCapacity];
        _positionOfSlot.AsSpan().Fill(Absent);
    }

    public int Count => _count;

    public long MinExpiryNs => _expiryNs[0];

    public int MinSlot => _slots[0];

    public bool Contains(int slot) => _positionOfSlot[slot] != Absent;

    public void Insert(int slot, long expiryNs, long orderId)
    {
        var i = _count++;
        Place(i, expiryNs, orderId, slot);
        SiftUp(i);
    }

    public void Remove(int slot)
    {
        var i = _positionOfSlot[slot];
        if (i == Absent)
        {
            return;
        }

        _positionOfSlot[slot] = Absent;
        var last = --_count;
        if (i == last)
        {
            return;
        }

        var moved = _slots[last];
        Place(i, _expiryNs[last], _orderIds[last], moved);
        SiftUp(i);
        SiftDown(_positionOfSlot[moved]);
    }

    private bool Less(int a, int b) =>
        _expiryNs[a] < _expiryNs[b] || (_expiryNs[a] == _expiryNs[b] && _orderIds[a] < _orderIds[b]);

    private void Place(int i, long expiryNs, long orderId, int slot)
    {
        _expiryNs[i] = expiryNs;
        _orderIds[i] = orderId;
        _slots[i] = slot;
        _positionOfSlot[slot] = i;
    }

    private void Swap(int a, int b)
    {
        (long ea, long oa, int sa) = (_expiryNs[a], _orderIds[a], _slots[a]);
        Place(a, _expiryNs[b], _orderIds[b], _slots[b]);
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
