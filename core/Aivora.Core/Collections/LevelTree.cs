using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Aivora.Core.Collections;

/// <summary>
/// Price levels keyed by ascending "goodness" (bids: price, asks: -price) in a B+ tree: finding, adding or removing a key,
/// and stepping to the next key down, cost O(B·log_B n) in the keys held (B = 32: at most a few thousand levels sit two or
/// three nodes deep), however far apart the keys are. Leaves are sorted runs of up to 32 keys chained both ways; every node
/// but the root is at least half full (a leaf or inner node that falls below lends from or merges with a sibling), so the
/// height stays within log_16 n + 1. The best key is the last of the rightmost leaf: O(1). <see cref="PriceLadder"/> keeps
/// the keys outside its window here. All nodes come from pools sized at construction: nothing allocates after it.
/// <code>
///   inner node: children c0 .. c(k-1), separators s1 .. s(k-1): keys in ci are ≥ si and &lt; s(i+1)
///   leaf:       keys k0 &lt; k1 &lt; ... (with their level indexes), previous and next leaf
///   height 0: the root is a leaf (possibly empty)
/// </code>
/// </summary>
public sealed class LevelTree
{
    private const int B = 32;              // keys per leaf, children per inner node
    private const int Half = B / 2;        // the least a leaf holds (keys) or an inner node (children), the root aside
    private const int MaxHeight = 16;
    private const int None = -1;

    private readonly long[] _leafKeys;
    private readonly int[] _leafLevels;
    private readonly int[] _leafCount;
    private readonly int[] _leafPrev;
    private readonly int[] _leafNext;      // also the free list's link
    private readonly long[] _innerSeparators;
    private readonly int[] _innerChildren;
    private readonly int[] _innerCount;    // children; the free list's link when free
    private readonly int _capacity;
    private int _freeLeaf;
    private int _freeInner;
    private int _root;
    private int _height;
    private int _lastLeaf;                 // the rightmost leaf: holds the best key
    private int _count;

    // The way down to the last leaf visited: inner node and child index per height (1 = the leaf's parent).
    private readonly int[] _pathNode = new int[MaxHeight + 1];
    private readonly int[] _pathIndex = new int[MaxHeight + 1];

    // The last lookup that missed: where its key would go (leaf and position; the way down is in _pathNode and _pathIndex),
    // until the tree changes. A ladder looks a new price up before it adds it: that add skips the walk down.
    private long _missKey;
    private int _missLeaf = None;          // None: nothing remembered
    private int _missAt;

    public LevelTree(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _capacity = capacity;
        // Every leaf but the root holds at least Half keys, so there are at most capacity / Half + 1 leaves (one more while a
        // split is under way); every inner node but the root has at least Half children, so each height has at most a
        // sixteenth of the nodes below it: under leaves / 15 in all, plus a root per height.
        var leaves = (capacity / Half) + 2;
        var inners = (leaves / (Half / 2)) + MaxHeight + 2;
        _leafKeys = new long[leaves * B];
        _leafLevels = new int[leaves * B];
        _leafCount = new int[leaves];
        _leafPrev = new int[leaves];
        _leafNext = new int[leaves];
        _innerSeparators = new long[inners * B];
        _innerChildren = new int[inners * B];
        _innerCount = new int[inners];
        // Every page written once now: a split that takes a node from a page not touched yet would fault on the hot path.
        Prefault.Touch(_leafKeys);
        Prefault.Touch(_leafLevels);
        Prefault.Touch(_innerSeparators);
        Prefault.Touch(_innerChildren);
        Clear();
    }

    // Every node free, the root an empty leaf.
    private void Clear()
    {
        var leaves = _leafCount.Length;
        var inners = _innerCount.Length;
        for (var i = 0; i < leaves; i++)
        {
            _leafNext[i] = i + 1 < leaves ? i + 1 : None;
        }

        for (var i = 0; i < inners; i++)
        {
            _innerCount[i] = i + 1 < inners ? i + 1 : None;
        }

        _missLeaf = None;
        _freeInner = 0;
        _freeLeaf = 0;
        _height = 0;
        _count = 0;
        _root = TakeLeaf();
        _leafPrev[_root] = None;
        _leafNext[_root] = None;
        _lastLeaf = _root;
    }

