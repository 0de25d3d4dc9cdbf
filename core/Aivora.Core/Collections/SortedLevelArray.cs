using System.Runtime.CompilerServices;

namespace Aivora.Core.Collections;

/// <summary>
/// Price levels as a sorted array with the best level at the end: inserting or removing near the top
/// moves few elements, removing the best is O(1), but an insert or removal d levels from the best moves
/// d entries. <see cref="PriceLadder"/> keeps its levels in a bitmap window and uses this only for the
/// (rare) prices outside the window. Keys are ascending "goodness" (bids: price, asks: -price).
/// </summary>
public sealed class SortedLevelArray
{
    private readonly long[] _keys;
    private readonly int[] _levels;
    private int _count;

    public SortedLevelArray(int capacity)
    {
        _keys = new long[capacity];
        _levels = new int[capacity];
    }

    public int Count => _count;

    public int Capacity => _keys.Length;

    public bool IsFull => _count == _keys.Length;

    /// <summary>Key of the best level; valid only when <see cref="Count"/> &gt; 0.</summary>
    public long BestKey => _keys[_count - 1];

    public int BestLevel => _levels[_count - 1];


    /// <summary>Index of the key, or the bitwise complement of where it would be inserted.
    /// Scans the top levels linearly first (most lookups land near the touch), then bisects the rest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(long key)
    {
        var keys = _keys;
        var stop = Math.Max(0, _count - 8);
        for (var i = _count - 1; i >= stop; i--)
        {
            var k = keys[i];
            if (k == key)
            {
                return i;
            }

            if (k < key)
            {
                return ~(i + 1);
            }
        }

        return BinarySearch(keys, stop - 1, key);
    }

    private static int BinarySearch(long[] keys, int hi, long key)
    {
        var lo = 0;
        while (lo <= hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            var k = keys[mid];
            if (k == key)
            {
                return mid;
            }

            if (k < key)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return ~lo;
    }

    public int LevelAtIndex(int index) => _levels[index];

    public long KeyAtIndex(int index) => _keys[index];

    /// <summary>Inserts at the position <see cref="Find"/> reported (complemented). Caller checks capacity.</summary>
    public void InsertAt(int index, long key, int level)
    {
        var tail = _count - index;
        if (tail > 0)
        {
            Array.Copy(_keys, index, _keys, index + 1, tail);
            Array.Copy(_levels, index, _levels, index + 1, tail);
        }

        _keys[index] = key;
        _levels[index] = level;
        _count++;
    }

    public void RemoveAt(int index)
    {
        var tail = _count - index - 1;
        if (tail > 0)
        {
            Array.Copy(_keys, index + 1, _keys, index, tail);
            Array.Copy(_levels, index + 1, _levels, index, tail);
        }

        _count--;
    }

}
