namespace Aivora.Core.Instruments;

public enum PriceBandUnit : byte
{
    Ticks = 0,
    BasisPoints = 1,
}

/// <summary>The widest distance an order price may stand from the instrument's reference price,
/// and the edge a market order is bounded by.</summary>
public readonly record struct PriceBand(PriceBandUnit Unit, long Value)
{
    public static PriceBand InTicks(long ticks) => new(PriceBandUnit.Ticks, ticks);

    public static PriceBand InBasisPoints(long bps) => new(PriceBandUnit.BasisPoints, bps);

    /// <summary>Band half-width in price ticks around <paramref name="referencePriceTicks"/>.
    /// Basis points round down: the band never grows by rounding. Read for every order: a product that fits in 64 bits
    /// divides by the constant in hardware (a multiply), only a wider one takes the 128-bit division (same truncation).</summary>
    public long WidthTicks(long referencePriceTicks) => Unit == PriceBandUnit.Ticks ? Value
        : Numbers.FixedPoint.TryMultiply(referencePriceTicks, Value, out var product) ? product / 10_000
        : (long)((Int128)referencePriceTicks * Value / 10_000);
}