    public int Count => _count;

    public int Capacity => _capacity;

    /// <summary>Key of the best (highest) level; valid only when <see cref="Count"/> &gt; 0.</summary>
    public long BestKey => _leafKeys[(_lastLeaf * B) + _leafCount[_lastLeaf] - 1];

    /// <summary>Level index of the best level; valid only when <see cref="Count"/> &gt; 0.</summary>
    public int BestLevel => _leafLevels[(_lastLeaf * B) + _leafCount[_lastLeaf] - 1];

    /// <summary>The level index of <paramref name="key"/>, if the tree holds it.</summary>
    public bool TryGet(long key, out int level)
    {
        var leaf = LeafFor(key, remember: true);
        var at = LowerBound(leaf, key);
        if (at < _leafCount[leaf] && _leafKeys[(leaf * B) + at] == key)
        {
            _missLeaf = None;   // the way down just noted is this key's: an earlier miss's is gone
            level = _leafLevels[(leaf * B) + at];
            return true;
        }

        (_missKey, _missLeaf, _missAt) = (key, leaf, at);
        level = -1;
        return false;
    }

    /// <summary>The highest key below <paramref name="key"/> and its level, if there is one.</summary>
    public bool TryBelow(long key, out long below, out int level)
    {
        var leaf = LeafFor(key, remember: false);
        var at = LowerBound(leaf, key) - 1;    // the last key below
        if (at < 0)
        {
            // Everything here is at or above the key: the answer is the previous leaf's last key (leaves but the root are never empty).
            leaf = _leafPrev[leaf];
            if (leaf == None)
            {
                below = 0;
                level = -1;
                return false;
            }

            at = _leafCount[leaf] - 1;
        }

        below = _leafKeys[(leaf * B) + at];
        level = _leafLevels[(leaf * B) + at];
        return true;
    }

    /// <summary>Adds a key the tree does not hold. The caller checks capacity (<see cref="Count"/> &lt; <see cref="Capacity"/>).</summary>
    public void Add(long key, int level)
    {
        if (_count == _capacity)
        {
            ThrowFull();
        }

        int leaf, at;
        if (_missLeaf != None && _missKey == key)
        {
            (leaf, at) = (_missLeaf, _missAt);   // just looked up, and missed: the way down is still the one noted
        }
        else
        {
            leaf = LeafFor(key, remember: true);
            at = LowerBound(leaf, key);
        }

        _missLeaf = None;
        _count++;
        if (_leafCount[leaf] < B)
        {
            InsertInLeaf(leaf, at, key, level);
            return;
        }

        SplitLeafAndAdd(leaf, at, key, level);
    }

    /// <summary>Removes a key the tree holds; false (and nothing changes) when it does not.</summary>
    public bool Remove(long key)
    {
        _missLeaf = None;
        var leaf = LeafFor(key, remember: true);
        var at = LowerBound(leaf, key);
        var n = _leafCount[leaf];
        if (at == n || _leafKeys[(leaf * B) + at] != key)
        {
            return false;
        }

        RemovePair(_leafKeys, _leafLevels, leaf * B, n, at);
        _leafCount[leaf] = n - 1;
        _count--;
        if (n - 1 < Half && _height > 0)
        {
            RefillLeaf(leaf);
        }

        return true;
    }

    // Walks down to the leaf whose range holds the key; with remember, notes the way for a split or a refill.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int LeafFor(long key, bool remember)
    {
        var node = _root;
        for (var h = _height; h > 0; h--)
        {
            // The child to take: the last whose separator (s1 .. s(k-1); c0 has none) is at or below the key.
            var start = node * B;
            var child = CountBelow(_innerSeparators.AsSpan(start, B), key, first: 1, end: _innerCount[node], orEqual: true);
            if (remember)
            {
                _pathNode[h] = node;
                _pathIndex[h] = child;
            }

            node = _innerChildren[start + child];
        }

        return node;
    }

