using Aivora.Core.Collections;

namespace Aivora.Core.Liquidation;

/// <summary>
/// Open positions keyed by their liquidation price, per instrument and side, so a mark update visits
/// only the positions at or past it, whatever the number of accounts: longs in a min-heap on
/// -liquidation price (the highest liquidation price first: the first a falling mark reaches), shorts on
/// +liquidation price (the lowest first). Ties fall back to the account id, so the order is
/// deterministic. Positions are named by the ledger's account slot. The liquidation path reads it
/// (which positions to liquidate); the ledger keeps it current as positions and margin change. A cross
/// account whose price bands hold (every mark inside its band leaves it slack on every instrument; a lone cross
/// position is banded only with ample slack) keeps its cross positions out of it: none of them can be at or past its
/// price until a mark leaves a band, and the ledger re-keys the account then.
/// </summary>
public sealed class LiquidationIndex
{
    private const byte NotIndexed = 0, Long = 1, Short = 2;

    private readonly IndexedMinHeap[] _longs;
    private readonly IndexedMinHeap[] _shorts;
    private readonly int _instruments;

    // Per account slot and instrument (slot × instruments + i): which heap holds the position, if any. Most re-keys find
    // nothing indexed and nothing to index (a cross account whose price bands hold, a flat position): one byte says so.
    private readonly byte[] _sides;

    // Per account slot, a bit per instrument it has a position indexed on; and a bit per instrument whose heaps hold
    // anything. Re-keying an account visits its indexed positions, and the sweep after fills the occupied instruments,
    // not every listed one (Collections/SetBits).
    private readonly int _maskWords;
    private readonly ulong[] _indexedMasks;
    private readonly ulong[] _occupied;

    public LiquidationIndex(int instruments, int maxAccounts)
    {
        _instruments = instruments;
        _longs = new IndexedMinHeap[instruments];
        _shorts = new IndexedMinHeap[instruments];
        _sides = new byte[instruments * maxAccounts];
        _maskWords = SetBits.WordsFor(instruments);
        _indexedMasks = new ulong[maxAccounts * _maskWords];
        _occupied = new ulong[_maskWords];
        for (var i = 0; i < instruments; i++)
        {
            _longs[i] = new IndexedMinHeap(maxAccounts);
            _shorts[i] = new IndexedMinHeap(maxAccounts);
        }
    }

    /// <summary>True when the account's position on instrument i is indexed (on either side).</summary>
    public bool Contains(int slot, int instrument) => _sides[(slot * _instruments) + instrument] != NotIndexed;

    /// <summary>Word <paramref name="w"/> of the bitmap of instruments account slot <paramref name="slot"/> has a position
    /// indexed on (words per slot: one per 64 instruments, as the ledger's).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public ulong IndexedWord(int slot, int w) => _indexedMasks[(slot * _maskWords) + w];

    /// <summary>Whether the index holds any position of account slot <paramref name="slot"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public bool AnyIndexed(int slot) => SetBits.AnyIn(_indexedMasks, slot * _maskWords, _maskWords);

    /// <summary>Word <paramref name="w"/> of the bitmap of instruments with any position indexed.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public ulong OccupiedWord(int w) => _occupied[w];

    /// <summary>
    /// Re-keys the account's position on instrument i: a long or a short with a liquidation price is
    /// (re)indexed on its side, anything else (flat, or no liquidation price: fully collateralised) leaves the index.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Update(int slot, int instrument, long signedQtyLots, long liquidationPriceTicks, int accountId)
    {
        ref var side = ref _sides[(slot * _instruments) + instrument];
        if ((signedQtyLots == 0 || liquidationPriceTicks <= 0) && side == NotIndexed)
        {
            return;   // nothing indexed, nothing to index
        }

        Rekey(ref side, slot, instrument, signedQtyLots, liquidationPriceTicks, accountId);
    }

    private void Rekey(ref byte side, int slot, int instrument, long signedQtyLots, long liquidationPriceTicks, int accountId)
    {
        var wanted = liquidationPriceTicks <= 0 ? NotIndexed : signedQtyLots > 0 ? Long : signedQtyLots < 0 ? Short : NotIndexed;
        if (side == Long && wanted != Long)
        {
            _longs[instrument].Remove(slot);
        }
        else if (side == Short && wanted != Short)
        {
            _shorts[instrument].Remove(slot);
        }

        if (wanted == Long)
        {
            _longs[instrument].Upsert(slot, -liquidationPriceTicks, accountId);
        }
        else if (wanted == Short)
        {
            _shorts[instrument].Upsert(slot, liquidationPriceTicks, accountId);
        }

        if ((side == NotIndexed) != (wanted == NotIndexed))
        {
            SetBits.Set(_indexedMasks, slot * _maskWords, instrument, wanted != NotIndexed);
            SetBits.Set(_occupied, 0, instrument, _longs[instrument].Count + _shorts[instrument].Count > 0);
        }

        side = wanted;
    }

    /// <summary>True when some position on instrument i is at or past its liquidation price at this mark (the heap tops only).</summary>
    public bool AnyAtOrPast(int instrument, long markTicks) =>
        (_longs[instrument].Count > 0 && _longs[instrument].MinKey <= -markTicks) || (_shorts[instrument].Count > 0 && _shorts[instrument].MinKey <= markTicks);

    /// <summary>
    /// Writes the slots of positions at or past their liquidation price at this mark into <paramref name="slots"/>:
    /// longs whose price is at or above it, from the highest, then shorts whose price is at or below it, from the
    /// lowest, ties by account id (the order the liquidation path visits them in). Returns how many there are
    /// (which may exceed what fitted).
    /// </summary>
    public int AtOrPast(int instrument, long markTicks, Span<int> slots)
    {
        var longs = _longs[instrument].CollectAtMost(-markTicks, slots);
        var written = Math.Min(longs, slots.Length);
        return longs + _shorts[instrument].CollectAtMost(markTicks, slots[written..]);
    }
}
