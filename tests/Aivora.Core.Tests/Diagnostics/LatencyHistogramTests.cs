using Aivora.Core.Diagnostics;

namespace Aivora.Core.Tests.Diagnostics;

/// <summary>The histogram every latency figure of the harnesses and the node comes from: exact below 1,024 ns, within 1.6 % above.</summary>
public sealed class LatencyHistogramTests
{
    [Fact]
    public void ShouldReadExactPercentilesBelowOneMicrosecond()
    {
        var histogram = new LatencyHistogram();
        for (var ns = 1; ns <= 1_000; ns++)
        {
            histogram.Record(ns);
        }

        Assert.Equal(500, histogram.Percentile(50));
        Assert.Equal(990, histogram.Percentile(99));
        Assert.Equal(999, histogram.Percentile(99.9));
        Assert.Equal(1_000, histogram.Percentile(100));
        Assert.Equal(1_000, histogram.MaxNs);
    }

    [Fact]
    public void ShouldReadPercentilesWithinOnePointSixPercentAboveOneMicrosecond()
    {
        var histogram = new LatencyHistogram();
        var random = new Random(3);
        var values = Enumerable.Range(0, 100_000).Select(_ => (long)(1_024 * Math.Pow(2, random.NextDouble() * 20))).ToArray();
        foreach (var value in values)
        {
            histogram.Record(value);
        }

        Array.Sort(values);
        foreach (var percentile in new[] { 50.0, 90, 99, 99.9 })
        {
            var exact = values[(int)Math.Ceiling(percentile / 100 * values.Length) - 1];
            var read = histogram.Percentile(percentile);
            Assert.InRange(read, exact, exact + (exact / 64));   // the bucket's upper edge: never below, at most a bucket above
        }
    }

    [Fact]
    public void ShouldGiveTheShareOfValuesAboveAThreshold()
    {
        var histogram = new LatencyHistogram();
        Assert.Equal(0, histogram.ShareAbove(100));   // nothing recorded

        for (var ns = 1; ns <= 1_000; ns++)
        {
            histogram.Record(ns);
        }

        Assert.Equal(0.1, histogram.ShareAbove(900), 12);
        Assert.Equal(0, histogram.ShareAbove(1_000));
        Assert.Equal(1, histogram.ShareAbove(0));

        // Above a microsecond, by bucket: 10 round trips at 6 us and 10 at 20 us; 5 at 12 us.
        var roundTrips = new LatencyHistogram();
        foreach (var (ns, count) in new[] { (6_000L, 10), (20_000L, 10), (12_000L, 5) })
        {
            for (var i = 0; i < count; i++)
            {
                roundTrips.Record(ns);
            }
        }

        Assert.Equal(15 / 25.0, roundTrips.ShareAbove(10_000), 12);
        Assert.Equal(10 / 25.0, roundTrips.ShareAbove(12_000), 12);   // the threshold's own bucket does not count
        Assert.Equal(0, roundTrips.ShareAbove(30_000));
    }
}
