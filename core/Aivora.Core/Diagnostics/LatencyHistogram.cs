using System.Numerics;

namespace Aivora.Core.Diagnostics;

/// <summary>
/// Log-linear latency histogram (HdrHistogram's idea, our own code): exact below 1,024 ns, then
/// 64 buckets per power of two (≤ 1.6% error) up to 2^40 ns. Recording is two shifts and an
/// increment, allocation-free, so it can sit on a hot path. Single writer.
/// </summary>
public sealed class LatencyHistogram
{
    private const int LinearLimit = 1_024;
    private const int LinearBits = 10;
    private const int SubBucketBits = 6;
    private const int SubBuckets = 1 << SubBucketBits;
    private const int MaxPower = 40;

    private readonly long[] _counts = new long[LinearLimit + ((MaxPower - LinearBits) * SubBuckets)];
    private long _total;
    private long _max;

    public long Count => _total;

    public long MaxNs => _max;

    public void Record(long valueNs)
    {
        if (valueNs < 0)
        {
            valueNs = 0;
        }

        _counts[IndexOf(valueNs)]++;
        _total++;
        if (valueNs > _max)
        {
            _max = valueNs;
        }
    }

    public void Reset()
    {
        Array.Clear(_counts);
        _total = 0;
        _max = 0;
    }

    /// <summary>The smallest recorded bucket value at or above the given percentile (0-100].</summary>
    public long Percentile(double percentile)
    {
        if (_total == 0)
        {
            return 0;
        }

        // The rank is ⌈p% of the count⌉; p% in binary is a hair off (99.9 % of 1,000 is 999.00000000000006), so a rank that is
        // whole in decimal is taken as whole, not as the next one.
        var exactRank = percentile / 100.0 * _total;
        var rank = (long)Math.Ceiling(exactRank - (exactRank * 1e-12));
        rank = Math.Clamp(rank, 1, _total);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Math.Min(UpperValueOf(i), _max);
            }
        }

        return _max;
    }

    /// <summary>
    /// The share (0 to 1) of the recorded values above <paramref name="valueNs"/>, to the buckets' resolution (a value in the
    /// threshold's own bucket counts as not above): how much of a distribution lies in its tail, for example the round trips
    /// slower than twice the floor's median, whose share decides on which side of it a p99 falls.
    /// </summary>
    public double ShareAbove(long valueNs)
    {
        if (_total == 0)
        {
            return 0;
        }

        long above = 0;
        for (var i = IndexOf(Math.Max(0, valueNs)) + 1; i < _counts.Length; i++)
        {
            above += _counts[i];
        }

        return (double)above / _total;
    }

    private static int IndexOf(long value)
    {
        if (value < LinearLimit)
        {
            return (int)value;
        }

        var power = Math.Min(BitOperations.Log2((ulong)value), MaxPower - 1);
        var sub = (int)((value >> (power - SubBucketBits)) & (SubBuckets - 1));
        return LinearLimit + ((power - LinearBits) * SubBuckets) + sub;
    }

    private static long UpperValueOf(int index)
    {
        if (index < LinearLimit)
        {
            return index;
        }

        var power = ((index - LinearLimit) / SubBuckets) + LinearBits;
        var sub = (index - LinearLimit) % SubBuckets;
        var width = 1L << (power - SubBucketBits);
        return (1L << power) + (sub * width) + width - 1;
    }
}