    // The first position in the leaf whose key is not below the key: how many of its (sorted) keys are below it.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int LowerBound(int leaf, long key) =>
        CountBelow(_leafKeys.AsSpan(leaf * B, B), key, first: 0, end: _leafCount[leaf], orEqual: false);

    /// <summary>
    /// How many of a node's sorted entries from <paramref name="first"/> to <paramref name="end"/> (exclusive) are below
    /// <paramref name="key"/> (or equal to it, with <paramref name="orEqual"/>). With 256-bit vectors: the node's 32 slots
    /// compared four at a time, the answer a population count of the masked result, no branch on the data (a scan's exit
    /// is a mispredicted branch every time); the slots past the end hold anything and are masked off. Otherwise a scan.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CountBelow(ReadOnlySpan<long> entries, long key, int first, int end, bool orEqual) =>
        Vector256.IsHardwareAccelerated ? CountBelowVector(entries, key, first, end, orEqual) : CountBelowScalar(entries, key, first, end, orEqual);

    /// <summary><see cref="CountBelow"/> four entries at a time; <paramref name="entries"/> is a node's <see cref="B"/> slots.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int CountBelowVector(ReadOnlySpan<long> entries, long key, int first, int end, bool orEqual)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(entries.Length, B);
        ref var slot0 = ref MemoryMarshal.GetReference(entries);   // B slots: every load below is inside
        var probe = Vector256.Create(key);
        var notCounted = 0u;   // a bit per slot: the entry is above the key (or at it, without orEqual)
        for (var c = 0; c < B; c += Vector256<long>.Count)
        {
            var entries4 = Vector256.LoadUnsafe(ref slot0, (nuint)c);
            var beyond = orEqual ? Vector256.GreaterThan(entries4, probe) : Vector256.GreaterThanOrEqual(entries4, probe);
            notCounted |= beyond.ExtractMostSignificantBits() << c;
        }

