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

        var rank = (long)Math.Ceiling(percentile / 100.0 * _total);
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
