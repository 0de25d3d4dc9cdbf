namespace Aivora.Core.Funding;

/// <summary>Premium samples of the current funding interval (taken at the configured cadence) and their mean.</summary>
public sealed class PremiumSamples
{
    private long _sum;
    private int _count;

    public int Count => _count;

    public void Add(long premium, long samples = 1)
    {
        _sum += premium * samples;
        _count += (int)samples;
    }

    /// <summary>Mean premium, toward zero; 0 with no sample.</summary>
    public long Mean => _count == 0 ? 0 : _sum / _count;

    public void Reset()
    {
        _sum = 0;
        _count = 0;
    }
}
