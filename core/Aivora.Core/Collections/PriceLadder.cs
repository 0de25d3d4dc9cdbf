using System.Runtime.CompilerServices;

namespace Aivora.Core.Collections;

/// <summary>
/// One side's price levels as a sorted array with the best level at the end: activity clusters
/// at the touch, so inserting or removing near the top moves few elements, and removing the best
/// level is O(1). Keys are ascending "goodness": the price itself for bids, the negated price for
/// asks, so one comparison rule serves both sides. A parallel array holds each key's level index.
/// </summary>
public sealed class PriceLadder
{
    private readonly long[] _keys;
    private readonly int[] _levels;
    private int _count;

    public PriceLadder(int capacity)
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

    /// <summary>Level at position <paramref name="fromBest"/> counting from the best (0).</summary>
    public int LevelAt(int fromBest) => _levels[_count - 1 - fromBest];

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

    public void RemoveBest() => _count--;
}
