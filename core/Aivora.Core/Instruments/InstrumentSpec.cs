namespace Aivora.Core.Instruments;

/// <summary>
/// Static description of one tradable instrument (cold configuration, read once at start).
/// Prices are <c>long</c> ticks of <see cref="PriceScale"/>; a valid price is a multiple of
/// <see cref="TickSize"/>. Quantities are <c>long</c> lots of <see cref="QuantityScale"/>; a valid
/// quantity is a multiple of <see cref="LotSize"/>. Notional is price ticks × quantity lots.
/// </summary>
public sealed record InstrumentSpec
{
    public required int Id { get; init; }

    public required string Symbol { get; init; }

    /// <summary>Grid step for prices, in ticks (1 = every tick is valid).</summary>
    public long TickSize { get; init; } = 1;

    /// <summary>Grid step for quantities, in lots.</summary>
    public long LotSize { get; init; } = 1;

    /// <summary>Decimal places of one price tick (e.g. 2 → a tick is 0.01 quote units). Informational for the engine.</summary>
    public int PriceScale { get; init; } = 2;

    /// <summary>Decimal places of one lot. Informational for the engine.</summary>
    public int QuantityScale { get; init; } = 3;

    public long MinQuantity { get; init; } = 1;

    public long MaxQuantity { get; init; } = 1_000_000_000;

    /// <summary>Largest price ticks × lots an order may carry.</summary>
    public long MaxNotional { get; init; } = long.MaxValue;

    public PriceBand Band { get; init; } = PriceBand.InBasisPoints(1_000);

    /// <summary>Initial reference price for band checks (0 = none yet: limit orders are unbanded, market orders rejected).</summary>
    public long ReferencePriceTicks { get; init; }

    public TradingState InitialState { get; init; } = TradingState.Open;

    /// <summary>Configuration errors as text, or null when the spec is usable.</summary>
    public string? Validate()
    {
        if (TickSize <= 0) { return $"instrument {Id}: TickSize must be positive"; }
        if (LotSize <= 0) { return $"instrument {Id}: LotSize must be positive"; }
        if (MinQuantity <= 0 || MaxQuantity < MinQuantity) { return $"instrument {Id}: need 0 < MinQuantity <= MaxQuantity"; }
        if (MaxNotional <= 0) { return $"instrument {Id}: MaxNotional must be positive"; }
        if (Band.Value < 0) { return $"instrument {Id}: price band must not be negative"; }
        if (ReferencePriceTicks < 0) { return $"instrument {Id}: ReferencePriceTicks must not be negative"; }
        return null;
    }
}
