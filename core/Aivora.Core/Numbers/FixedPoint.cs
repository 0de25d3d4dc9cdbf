namespace Aivora.Core.Numbers;

/// <summary>
/// Exact integer arithmetic for money: products in 128 bits, one division with a named rounding,
/// and a checked narrowing back to 64 bits (an overflow is a configuration or input error, never a
/// silent wrap). Rates are integers scaled by <see cref="RateScale"/> (1e-8: 0.01% = 10,000).
/// </summary>
public static class FixedPoint
{
    /// <summary>One rate unit is 10^-8 (the wire's ScaledDecimal).</summary>
    public const long RateScale = 100_000_000;

    // Operands in [-2^31, 2^31): a product of two fits in 63 bits.
    private const long Half = 1L << 31;

    /// <summary>|<paramref name="x"/>| without a branch on its sign (Math.Abs branches: on order entry and fills, whether an
    /// account's position and open lots lean long or short changes from one order to the next, and a mispredict there costs
    /// more than the arithmetic). For lots and money, which are bounded far inside a long (long.MinValue stays itself: as
    /// unsigned, 2^63).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static long Magnitude(long x)
    {
        var sign = x >> 63;   // all ones when negative
        return (x ^ sign) - sign;
    }

    /// <summary>max(0, <paramref name="x"/>) without a branch on its sign, as <see cref="Magnitude"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static long PositivePart(long x) => x & ~(x >> 63);   // x >> 63: all ones when negative

    /// <summary>−<paramref name="bound"/> ≤ x &lt; <paramref name="bound"/> (0 &lt; bound ≤ 2^62), in one comparison: x + bound
    /// lands in [0, 2 × bound) exactly then; below it the sum is negative, above it at least 2 × bound, and past long.MaxValue
    /// it wraps negative: as unsigned numbers all three are at least 2 × bound. The range check of the fast paths here and in the
    /// margin code (which products fit in 64 bits).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static bool MagnitudeUnder(long x, long bound) => (ulong)(x + bound) < 2 * (ulong)bound;

    /// <summary>−<paramref name="limit"/> ≤ x ≤ <paramref name="limit"/> (0 ≤ limit &lt; 2^62), in one comparison, as
    /// <see cref="MagnitudeUnder"/> (a limit of 0 admits 0 alone).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static bool MagnitudeAtMost(long x, long limit) => (ulong)(x + limit) <= 2 * (ulong)limit;

    /// <summary>a × b / divisor, rounded as named.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static long MulDiv(long a, long b, long divisor, Rounding rounding)
    {
        // A product that fits in 64 bits (most money products) divides in hardware, without building an Int128.
        if (divisor > 0 && TryMultiply(a, b, out var low))
        {
            var quotient = low / divisor;
            var remainder = low - (quotient * divisor);
            return remainder == 0 ? quotient : RoundAway(quotient, low < 0, rounding);
        }

        return WideMulDiv(a, b, divisor, rounding);
    }

    // Out of line: the 128-bit product and division that the inlined fast paths of MulDiv and ApplyRate fall back to. Inlined,
    // each call site carried a copy of this rare path (the margin check had several), growing the hot loop's code.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static long WideMulDiv(long a, long b, long divisor, Rounding rounding) => Narrow(Divide((Int128)a * b, divisor, rounding));

    /// <summary>x × y when it fits in 64 bits: a plain multiply when the magnitudes certainly allow it, else checked in 128 bits.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static bool TryMultiply(long x, long y, out long product)
    {
        if (FitsInProduct(x, y))
        {
            product = x * y;
            return true;
        }

        return Math.BigMul(x, y, out product) == (product >> 63);
    }

    /// <summary>a × b × c exactly (qty × price × money per tick·lot): no division, so no rounding; checked like <see cref="Narrow"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static long Product(long a, long b, long c)
    {
        // Most money products are far inside 64 bits. First the usual one (lots × ticks × money per tick, each factor and
        // the first product under 2^31 in magnitude): two range checks of two instructions each, where counting the
        // magnitudes' significant bits takes five each (node-ab: order entry 1.023 and 1.014, the node's flow 1.018). Then
        // when two operands' magnitudes have at most 63 significant bits between them their product fits, and a plain
        // multiply is exact (no 128-bit product, whose low half the runtime hands back through memory). Otherwise the
        // checked 128-bit route.
        if (MagnitudeUnder(a, Half) && MagnitudeUnder(b, Half))
        {
            var small = a * b;   // |a|, |b| <= 2^31: |a × b| <= 2^62
            if (MagnitudeUnder(small, Half) && MagnitudeUnder(c, Half))
            {
                return small * c;
            }
        }

        if (FitsInProduct(a, b))
        {
            var product = a * b;
            if (FitsInProduct(product, c))
            {
                return product * c;
            }
        }

        return CheckedProduct(a, b, c);
    }

