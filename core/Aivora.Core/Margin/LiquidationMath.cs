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
            Int128 denominator = (Int128)qty * moneyPerTickLot * (signedQtyLots > 0 ? FixedPoint.RateScale - mmr : FixedPoint.RateScale + mmr);
            Int128 numerator = signedQtyLots > 0 ? (Int128)cost - marginBalance - cum : (Int128)marginBalance + cost + cum;
            price = FixedPoint.Narrow(FixedPoint.Divide(numerator * FixedPoint.RateScale, denominator, signedQtyLots > 0 ? Rounding.Up : Rounding.Down));
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
