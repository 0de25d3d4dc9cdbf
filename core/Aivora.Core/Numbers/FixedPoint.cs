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

    /// <summary>a × b / divisor, rounded as named.</summary>
    public static long MulDiv(long a, long b, long divisor, Rounding rounding) =>
        Narrow(Divide((Int128)a * b, divisor, rounding));

    /// <summary>a × b × c / divisor, rounded as named (three factors, as in qty × price × multiplier).</summary>
    public static long MulMulDiv(long a, long b, long c, long divisor, Rounding rounding) =>
        Narrow(Divide((Int128)a * b * c, divisor, rounding));

    /// <summary>amount × rate (in 1e-8 units), rounded as named.</summary>
    public static long ApplyRate(long amount, long rate, Rounding rounding) => MulDiv(amount, rate, RateScale, rounding);

    public static Int128 Divide(Int128 numerator, Int128 divisor, Rounding rounding)
    {
        if (divisor == 0)
        {
            ThrowDivideByZero();
        }

        // Most money products fit in 64 bits: a hardware division then, the 128-bit one (a software
        // routine) only when they do not. long.MinValue / -1 is the one 64-bit quotient that overflows.
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
