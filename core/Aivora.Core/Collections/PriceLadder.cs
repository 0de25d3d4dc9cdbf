using System.Numerics;
using System.Runtime.CompilerServices;

namespace Aivora.Core.Collections;

/// <summary>
/// One side's price levels, every operation bounded whatever the number of levels or their distance from the best: a
/// window of 2^16 consecutive keys direct-mapped to level indexes, with a three-level bitmap of the occupied keys (1,024
/// words, 16 summary words, one top word) so the best key and the next key down are found with three leading-zero counts.
/// Keys are ascending "goodness" (bids: price, asks: -price), so one rule serves both sides. Keys outside the window (a
/// price further than ±32,768 ticks from its centre) go to the overflow, a B+ tree (<see cref="LevelTree"/>): O(log n) in
/// the levels there, whatever their distance.
/// <para>
/// The window follows the market without a pause. It centres on the first key a ladder receives, and again on the next
/// key added whenever it is empty. Once operations outside it outnumber the levels held (at least 256) and the best key is
/// outside it, it moves to centre on the best, in O(1): a second window of the same size takes the old one's levels as
/// they are (the draining window, looked up like the window), and the window starts empty at its new place. From then on,
/// each add carries at most <see cref="MovesPerAdd"/> levels, O(log n) each: the overflow's keys inside the new window
/// come in first (until then they are found in the overflow), then the draining window's levels go to the window or the
/// overflow. The next move waits until the draining window is empty (the adds empty it, two levels each), so the levels
/// carried stay within a small multiple of the operations done. Memory: two windows of 2^16 x 4 bytes plus 8 KiB of
/// bitmaps each, per side, every page touched at construction.
/// </para>
/// <code>
///   window:    base ................ base + 65,535             (levels direct-mapped; bitmaps below)
///   draining:  the window's last place, emptying a few levels per add (none, between moves)
///   overflow:  every other key; the window's keys too, just after a move, until they are carried in
///   l2:        1,024 x 64 bits: key occupied
///   l1:        16 x 64 bits: l2 word non-zero
///   l0:        16 bits: l1 word non-zero
/// </code>
/// Every key held is in exactly one of the three. The best is the largest of their bests (just the window's, or the
/// window's against the overflow's by the window's edge, when nothing is being carried).
/// </summary>
public sealed class PriceLadder
{
    public const int WindowBits = 16;
    private const int Window = 1 << WindowBits;

    /// <summary>Levels an add carries into or out of the window at most, while a move is being completed.</summary>
    public const int MovesPerAdd = 2;

    private const int MinOutsideBudget = 256;

    private readonly int _capacity;

    // The window.
    private int[] _levelPlusOne = new int[Window];   // 0: key not present
    private ulong[] _l2 = new ulong[Window >> 6];
    private ulong[] _l1 = new ulong[Window >> 12];
    private ulong _l0;
    private long _base;
    private int _windowCount;

    // The draining window: the window's arrays before its last move, with their base; all zero when it is empty.
    private int[] _drainLevelPlusOne = new int[Window];
    private ulong[] _drainL2 = new ulong[Window >> 6];
    private ulong[] _drainL1 = new ulong[Window >> 12];
    private ulong _drainL0;
    private long _drainBase;
    private int _drainCount;

    private readonly LevelTree _overflow;
    private bool _pullingIn;            // the overflow may hold keys inside the window: carried in, a few per add
    private bool _carrying;             // _pullingIn or a non-empty draining window: the best and lookups look at all three
    private int _outsideOperations;     // adds and removals outside the window since it last moved

    public PriceLadder(int capacity)
    {
        _capacity = capacity;
        _overflow = new LevelTree(capacity);
        Prefault.Touch(_levelPlusOne);
        Prefault.Touch(_drainLevelPlusOne);
    }

    /// <summary>Levels carried across the window's edge, either way (a diagnostic: the operations that led to each move pay for
    /// it, so this stays within a small multiple of the operations done).</summary>
    public long LevelsMoved { get; private set; }

    /// <summary>True while a move is being completed: the overflow may hold keys inside the window, or the draining window levels.</summary>
    internal bool IsCarrying => _carrying;

    /// <summary>Levels in the draining window (0 between moves).</summary>
    internal int Draining => _drainCount;

    public int Count => _windowCount + _drainCount + _overflow.Count;

    public int Capacity => _capacity;

    public bool IsFull => Count == _capacity;

    /// <summary>Levels currently kept outside the window (far prices, and the draining window's).</summary>
    public int OutsideWindow => _drainCount + _overflow.Count;

