using System.Numerics;
using System.Runtime.CompilerServices;

namespace Aivora.Core.Collections;

/// <summary>
/// One side's price levels, every operation O(1) whatever the number of levels or their distance from
/// the best: a window of 2^16 consecutive keys direct-mapped to level indexes, with a three-level bitmap
/// of the occupied keys (1,024 words, 16 summary words, one top word) so the best key and the next key
/// down are found with three leading-zero counts. Keys are ascending "goodness" (bids: price, asks:
/// -price), so one rule serves both sides. The window is centred on the first key a ladder receives,
/// again whenever it empties, and on the best key once operations outside it outnumber the levels held
/// (the market moved away from an order still resting). Keys outside it (a price further than ±32,768
/// ticks from the centre) go to the overflow, a B+ tree (<see cref="LevelTree"/>): O(log n) in the
/// levels outside, whatever their distance, and counted in <see cref="OutsideWindow"/>.
/// <code>
///   key:   base ................ base + 65,535      (outside: overflow tree, best kept on the side)
///   l2:    1,024 x 64 bits: key occupied
///   l1:    16 x 64 bits: l2 word non-zero
///   l0:    16 bits: l1 word non-zero
/// </code>
/// </summary>
public sealed class PriceLadder
{
    public const int WindowBits = 16;
    private const int Window = 1 << WindowBits;

    private readonly int _capacity;
    private readonly int[] _levelPlusOne = new int[Window];   // 0: key not present
    private readonly ulong[] _l2 = new ulong[Window >> 6];
    private readonly ulong[] _l1 = new ulong[Window >> 12];
    private ulong _l0;
    private long _base;
    private int _windowCount;
    private readonly LevelTree _overflow;
    private const int MinOutsideBudget = 256;
    private int _outsideOperations;            // adds and removals outside the window since it last moved
    private readonly long[] _movingKeys;       // scratch for a window move: the window's levels
    private readonly int[] _movingLevels;

    public PriceLadder(int capacity)
    {
        _capacity = capacity;
        _overflow = new LevelTree(capacity);
        _movingKeys = new long[capacity];
        _movingLevels = new int[capacity];
    }

    /// <summary>Levels carried across the window's edge when it moved, either way (a diagnostic: the operations that led to
    /// each move pay for it, so this stays within a small multiple of the operations done).</summary>
    public long LevelsMoved { get; private set; }

    public int Count => _windowCount + _overflow.Count;

    public int Capacity => _capacity;

    public bool IsFull => Count == _capacity;

    /// <summary>Levels currently kept outside the window (far prices).</summary>
    public int OutsideWindow => _overflow.Count;

    /// <summary>Key of the best level; valid only when <see cref="Count"/> &gt; 0.</summary>
    public long BestKey
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (_overflow.Count != 0 && (_windowCount == 0 || _overflow.BestKey >= _base + Window))
            {
                return _overflow.BestKey;
            }

