using Aivora.Core.Numbers;

namespace Aivora.Core.Funding;

/// <summary>
/// Settles one funding interval over a population of positions, exactly zero-sum. The paying side (longs when the rate is
/// positive) each pays |q|·mark·m·|F|, rounded up. The receiving side shares a pool pro rata to position size, rounded down:
/// what the paying side owes in all (its lots × mark·m·|F|, rounded up once) plus the residue carried from the last
/// settlement. What rounding leaves over (the payers' own roundings up, the receivers' down) is the new residue, carried
/// to the next settlement. So Σ payments + new residue − carried residue = 0, exactly, every time, and the new residue is
/// at least 0 (the payers pay at least what they owe in all; the receivers get at most the pool).
/// The pool is known before any position is paid, so a settlement can pay its positions in any order, over many commands
/// (<see cref="Accounts.Ledger.StartFunding"/>): the ledger and this reference share the formulas below. Before 2026-12-04
/// the pool was the sum of the payments, known only once every payer had paid.
/// </summary>
public static class FundingSettlement
{
    /// <param name="signedQtyLots">Positions (long positive, short negative).</param>
    /// <param name="payments">Out: money per position, negative when it pays.</param>
    /// <returns>The new residue (0 ≤ residue, and below the number of positions unless nobody could receive).</returns>
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
        var perLot = PerLotNarrow(markTicks, moneyPerTickLot, absRate);
        long payingLots = 0, receivingLots = 0;
        for (var i = 0; i < signedQtyLots.Length; i++)
        {
            var q = signedQtyLots[i];
            if (q == 0)
            {
                continue;
            }

            if ((q > 0) == payersAreLong)
            {
                var payment = Payment(Math.Abs(q), perLot, markTicks, moneyPerTickLot, absRate);
                payments[i] = -payment;
                totalPaid += payment;
                payingLots += Math.Abs(q);
            }
            else
            {
                receivingLots += Math.Abs(q);
            }
        }

        var pool = Pool(payingLots, markTicks, moneyPerTickLot, absRate, carriedResidue);
        if (receivingLots == 0)
        {
            return totalPaid + carriedResidue;   // no counterparty (cannot happen with balanced open interest): nothing is lost
        }

        long received = 0;
        for (var i = 0; i < signedQtyLots.Length; i++)
        {
            var q = signedQtyLots[i];
            if (q != 0 && (q > 0) != payersAreLong)
            {
                var share = Share(pool, Math.Abs(q), receivingLots);
                payments[i] = share;
                received += share;
            }
        }

        return totalPaid + carriedResidue - received;
    }

    /// <summary>A lot's payment before rounding, × 1e8: mark × money per tick-lot × |F|, when it fits in 64 bits (0 when it
    /// does not: <see cref="Payment"/> then works in 128 bits).</summary>
    public static long PerLotNarrow(long markTicks, long moneyPerTickLot, long absRate)
    {
        var perLot = (Int128)markTicks * moneyPerTickLot * absRate;
        return perLot > 0 && perLot <= long.MaxValue ? (long)perLot : 0;
    }

    /// <summary>What a paying position of <paramref name="lots"/> pays: lots × mark × m × |F| ÷ 1e8, rounded up. With
    /// <paramref name="perLotNarrow"/> (<see cref="PerLotNarrow"/>) a 64-bit product and a division by the constant when the
    /// product fits (the usual case), not a product of four built in 128 bits.</summary>
    public static long Payment(long lots, long perLotNarrow, long markTicks, long moneyPerTickLot, long absRate) =>
        perLotNarrow > 0 ? FixedPoint.ApplyRate(lots, perLotNarrow, Rounding.Up)
            : FixedPoint.Narrow(FixedPoint.Divide((Int128)lots * markTicks * moneyPerTickLot * absRate, FixedPoint.RateScale, Rounding.Up));

    /// <summary>The receivers' pool: what <paramref name="payingLots"/> owe in all, rounded up once, plus the residue carried.</summary>
    public static long Pool(long payingLots, long markTicks, long moneyPerTickLot, long absRate, long carriedResidue) =>
        FixedPoint.Narrow(FixedPoint.Divide((Int128)payingLots * markTicks * moneyPerTickLot * absRate, FixedPoint.RateScale, Rounding.Up)) + carriedResidue;

    /// <summary>A receiving position's share of the pool: pro rata to its lots among <paramref name="receivingLots"/>, rounded down.</summary>
    public static long Share(long pool, long lots, long receivingLots) => FixedPoint.MulDiv(pool, lots, receivingLots, Rounding.Down);
}
