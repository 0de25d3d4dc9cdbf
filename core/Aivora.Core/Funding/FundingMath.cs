using Aivora.Core.Matching;
using Aivora.Core.Numbers;

namespace Aivora.Core.Funding;

/// <summary>Funding parameters for one interval, rates in 1e-8 units.</summary>
public readonly record struct FundingParameters(long InterestRate, long ClampRate, long CapRate);

/// <summary>
/// The funding formulas of perp-mechanics.md, in integers:
/// premium P = [max(0, impactBid − index) − max(0, index − impactAsk)] / index;
/// rate F = P̄ + clamp(interest − P̄, −clamp, +clamp), then capped to ±cap.
/// </summary>
public static class FundingMath
{
    /// <summary>Premium in 1e-8 units (toward zero). Zero when a side has no impact price.</summary>
    public static long PremiumIndex(long impactBidTicks, long impactAskTicks, long indexTicks)
    {
        if (indexTicks <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(indexTicks), "the index must be positive");
        }

        var above = impactBidTicks > 0 ? Math.Max(0, impactBidTicks - indexTicks) : 0;
        var below = impactAskTicks > 0 ? Math.Max(0, indexTicks - impactAskTicks) : 0;
        return FixedPoint.MulDiv(above - below, FixedPoint.RateScale, indexTicks, Rounding.TowardZero);
    }

    public static long Rate(long meanPremium, in FundingParameters p)
    {
        var rate = meanPremium + Math.Clamp(p.InterestRate - meanPremium, -p.ClampRate, p.ClampRate);
        return Math.Clamp(rate, -p.CapRate, p.CapRate);
    }

    /// <summary>A per-8-hours rate scaled to an interval of <paramref name="intervalHours"/> (toward zero).</summary>
    public static long ScaleFrom8Hours(long ratePer8Hours, int intervalHours) => FixedPoint.MulDiv(ratePer8Hours, intervalHours, 8, Rounding.TowardZero);

    /// <summary>
    /// Average fill price (ticks) of a market order worth <paramref name="impactNotional"/> against
    /// <paramref name="levels"/> (best first), or 0 when the visible book cannot fill it.
    /// The average is rounded against the taker (up for a buy, down for a sell).
    /// </summary>
    public static long ImpactPrice(ReadOnlySpan<LevelView> levels, long impactNotional, long moneyPerTickLot, bool buy)
    {
        Int128 notional = 0;
        Int128 lots = 0;
        foreach (var level in levels)
        {
            var levelNotional = (Int128)level.PriceTicks * level.TotalLots * moneyPerTickLot;
            if (notional + levelNotional >= impactNotional)
            {
                // Take only what is needed from this level (whole lots, rounded up).
                var neededLots = FixedPoint.Divide(impactNotional - notional, (Int128)level.PriceTicks * moneyPerTickLot, Rounding.Up);
                notional += neededLots * level.PriceTicks * moneyPerTickLot;
                lots += neededLots;
                return FixedPoint.Narrow(FixedPoint.Divide(notional, lots * moneyPerTickLot, buy ? Rounding.Up : Rounding.Down));
            }

            notional += levelNotional;
            lots += level.TotalLots;
        }

        return 0;
    }
}
