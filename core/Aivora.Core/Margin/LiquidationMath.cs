using Aivora.Core.Numbers;

namespace Aivora.Core.Margin;

/// <summary>
/// Liquidation price of a one-way position: the mark price at which equity equals maintenance
/// margin. Solved exactly from the cost basis (not a rounded entry price):
/// long:  WB + Q·m·P − C = Q·m·P·MMR − cum  ⇒  P = (C − WB − cum) / (Q·m·(1 − MMR))
/// short: WB + C − Q·m·P = Q·m·P·MMR − cum  ⇒  P = (WB + C + cum) / (Q·m·(1 + MMR))
/// with Q lots, m money per tick·lot, C the position's cost (money), WB the margin behind it
/// (the isolated wallet, or for cross the balance plus the other positions' PnL minus their MM).
/// Equivalent to the textbook LP = (WB + cum − Q·EP) / (Q·MMR − Q) with C = Q·EP. If the price
/// lands in another tier, it is solved again with that tier's MMR and cum. Rounded toward
/// liquidating earlier (up for longs, down for shorts): the exchange's side.
/// </summary>
public static class LiquidationMath
{
    /// <summary>Liquidation price in ticks; 0 when the position cannot be liquidated (a long whose
    /// margin covers a fall to zero) or there is no position.</summary>
    public static long LiquidationPrice(long signedQtyLots, long costBasis, long marginBalance, MarginTierTable tiers, long moneyPerTickLot)
    {
        if (signedQtyLots == 0)
        {
            return 0;
        }

        var qty = Math.Abs(signedQtyLots);
        var cost = Math.Abs(costBasis);
        var tier = tiers.TierOf(cost);
        long price = 0;
        for (var attempt = 0; attempt <= tiers.Count; attempt++)
        {
            var mmr = tiers[tier].MaintenanceRate;
            var cum = tiers.CumulativeAmount(tier);
            Int128 numerator = signedQtyLots > 0 ? (Int128)cost - marginBalance - cum : (Int128)marginBalance + cost + cum;
            var factor = signedQtyLots > 0 ? FixedPoint.RateScale - mmr : FixedPoint.RateScale + mmr;
            if (!TrySolveNarrow(numerator, qty, moneyPerTickLot, factor, signedQtyLots > 0, out price))
            {
                Int128 denominator = (Int128)qty * moneyPerTickLot * factor;
                price = FixedPoint.Narrow(FixedPoint.Divide(numerator * FixedPoint.RateScale, denominator, signedQtyLots > 0 ? Rounding.Up : Rounding.Down));
            }

            if (price <= 0)
            {
                return 0;
            }

            var tierAtPrice = tiers.TierOf(FixedPoint.Product(qty, price, moneyPerTickLot));
            if (tierAtPrice == tier)
            {
                return price;
            }

            tier = tierAtPrice;
        }

        return price;
    }

    /// <summary>
    /// numerator × 1e8 ÷ (qty × m × factor), rounded up (<paramref name="roundUp"/>) or down, when the divisor and the
    /// numerator fit in 64 bits (every position short of absurd sizes): one 64-bit multiply for the divisor and one
    /// 128-by-64-bit division, where the general path builds three 128-bit products. A numerator at or below zero is a
    /// price at or below zero (0). False: the general path decides (wider operands, or a quotient past 64 bits, which
    /// it reports as an overflow).
    /// </summary>
    private static bool TrySolveNarrow(Int128 numerator, long qty, long moneyPerTickLot, long factor, bool roundUp, out long price)
    {
        price = 0;
        var n = (long)numerator;
        if (n != numerator || !FixedPoint.TryMultiply(qty, moneyPerTickLot, out var qm) || !FixedPoint.TryMultiply(qm, factor, out var divisor) || divisor <= 0)
        {
            return false;
        }

        if (n <= 0)
        {
            return true;
        }

        ulong high, low;
        if (FixedPoint.TryMultiply(n, FixedPoint.RateScale, out var narrow))
        {
            (high, low) = (0, (ulong)narrow);   // n > 0 here
        }
        else
        {
            high = Math.BigMul((ulong)n, (ulong)FixedPoint.RateScale, out low);
        }

        if (high >= (ulong)divisor)
        {
            return false;   // the quotient would pass 64 bits
        }

        var (quotient, remainder) = high == 0 ? Math.DivRem(low, (ulong)divisor) : ((ulong, ulong))UInt128.DivRem(new UInt128(high, low), (ulong)divisor);
        var rounded = roundUp && remainder != 0 ? quotient + 1 : quotient;
        if (rounded > long.MaxValue)
        {
            return false;
        }

        price = (long)rounded;
        return true;
    }

    /// <summary>
    /// Bankruptcy price: the price at which closing the whole position leaves exactly no margin behind it
    /// (equity 0): long P = (C − WB) / (Q·m), short P = (WB + C) / (Q·m). Rounded so that closing there
    /// leaves the account at or just above zero (up for longs, down for shorts); at least 1 tick (a long whose
    /// margin covers a fall to zero, or a short already insolvent at any price). 0 when there is no position.
    /// </summary>
    public static long BankruptcyPrice(long signedQtyLots, long costBasis, long marginBalance, long moneyPerTickLot)
    {
        if (signedQtyLots == 0)
        {
            return 0;
        }

        var qty = Math.Abs(signedQtyLots);
        var cost = Math.Abs(costBasis);
        Int128 denominator = (Int128)qty * moneyPerTickLot;
        Int128 numerator = signedQtyLots > 0 ? (Int128)cost - marginBalance : (Int128)marginBalance + cost;
        var price = FixedPoint.Divide(numerator, denominator, signedQtyLots > 0 ? Rounding.Up : Rounding.Down);
        return price <= 0 ? 1 : FixedPoint.Narrow(price);
    }
}
