using Aivora.Core.Numbers;

namespace Aivora.Core.Funding;

/// <summary>
/// Settles one funding interval over a population of positions, exactly zero-sum. The paying side
/// (longs when the rate is positive) each pays |q|·mark·m·|F|, rounded up; the pool (payments plus
/// the residue carried from the last settlement) is shared among the receiving side pro rata to
/// position size, rounded down; what rounding leaves over is the new residue, carried to the next
/// settlement. So Σ payments + new residue − carried residue = 0, exactly, every time.
/// </summary>
public static class FundingSettlement
{
    /// <param name="signedQtyLots">Positions (long positive, short negative).</param>
    /// <param name="payments">Out: money per position, negative when it pays.</param>
    /// <returns>The new residue (0 ≤ residue, and below the number of receivers unless nobody could receive).</returns>
    public static long Settle(ReadOnlySpan<long> signedQtyLots, Span<long> payments, long markTicks, long moneyPerTickLot, long rate, long carriedResidue, out long totalPaid)
    {
        if (payments.Length < signedQtyLots.Length)
        {
            throw new ArgumentException("payments must have a slot per position", nameof(payments));
        }

        payments[..signedQtyLots.Length].Clear();
        totalPaid = 0;
        if (rate == 0)
        {
            return carriedResidue;
        }

        var payersAreLong = rate > 0;
        var absRate = Math.Abs(rate);
        // A lot's payment before rounding, × 1e8: mark × money per tick-lot × |F|. When it fits in 64 bits a position's payment
        // is lots × it ÷ 1e8, rounded up (ApplyRate: a 64-bit product and a division by the constant when the product fits,
        // the usual case), not a product of four built in 128 bits per position.
        var perLot = (Int128)markTicks * moneyPerTickLot * absRate;
        var perLotNarrow = perLot > 0 && perLot <= long.MaxValue ? (long)perLot : 0;
        long receivingLots = 0;
        for (var i = 0; i < signedQtyLots.Length; i++)
        {
            var q = signedQtyLots[i];
            if (q == 0)
            {
                continue;
            }

            if ((q > 0) == payersAreLong)
            {
                var payment = perLotNarrow > 0 ? FixedPoint.ApplyRate(Math.Abs(q), perLotNarrow, Rounding.Up)
                    : FixedPoint.Narrow(FixedPoint.Divide((Int128)Math.Abs(q) * markTicks * moneyPerTickLot * absRate, FixedPoint.RateScale, Rounding.Up));
                payments[i] = -payment;
                totalPaid += payment;
            }
            else
            {
                receivingLots += Math.Abs(q);
            }
        }

        var pool = totalPaid + carriedResidue;
        if (receivingLots == 0)
        {
            return pool;   // no counterparty (cannot happen with balanced open interest): nothing is lost
        }

        long received = 0;
        for (var i = 0; i < signedQtyLots.Length; i++)
        {
            var q = signedQtyLots[i];
            if (q != 0 && (q > 0) != payersAreLong)
            {
                var share = FixedPoint.MulDiv(pool, Math.Abs(q), receivingLots, Rounding.Down);
                payments[i] = share;
                received += share;
            }
        }

        return pool - received;
    }
}
