using Aivora.Core.Funding;
using Aivora.Core.Matching;
using Aivora.Core.Numbers;

namespace Aivora.Core.Tests.Funding;

public sealed class FundingTests
{
    private static long Percent(double p) => (long)Math.Round(p / 100 * FixedPoint.RateScale);

    // interest 0.01% per 8 h, clamp ±0.05%, cap 0.75 × MMR(0.4%) = 0.3%
    private static readonly FundingParameters s_parameters = new(Percent(0.01), Percent(0.05), Percent(0.30));

    [Theory]
    [InlineData(0.02, 0.01)]     // P̄ 0.02%: interest − P̄ = −0.01% inside the clamp → F = 0.01%
    [InlineData(0.10, 0.05)]     // P̄ 0.10%: −0.09% clamped to −0.05% → F = 0.05%
    [InlineData(-0.30, -0.25)]   // P̄ −0.30%: +0.31% clamped to +0.05% → F = −0.25%
    [InlineData(1.00, 0.30)]     // P̄ 1.00%: 0.95% capped at 0.3%
    [InlineData(-1.00, -0.30)]   // capped on the other side too
    [InlineData(0.00, 0.01)]     // no premium: the interest rate
    public void ShouldApplyClampAndCapAsDocumented(double meanPremiumPercent, double expectedPercent) =>
        Assert.Equal(Percent(expectedPercent), FundingMath.Rate(Percent(meanPremiumPercent), s_parameters));

    [Fact]
    public void ShouldComputePremiumFromImpactPricesAgainstIndex()
    {
        Assert.Equal(Percent(0.1), FundingMath.PremiumIndex(1_001_000, 1_002_000, 1_000_000));    // bid above index
        Assert.Equal(-Percent(0.2), FundingMath.PremiumIndex(997_000, 998_000, 1_000_000));       // ask below index
        Assert.Equal(0, FundingMath.PremiumIndex(999_000, 1_001_000, 1_000_000));                 // index inside the spread
        Assert.Equal(Percent(0.00125), FundingMath.ScaleFrom8Hours(Percent(0.01), 1));
    }

    [Fact]
    public void ShouldAverageTheFillPriceOfTheImpactNotional()
    {
        LevelView[] asks = [new(100, 10, 1), new(101, 10, 1), new(105, 100, 1)];

        // 2,000 of notional at m = 1: 10 lots at 100 (1,000), then 10 lots at 101 (1,010) ≥ 2,000 → needs 10 lots
        Assert.Equal(101, FundingMath.ImpactPrice(asks, 2_000, 1, buy: true));      // (1,000 + 1,010) / 20 = 100.5 → up
        Assert.Equal(100, FundingMath.ImpactPrice(asks, 2_000, 1, buy: false));     // rounded down for a sell
        Assert.Equal(0, FundingMath.ImpactPrice(asks, 1_000_000, 1, buy: true));    // the book cannot fill it
    }

    /// <summary>At 100 money per tick-lot a lot's payment (mark × money × rate) fits in 64 bits; at 10^9 + 7 it passes them and each
    /// payment is worked out in 128 bits: the same rule either way.</summary>
    [Theory]
    [InlineData(100)]
    [InlineData(1_000_000_007)]
    public void ShouldSettleExactlyZeroSumOverRandomPopulations(long moneyPerTickLot)
    {
        var random = new Random(8);
        long residue = 0;
        for (var round = 0; round < 2_000; round++)
        {
            var n = random.Next(2, 60);
            var positions = new long[n];
            long net = 0;
            for (var i = 0; i < n - 1; i++)
            {
                positions[i] = random.Next(-5_000, 5_001);
                net += positions[i];
            }

            positions[n - 1] = -net;   // open interest long = short
            var payments = new long[n];
            var rate = random.Next(-300_000, 300_001);
            var mark = random.Next(1, 2_000_000);

            var newResidue = FundingSettlement.Settle(positions, payments, mark, moneyPerTickLot, rate, residue, out var paid);

            Assert.Equal(0, payments.Sum() + newResidue - residue);
            Assert.InRange(newResidue, 0, Math.Max(residue + paid, n));
            for (var i = 0; i < n; i++)
            {
                var exact = (decimal)positions[i] * mark * moneyPerTickLot * rate / FixedPoint.RateScale;
                if (payments[i] < 0)
                {
                    Assert.True(-payments[i] >= Math.Abs(exact) && -payments[i] - Math.Abs(exact) < 1, "a payer pays the exact amount rounded up");
                }
            }

            residue = newResidue;
        }
    }

    [Fact]
    public void ShouldMakeLongsPayShortsWhenRateIsPositive()
    {
        long[] positions = [300, -100, -200];
        var payments = new long[3];

        var residue = FundingSettlement.Settle(positions, payments, 1_000, 1, FixedPoint.RateScale / 100, 0, out var paid);   // 1%

        Assert.Equal(3_000, paid);
        Assert.Equal([-3_000L, 1_000L, 2_000L], payments);
        Assert.Equal(0, residue);
    }
}
