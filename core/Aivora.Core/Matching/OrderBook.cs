using Aivora.Core.Instruments;
using Aivora.Core.Orders;

namespace Aivora.Core.Matching;

/// <summary>
/// One instrument's book: its limits (copied out of the spec for the hot path), the two sides'
/// price ladders and a pool of price levels. Orders themselves live in the engine's pool.
/// </summary>
internal sealed class OrderBook
{
    public readonly InstrumentSpec Spec;
    public readonly int InstrumentId;
    public readonly long TickSize;
    public readonly long LotSize;
    public readonly long MinQuantity;
    public readonly long MaxQuantity;
    public readonly long MaxNotional;
    public PriceBand Band;
    public long ReferencePriceTicks;
    public TradingState State;

    /// <summary>Price of the last trade (0 before the first); what Last-triggered stops watch.</summary>
    public long LastTradePriceTicks;

    public readonly Collections.PriceLadder Bids;
    public readonly Collections.PriceLadder Asks;
    public readonly PriceLevel[] Levels;
    private readonly int[] _freeLevels;
    private int _freeLevelCount;

    public OrderBook(InstrumentSpec spec, int maxLevelsPerSide)
    {
        Spec = spec;
        InstrumentId = spec.Id;
        TickSize = spec.TickSize;
        LotSize = spec.LotSize;
        MinQuantity = spec.MinQuantity;
        MaxQuantity = spec.MaxQuantity;
        MaxNotional = spec.MaxNotional;
        Band = spec.Band;
        ReferencePriceTicks = spec.ReferencePriceTicks;
        State = spec.InitialState;
        Bids = new Collections.PriceLadder(maxLevelsPerSide);
        Asks = new Collections.PriceLadder(maxLevelsPerSide);
        Levels = new PriceLevel[maxLevelsPerSide * 2];
        Collections.Prefault.Touch(Levels);
        _freeLevels = new int[maxLevelsPerSide * 2];
        for (var i = 0; i < _freeLevels.Length; i++)
        {
            _freeLevels[i] = _freeLevels.Length - 1 - i;
        }

        _freeLevelCount = _freeLevels.Length;
    }

    public Collections.PriceLadder Ladder(Side side) => side == Side.Buy ? Bids : Asks;

    /// <summary>Ladder key: ascending with goodness on both sides (bids by price, asks by -price).</summary>
    public static long KeyOf(Side side, long priceTicks) => side == Side.Buy ? priceTicks : -priceTicks;

    public int AllocateLevel(long priceTicks)
    {
        var level = _freeLevels[--_freeLevelCount];
        Levels[level] = new PriceLevel { PriceTicks = priceTicks, Head = -1, Tail = -1 };
        return level;
    }

    public void FreeLevel(int level) => _freeLevels[_freeLevelCount++] = level;
}
