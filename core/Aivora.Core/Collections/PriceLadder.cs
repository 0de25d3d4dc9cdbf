using System.Numerics;
using System.Runtime.CompilerServices;

namespace Aivora.Core.Collections;

/// <summary>
/// One side's price levels, every operation O(1) whatever the number of levels or their distance from
/// the best: a window of 2^16 consecutive keys direct-mapped to level indexes, with a three-level bitmap
/// of the occupied keys (1,024 words, 16 summary words, one top word) so the best key and the next key
/// down are found with three leading-zero counts. Keys are ascending "goodness" (bids: price, asks:
/// -price), so one rule serves both sides. The window is centred on the first key a ladder receives
/// (and again whenever it empties). Keys outside it (a price further than ±32,768 ticks from that
/// centre) go to a sorted overflow array: correct, O(distance) there, and counted in <see cref="OutsideWindow"/>.
/// <code>
///   key:   base ................ base + 65,535      (outside: overflow, sorted, best last)
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
    private readonly SortedLevelArray _overflow;

    public PriceLadder(int capacity)
    {
        _capacity = capacity;
        _overflow = new SortedLevelArray(capacity);
    }

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
        var index = _overflow.Count == 0 ? -1 : _overflow.Find(key);
        level = index >= 0 ? _overflow.LevelAtIndex(index) : -1;
        return index >= 0;
    }

    /// <summary>Adds a key the ladder does not hold. The caller checks <see cref="IsFull"/>.</summary>
    public void Add(long key, int level)
    {
        if (_windowCount == 0)
        {
            Recentre(key);
        }

        var offset = (ulong)(key - _base);
        if (offset >= Window)
        {
            AddOutside(key, level);
            return;
        }

        var i = (int)offset;
        _levelPlusOne[i] = level + 1;
        _l2[i >> 6] |= 1UL << (i & 63);
        _l1[i >> 12] |= 1UL << ((i >> 6) & 63);
        _l0 |= 1UL << (i >> 12);
        _windowCount++;
    }

    // An empty window centres on the key about to go in; overflow keys now inside it move in, so the
    // overflow only ever holds keys outside the window (what TryGet and Remove rely on).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Recentre(long key)
    {
        _base = key - (Window / 2);
        for (var i = _overflow.Count - 1; i >= 0; i--)
        {
            var k = _overflow.KeyAtIndex(i);
            var offset = (ulong)(k - _base);
            if (offset < Window)
            {
                var level = _overflow.LevelAtIndex(i);
                _overflow.RemoveAt(i);
                var w = (int)offset;
                _levelPlusOne[w] = level + 1;
                _l2[w >> 6] |= 1UL << (w & 63);
                _l1[w >> 12] |= 1UL << ((w >> 6) & 63);
                _l0 |= 1UL << (w >> 12);
                _windowCount++;
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AddOutside(long key, int level) => _overflow.InsertAt(~_overflow.Find(key), key, level);

    /// <summary>Removes a key the ladder holds.</summary>
    public void Remove(long key)
    {
        var offset = (ulong)(key - _base);
        if (offset >= Window || _windowCount == 0)
        {
            _overflow.RemoveAt(_overflow.Find(key));
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

    /// <summary>Walks the levels from the best down, allocation-free: <c>while (c.MoveNext()) use(c.Level)</c>.</summary>
    public struct Cursor(PriceLadder ladder)
    {
        private int _phase;        // 0: overflow above the window, 1: window, 2: overflow below, 3: done
        private int _position = int.MinValue;

        public int Level { get; private set; }

        public long Key { get; private set; }

        public bool MoveNext()
        {
            var overflow = ladder._overflow;
            var windowTop = ladder._base + Window;
            while (true)
            {
                switch (_phase)
                {
                    case 0:
                        _position = _position == int.MinValue ? overflow.Count - 1 : _position - 1;
                        if (_position >= 0 && (ladder._windowCount == 0 || overflow.KeyAtIndex(_position) >= windowTop))
                        {
                            return Take(overflow.KeyAtIndex(_position), overflow.LevelAtIndex(_position));
                        }

                        _position++;   // not consumed: the below-window phase starts here
                        _phase = ladder._windowCount == 0 ? 2 : 1;
                        _overflowNext = _position - 1;
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
                        if (_overflowNext >= 0)
                        {
                            var i = _overflowNext--;
                            return Take(overflow.KeyAtIndex(i), overflow.LevelAtIndex(i));
                        }

                        _phase = 3;
                        continue;
                    default:
                        return false;
                }
            }
        }

        private int _window;
        private int _overflowNext;

        private bool Take(long key, int level)
        {
            Key = key;
            Level = level;
            return true;
        }
    }
}
