using Aivora.Core.Numbers;

namespace Aivora.Core.Margin;

/// <summary>One risk-limit bracket: from <see cref="FloorNotional"/> up, maintenance margin rate
/// <see cref="MaintenanceRate"/> (1e-8 units) and a leverage cap.</summary>
public readonly record struct MarginTier(long FloorNotional, long MaintenanceRate, int MaxLeverage);

/// <summary>
/// Tiered maintenance margin by position notional (money units):
/// MM = notional × MMR_k − cum_k, with cum_k = cum_{k−1} + floor_k × (MMR_k − MMR_{k−1}), which
/// makes MM continuous across tier boundaries. Initial margin is notional / leverage, with the
/// leverage capped by the tier. Every rounding goes against the account (margin up).
/// </summary>
public sealed class MarginTierTable
{
    private readonly MarginTier[] _tiers;
    private readonly long[] _cumulative;

    // Per tier, the floor of the next one (long.MaxValue for the last): the tier lookup walks up from the first tier, where
    // nearly every position is, so the common case is one comparison.
    private readonly long[] _nextFloors;

    // Per tier k, what puts a position's liquidation notional at or above the tier's floor F_k (see LiquidationTier): a long's
    // shortfall (cost − margin) at least ⌈F_k − MM_k(F_k)⌉, a short's backing (margin + cost) at least ⌈F_k + MM_k(F_k)⌉, with
    // MM_k(N) = N × MMR_k − cum_k unrounded (× 1e8 below, so the ceiling is exact). [0] is 0 for both (the floor of tier 0).
    private readonly Int128[] _longShortfallFloors;
    private readonly Int128[] _shortBackingFloors;

    public MarginTierTable(IReadOnlyList<MarginTier> tiers)
    {
        if (tiers.Count == 0 || tiers[0].FloorNotional != 0)
        {
            throw new ArgumentException("the first tier must start at notional 0");
        }

        for (var i = 0; i < tiers.Count; i++)
        {
            var t = tiers[i];
            if (t.MaintenanceRate <= 0 || t.MaintenanceRate >= FixedPoint.RateScale || t.MaxLeverage <= 0)
            {
                throw new ArgumentException($"tier {i}: need 0 < MMR < 100% and a positive leverage cap");
            }

            if (i > 0 && (t.FloorNotional <= tiers[i - 1].FloorNotional || t.MaintenanceRate < tiers[i - 1].MaintenanceRate))
            {
                throw new ArgumentException($"tier {i}: floors must increase and rates must not decrease");
            }
        }

        _tiers = [.. tiers];
        _cumulative = new long[_tiers.Length];
        _nextFloors = new long[_tiers.Length];
        for (var k = 0; k < _tiers.Length; k++)
        {
            _nextFloors[k] = k + 1 < _tiers.Length ? _tiers[k + 1].FloorNotional : long.MaxValue;
        }

        for (var k = 1; k < _tiers.Length; k++)
        {
            // floor × ΔMMR may not divide exactly: round cum down, which rounds MM up (against the account).
            _cumulative[k] = _cumulative[k - 1] + FixedPoint.ApplyRate(_tiers[k].FloorNotional, _tiers[k].MaintenanceRate - _tiers[k - 1].MaintenanceRate, Rounding.Down);
        }

        _longShortfallFloors = new Int128[_tiers.Length];
        _shortBackingFloors = new Int128[_tiers.Length];
        for (var k = 1; k < _tiers.Length; k++)
        {
            // Both numerators are positive (cum_k ≤ F_k × MMR_k, floors rising) and under 2^92: the ceiling of a division.
            Int128 floor = _tiers[k].FloorNotional, rate = _tiers[k].MaintenanceRate, cum = (Int128)_cumulative[k] * FixedPoint.RateScale;
            _longShortfallFloors[k] = ((floor * (FixedPoint.RateScale - rate)) + cum + FixedPoint.RateScale - 1) / FixedPoint.RateScale;
            _shortBackingFloors[k] = ((floor * (FixedPoint.RateScale + rate)) - cum + FixedPoint.RateScale - 1) / FixedPoint.RateScale;
        }
    }

    public int Count => _tiers.Length;

    public MarginTier this[int index] => _tiers[index];

    /// <summary>cum_k in money units.</summary>
    public long CumulativeAmount(int tier) => _cumulative[tier];

    /// <summary>The tier a notional (absolute, money units) falls in.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public int TierOf(long notional)
    {
        var nextFloors = _nextFloors;
        var k = 0;
        while ((uint)k < (uint)(nextFloors.Length - 1) && notional >= nextFloors[k])
        {
            k++;
        }

        return k;
    }

    /// <summary>
    /// The tier a position's liquidation notional N* falls in, from its margin alone, with no division: where equity meets
    /// maintenance, h(N) = equity(N) − (N × MMR − cum) = 0, with N × MMR − cum continuous and convex in N (every tier's line
    /// lies under the whole curve), so h is monotone and N* unique. A long's h = margin − cost + N − MM(N) rises with N, so N* is at or above F_k exactly when
    /// h(F_k) ≤ 0, that is when its shortfall (cost − margin) ≥ F_k − MM_k(F_k); a short's h = margin + cost − N − MM(N)
    /// falls, so N* ≥ F_k when h(F_k) ≥ 0, that is when its backing (margin + cost) ≥ F_k + MM_k(F_k). The tier is the highest
    /// whose floor N* reaches (0 when none does: N* is in tier 0, or below its floor of 0). Cost is the position's, unsigned.
    /// </summary>
    /// <param name="shortfallOrBacking">A long's cost − margin, a short's margin + cost.</param>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public int LiquidationTier(bool isLong, Int128 shortfallOrBacking)
    {
        var floors = isLong ? _longShortfallFloors : _shortBackingFloors;
        var k = 0;
        while ((uint)(k + 1) < (uint)floors.Length && shortfallOrBacking >= floors[k + 1])
        {
            k++;
        }

        return k;
    }

    /// <summary>MM = notional × MMR_k − cum_k, rounded up (against the account).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public long MaintenanceMargin(long notional)
    {
        var k = TierOf(notional);
        return FixedPoint.ApplyRate(notional, _tiers[k].MaintenanceRate, Rounding.Up) - _cumulative[k];
    }

    /// <summary>Initial margin at the chosen leverage, capped by the notional's tier; rounded up.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public long InitialMargin(long notional, int leverage) =>
        FixedPoint.MulDiv(notional, 1, Math.Min(leverage, _tiers[TierOf(notional)].MaxLeverage), Rounding.Up);

    public int MaxLeverage(long notional) => _tiers[TierOf(notional)].MaxLeverage;
}
