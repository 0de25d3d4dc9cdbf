using Aivora.Core.Instruments;
using Aivora.Core.Matching;

namespace Aivora.Node.Configuration;

/// <summary>
/// The embedded default configuration: what a node runs with when given nothing else.
/// Prices are ticks of 10^-PriceScale quote units, quantities lots of 10^-QuantityScale.
/// </summary>
public static class DefaultConfiguration
{
    public static InstrumentSpec BtcPerp { get; } = new()
    {
        Id = 1,
        Symbol = "BTC-PERP",
        PriceScale = 1,             // 1 tick = 0.1 USDT
        TickSize = 5,               // prices on a 0.5 USDT grid
        QuantityScale = 3,          // 1 lot = 0.001 BTC
        LotSize = 1,
        MinQuantity = 1,
        MaxQuantity = 100_000,      // 100 BTC
        MaxNotional = 650_000L * 100_000,
        Band = PriceBand.InBasisPoints(500),
        ReferencePriceTicks = 650_000,   // 65,000.0
    };

    public static InstrumentSpec EthPerp { get; } = new()
    {
        Id = 2,
        Symbol = "ETH-PERP",
        PriceScale = 2,             // 1 tick = 0.01 USDT
        TickSize = 1,
        QuantityScale = 2,          // 1 lot = 0.01 ETH
        LotSize = 1,
        MinQuantity = 1,
        MaxQuantity = 100_000,      // 1,000 ETH
        Band = PriceBand.InBasisPoints(500),
        ReferencePriceTicks = 350_000,   // 3,500.00
    };

    public static EngineConfig Engine { get; } = new()
    {
        Instruments = [BtcPerp, EthPerp],
        MaxRestingOrders = 1 << 17,
        MaxPriceLevelsPerSide = 1 << 12,
        MaxAccounts = 1 << 12,
    };
}
