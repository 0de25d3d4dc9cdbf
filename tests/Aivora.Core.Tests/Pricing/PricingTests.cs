using Aivora.Core.Numbers;
using Aivora.Core.Pricing;

namespace Aivora.Core.Tests.Pricing;

public sealed class PricingTests
{
    private const long Second = 1_000_000_000;

    private static IndexAggregator Index(OutlierPolicy policy = OutlierPolicy.Drop, int minSources = 2) => new(new IndexConfig
    {
        Sources = [new IndexSource(1, 1), new IndexSource(2, 1), new IndexSource(3, 2), new IndexSource(4, 1)],
        MaxDeviationRate = 3_000_000,   // 3%
        StaleAfterNs = 10 * Second,
        MinSources = minSources,
        Outliers = policy,
    });

    [Fact]
    public void ShouldWeightFreshSourcesAndReportHealthy()
    {
        var index = Index();
        index.OnPrice(1, 100_000, Second);
        index.OnPrice(2, 100_100, Second);
        index.OnPrice(3, 100_050, Second);
        index.OnPrice(4, 99_950, Second);

        var value = index.Compute(2 * Second);

        Assert.Equal(IndexState.Healthy, value.State);
        Assert.Equal((100_000 + 100_100 + (2 * 100_050) + 99_950) / 5, value.PriceTicks);
    }

    [Fact]
    public void ShouldDropOrCapAnOutlierAndReportDegraded()
    {
        foreach (var policy in new[] { OutlierPolicy.Drop, OutlierPolicy.Cap })
        {
            var index = Index(policy);
            index.OnPrice(1, 100_000, Second);
            index.OnPrice(2, 100_000, Second);
            index.OnPrice(3, 100_000, Second);
            index.OnPrice(4, 150_000, Second);   // 50% away

            var value = index.Compute(Second);

            Assert.Equal(IndexState.Degraded, value.State);
            Assert.Equal(policy == OutlierPolicy.Drop ? 100_000 : (100_000 * 4 + 103_000) / 5, value.PriceTicks);
        }
    }

    [Fact]
    public void ShouldGiveSilentSourcesNoWeightAndGoStaleBelowTheMinimum()
    {
        var index = Index(minSources: 3);
        index.OnPrice(1, 100_000, Second);
        index.OnPrice(2, 100_000, Second);
        index.OnPrice(3, 100_000, 20 * Second);

        Assert.Equal(IndexState.Stale, index.Compute(20 * Second).State);   // 1 and 2 are silent for 19 s
        index.OnPrice(1, 100_010, 20 * Second);
        index.OnPrice(4, 100_020, 20 * Second);
        var value = index.Compute(21 * Second);
        Assert.Equal((IndexState.Degraded, 3), (value.State, value.ValidSources));
    }

    [Fact]
    public void ShouldRefuseASingleSourceIndexAndUnknownFeeders()
    {
        Assert.Throws<ArgumentException>(() => Index(minSources: 1));
        Assert.False(Index().OnPrice(99, 100_000, Second));
        Assert.False(Index().OnPrice(1, 0, Second));
    }

    [Fact]
    public void ShouldTakeTheMedianOfFundingBasisMovingBasisAndLastTrade()
    {
        var mark = new MarkPrice();
        for (var s = 1; s <= 40; s++)
        {
            mark.OnBasisSample(s * Second, 100_100, 100_000);   // mid 100 ticks above index
            mark.OnBasisSample((s * Second) + 1, 999_999, 100_000);   // a second sample in the same second is ignored
        }

        Assert.Equal(MarkPrice.BasisWindow, mark.BasisSamples);
        var rate = FixedPoint.RateScale / 10_000;   // 0.01%
        // P1 = 100,000 × (1 + 0.01% × 4h/8h) = 100,005; P2 = 100,100; P3 = last trade
        Assert.Equal(100_100, mark.Compute(100_000, rate, 4 * 3_600 * Second, 8 * 3_600 * Second, 100_500));
        Assert.Equal(100_050, mark.Compute(100_000, rate, 4 * 3_600 * Second, 8 * 3_600 * Second, 100_050));
        Assert.Equal(100_005, mark.Compute(100_000, rate, 4 * 3_600 * Second, 8 * 3_600 * Second, 90_000));
    }

    [Fact]
    public void ShouldNotLetALastTradeSpikeMoveTheMarkAlone()
    {
        var mark = new MarkPrice();
        mark.OnBasisSample(Second, 100_000, 100_000);

        Assert.Equal(100_000, mark.Compute(100_000, 0, 0, 1, 150_000));   // a 50% print: median stays at the index
    }
}
