using Aivora.Core.Numbers;

namespace Aivora.Core.Pricing;

public enum OutlierPolicy : byte
{
    /// <summary>A source too far from the median counts at the band edge.</summary>
    Cap = 0,

    /// <summary>A source too far from the median is left out.</summary>
    Drop = 1,
}

/// <summary>One authorised feeder of an instrument's index, with its weight.</summary>
public readonly record struct IndexSource(int SourceId, long Weight);

public sealed record IndexConfig
{
    public required IReadOnlyList<IndexSource> Sources { get; init; }

    /// <summary>Furthest a source may stand from the median, in 1e-8 units (3% = 3,000,000).</summary>
    public long MaxDeviationRate { get; init; } = 3_000_000;

    /// <summary>A source silent for longer than this gets weight 0.</summary>
    public long StaleAfterNs { get; init; } = 10_000_000_000;

    /// <summary>Fewer valid sources than this and the index is stale. At least 2: never a single-source price.</summary>
    public int MinSources { get; init; } = 2;

    public OutlierPolicy Outliers { get; init; } = OutlierPolicy.Drop;
}

/// <summary>The index as computed at one engine time, with the inputs that explain it.</summary>
public readonly record struct IndexValue(IndexState State, long PriceTicks, int ValidSources, int ConfiguredSources);

/// <summary>
/// An instrument's index from its feeders' prices: sources silent for too long get weight 0, the
/// rest are compared with their median and capped or dropped when too far from it, and the index is
/// their weighted mean. Deterministic: time is the engine's, iteration is in configuration order.
/// </summary>
public sealed class IndexAggregator
{
    private readonly IndexConfig _config;
    private readonly long[] _prices;
    private readonly long[] _timesNs;
    private readonly long[] _scratch;

    public IndexAggregator(IndexConfig config)
    {
        if (config.MinSources < 2 || config.MinSources > config.Sources.Count)
        {
            throw new ArgumentException("MinSources must be at least 2 (no single-source index) and at most the number of sources");
        }

        if (config.Sources.Any(s => s.Weight <= 0) || config.Sources.Select(s => s.SourceId).Distinct().Count() != config.Sources.Count)
        {
            throw new ArgumentException("sources need distinct ids and positive weights");
        }

        _config = config;
        _prices = new long[config.Sources.Count];
        _timesNs = new long[config.Sources.Count];
        _scratch = new long[config.Sources.Count];
    }

    /// <summary>Records a feeder's price; false for an unknown (unauthorised) source or a non-positive price.</summary>
    public bool OnPrice(int sourceId, long priceTicks, long nowNs)
    {
        for (var i = 0; i < _config.Sources.Count; i++)
        {
            if (_config.Sources[i].SourceId == sourceId)
            {
                if (priceTicks <= 0)
                {
                    return false;
                }

                _prices[i] = priceTicks;
                _timesNs[i] = nowNs;
                return true;
            }
        }

        return false;
    }

    public IndexValue Compute(long nowNs)
    {
        var fresh = 0;
        for (var i = 0; i < _prices.Length; i++)
        {
            if (IsFresh(i, nowNs))
            {
                _scratch[fresh++] = _prices[i];
            }
        }

        var configured = _prices.Length;
        if (fresh < _config.MinSources)
        {
            return new IndexValue(IndexState.Stale, 0, fresh, configured);
        }

        var median = Median(_scratch.AsSpan(0, fresh));
        var band = FixedPoint.ApplyRate(median, _config.MaxDeviationRate, Rounding.Down);
        Int128 weighted = 0;
        long weights = 0;
        var valid = 0;
        var outliers = 0;
        for (var i = 0; i < _prices.Length; i++)
        {
            if (!IsFresh(i, nowNs))
            {
                continue;
            }

            var price = _prices[i];
            if (Math.Abs(price - median) > band)
            {
                outliers++;
                if (_config.Outliers == OutlierPolicy.Drop)
                {
                    continue;
                }

                price = Math.Clamp(price, median - band, median + band);
            }

            weighted += (Int128)price * _config.Sources[i].Weight;
            weights += _config.Sources[i].Weight;
            valid++;
        }

        if (valid < _config.MinSources)
        {
            return new IndexValue(IndexState.Stale, 0, valid, configured);
        }

        var index = FixedPoint.Narrow(FixedPoint.Divide(weighted, weights, Rounding.Down));
        // Healthy only when every configured source is fresh and none had to be capped or dropped.
        return new IndexValue(fresh == configured && outliers == 0 ? IndexState.Healthy : IndexState.Degraded, index, valid, configured);
    }

    private bool IsFresh(int i, long nowNs) => _timesNs[i] > 0 && nowNs - _timesNs[i] <= _config.StaleAfterNs;

    /// <summary>Median (the lower of the middle two for an even count, so it is always a quoted price).</summary>
    private static long Median(Span<long> values)
    {
        values.Sort();
        return values[(values.Length - 1) / 2];
    }
}
