using Aivora.Core.Numbers;

namespace Aivora.Core.Pricing;

/// <summary>
/// Mark = median(P1, P2, P3) (perp-mechanics.md):
/// P1 = index × (1 + lastFunding × timeToFunding / interval);
/// P2 = index + moving average of (mid − index) over the last 30 one-second samples;
/// P3 = last trade. A missing input (no trade yet, no basis sample yet) is left out; the median of
/// two is their mean rounded down. Mark, not last, drives PnL, margin and liquidation.
/// </summary>
public sealed class MarkPrice
{
    public const int BasisWindow = 30;
    private const long SecondNs = 1_000_000_000;

    private readonly long[] _basis = new long[BasisWindow];
    private int _count;
    private int _next;
    private long _sum;
    private long _lastSampleSecond = long.MinValue;

    /// <summary>Takes at most one (mid − index) sample per engine-time second.</summary>
    public void OnBasisSample(long nowNs, long midTicks, long indexTicks)
    {
        var second = nowNs / SecondNs;
        if (second == _lastSampleSecond || midTicks <= 0 || indexTicks <= 0)
        {
            return;
        }

        _lastSampleSecond = second;
        var basis = midTicks - indexTicks;
        if (_count == BasisWindow)
        {
            _sum -= _basis[_next];
        }
        else
        {
            _count++;
        }

        _basis[_next] = basis;
        _sum += basis;
        _next = (_next + 1) % BasisWindow;
    }

    public int BasisSamples => _count;

    /// <summary>The mark in ticks (0 when there is no index).</summary>
    public long Compute(long indexTicks, long lastFundingRate, long timeToFundingNs, long fundingIntervalNs, long lastTradeTicks)
    {
        if (indexTicks <= 0)
        {
            return 0;
        }

        Span<long> candidates = stackalloc long[3];
        var n = 0;
        var fundingBasis = FixedPoint.Narrow(FixedPoint.Divide((Int128)indexTicks * lastFundingRate * timeToFundingNs, (Int128)FixedPoint.RateScale * fundingIntervalNs, Rounding.TowardZero));
        candidates[n++] = indexTicks + fundingBasis;
        if (_count > 0)
        {
            candidates[n++] = indexTicks + FixedPoint.MulDiv(_sum, 1, _count, Rounding.TowardZero);
        }

        if (lastTradeTicks > 0)
        {
            candidates[n++] = lastTradeTicks;
        }

        var values = candidates[..n];
        values.Sort();
        return n switch
        {
            1 => values[0],
            2 => FixedPoint.MulDiv(values[0] + values[1], 1, 2, Rounding.Down),
            _ => values[1],
        };
    }
}
