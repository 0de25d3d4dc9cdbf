using Aivora.Core.Funding;

namespace Aivora.Core.Pricing;

/// <summary>Per-instrument pricing and funding configuration.</summary>
public sealed record InstrumentPricingConfig
{
    public required int InstrumentId { get; init; }

    public required IndexConfig Index { get; init; }

    public FundingParameters Funding { get; init; } = new(10_000, 50_000, 300_000);   // 0.01% interest, ±0.05% clamp, ±0.3% cap

    public long FundingIntervalNs { get; init; } = 8 * 3_600_000_000_000L;

    /// <summary>The schedule's anchor: funding times are FirstFundingTimeNs + k x FundingIntervalNs. Engine time is
    /// nanoseconds since the Unix epoch, so the default (one interval) puts settlements at 00:00, 08:00 and 16:00 UTC.
    /// A node that starts after the anchor joins the grid at the next funding time after its first command.</summary>
    public long FirstFundingTimeNs { get; init; } = 8 * 3_600_000_000_000L;

    public long PremiumSampleIntervalNs { get; init; } = 5_000_000_000;

    /// <summary>Money a market order of impact size is worth (e.g. 200 USDT / IMR).</summary>
    public long ImpactNotional { get; init; } = 2_000_000_000;

    /// <summary>Null when the configuration can run; otherwise what is wrong with it, for the operator.</summary>
    public string? Validate()
    {
        if (FundingIntervalNs <= 0)
        {
            return $"instrument {InstrumentId}: the funding interval must be positive (got {FundingIntervalNs} ns)";
        }

        if (PremiumSampleIntervalNs <= 0 || PremiumSampleIntervalNs > FundingIntervalNs)
        {
            return $"instrument {InstrumentId}: the premium sample interval must be positive and at most the funding interval (got {PremiumSampleIntervalNs} ns, funding every {FundingIntervalNs} ns)";
        }

        if (FirstFundingTimeNs < 0)
        {
            return $"instrument {InstrumentId}: the first funding time must not be negative (got {FirstFundingTimeNs})";
        }

        if (ImpactNotional <= 0)
        {
            return $"instrument {InstrumentId}: the impact notional must be positive (got {ImpactNotional})";
        }

        if (Index.MinSources < 2 || Index.MinSources > Index.Sources.Count)
        {
            return $"instrument {InstrumentId}: the index's minimum of valid sources must be at least 2 (no single-source index) and at most its {Index.Sources.Count} sources (got {Index.MinSources})";
        }

        return Index.StaleAfterNs <= 0 ? $"instrument {InstrumentId}: a source's staleness bound must be positive (got {Index.StaleAfterNs} ns)" : null;
    }
}

/// <summary>
/// The pricing state of one instrument: its index from feeders, its mark, the premium samples of
/// the current funding interval and the next funding time. Driven by engine time only.
/// </summary>
public sealed class InstrumentPricing
{
    private const long SecondNs = 1_000_000_000;

    public InstrumentPricing(InstrumentPricingConfig config)
    {
        if (config.Validate() is { } problem)
        {
            throw new ArgumentException(problem);
        }

        Config = config;
        Index = new IndexAggregator(config.Index);
        NextFundingNs = config.FirstFundingTimeNs;
    }

    public InstrumentPricingConfig Config { get; private set; }

    /// <summary>Replaces the funding cap (a scheduled parameter change).</summary>
    public void SetFundingCap(long capRate) => Config = Config with { Funding = Config.Funding with { CapRate = capRate } };

    public IndexAggregator Index { get; }

    public MarkPrice Mark { get; } = new();

    public PremiumSamples Premiums { get; } = new();

    public IndexValue LastIndex { get; set; }

    public long MarkTicks { get; set; }

    public long LastFundingRate { get; set; }

    /// <summary>The settlement under way (the ledger's funding pass, over the commands after its funding time): the mark it
    /// pays at and the premium samples its rate came from, what its <c>FundingSettled</c> event carries when it ends.</summary>
    internal long SettlingMarkTicks { get; set; }

    internal int SettlingSamples { get; set; }

    public long NextFundingNs { get; internal set; }

    /// <summary>False until the first command ran the pricing clock (which anchors the funding schedule to its time).</summary>
    public bool ScheduleStarted { get; internal set; }

    /// <summary>The first funding time on the schedule's grid strictly after <paramref name="nowNs"/>.</summary>
    public long NextFundingTimeAfter(long nowNs)
    {
        var first = Config.FirstFundingTimeNs;
        return nowNs < first ? first : first + (((nowNs - first) / Config.FundingIntervalNs) + 1) * Config.FundingIntervalNs;
    }

    public long NextPremiumSampleNs { get; internal set; }

    public long NextBasisSampleNs { get; internal set; }

    /// <summary>The earliest engine time at which the pricing clock has something to do here (long.MinValue before the schedule starts).</summary>
    internal long NextDueNs => !ScheduleStarted ? long.MinValue : Math.Min(NextBasisSampleNs, Math.Min(NextPremiumSampleNs, NextFundingNs));

    /// <summary>The rate the current interval would settle at now.</summary>
    public long PredictedRate => FundingMath.Rate(Premiums.Mean, Config.Funding);

    /// <summary>Mark from the current index (0 while the index is stale: the mark stays frozen).</summary>
    public long ComputeMark(long nowNs, long lastTradeTicks) =>
        LastIndex.State == IndexState.Stale ? 0
            : Mark.Compute(LastIndex.PriceTicks, PredictedRate, Math.Max(0, NextFundingNs - nowNs), Config.FundingIntervalNs, lastTradeTicks);

    public bool BasisSampleDue(long nowNs) => nowNs >= NextBasisSampleNs;

    public void BasisSampled(long nowNs) => NextBasisSampleNs = ((nowNs / SecondNs) + 1) * SecondNs;
}