        var slots = (uint)((1UL << end) - (1UL << first));   // bits first .. end - 1
        return BitOperations.PopCount(~notCounted & slots);
    }

    /// <summary><see cref="CountBelow"/> by a scan (where 256-bit vectors are not accelerated).</summary>
    internal static int CountBelowScalar(ReadOnlySpan<long> entries, long key, int first, int end, bool orEqual)
    {
        var i = first;
        while (i < end && (entries[i] < key || (orEqual && entries[i] == key)))
        {
            i++;
        }

        return i - first;
    }

    // A node's entries are pairs kept in two arrays (a leaf: key and level; an inner node: separator and child), n of them
    // from start: these open a gap at a position for one pair, or close the one a pair leaves.
    private static void InsertPair(long[] longs, int[] ints, int start, int n, int at, long l, int i)
    {
        longs.AsSpan(start + at, n - at).CopyTo(longs.AsSpan(start + at + 1));
        ints.AsSpan(start + at, n - at).CopyTo(ints.AsSpan(start + at + 1));
        longs[start + at] = l;
        ints[start + at] = i;
    }

    private static void RemovePair(long[] longs, int[] ints, int start, int n, int at)
    {
        longs.AsSpan(start + at + 1, n - at - 1).CopyTo(longs.AsSpan(start + at));
        ints.AsSpan(start + at + 1, n - at - 1).CopyTo(ints.AsSpan(start + at));
    }

    private void InsertInLeaf(int leaf, int at, long key, int level)
    {
        InsertPair(_leafKeys, _leafLevels, leaf * B, _leafCount[leaf], at, key, level);
        _leafCount[leaf]++;
    }

    // A full leaf: its upper half moves to a new leaf after it, the key goes into the half it belongs to, and the new
    // leaf's first key becomes a separator in the parent (which may split in turn, up to a new root).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SplitLeafAndAdd(int leaf, int at, long key, int level)
    {
        var right = TakeLeaf();
        _leafKeys.AsSpan((leaf * B) + Half, B - Half).CopyTo(_leafKeys.AsSpan(right * B));
        _leafLevels.AsSpan((leaf * B) + Half, B - Half).CopyTo(_leafLevels.AsSpan(right * B));
        _leafCount[leaf] = Half;
        _leafCount[right] = B - Half;
        var next = _leafNext[leaf];
        _leafNext[right] = next;
        _leafPrev[right] = leaf;
        _leafNext[leaf] = right;
        if (next != None)
        {
            _leafPrev[next] = right;
        }
        else
        {
            _lastLeaf = right;
        }

        if (at <= Half)
        {
            InsertInLeaf(leaf, at, key, level);
        }
        else
        {
            InsertInLeaf(right, at - Half, key, level);
        }

        var separator = _leafKeys[right * B];
        var child = right;
        for (var h = 1; h <= _height; h++)
        {
            var node = _pathNode[h];
            var position = _pathIndex[h] + 1;   // the new child goes right after the one that split
            if (_innerCount[node] < B)
            {
                InsertInInner(node, position, separator, child);
                return;
            }

            (separator, child) = SplitInner(node, position, separator, child);
        }

        // The root split: a new root over the two halves.
        var root = TakeInner();
        _innerChildren[root * B] = _root;
        _innerChildren[(root * B) + 1] = child;
        _innerSeparators[(root * B) + 1] = separator;
        _innerCount[root] = 2;
        _root = root;
        _height++;
    }

    private void InsertInInner(int node, int position, long separator, int child)
    {
        InsertPair(_innerSeparators, _innerChildren, node * B, _innerCount[node], position, separator, child);
        _innerCount[node]++;
    }

    // A full inner node taking one more child: the upper half of its B + 1 children moves to a new node; returns the
    // separator that goes up (the new node's first child's) and the new node.
    private (long Separator, int Node) SplitInner(int node, int position, long separator, int child)
    {
        var right = TakeInner();
        var start = node * B;
        var rightStart = right * B;
        const int Keep = (B + 1) / 2;          // children left in the node, of B + 1
        const int Move = B + 1 - Keep;
        // Build the right half from the B + 1 children, the new one included.
        for (int i = Move - 1, from = B - 1; i >= 0; i--)
        {
            var index = Keep + i;               // position among the B + 1
            if (index == position)
            {
                _innerChildren[rightStart + i] = child;
                _innerSeparators[rightStart + i] = separator;
            }
            else
            {
                _innerChildren[rightStart + i] = _innerChildren[start + from];
                _innerSeparators[rightStart + i] = _innerSeparators[start + from];
                from--;
            }
        }

        _innerCount[node] = position < Keep ? Keep - 1 : Keep;
        if (position < Keep)
        {
            InsertInInner(node, position, separator, child);
        }

        _innerCount[right] = Move;
        return (_innerSeparators[rightStart], right);
    }

    // A leaf below half: borrow a key from a sibling that can spare one, or merge with it (and refill the parent).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RefillLeaf(int leaf)
    {
        var parent = _pathNode[1];
        var index = _pathIndex[1];
        var parentStart = parent * B;
        var children = _innerCount[parent];
        if (index > 0 && _leafCount[_innerChildren[parentStart + index - 1]] > Half)
        {
            // The left sibling's last key moves to the front here.
            var left = _innerChildren[parentStart + index - 1];
            var last = (left * B) + _leafCount[left] - 1;
            InsertInLeaf(leaf, 0, _leafKeys[last], _leafLevels[last]);
            _leafCount[left]--;
            _innerSeparators[parentStart + index] = _leafKeys[leaf * B];
            return;
        }

        if (index + 1 < children && _leafCount[_innerChildren[parentStart + index + 1]] > Half)
        {
            // The right sibling's first key moves to the end here.
            var right = _innerChildren[parentStart + index + 1];
            InsertInLeaf(leaf, _leafCount[leaf], _leafKeys[right * B], _leafLevels[right * B]);
            RemovePair(_leafKeys, _leafLevels, right * B, _leafCount[right], 0);
            _leafCount[right]--;
            _innerSeparators[parentStart + index + 1] = _leafKeys[right * B];
            return;
        }

        // Neither can spare a key: the right one of the pair merges into the left one (together under B keys).
        var into = index > 0 ? _innerChildren[parentStart + index - 1] : leaf;
        var from = index > 0 ? leaf : _innerChildren[parentStart + index + 1];
        var removed = index > 0 ? index : index + 1;
        _leafKeys.AsSpan(from * B, _leafCount[from]).CopyTo(_leafKeys.AsSpan((into * B) + _leafCount[into]));
        _leafLevels.AsSpan(from * B, _leafCount[from]).CopyTo(_leafLevels.AsSpan((into * B) + _leafCount[into]));
        _leafCount[into] += _leafCount[from];
        var next = _leafNext[from];
        _leafNext[into] = next;
        if (next != None)
        {
            _leafPrev[next] = into;
        }
        else
        {
            _lastLeaf = into;
        }

        ReleaseLeaf(from);
        RemoveChild(parent, removed);
        RefillInner(1);
    }

    private void RemoveChild(int node, int position)
    {
        RemovePair(_innerSeparators, _innerChildren, node * B, _innerCount[node], position);
        _innerCount[node]--;
    }

    // The inner node at height h lost a child: if it is the root with one child left, that child becomes the root; if it fell
    // below half, it borrows a child from a sibling or merges with one, and its parent is looked at in turn.
    private void RefillInner(int h)
    {
        while (true)
        {
            var node = _pathNode[h];
            var children = _innerCount[node];
            if (h == _height)
            {
                if (children == 1)
                {
                    _root = _innerChildren[node * B];
                    _height--;
                    ReleaseInner(node);
                }

                return;
            }

            if (children >= Half)
            {
                return;
            }

            var parent = _pathNode[h + 1];
            var index = _pathIndex[h + 1];
            var parentStart = parent * B;
            var start = node * B;
            if (index > 0 && _innerCount[_innerChildren[parentStart + index - 1]] > Half)
            {
                // The left sibling's last child moves to the front; separators rotate through the parent.
                var left = _innerChildren[parentStart + index - 1];
                var leftLast = (left * B) + _innerCount[left] - 1;
                _innerChildren.AsSpan(start, children).CopyTo(_innerChildren.AsSpan(start + 1));
                _innerSeparators.AsSpan(start, children).CopyTo(_innerSeparators.AsSpan(start + 1));
                _innerChildren[start] = _innerChildren[leftLast];
                _innerSeparators[start + 1] = _innerSeparators[parentStart + index];
                _innerSeparators[parentStart + index] = _innerSeparators[leftLast];
                _innerCount[left]--;
                _innerCount[node] = children + 1;
                return;
            }

            if (index + 1 < _innerCount[parent] && _innerCount[_innerChildren[parentStart + index + 1]] > Half)
            {
                // The right sibling's first child moves to the end.
                var right = _innerChildren[parentStart + index + 1];
                var rightStart = right * B;
                _innerChildren[start + children] = _innerChildren[rightStart];
                _innerSeparators[start + children] = _innerSeparators[parentStart + index + 1];
                _innerSeparators[parentStart + index + 1] = _innerSeparators[rightStart + 1];
                RemoveChild(right, 0);
                _innerCount[node] = children + 1;
                return;
            }

            // Merge the right one of the pair into the left one; the parent's separator between them comes down.
            var into = index > 0 ? _innerChildren[parentStart + index - 1] : node;
            var from = index > 0 ? node : _innerChildren[parentStart + index + 1];
            var removed = index > 0 ? index : index + 1;
            var intoStart = into * B;
            var intoCount = _innerCount[into];
            var fromCount = _innerCount[from];
            _innerChildren.AsSpan(from * B, fromCount).CopyTo(_innerChildren.AsSpan(intoStart + intoCount));
            _innerSeparators.AsSpan(from * B, fromCount).CopyTo(_innerSeparators.AsSpan(intoStart + intoCount));
            _innerSeparators[intoStart + intoCount] = _innerSeparators[parentStart + removed];
            _innerCount[into] = intoCount + fromCount;
            ReleaseInner(from);
            RemoveChild(parent, removed);
            h++;
        }
    }

    // The pools' free lists: a free leaf links through _leafNext, a free inner node through _innerCount.
    private static int Pop(ref int free, int[] links)
    {
        var node = free;
        free = links[node];
        links[node] = 0;
        return node;
    }

    private static void Push(ref int free, int[] links, int node)
    {
        links[node] = free;
        free = node;
    }

    private int TakeLeaf()
    {
        var leaf = Pop(ref _freeLeaf, _leafNext);
        _leafCount[leaf] = 0;
        return leaf;
    }

    private void ReleaseLeaf(int leaf)
    {
        _leafPrev[leaf] = None;
        _leafCount[leaf] = 0;
        Push(ref _freeLeaf, _leafNext, leaf);
    }

    private int TakeInner() => Pop(ref _freeInner, _innerCount);

    private void ReleaseInner(int node) => Push(ref _freeInner, _innerCount, node);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowFull() => throw new InvalidOperationException("level tree full: the caller checks capacity before adding");

    /// <summary>
    /// Checks the tree everywhere (for tests: O(n)): keys in order within and across leaves, separators bounding their
    /// children, every node but the root at least half full, all leaves at the same depth, the leaf chain and the best.
    /// Returns the height.
    /// </summary>
    public int Validate()
    {
        var seen = 0;
        long? previous = null;
        var firstLeaf = None;
        var lastLeaf = None;
        Check(_root, _height, null, null, ref seen, ref previous, ref firstLeaf, ref lastLeaf);
        if (seen != _count)
        {
            throw new InvalidOperationException($"tree holds {seen} keys, count says {_count}");
        }

        if (lastLeaf != _lastLeaf || _leafPrev[firstLeaf] != None || _leafNext[lastLeaf] != None)
        {
            throw new InvalidOperationException("leaf chain ends are wrong");
        }

        return _height;
    }

    private void Check(int node, int h, long? low, long? high, ref int seen, ref long? previous, ref int firstLeaf, ref int lastLeaf)
    {
        if (h == 0)
        {
            var n = _leafCount[node];
            if (node != _root && n < Half || n > B)
            {
                throw new InvalidOperationException($"leaf with {n} keys");
            }

            if (firstLeaf == None)
            {
                firstLeaf = node;
            }
            else if (_leafNext[lastLeaf] != node || _leafPrev[node] != lastLeaf)
            {
                throw new InvalidOperationException("leaf chain broken");
            }

            lastLeaf = node;
            for (var i = 0; i < n; i++)
            {
                var key = _leafKeys[(node * B) + i];
                if (key <= previous || key < low || key >= high)
                {
                    throw new InvalidOperationException($"key {key} out of order");
                }

                previous = key;
                seen++;
            }

            return;
        }

        var children = _innerCount[node];
        if (node != _root && children < Half || children > B || children < 2)
        {
            throw new InvalidOperationException($"inner node with {children} children");
        }

        for (var i = 0; i < children; i++)
        {
            long? from = i == 0 ? low : _innerSeparators[(node * B) + i];
            long? to = i + 1 < children ? _innerSeparators[(node * B) + i + 1] : high;
            Check(_innerChildren[(node * B) + i], h - 1, from, to, ref seen, ref previous, ref firstLeaf, ref lastLeaf);
        }
    }
}
