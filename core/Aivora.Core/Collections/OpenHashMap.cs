using System.Numerics;
using System.Runtime.CompilerServices;

namespace Aivora.Core.Collections;

/// <summary>
/// Fixed-capacity key → non-negative int map: open addressing, linear probing, backward-shift
/// deletion (no tombstones, so probe lengths stay short under churn). The home slot is the hash's
/// low bits, so a key type decides between locality (identity) and mixing. Sized once for
/// <c>maxCount</c> entries at a load factor of at most 5/8 (the power of two at or above 1.6 x maxCount: a budget of
/// 2^17 orders plus the aggressor in flight takes 2^18 slots, where "at most 1/2" took 2^19 and twice the memory
/// that every lookup's random slot is spread over); never allocates afterwards.
/// </summary>
public sealed class OpenHashMap<TKey>
    where TKey : struct, IHashKey<TKey>
{
    private const int Empty = -1;

    private readonly TKey[] _keys;
    private readonly int[] _values;
    private readonly int _mask;
    private readonly int _maxCount;
    private int _count;

    public OpenHashMap(int maxCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);
        var capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(8, maxCount + ((maxCount * 3) / 5)));
        _keys = new TKey[capacity];
        _values = new int[capacity];
        _values.AsSpan().Fill(Empty);
        Prefault.Touch(_keys);
        _mask = capacity - 1;
        _maxCount = maxCount;
    }

    public int Count => _count;

    public int MaxCount => _maxCount;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Home(TKey key) => (int)TKey.Hash(key) & _mask;

    /// <summary>
    /// The key's home slot: where its probe run starts. A caller that keeps it beside the value can remove the entry later
    /// without hashing the key again (<see cref="RemoveEntryFrom"/>): the home's load then waits on nothing but the
    /// caller's own read of it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int HomeOf(TKey key) => Home(key);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGetValue(TKey key, out int value) => TryGetValueFrom(Home(key), key, out value);

    /// <summary><see cref="TryGetValue"/> from the key's home as <see cref="HomeOf"/> gave it (a caller that worked it out
    /// earlier in the same command, to prefetch it): the key is not hashed again. The home must be the key's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryGetValueFrom(int home, TKey key, out int value)
    {
        System.Diagnostics.Debug.Assert(home == Home(key), "the key's home, from HomeOf");
        var values = _values;
        var keys = _keys;
        var i = home;
        while (true)
        {
            var v = values[i];
            if (v == Empty)
            {
                value = 0;
                return false;
            }

            if (TKey.Same(keys[i], key))
            {
                value = v;
                return true;
            }

            i = (i + 1) & _mask;
        }
    }

    public bool ContainsKey(TKey key) => TryGetValue(key, out _);

    /// <summary>Starts loading the key's home slot (its value and key) into cache, for a lookup soon after (see <see cref="CachePrefetch"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Prefetch(TKey key) => PrefetchAt(Home(key));

    /// <summary><see cref="Prefetch"/> of a home from <see cref="HomeOf"/> (a home past the table is ignored).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void PrefetchAt(int home)
    {
        if ((uint)home <= (uint)_mask)
        {
            CachePrefetch.Line(ref _values[home]);
            CachePrefetch.Line(ref _keys[home]);
        }
    }

    /// <summary>Adds the key; false (and no change) when it is present or the map is full.</summary>
    public bool TryAdd(TKey key, int value) => TryAddFrom(Home(key), key, value);

    /// <summary>
    /// <see cref="TryAdd"/> for a caller that has the key's home from <see cref="HomeOf"/> already (it keeps it beside the
    /// value, for <see cref="RemoveEntryFrom"/>): the key is hashed once. The home must be the key's: another would put the
    /// entry where no lookup of the key looks (internal: the engine's invariant check compares every resting order's kept
    /// home with the key's).
    /// </summary>
    internal bool TryAddFrom(int home, TKey key, int value)
    {
        if ((uint)value > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(value));
        }

        System.Diagnostics.Debug.Assert(home == Home(key), "the key's home, from HomeOf");
        var i = home;
        while (_values[i] != Empty)
        {
            if (TKey.Same(_keys[i], key))
            {
                return false;
            }

            i = (i + 1) & _mask;
        }

        if (_count == _maxCount)
        {
            return false;
        }

        _keys[i] = key;
        _values[i] = value;
        _count++;
        return true;
    }

    public bool Remove(TKey key)
    {
        var i = Home(key);
        while (true)
        {
            if (_values[i] == Empty)
            {
                return false;
            }

            if (TKey.Same(_keys[i], key))
            {
                break;
            }

            i = (i + 1) & _mask;
        }

        RemoveAt(i);
        return true;
    }

    /// <summary>
    /// Removes the key that maps to <paramref name="value"/>, for a caller that knows both and whose values are unique (the
    /// engine's id tables map to order slots): the entry is found by its value from the key's home, so the keys' array is read
    /// only for entries that shift back after it. One cache line where removing by key reads two: an order's release, some
    /// forty of them in one deep sweep. False (no change) when the key's probe run holds no such value; a value that belongs
    /// to another key of the run would remove that key (values must be unique).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool RemoveEntry(TKey key, int value) => RemoveEntryFrom(Home(key), value);

    /// <summary>
    /// <see cref="RemoveEntry"/> from the key's home slot as <see cref="HomeOf"/> gave it when the entry was added (an
    /// order's release: its slot keeps the home of its client order id, so no hash is worked out before the table is read).
    /// A home that is not the key's would remove whatever entry of that run has the value (values must be unique).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool RemoveEntryFrom(int home, int value)
    {
        if (value < 0 || (uint)home > (uint)_mask)
        {
            return false;   // never a value (Empty is negative), or never a slot
        }

        var i = home;
        while (true)
        {
            var v = _values[i];
            if (v == value)
            {
                break;
            }

            if (v == Empty)
            {
                return false;
            }

            i = (i + 1) & _mask;
        }

        RemoveAt(i);
        return true;
    }

    /// <summary>Empties slot <paramref name="i"/>. A vacated slot keeps its stale key: a slot is empty by its value alone,
    /// and every reader looks at the value first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void RemoveAt(int i)
    {
        // Usually the run ends right after the entry (the table is sized well over its budget): nothing shifts back, and the
        // entry is emptied here, at the caller, without a call (an order's release: some forty in one deep sweep).
        if (_values[(i + 1) & _mask] != Empty)
        {
            ShiftBackInto(i);
            return;
        }

        _values[i] = Empty;
        _count--;
    }

    /// <summary><see cref="RemoveAt"/> when later entries follow the hole: some of them may move back into it (out of line).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ShiftBackInto(int i)
    {
        // Backward shift: pull later entries of the probe run into the hole when their home
        // slot does not lie (cyclically) between the hole and their current slot.
        var hole = i;
        var j = i;
        while (true)
        {
            j = (j + 1) & _mask;
            if (_values[j] == Empty)
            {
                break;
            }

            var home = Home(_keys[j]);
            var distanceToJ = (j - home) & _mask;
            var distanceToHole = (hole - home) & _mask;
            if (distanceToHole <= distanceToJ)
            {
                _keys[hole] = _keys[j];
                _values[hole] = _values[j];
                hole = j;
            }
        }

        _values[hole] = Empty;
        _count--;
    }

    public void Clear()
    {
        _values.AsSpan().Fill(Empty);
        _keys.AsSpan().Clear();
        _count = 0;
    }
}