    /// <summary>True when |x| × |y| &lt; 2^63 is certain: |x| &lt; 2^(64 − lz|x|), so lz|x| + lz|y| ≥ 65 bounds the product below 2^63.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool FitsInProduct(long x, long y) =>
        System.Numerics.BitOperations.LeadingZeroCount((ulong)Magnitude(x)) + System.Numerics.BitOperations.LeadingZeroCount((ulong)Magnitude(y)) >= 65;   // as unsigned: 2^63 for long.MinValue

    // Out of line: the hot product stays small enough to inline.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static long CheckedProduct(long a, long b, long c)
    {
        if (Math.BigMul(a, b, out var ab) == (ab >> 63) && Math.BigMul(ab, c, out var abc) == (abc >> 63))
        {
            return abc;
        }

        return WideProduct(a, b, c);
    }

    // Out of line: a × b past 64 bits while the whole product still fits (c = 0, or c = ±1 with |a × b| = 2^63),
    // else an overflow. |a × b| ≤ 2^126, so a × b × c is never formed in 128 bits (it could wrap).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static long WideProduct(long a, long b, long c)
    {
        var ab = (Int128)a * b;
        return c switch
        {
            0 => 0,
            1 or -1 => Narrow(ab * c),
            _ => Narrow(ab > long.MaxValue || ab < long.MinValue ? Int128.MaxValue : ab * c),
        };
    }

    /// <summary>amount × rate (in 1e-8 units), rounded as named.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static long ApplyRate(long amount, long rate, Rounding rounding)
    {
        // The divisor is a constant here: the JIT turns the 64-bit division into a multiply and shifts.
        if (TryMultiply(amount, rate, out var low))
        {
            var quotient = low / RateScale;
            var remainder = low - (quotient * RateScale);
            return remainder == 0 ? quotient : RoundAway(quotient, low < 0, rounding);
        }

        return WideMulDiv(amount, rate, RateScale, rounding);
    }

    /// <summary>Moves a truncated (toward zero) inexact quotient in the named direction.</summary>
    // Inlined: the rounding is a constant at every call site, so the switch folds to one add.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static long RoundAway(long truncated, bool negative, Rounding rounding) => rounding switch
    {
        Rounding.Down => negative ? truncated - 1 : truncated,
        Rounding.Up => negative ? truncated : truncated + 1,
        Rounding.TowardZero => truncated,
        _ => negative ? truncated - 1 : truncated + 1,
    };

    public static Int128 Divide(Int128 numerator, Int128 divisor, Rounding rounding)
    {
        if (divisor == 0)
        {
            ThrowDivideByZero();
        }

        // Most money products fit in 64 bits: a 64-bit hardware division then. Otherwise the runtime's: for a
        // 64-bit divisor it divides 128 by 64 bits in hardware (~5-10 ns here); a double-precision estimate
        // corrected in integers was tried and measured slower (9-27 ns) or no faster (wider divisors).
        // long.MinValue / -1 is the one 64-bit quotient that overflows.
        Int128 quotient, remainder;
        var n = (long)numerator;
        var d = (long)divisor;
        if (n == numerator && d == divisor && d != -1)
        {
            (var q, var r) = Math.DivRem(n, d);
            (quotient, remainder) = (q, r);
        }
        else
        {
            (quotient, remainder) = Int128.DivRem(numerator, divisor);
        }

        if (remainder == 0)
        {
            return quotient;
        }

        // Truncation went toward zero; adjust for the named direction.
        var negative = (numerator < 0) != (divisor < 0);
        return rounding switch
        {
            Rounding.Down => negative ? quotient - 1 : quotient,
            Rounding.Up => negative ? quotient : quotient + 1,
            Rounding.TowardZero => quotient,
            _ => negative ? quotient - 1 : quotient + 1,
        };
    }

    public static long Narrow(Int128 value)
    {
        if (value > long.MaxValue || value < long.MinValue)
        {
            ThrowDoesNotFit(value);
        }

        return (long)value;
    }

    // Cold paths out of line: the hot methods stay small enough to inline.
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void ThrowDoesNotFit(Int128 value) => throw new OverflowException($"{value} does not fit in 64 bits");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void ThrowDivideByZero() => throw new DivideByZeroException();
}
