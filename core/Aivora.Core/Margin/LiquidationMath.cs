using System.Runtime.Intrinsics.X86;
using Aivora.Core.Numbers;

namespace Aivora.Core.Margin;

/// <summary>
/// Liquidation price of a one-way position: the mark price at which equity equals maintenance
/// margin. Solved exactly from the cost basis (not a rounded entry price):
/// long:  WB + Q·m·P − C = Q·m·P·MMR − cum  ⇒  P = (C − WB − cum) / (Q·m·(1 − MMR))
/// short: WB + C − Q·m·P = Q·m·P·MMR − cum  ⇒  P = (WB + C + cum) / (Q·m·(1 + MMR))
/// with Q lots, m money per tick·lot, C the position's cost (money), WB the margin behind it
/// (the isolated wallet, or for cross the balance plus the other positions' PnL minus their MM).
/// Equivalent to the textbook LP = (WB + cum − Q·EP) / (Q·MMR − Q) with C = Q·EP. MMR and cum are
/// those of the tier the price lands in, found from the margin before the formula is solved (see
/// Solve). Rounded toward liquidating earlier (up for longs, down for shorts): the exchange's side.
/// </summary>
public static class LiquidationMath
{
    /// <summary>Liquidation price in ticks; 0 when the position cannot be liquidated (a long whose
    /// margin covers a fall to zero) or there is no position. A short that breaches maintenance at every price (its
    /// margin and cost do not cover it even at one tick: the formula gives 0 or less) gets 1: it is past its price at any
    /// mark, where 0 would read as "never".</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static long LiquidationPrice(long signedQtyLots, long costBasis, long marginBalance, MarginTierTable tiers, long moneyPerTickLot)
    {
        // Many positions asked about are longs their margin alone carries to a price of zero (margin at least the cost: the
        // numerator C − WB − cum is at most 0 in every tier, cum being at least 0): 0, decided here at the caller, without the
        // call and its frame. Where the solve gives 0 for it too: its shortfall (C − WB) is at most 0, so the solve's tier is
        // the first (cum 0), and its narrow path takes every such margin under 2^61 (the cost is below it); past 2^61 the
        // solve decides (it may overflow, as the exact formula does).
        if (signedQtyLots > 0 && costBasis >= 0 && costBasis <= marginBalance && marginBalance < (1L << 61) && moneyPerTickLot > 0)
        {
            return 0;
        }

        return signedQtyLots == 0 ? 0 : Solve(signedQtyLots, costBasis, marginBalance, tiers, moneyPerTickLot);
    }

    /// <summary>
    /// <see cref="LiquidationPrice"/> of a position the check at the caller did not settle (out of line). The tier the price
    /// lands in is found first, from the margin alone (<see cref="MarginTierTable.LiquidationTier"/>: comparisons, no
    /// division), and the formula solved once, in that tier. Only where rounding the price to a tick carries its notional
    /// across a tier's floor does the tier at the price differ; then the formula is solved again in the tier at the price,
    /// until they agree (<see cref="SettleAcrossFloors"/>).
    /// <para>
    /// Before (until 2026-12-04) the first solve was in the tier of the position's cost, moving to the tier at each price
    /// found. A short's price was often several tiers above its cost's (a well-margined short's liquidation notional is many
    /// times its entry), so two to four solves; and a long whose cost's tier had a cumulative amount above its shortfall
    /// (cost − margin: a long of about 1x leverage in a tier above the first) solved to a price at or below 0 there and was
    /// answered 0, "cannot be liquidated", though it falls below maintenance, and into debt, at a positive price in a lower
    /// tier (e.g. 1,200,000 USDT long on 1,190,000 of margin: maintenance breached near 0.84 % of entry, answered 0).
    /// </para>
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static long Solve(long signedQtyLots, long costBasis, long marginBalance, MarginTierTable tiers, long moneyPerTickLot)
    {
        var qty = Math.Abs(signedQtyLots);
        var cost = Math.Abs(costBasis);
        var isLong = signedQtyLots > 0;
        var tier = tiers.LiquidationTier(isLong, isLong ? (Int128)cost - marginBalance : (Int128)marginBalance + cost);
        var price = SolveInTier(isLong, cost, marginBalance, qty, moneyPerTickLot, tiers, tier);
        if (price <= 0)
        {
            return NoPositivePrice(isLong);
        }

        var tierAtPrice = tiers.TierOf(FixedPoint.Product(qty, price, moneyPerTickLot));
        return tierAtPrice == tier ? price : SettleAcrossFloors(isLong, cost, marginBalance, qty, moneyPerTickLot, tiers, tierAtPrice, price);
    }

    /// <summary>
    /// The answer when the formula gives no positive price: a long is covered all the way down (0: never liquidated); a
    /// short is short of maintenance at every price (1: liquidated at any mark). Before 2026-12-04 a short got 0 too, and the
    /// liquidation index took 0 as "none": a cross short whose other positions' losses had eaten its margin and more was
    /// never flagged, though the liquidation path (its bankruptcy price of 1 tick) is built for it.
    /// </summary>
    private static long NoPositivePrice(bool isLong) => isLong ? 0 : 1;

    /// <summary>The formula in one tier: the narrow path when its operands allow, else the 128-bit one.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static long SolveInTier(bool isLong, long cost, long marginBalance, long qty, long moneyPerTickLot, MarginTierTable tiers, int tier)
    {
        var mmr = tiers[tier].MaintenanceRate;
        var cum = tiers.CumulativeAmount(tier);
        var factor = isLong ? FixedPoint.RateScale - mmr : FixedPoint.RateScale + mmr;
        return TrySolveNarrow(isLong, cost, marginBalance, cum, qty, moneyPerTickLot, factor, out var price)
            ? price
            : SolveWide(isLong, cost, marginBalance, cum, qty, moneyPerTickLot, factor);
    }