    /// <summary>Key of the best level; valid only when <see cref="Count"/> &gt; 0.</summary>
    public long BestKey
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (_carrying)
            {
                return BestWhileCarrying(out _);
            }

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
            if (_carrying)
            {
                BestWhileCarrying(out var level);
                return level;
            }

            if (_overflow.Count != 0 && (_windowCount == 0 || _overflow.BestKey >= _base + Window))
            {
                return _overflow.BestLevel;
            }

            return _levelPlusOne[Highest()] - 1;
        }
    }

    /// <summary>
    /// The best level's key and index, found once (false when the ladder is empty): <see cref="BestKey"/> and
    /// <see cref="BestLevel"/> together, for a loop that reads both (the matching loop, a level at a time; it removes the level
    /// it emptied by this key).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryBest(out long key, out int level)
    {
        if (!_carrying && _overflow.Count == 0 && _windowCount != 0)
        {
            var i = Highest();
            key = _base + i;
            level = _levelPlusOne[i] - 1;
            return true;
        }

        return TryBestOutside(out key, out level);
    }

    // Empty, carrying, or with levels in the overflow: the three bests compared (BestKey and BestLevel's way).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryBestOutside(out long key, out int level)
    {
        if (Count == 0)
        {
            (key, level) = (0, -1);
            return false;
        }

        (key, level) = (BestKey, BestLevel);
        return true;
    }

    // The largest of the three bests (the overflow may hold keys inside the window, the draining window any).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private long BestWhileCarrying(out int level)
    {
        var found = false;
        long best = 0;
        level = -1;
        if (_windowCount != 0)
        {
            var i = Highest();
            (found, best, level) = (true, _base + i, _levelPlusOne[i] - 1);
        }

        if (_drainCount != 0)
        {
            var i = Highest(_drainL0, _drainL1, _drainL2);
            if (!found || _drainBase + i > best)
            {
                (found, best, level) = (true, _drainBase + i, _drainLevelPlusOne[i] - 1);
            }
        }

        if (_overflow.Count != 0 && (!found || _overflow.BestKey > best))
        {
            (best, level) = (_overflow.BestKey, _overflow.BestLevel);
        }

        return best;
    }

    /// <summary>The level index of <paramref name="key"/>, if the ladder holds it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGet(long key, out int level)
    {
        var offset = (ulong)(key - _base);
        if (offset < Window)
        {
            level = _levelPlusOne[(int)offset] - 1;
            if (level >= 0 || !_carrying)
            {
                return level >= 0;
            }
        }

        return TryGetOutside(key, out level);
    }

    // The draining window, then the overflow.
    private bool TryGetOutside(long key, out int level)
    {
        var offset = (ulong)(key - _drainBase);
        if (_drainCount != 0 && offset < Window)
        {
            level = _drainLevelPlusOne[(int)offset] - 1;
            if (level >= 0)
            {
                return true;
            }
        }

        level = -1;
        return _overflow.Count != 0 && _overflow.TryGet(key, out level);
    }

    /// <summary>Adds a key the ladder does not hold. The caller checks <see cref="IsFull"/>.</summary>
    public void Add(long key, int level)
    {
        if (_windowCount == 0)
        {
            Recentre(key);   // an empty window centres on the key about to go in
        }

        var offset = (ulong)(key - _base);
        if (offset >= Window)
        {
            AddOutside(key, level);
        }
        else
        {
            Put(_levelPlusOne, _l2, _l1, ref _l0, (int)offset, level);
            _windowCount++;
        }

        if (_carrying)
        {
            Carry();
        }
    }

    // An empty window centres on a key (the one about to go in, or the best a move follows, once Move has handed the window's
    // levels to the draining window): nothing to take along; the overflow's keys that fall inside come in over the next adds.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Recentre(long key)
    {
        _base = key - (Window / 2);
        _pullingIn = _overflow.Count != 0;
        _carrying = _pullingIn || _drainCount != 0;
        _outsideOperations = 0;
    }

    // A level outside the window. Each add or removal out there counts toward moving the window: once they outnumber the
    // levels the ladder holds (at least MinOutsideBudget) and the best level is outside the window, the window moves to centre
    // on the best, where the book is busy (a market that drifted away from an old resting order, which would otherwise pin
    // the window where the market was). The move itself is O(1) (see Move); the levels it leaves to carry are carried by the
    // adds after it, a few each, and alternating near and far orders cannot make it run often.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AddOutside(long key, int level)
    {
        _overflow.Add(key, level);
        if (++_outsideOperations > Math.Max(Count, MinOutsideBudget) && _drainCount == 0)
        {
            var best = BestKey;
            if ((ulong)(best - _base) >= Window)
            {
                Move(best);
            }
        }
    }

    // The window's levels become the draining window as they are (its arrays swap with the empty ones), and the window
    // centres on the key, empty, as an emptied window does: O(1). The overflow's keys inside the new window, and the draining
    // window's levels, are carried over the next adds (Carry).
    private void Move(long centre)
    {
        (_levelPlusOne, _drainLevelPlusOne) = (_drainLevelPlusOne, _levelPlusOne);
        (_l2, _drainL2) = (_drainL2, _l2);
        (_l1, _drainL1) = (_drainL1, _l1);
        (_l0, _drainL0) = (_drainL0, _l0);
        (_drainBase, _drainCount) = (_base, _windowCount);
        _windowCount = 0;
        Recentre(centre);
    }

    // At most MovesPerAdd levels: first the overflow's keys inside the window, highest first (the busy ones, near the best,
    // are where the move went), then the draining window's levels, each to the window or the overflow.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Carry()
    {
        for (var n = 0; n < MovesPerAdd; n++)
        {
            if (_pullingIn)
            {
                if (_overflow.Count != 0 && _overflow.TryBelow(_base + Window, out var key, out var level) && key >= _base)
                {
                    _overflow.Remove(key);
                    Put(_levelPlusOne, _l2, _l1, ref _l0, (int)(key - _base), level);
                    _windowCount++;
                    LevelsMoved++;
                    continue;
                }

                _pullingIn = false;
            }

            if (_drainCount == 0)
            {
                break;
            }

            var i = Highest(_drainL0, _drainL1, _drainL2);
            var drained = _drainBase + i;
            var drainedLevel = _drainLevelPlusOne[i] - 1;
            Clear(_drainLevelPlusOne, _drainL2, _drainL1, ref _drainL0, i);
            _drainCount--;
            var offset = (ulong)(drained - _base);
            if (offset < Window)
            {
                Put(_levelPlusOne, _l2, _l1, ref _l0, (int)offset, drainedLevel);
                _windowCount++;
            }
            else
            {
                _overflow.Add(drained, drainedLevel);
            }

            LevelsMoved++;
        }

        _carrying = _pullingIn || _drainCount != 0;
    }

    /// <summary>Removes a key the ladder holds.</summary>
    public void Remove(long key)
    {
        var offset = (ulong)(key - _base);
        if (offset < Window && _levelPlusOne[(int)offset] != 0)
        {
            Clear(_levelPlusOne, _l2, _l1, ref _l0, (int)offset);
            _windowCount--;
            return;
        }

        RemoveOutside(key);
    }

    // The draining window or the overflow. Removing carries nothing (a walk may be removing the levels it returns).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RemoveOutside(long key)
    {
        var offset = (ulong)(key - _drainBase);
        if (_drainCount != 0 && offset < Window && _drainLevelPlusOne[(int)offset] != 0)
        {
            Clear(_drainLevelPlusOne, _drainL2, _drainL1, ref _drainL0, (int)offset);
            if (--_drainCount == 0)
            {
                _carrying = _pullingIn;
            }
        }
        else
        {
            _overflow.Remove(key);
        }

        _outsideOperations++;
    }

    public void RemoveBest() => Remove(BestKey);

    /// <summary>
    /// Removes the best level, by the key <see cref="TryBest"/> returned for it, and returns the new best as TryBest would (false
    /// when the ladder is left empty): the matching loop's step from the level it emptied to the next. While every level is in
    /// the window (no move carried, nothing in the overflow), a next best in the same 64 keys comes from the bitmap word just
    /// cleared, still in a register: no descent of the bitmaps reads back what the removal wrote (a store, then loads that wait
    /// for it, then the level they name: the chain an emptied level cost the loop).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool RemoveBestAndTryNext(long bestKey, out long key, out int level)
    {
        var offset = (ulong)(bestKey - _base);
        if (!_carrying && _overflow.Count == 0 && offset < Window)
        {
            var i = (int)offset;
            System.Diagnostics.Debug.Assert(_levelPlusOne[i] != 0 && i == Highest(), "the key is the best level's");
            _windowCount--;
            ref var w2 = ref _l2[i >> 6];
            var word = w2 & ~(1UL << (i & 63));
            if (word != 0)
            {
                // The best was this word's highest bit: the next best is the highest one left below it.
                _levelPlusOne[i] = 0;
                w2 = word;
                var next = (i & ~63) + 63 - BitOperations.LeadingZeroCount(word);
                key = _base + next;
                level = _levelPlusOne[next] - 1;
                return true;
            }

            Clear(_levelPlusOne, _l2, _l1, ref _l0, i);   // the word emptied: the levels above it may empty too, as Remove does
            return TryBest(out key, out level);
        }

        Remove(bestKey);
        return TryBest(out key, out level);
    }

    /// <summary>The levels from the best down, merged from the window, the draining window and the overflow.</summary>
    public Cursor FromBest() => new(this);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(int[] levelPlusOne, ulong[] l2, ulong[] l1, ref ulong l0, int i, int level)
    {
        levelPlusOne[i] = level + 1;
        l2[i >> 6] |= 1UL << (i & 63);
        l1[i >> 12] |= 1UL << ((i >> 6) & 63);
        l0 |= 1UL << (i >> 12);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Clear(int[] levelPlusOne, ulong[] l2, ulong[] l1, ref ulong l0, int i)
    {
        levelPlusOne[i] = 0;
        ref var w2 = ref l2[i >> 6];
        w2 &= ~(1UL << (i & 63));
        if (w2 == 0)
        {
            ref var w1 = ref l1[i >> 12];
            w1 &= ~(1UL << ((i >> 6) & 63));
            if (w1 == 0)
            {
                l0 &= ~(1UL << (i >> 12));
            }
        }
    }

    // Highest occupied window offset (the window is not empty).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Highest() => Highest(_l0, _l1, _l2);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Highest(ulong l0, ulong[] l1, ulong[] l2)
    {
        var h0 = 63 - BitOperations.LeadingZeroCount(l0);
        var h1 = (h0 << 6) + 63 - BitOperations.LeadingZeroCount(l1[h0]);
        return (h1 << 6) + 63 - BitOperations.LeadingZeroCount(l2[h1]);
    }

    // Highest occupied offset below i, or -1.
    private static int Below(ulong l0, ulong[] l1, ulong[] l2, int i)
    {
        var word = i >> 6;
        var bits = l2[word] & ((1UL << (i & 63)) - 1);
        if (bits != 0)
        {
            return (word << 6) + 63 - BitOperations.LeadingZeroCount(bits);
        }

        var summary = word >> 6;
        var words = l1[summary] & ((1UL << (word & 63)) - 1);
        if (words == 0)
        {
            var tops = l0 & ((1UL << summary) - 1);
            if (tops == 0)
            {
                return -1;
            }

            summary = 63 - BitOperations.LeadingZeroCount(tops);
            words = l1[summary];
        }

        word = (summary << 6) + 63 - BitOperations.LeadingZeroCount(words);
        return (word << 6) + 63 - BitOperations.LeadingZeroCount(l2[word]);
    }

    /// <summary>Walks the levels from the best down, allocation-free: <c>while (c.MoveNext()) use(c.Level)</c>. Each step
    /// is O(1) in the windows and O(log n) in the overflow; removing the level just returned does not disturb the walk
    /// (a removal carries nothing between the three); adding during a walk is not supported.</summary>
    public struct Cursor(PriceLadder ladder)
    {
        private bool _started;
        private int _window;       // the window's next offset (-1: none left)
        private int _drain;        // the draining window's next offset (-1: none left)
        private bool _hasOutside;  // the overflow's next key, found ahead
        private long _outsideKey;
        private int _outsideLevel;

        public int Level { get; private set; }

        public long Key { get; private set; }

        public bool MoveNext()
        {
            if (!_started)
            {
                _started = true;
                _window = ladder._windowCount != 0 ? ladder.Highest() : -1;
                _drain = ladder._drainCount != 0 ? Highest(ladder._drainL0, ladder._drainL1, ladder._drainL2) : -1;
                _hasOutside = ladder._overflow.Count != 0;
                if (_hasOutside)
                {
                    (_outsideKey, _outsideLevel) = (ladder._overflow.BestKey, ladder._overflow.BestLevel);
                }
            }

            // The largest of the three next keys.
            var from = 0;
            long key = 0;
            if (_window >= 0)
            {
                (from, key) = (1, ladder._base + _window);
            }

            if (_drain >= 0 && (from == 0 || ladder._drainBase + _drain > key))
            {
                (from, key) = (2, ladder._drainBase + _drain);
            }

            if (_hasOutside && (from == 0 || _outsideKey > key))
            {
                (from, key) = (3, _outsideKey);
            }

            Key = key;
            switch (from)
            {
                case 1:
                    Level = ladder._levelPlusOne[_window] - 1;
                    _window = Below(ladder._l0, ladder._l1, ladder._l2, _window);
                    return true;
                case 2:
                    Level = ladder._drainLevelPlusOne[_drain] - 1;
                    _drain = Below(ladder._drainL0, ladder._drainL1, ladder._drainL2, _drain);
                    return true;
                case 3:
                    Level = _outsideLevel;
                    _hasOutside = ladder._overflow.TryBelow(key, out _outsideKey, out _outsideLevel);
                    return true;
                default:
                    return false;
            }
        }
    }
}