            return _base + Highest();
        }
    }

    /// <summary>Level index of the best level; valid only when <see cref="Count"/> &gt; 0.</summary>
    public int BestLevel
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (_overflow.Count != 0 && (_windowCount == 0 || _overflow.BestKey >= _base + Window))
            {
                return _overflow.BestLevel;
            }

            return _levelPlusOne[Highest()] - 1;
        }
    }

    /// <summary>The level index of <paramref name="key"/>, if the ladder holds it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGet(long key, out int level)
    {
        var offset = (ulong)(key - _base);
        if (offset < Window && _windowCount != 0)
        {
            level = _levelPlusOne[(int)offset] - 1;
            return level >= 0;
        }

        return TryGetOutside(key, out level);
    }

    private bool TryGetOutside(long key, out int level)
    {
        level = -1;
        return _overflow.Count != 0 && _overflow.TryGet(key, out level);
    }

    /// <summary>Adds a key the ladder does not hold. The caller checks <see cref="IsFull"/>.</summary>
    public void Add(long key, int level)
    {
        if (_windowCount == 0)
        {
            MoveWindow(key);   // an empty window centres on the key about to go in
        }

        var offset = (ulong)(key - _base);
        if (offset >= Window)
        {
            AddOutside(key, level);
            return;
        }

        PutInWindow(key, level);
    }

    // A level outside the window. Each add or removal out there counts toward moving the window: once they outnumber the
    // levels the ladder holds (at least MinOutsideBudget) and the best level is outside the window, the window moves to centre
    // on the best, where the book is busy (a market that drifted away from an old resting order, which would otherwise pin
    // the window where the market was). A move costs O(levels in the window + levels crossing its edge × log n), at most
    // O(levels held × log n), O(levels held) when the whole overflow comes in, and the operations counted pay for it, so
    // alternating near and far orders cannot make it run often. It is the one operation here whose cost is not bounded per
    // call: amortized over the calls before it.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AddOutside(long key, int level)
    {
        _overflow.Add(key, level);
        if (++_outsideOperations > Math.Max(Count, MinOutsideBudget))
        {
            var best = BestKey;
            if ((ulong)(best - _base) >= Window)
            {
                MoveWindow(best);
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RemoveOutside(long key)
    {
        _overflow.Remove(key);
        _outsideOperations++;
    }

    // Centres the window on the key: the window's levels that fall outside the new window go to the overflow, and the
    // overflow's levels inside it come in, so the overflow only ever holds keys outside the window (what TryGet and Remove
    // rely on). The window's levels are each visited; of the overflow's, only those coming in.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void MoveWindow(long centre)
    {
        var moved = 0;
        if (_windowCount != 0)
        {
            for (var i = Highest(); i >= 0; i = Below(i))
            {
                _movingKeys[moved] = _base + i;
                _movingLevels[moved++] = _levelPlusOne[i] - 1;
            }

            for (var m = 0; m < moved; m++)   // the bitmaps are read by the walk above: cleared after it
            {
                var i = (int)(_movingKeys[m] - _base);
                _levelPlusOne[i] = 0;
                _l2[i >> 6] = 0;
                _l1[i >> 12] = 0;
            }

            _l0 = 0;
            _windowCount = 0;
        }

        _base = centre - (Window / 2);
        var pulled = 0;
        if (_overflow.Count != 0 && _overflow.LowestKey >= _base && _overflow.BestKey - _base < Window)
        {
            // The whole overflow comes in (a market that drifted: the busy levels were all out there): taken leaf by leaf
            // and the tree emptied at once, instead of one removal each.
            pulled = _overflow.CopyTo(_movingKeys, _movingLevels, moved);
            _overflow.Clear();
        }

        for (var m = moved; m < moved + pulled; m++)
        {
            PutInWindow(_movingKeys[m], _movingLevels[m]);
        }

        LevelsMoved += pulled;
        for (var m = 0; m < moved; m++)
        {
            var key = _movingKeys[m];
            if ((ulong)(key - _base) < Window)
            {
                PutInWindow(key, _movingLevels[m]);
            }
            else
            {
                _overflow.Add(key, _movingLevels[m]);
                LevelsMoved++;
            }
        }

        var below = _base + Window;
        while (_overflow.TryBelow(below, out var k, out var level) && k >= _base)
        {
            _overflow.Remove(k);
            PutInWindow(k, level);
            LevelsMoved++;
            below = k;
        }

        _outsideOperations = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PutInWindow(long key, int level)
    {
        var i = (int)(key - _base);
        _levelPlusOne[i] = level + 1;
        _l2[i >> 6] |= 1UL << (i & 63);
        _l1[i >> 12] |= 1UL << ((i >> 6) & 63);
        _l0 |= 1UL << (i >> 12);
        _windowCount++;
    }

    /// <summary>Removes a key the ladder holds.</summary>
    public void Remove(long key)
    {
        var offset = (ulong)(key - _base);
        if (offset >= Window || _windowCount == 0)
        {
            RemoveOutside(key);
            return;
        }

        var i = (int)offset;
        _levelPlusOne[i] = 0;
        ref var w2 = ref _l2[i >> 6];
        w2 &= ~(1UL << (i & 63));
        if (w2 == 0)
        {
            ref var w1 = ref _l1[i >> 12];
            w1 &= ~(1UL << ((i >> 6) & 63));
            if (w1 == 0)
            {
                _l0 &= ~(1UL << (i >> 12));
            }
        }

        _windowCount--;
    }

    public void RemoveBest() => Remove(BestKey);

    /// <summary>The levels from the best down: above-window overflow, the window, below-window overflow.</summary>
    public Cursor FromBest() => new(this);

    // Highest occupied window offset (the window is not empty).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Highest()
    {
        var h0 = 63 - BitOperations.LeadingZeroCount(_l0);
        var h1 = (h0 << 6) + 63 - BitOperations.LeadingZeroCount(_l1[h0]);
        return (h1 << 6) + 63 - BitOperations.LeadingZeroCount(_l2[h1]);
    }

    // Highest occupied window offset below i, or -1.
    private int Below(int i)
    {
        var word = i >> 6;
        var bits = _l2[word] & ((1UL << (i & 63)) - 1);
        if (bits != 0)
        {
            return (word << 6) + 63 - BitOperations.LeadingZeroCount(bits);
        }

        var summary = word >> 6;
        var words = _l1[summary] & ((1UL << (word & 63)) - 1);
        if (words == 0)
        {
            var tops = _l0 & ((1UL << summary) - 1);
            if (tops == 0)
            {
                return -1;
            }

            summary = 63 - BitOperations.LeadingZeroCount(tops);
            words = _l1[summary];
        }

        word = (summary << 6) + 63 - BitOperations.LeadingZeroCount(words);
        return (word << 6) + 63 - BitOperations.LeadingZeroCount(_l2[word]);
    }

    /// <summary>Walks the levels from the best down, allocation-free: <c>while (c.MoveNext()) use(c.Level)</c>. Each step
    /// is O(1) in the window and O(log n) in the overflow; removing the level just returned does not disturb the walk.</summary>
    public struct Cursor(PriceLadder ladder)
    {
        private int _phase;        // 0: overflow above the window, 1: window, 2: overflow below, 3: done
        private bool _started;
        private int _window;
        private bool _hasNext;     // phases 0 and 2: the next overflow key, found ahead
        private long _nextKey;
        private int _nextLevel;

        public int Level { get; private set; }

        public long Key { get; private set; }

        public bool MoveNext()
        {
            var overflow = ladder._overflow;
            while (true)
            {
                switch (_phase)
                {
                    case 0:
                        if (!_started)
                        {
                            _started = true;
                            _hasNext = overflow.Count != 0;
                            if (_hasNext)
                            {
                                _nextKey = overflow.BestKey;
                                _nextLevel = overflow.BestLevel;
                            }
                        }

                        if (_hasNext && (ladder._windowCount == 0 || _nextKey >= ladder._base + Window))
                        {
                            return TakeNextOutside(overflow);
                        }

                        // What is left of the overflow is below the window: the walk goes on there after the window.
                        _phase = ladder._windowCount == 0 ? 2 : 1;
                        _window = -2;
                        continue;
                    case 1:
                        _window = _window == -2 ? ladder.Highest() : ladder.Below(_window);
                        if (_window >= 0)
                        {
                            return Take(ladder._base + _window, ladder._levelPlusOne[_window] - 1);
                        }

                        _phase = 2;
                        continue;
                    case 2:
                        if (_hasNext)
                        {
                            return TakeNextOutside(overflow);
                        }

                        _phase = 3;
                        continue;
                    default:
                        return false;
                }
            }
        }

        private bool TakeNextOutside(LevelTree overflow)
        {
            Take(_nextKey, _nextLevel);
            _hasNext = overflow.TryBelow(Key, out _nextKey, out _nextLevel);
            return true;
        }

        private bool Take(long key, int level)
        {
            Key = key;
            Level = level;
            return true;
        }
    }
}