    /// <summary>
    /// A price whose rounding to a tick carried its notional across a tier's floor (rare, out of line): solved again in the
    /// tier at the price until the two agree, at most once per tier; the last price found otherwise.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static long SettleAcrossFloors(bool isLong, long cost, long marginBalance, long qty, long moneyPerTickLot, MarginTierTable tiers, int tier, long price)
    {
        for (var attempt = 0; attempt < tiers.Count; attempt++)
        {
            price = SolveInTier(isLong, cost, marginBalance, qty, moneyPerTickLot, tiers, tier);
            if (price <= 0)
            {
                return NoPositivePrice(isLong);
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
    /// The numerator (long: C − WB − cum; short: WB + C + cum) × 1e8 ÷ (qty × m × factor), rounded up for a long and down for
    /// a short, in 64-bit registers: every operand of the numerator under 2^61 in magnitude (so their sum fits in 64 bits),
    /// and the divisor under 2^63. Then one 64-bit product with 1e8 (its high half from the same multiply) and one division:
    /// 64 by 64 bits when the product fits, else 128 by 64 bits in one instruction where the processor has it (x64). A numerator
    /// at or below zero is a price at or below zero (0). False: <see cref="SolveWide"/> decides (wider operands, or a quotient
    /// past 64 bits, which it reports as an overflow). Measured alone (perf/Aivora.Benchmarks `LiquidationPriceBenchmarks`, the
    /// order-entry flow's what-ifs): a short 20.2 ns, a long 5.2, either at random 14.8 with the Int128 numerator and the runtime's
    /// 128-bit division (behind a call) this replaced; 13.1, 3.8 and 9.8 with it.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool TrySolveNarrow(bool isLong, long cost, long marginBalance, long cum, long qty, long moneyPerTickLot, long factor, out long price)
    {
        price = 0;
        const long Bound = 1L << 61;
        if (!FixedPoint.MagnitudeUnder(cost, Bound) || !FixedPoint.MagnitudeUnder(marginBalance, Bound) || !FixedPoint.MagnitudeUnder(cum, Bound)
            || moneyPerTickLot <= 0 || factor <= 0
            || Math.BigMul((ulong)qty, (ulong)moneyPerTickLot, out var qm) != 0 || Math.BigMul(qm, (ulong)factor, out var divisor) != 0
            || divisor > long.MaxValue)
        {
            return false;
        }

        var n = isLong ? cost - marginBalance - cum : marginBalance + cost + cum;
        if (n <= 0)
        {
            return true;
        }

        var high = Math.BigMul((ulong)n, (ulong)FixedPoint.RateScale, out var low);
        if (high >= divisor)
        {
            return false;   // the quotient would pass 64 bits
        }

        ulong quotient, remainder;
        if (high == 0)
        {
            quotient = low / divisor;
            remainder = low - (quotient * divisor);
        }
        else
        {
            (quotient, remainder) = DivideWide(high, low, divisor);
        }

        var rounded = isLong && remainder != 0 ? quotient + 1 : quotient;
        if (rounded > long.MaxValue)
        {
            return false;
        }

        price = (long)rounded;
        return true;
    }

    /// <summary>(high, low) ÷ divisor with high &lt; divisor (the quotient fits in 64 bits): x64's 128-by-64-bit division in one
    /// instruction (the runtime's own UInt128 division uses it behind a call), else the runtime's.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static (ulong Quotient, ulong Remainder) DivideWide(ulong high, ulong low, ulong divisor)
    {
        if (X86Base.X64.IsSupported)
        {
#pragma warning disable SYSLIB5004   // "for evaluation purposes": the one x64 instruction for this (the runtime's own UInt128 division calls it); the tests here run it, other processors take the runtime's division below
            return X86Base.X64.DivRem(low, high, divisor);
#pragma warning restore SYSLIB5004
        }

        var (q, r) = UInt128.DivRem(new UInt128(high, low), divisor);
        return ((ulong)q, (ulong)r);
    }

    /// <summary>The general solve in 128 bits (out of line: operands past the narrow path's range, or an overflow to report).
    /// The numerator × 1e8 stays under 2^93; a divisor past 2^127 (lots × money per tick × factor, each under 2^63) is past it
    /// too, so the quotient is a fraction: rounded as the division would round it, not divided by a product wrapped around.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static long SolveWide(bool isLong, long cost, long marginBalance, long cum, long qty, long moneyPerTickLot, long factor)
    {
        Int128 numerator = isLong ? (Int128)cost - marginBalance - cum : (Int128)marginBalance + cost + cum;
        var lotsMoney = (Int128)qty * moneyPerTickLot;   // |each| < 2^63: fits
        if (factor > 0 && lotsMoney > Int128.MaxValue / factor)
        {
            // |numerator| < 2^93 < the divisor: 0 < n ÷ d < 1 rounds up to 1 (long) or down to 0 (short); below 0, to 0 or -1.
            return numerator == 0 ? 0 : numerator > 0 ? (isLong ? 1 : 0) : (isLong ? 0 : -1);
        }

        return FixedPoint.Narrow(FixedPoint.Divide(numerator * FixedPoint.RateScale, lotsMoney * factor, isLong ? Rounding.Up : Rounding.Down));
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
