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
    public static long MulDiv(long a, long b, long divisor, Rounding rounding)
    {
        // A product that fits in 64 bits (most money products) divides in hardware, without building an Int128.
        var high = Math.BigMul(a, b, out var low);
        if (high == (low >> 63) && divisor > 0)
        {
            var quotient = low / divisor;
            var remainder = low - (quotient * divisor);
            return remainder == 0 ? quotient : RoundAway(quotient, low < 0, rounding);
        }

        return Narrow(Divide(((Int128)high << 64) | (ulong)low, divisor, rounding));
    }

    /// <summary>a × b × c exactly (qty × price × money per tick·lot): no division, so no rounding; checked like <see cref="Narrow"/>.</summary>
    public static long Product(long a, long b, long c)
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
    public static long ApplyRate(long amount, long rate, Rounding rounding)
    {
        // The divisor is a constant here: the JIT turns the 64-bit division into a multiply and shifts.
        var high = Math.BigMul(amount, rate, out var low);
        if (high == (low >> 63))
        {
            var quotient = low / RateScale;
            var remainder = low - (quotient * RateScale);
            return remainder == 0 ? quotient : RoundAway(quotient, low < 0, rounding);
        }

        return Narrow(Divide(((Int128)high << 64) | (ulong)low, RateScale, rounding));
    }

    /// <summary>Moves a truncated (toward zero) inexact quotient in the named direction.</summary>
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
        else if (!TryDivRemEstimated(numerator, divisor, out quotient, out remainder))
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

    /// <summary>
    /// Truncated 128-bit division when the quotient is below 2^62 and |numerator| below 2^126 (liquidation prices, ADL
    /// scores): the runtime's routine works digit by digit (16-31 ns here); this one estimates the quotient in double
    /// precision (off by at most a few thousand units), corrects it by the remainder's own estimate (off by at most
    /// one), then finishes exactly in integers. False (nothing computed) outside that range.
    /// </summary>
    private static bool TryDivRemEstimated(Int128 numerator, Int128 divisor, out Int128 quotient, out Int128 remainder)
    {
        const double TwoTo62 = 4_611_686_018_427_387_904.0;
        var n = numerator < 0 ? UInt128.Zero - (UInt128)numerator : (UInt128)numerator;   // Int128.MinValue too (then n >> 126 != 0)
        var d = divisor < 0 ? UInt128.Zero - (UInt128)divisor : (UInt128)divisor;
        var estimate = ToDouble(n) / ToDouble(d);
        if (n >> 126 != 0 || !(estimate < TwoTo62))
        {
            (quotient, remainder) = (0, 0);
            return false;
        }

        // |q0 × d| ≤ n (1 + 2^-50) + d < 2^127: the signed remainder cannot overflow.
        var q = (long)estimate;
        var r = (Int128)n - (Int128)((UInt128)(ulong)q * d);
        q = Math.Max(0, q + (long)Math.Floor(ToDouble(r) / ToDouble(d)));
        r = (Int128)n - (Int128)((UInt128)(ulong)q * d);
        var wide = (Int128)d;
        while (r < 0)
        {
            q--;
            r += wide;
        }

        while (r >= wide)
        {
            q++;
            r -= wide;
        }

        // Truncation toward zero, as Int128.DivRem: the quotient takes the sign of the operands' product, the remainder the numerator's.
        var negative = (numerator < 0) != (divisor < 0);
        quotient = negative ? -q : q;
        remainder = numerator < 0 ? -r : r;
        return true;
    }

    private static double ToDouble(UInt128 value) => ((double)(ulong)(value >> 64) * 18_446_744_073_709_551_616.0) + (ulong)value;

    private static double ToDouble(Int128 value) => value < 0 ? -ToDouble((UInt128)(-value)) : ToDouble((UInt128)value);

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
