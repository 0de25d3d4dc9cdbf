using Aivora.Core.Accounts;
using Aivora.Core.Instruments;
using Aivora.Core.Matching;
using Aivora.Core.Pricing;
using Aivora.Core.Risk;
using Aivora.Exchange;
using Aivora.Gateway;
using Aivora.Gateway.Sessions;
using Aivora.Core.Margin;

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

    /// <summary>USDT settlement with 6 decimals. BTC-PERP: tick 0.1 × lot 0.001 = 0.0001 USDT = 100 units;
    /// ETH-PERP: tick 0.01 × lot 0.01 = 0.0001 USDT = 100 units.</summary>
    public const long UsdtUnit = 1_000_000;

    /// <summary>Risk limit brackets (perp-mechanics.md): 0.4% / 0.5% / 1% / 2.5% MMR from 0 / 50k / 250k / 1M USDT.</summary>
    public static MarginTierTable Tiers() => new(
    [
        new MarginTier(0, 400_000, 125),
        new MarginTier(50_000 * UsdtUnit, 500_000, 100),
        new MarginTier(250_000 * UsdtUnit, 1_000_000, 50),
        new MarginTier(1_000_000 * UsdtUnit, 2_500_000, 20),
    ]);

    public static IReadOnlyList<ContractSpec> Contracts { get; } =
    [
        new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = Tiers(), Fees = new FeeSchedule(-10_000, 40_000), DefaultLeverage = 20 },
        new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 100, Tiers = Tiers(), Fees = new FeeSchedule(-10_000, 40_000), DefaultLeverage = 20 },
    ];

    /// <summary>Three feeders per instrument, 3% outlier band, stale after 10 s, at least 2 sources; funding every 8 hours.</summary>
    public static InstrumentPricingConfig Pricing(int instrumentId, long fundingIntervalNs = 8 * 3_600_000_000_000L) => new()
    {
        InstrumentId = instrumentId,
        Index = new IndexConfig
        {
            Sources = [new IndexSource(1, 1), new IndexSource(2, 1), new IndexSource(3, 1)],
            MaxDeviationRate = 3_000_000,
            StaleAfterNs = 10_000_000_000,
            MinSources = 2,
        },
        FundingIntervalNs = fundingIntervalNs,
        FirstFundingTimeNs = fundingIntervalNs,
        PremiumSampleIntervalNs = Math.Min(5_000_000_000, fundingIntervalNs),   // a short demo interval samples within it
        ImpactNotional = 1_000 * UsdtUnit,
    };

    /// <summary>The demo's shock: a 100x long (no API key) seeded before the load, and the account that sold it to it.</summary>
    public const int ShockLongAccount = 2_002, ShockCounterpartyAccount = 2_001;

    /// <summary>The insurance fund's ledger account (no API key: its positions are unwound by an operator key added for it).</summary>
    public const int InsuranceFundAccount = 9_900;

    /// <summary>The insurance fund the node starts with (an operator deposit, recorded like any command).</summary>
    public const long InsuranceFundSeedUsdt = 250_000;

    /// <summary>
    /// The liquidation path: clearance fee 0.5% of each liquidation fill (capped at the margin left), positions of
    /// 50,000 USDT and more reduced in slices of 20% (at least to the next lower tier) one second apart while
    /// equity stays above half of maintenance margin.
    /// </summary>
    public static Core.Liquidation.LiquidationConfig Liquidation { get; } = new()
    {
        InsuranceFundAccountId = InsuranceFundAccount,
        ClearanceFeeRate = 500_000,
        LargePositionNotional = 50_000 * UsdtUnit,
        SliceRate = 20_000_000,
        SliceCooldownNs = 1_000_000_000,
        HardFloorRate = 50_000_000,
    };

    /// <summary>
    /// Pre-trade limits: 200 resting orders per account and instrument, 4,096 held stops. The exposure caps (open
    /// interest, position, share of open interest, and the cap from visible depth) are off here and scheduled per
    /// instrument by an operator (SetParameter MaxOpenInterest / MaxPosition / MaxOpenInterestShare / BookDepthCap):
    /// on the demo's book (five small quotes a side per maker, about 0.13 BTC within the 0.4 % maintenance distance)
    /// a depth cap of 100 % refused an eighth of the load's orders, the makers' quotes on their inventory's side among them.
    /// </summary>
    public static RiskLimits Limits { get; } = new()
    {
        MaxOpenOrdersPerInstrument = 200,
        MaxStopOrders = 4_096,
        Liquidation = Liquidation,
    };

    public static EngineConfig Engine { get; } = new()
    {
        Instruments = [BtcPerp, EthPerp],
        MaxRestingOrders = 1 << 17,
        MaxPriceLevelsPerSide = 1 << 12,
        MaxAccounts = 1 << 12,
    };

    /// <summary>Where the node listens and publishes (order entry unicast on loopback, market data multicast on the loopback interface).</summary>
    public static GatewayOptions Gateway { get; } = new();

    /// <summary>Demo accounts: market makers from 1, takers from 1001, the price feeder 9001.</summary>
    public const int FirstMakerAccount = 1, FirstTakerAccount = 1_001, FeederAccount = 9_001;

    /// <summary>
    /// The demo's API keys: key id = account id, secret = SHA-256 of "aivora-demo-key-{id}" (published
    /// here, so never for real money). Makers and takers trade; the feeder has the Admin scope its price
    /// feeds need. 8 of each at most.
    /// </summary>
    public static IReadOnlyList<ApiKey> DemoKeys { get; } =
    [
        .. Enumerable.Range(FirstMakerAccount, 8).Select(a => new ApiKey((ulong)a, DemoSecret(a), a, KeyScopes.Trade | KeyScopes.Read, 50_000)),
        .. Enumerable.Range(FirstTakerAccount, 8).Select(a => new ApiKey((ulong)a, DemoSecret(a), a, KeyScopes.Trade | KeyScopes.Read, 100_000)),
        new ApiKey(FeederAccount, DemoSecret(FeederAccount), FeederAccount, KeyScopes.Admin | KeyScopes.Read, 100_000),
    ];

    public static byte[] DemoSecret(int keyId) =>
        System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"aivora-demo-key-{keyId}"));
}
