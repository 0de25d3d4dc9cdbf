namespace Aivora.Client.MarketData;

/// <summary>One price level as market data describes it.</summary>
public readonly record struct BookLevel(long PriceTicks, long QtyLots, int OrderCount);

/// <summary>
/// One instrument's price levels as rebuilt from market data: each side a sorted array (bids high to
/// low, asks low to high), updated by level totals (a count of 0 removes the level). Grows only when a
/// side holds more levels than ever before; otherwise allocation-free.
/// </summary>
public sealed class L2Book(int instrumentId)
{
    private BookLevel[] _bids = new BookLevel[256], _asks = new BookLevel[256];
    private int _bidCount, _askCount;

    public int InstrumentId { get; } = instrumentId;

    /// <summary>True once a snapshot was applied and every L2 message after it was seen.</summary>
    public bool Synced { get; internal set; }

    /// <summary>The last L2 sequence reflected in this book.</summary>
    public long AppliedThrough { get; internal set; }

    public int BidCount => _bidCount;
    public int AskCount => _askCount;

    public ReadOnlySpan<BookLevel> Bids => _bids.AsSpan(0, _bidCount);
    public ReadOnlySpan<BookLevel> Asks => _asks.AsSpan(0, _askCount);

    public void Clear() => _bidCount = _askCount = 0;

    /// <summary>Sets a level's total (count 0 or quantity 0: the level is gone).</summary>
    public void Set(bool bid, long priceTicks, long qtyLots, int orderCount)
    {
        ref var levels = ref bid ? ref _bids : ref _asks;
        ref var count = ref bid ? ref _bidCount : ref _askCount;
        // Bids are kept descending, asks ascending: search on the key that is ascending.
        int lo = 0, hi = count - 1, at = count;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var p = levels[mid].PriceTicks;
            if (p == priceTicks)
            {
                at = -1 - mid;
                break;
            }

            if (bid ? p > priceTicks : p < priceTicks) lo = mid + 1;
            else hi = mid - 1;
        }

        if (at < 0)
        {
            var index = -1 - at;
            if (orderCount == 0 || qtyLots == 0)
            {
                Array.Copy(levels, index + 1, levels, index, count - index - 1);
                count--;
            }
            else
            {
                levels[index] = new BookLevel(priceTicks, qtyLots, orderCount);
            }

            return;
        }

        if (orderCount == 0 || qtyLots == 0) return;
        if (count == levels.Length) Array.Resize(ref levels, levels.Length * 2);
        Array.Copy(levels, lo, levels, lo + 1, count - lo);
        levels[lo] = new BookLevel(priceTicks, qtyLots, orderCount);
        count++;
    }

    /// <summary>Appends a level in snapshot order (best first); the caller cleared the book.</summary>
    internal void Append(bool bid, long priceTicks, long qtyLots, int orderCount)
    {
        ref var levels = ref bid ? ref _bids : ref _asks;
        ref var count = ref bid ? ref _bidCount : ref _askCount;
        if (count == levels.Length) Array.Resize(ref levels, levels.Length * 2);
        levels[count++] = new BookLevel(priceTicks, qtyLots, orderCount);
    }
}
