using Aivora.Core.Instruments;

namespace Aivora.Core.Matching;

/// <summary>Capacities and instruments; everything is pre-allocated from these at construction.</summary>
public sealed record EngineConfig
{
    public required IReadOnlyList<InstrumentSpec> Instruments { get; init; }

    /// <summary>Orders that may rest on all books together; a new GTC/GTD order beyond it is rejected.</summary>
    public int MaxRestingOrders { get; init; } = 1 << 16;

    /// <summary>Distinct prices per side per instrument.</summary>
    public int MaxPriceLevelsPerSide { get; init; } = 4_096;

    public int MaxAccounts { get; init; } = 1 << 14;

    public void Validate()
    {
        if (Instruments.Count == 0)
        {
            throw new ArgumentException("at least one instrument is required");
        }

        if (MaxRestingOrders <= 0 || MaxPriceLevelsPerSide <= 0 || MaxAccounts <= 0)
        {
            throw new ArgumentException("capacities must be positive");
        }

        var duplicate = Instruments.GroupBy(i => i.Id).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"duplicate instrument id {duplicate.Key}");
        }

        foreach (var spec in Instruments)
        {
            if (spec.Id <= 0)
            {
                throw new ArgumentException($"instrument {spec.Symbol}: id must be positive (0 means 'all' in a mass cancel)");
            }

            var error = spec.Validate();
            if (error is not null)
            {
                throw new ArgumentException(error);
            }
        }
    }
}
