using Aivora.Core.Numbers;
using Aivora.Core.Margin;

namespace Aivora.Core.Tests.Risk;

/// <summary>The worked numbers of perp-mechanics.md, in integer units.</summary>
public sealed class MarginMathTests
{
    // USDT with 6 decimals; BTC-PERP tick 0.1 USDT, lot 0.001 BTC: one tick·lot is 0.0001 USDT = 100 units.
    private const long Usdt = 1_000_000;
    private const long MoneyPerTickLot = 100;

    private static long Percent(double p) => (long)Math.Round(p / 100 * FixedPoint.RateScale);

    public static MarginTierTable DocTiers() => new(
    [
        new MarginTier(0, Percent(0.40), 125),
        new MarginTier(50_000 * Usdt, Percent(0.50), 100),
        new MarginTier(250_000 * Usdt, Percent(1.00), 50),
        new MarginTier(1_000_000 * Usdt, Percent(2.50), 20),
    ]);

    [Fact]
    public void ShouldComputeTheDocumentedCumulativeAmounts()
    {
        var tiers = DocTiers();

        Assert.Equal([0L, 50L * Usdt, 1_300L * Usdt, 16_300L * Usdt], Enumerable.Range(0, 4).Select(tiers.CumulativeAmount));
    }

    [Theory]
    [InlineData(10_000, 40)]              // tier 1: 0.4%
    [InlineData(100_000, 450)]            // tier 2: 0.5% × 100k − 50
    [InlineData(500_000, 3_700)]          // tier 3: 1% × 500k − 1,300
    [InlineData(2_000_000, 33_700)]       // tier 4: 2.5% × 2M − 16,300
    public void ShouldComputeTieredMaintenanceMargin(long notionalUsdt, long expectedUsdt) =>
        Assert.Equal(expectedUsdt * Usdt, DocTiers().MaintenanceMargin(notionalUsdt * Usdt));

    [Fact]
    public void ShouldKeepMaintenanceMarginContinuousAcrossTierFloors()
    {
        var tiers = DocTiers();
        foreach (var floor in new[] { 50_000L, 250_000L, 1_000_000L })
        {
            var below = tiers.MaintenanceMargin((floor * Usdt) - 1);
            var at = tiers.MaintenanceMargin(floor * Usdt);
            Assert.InRange(at - below, 0, 1);
        }
    }

    [Fact]
    public void ShouldCapLeverageByTierAndRoundInitialMarginUp()
    {
        var tiers = DocTiers();
        Assert.Equal(100 * Usdt, tiers.InitialMargin(10_000 * Usdt, 100));
        Assert.Equal(2_000_000 * Usdt / 20, tiers.InitialMargin(2_000_000 * Usdt, 100));   // capped at 20x
        Assert.Equal(1, tiers.InitialMargin(1, 100));                                       // never rounds to zero
    }

    [Fact]
    public void ShouldFindTheDocumentedIsolatedLongLiquidationPrice()
    {
        // WB 600, Q 0.1 BTC, EP 60,000, MMR 0.4%, cum 0 → LP ≈ 54,217.
        var qty = 100L;                                  // 0.1 BTC in lots
        var entryTicks = 600_000L;                       // 60,000.0 USDT
        var cost = qty * entryTicks * MoneyPerTickLot;   // 6,000 USDT

        var lp = LiquidationMath.LiquidationPrice(qty, cost, 600 * Usdt, DocTiers(), MoneyPerTickLot);

        Assert.Equal(542_169, lp);                       // 54,216.9 USDT, rounded toward liquidating earlier
        var equityAtLp = (600 * Usdt) + (qty * lp * MoneyPerTickLot) - cost;
        Assert.True(equityAtLp >= DocTiers().MaintenanceMargin(qty * lp * MoneyPerTickLot), "at LP the position is at or above maintenance");
        var equityBelow = (600 * Usdt) + (qty * (lp - 1) * MoneyPerTickLot) - cost;
        Assert.True(equityBelow < DocTiers().MaintenanceMargin(qty * (lp - 1) * MoneyPerTickLot), "one tick lower it is below");
    }

    [Fact]
    public void ShouldMirrorTheFormulaForShorts()
    {
        var qty = 100L;
        var cost = qty * 600_000L * MoneyPerTickLot;

        var lp = LiquidationMath.LiquidationPrice(-qty, -cost, 600 * Usdt, DocTiers(), MoneyPerTickLot);

        // (WB + cum + Q·EP) / (Q·MMR + Q) = 6,600 / 0.1004 = 65,737.05 → 65,737.0
        Assert.Equal(657_370, lp);
    }

    [Fact]
    public void ShouldRecomputeInTheTierWhereTheLiquidationPriceLands()
    {
        // A 4 BTC short at 60,000: 240k notional, tier 2 (0.5%) at entry. With tier 2 the price
        // would be (20,000 + 240,000 + 50) / (4 × 1.005) = 64,689.0, where the notional (258.8k) is
        // in tier 3; solved again with tier 3 (1%, cum 1,300): 261,300 / 4.04 = 64,678.2.
        var tiers = DocTiers();
        var qty = 4_000L;
        var cost = qty * 600_000L * MoneyPerTickLot;
        var wallet = 20_000 * Usdt;

        var lp = LiquidationMath.LiquidationPrice(-qty, -cost, wallet, tiers, MoneyPerTickLot);

        Assert.Equal(646_782, lp);
        long Equity(long price) => wallet + cost - (qty * price * MoneyPerTickLot);
        long Maintenance(long price) => tiers.MaintenanceMargin(qty * price * MoneyPerTickLot);
        Assert.True(Equity(lp) >= Maintenance(lp), "at the liquidation price the short still meets maintenance");
        Assert.True(Equity(lp + 1) < Maintenance(lp + 1), "one tick higher it does not");
    }

    /// <summary>
    /// What the liquidation price means, checked against equity and maintenance themselves (exact, in big integers, the
    /// maintenance of the tier each notional is in): a long meets maintenance at its price and not a tick below it; a short at
    /// its price and not a tick above; 0 for a long that meets maintenance at every price of a tick or more, 1 for a short
    /// that meets it at none (past its price at any mark: it was answered 0, which the liquidation index reads as "never").
    /// Positions of every tier, margins from a few percent of the cost to many times it: the solve
    /// tried first the tier of the position's cost and answered 0 for a long of about 1x leverage whose cost was in a tier
    /// above the first, e.g. 1,200,000 USDT long on 1,190,000 of margin, which falls below maintenance near 0.84 % of its
    /// entry (and into debt just under it).
    /// </summary>
    [Fact]
    public void ShouldLiquidateWhereEquityMeetsMaintenanceWhateverTheTierOfTheCost()
    {
        var tiers = DocTiers();
        var random = new Random(94);
        System.Numerics.BigInteger scale = FixedPoint.RateScale;
        var longsAtPositivePrices = 0;
        var shortsPastAtEveryPrice = 0;
        for (var i = 0; i < 50_000; i++)
        {
            var qty = random.NextInt64(1, 40_000_000);   // up to 40,000 BTC: notionals through every tier at prices near 60,000
            var entry = random.NextInt64(100_000, 1_000_000);
            var cost = qty * entry * MoneyPerTickLot;
            var margin = random.Next(4) switch
            {
                0 => cost - random.NextInt64(0, Math.Max(1, cost / 40)),   // about 1x: a shortfall of up to 2.5 % of the cost
                1 => random.NextInt64(cost / 100, cost),
                2 => -random.NextInt64(0, 2 * cost),   // cross margin eaten by the other positions' losses, and more
                _ => random.NextInt64(0, 4 * cost),
            };
            var isLong = random.Next(2) == 0;
            var lp = LiquidationMath.LiquidationPrice(isLong ? qty : -qty, isLong ? cost : -cost, margin, tiers, MoneyPerTickLot);

            bool Meets(long price)
            {
                System.Numerics.BigInteger notional = (System.Numerics.BigInteger)qty * price * MoneyPerTickLot;
                var equity = isLong ? margin - cost + notional : margin + cost - notional;
                var k = tiers.TierOf((long)notional);
                return equity * scale >= (notional * tiers[k].MaintenanceRate) - (tiers.CumulativeAmount(k) * scale);
            }

            var at = $"{(isLong ? "long" : "short")} {qty} lots at {entry}, margin {margin}: liquidation price {lp}";
            if (isLong)
            {
                Assert.True(lp == 0 ? Meets(1) : Meets(lp) && !Meets(lp - 1), at);
                longsAtPositivePrices += lp > 0 && margin > cost - (cost / 40) ? 1 : 0;
            }
            else
            {
                Assert.True(lp > 0 && (lp == 1 && !Meets(1) || Meets(lp) && !Meets(lp + 1)), at);
                shortsPastAtEveryPrice += lp == 1 && !Meets(1) ? 1 : 0;
            }
        }

        Assert.True(longsAtPositivePrices > 1_000, $"longs of about 1x with a liquidation price: {longsAtPositivePrices}");
        Assert.True(shortsPastAtEveryPrice > 100, $"shorts past their price at every price: {shortsPastAtEveryPrice}");
    }

    /// <summary>
    /// The liquidation price solves in 64 bits when its operands fit and in 128 otherwise: on random positions from one
    /// lot to absurd sizes, with margins from deep debt to billions, it must equal the documented formula evaluated in
    /// exact big integers (tier by tier, rounded toward liquidating earlier), and overflow exactly when that does not fit.
    /// </summary>
    [Fact]
    public void ShouldSolveTheLiquidationPriceExactlyAtEveryMagnitude()
    {
        var tiers = DocTiers();
        var random = new Random(90);
        long Magnitude(long max) => random.Next(3) switch
        {
            0 => random.NextInt64(1, 1_000),
            1 => random.NextInt64(1, Math.Max(2, max / 1_000_000)),
            _ => random.NextInt64(1, max),
        };

        for (var i = 0; i < 100_000; i++)
        {
            var qty = Magnitude(random.Next(4) == 0 ? long.MaxValue : 1L << 40) * (random.Next(2) == 0 ? 1 : -1);
            var moneyPerTickLot = random.Next(4) == 0 ? Magnitude(1_000_000) : MoneyPerTickLot;
            var cost = Magnitude(random.Next(4) == 0 ? long.MaxValue / 2 : 1L << 50) * Math.Sign(qty);
            var margin = Magnitude(random.Next(4) == 0 ? long.MaxValue / 2 : 1L << 50) * (random.Next(4) == 0 ? -1 : 1);
            var expected = Outcome(() => ReferenceLiquidationPrice(qty, cost, margin, tiers, moneyPerTickLot));
            Assert.Equal(expected, Outcome(() => LiquidationMath.LiquidationPrice(qty, cost, margin, tiers, moneyPerTickLot)));
        }
    }

    /// <summary>
    /// The numerator's three terms (cost, margin, cumulative amount) each fit in 64 bits, their sum need not: margins and costs
    /// near the long range's ends (a deep debt against a huge short, a fortune behind a long) must solve as the exact formula
    /// does, never from a sum wrapped around in 64 bits.
    /// </summary>
    [Fact]
    public void ShouldSolveTheLiquidationPriceWhenTheNumeratorPassesSixtyFourBits()
    {
        var tiers = DocTiers();
        var random = new Random(91);
        for (var i = 0; i < 20_000; i++)
        {
            var qty = random.NextInt64(1, 1_000) * (random.Next(2) == 0 ? 1 : -1);   // a divisor inside 64 bits: the narrow path is tried first
            var cost = (long.MaxValue - random.NextInt64(0, 1L << 40)) * Math.Sign(qty);
            var margin = (long.MaxValue - random.NextInt64(0, 1L << 40)) * (qty > 0 ? -1 : 1);   // the sum passes 2^63 either way
            var moneyPerTickLot = random.NextInt64(1, 1_000);
            Assert.Equal(Outcome(() => ReferenceLiquidationPrice(qty, cost, margin, tiers, moneyPerTickLot)), Outcome(() => LiquidationMath.LiquidationPrice(qty, cost, margin, tiers, moneyPerTickLot)));
        }
    }

    /// <summary>
    /// A long its margin covers to a price of zero is answered at the caller without the solve: only where the solve's answer
    /// is 0 as well. Around that case's every edge (margin just above and below the cost, costs of either sign, margins near
    /// 2^61 and near the long range's end, and a tier table whose cumulative amount is past 2^61), the answer must be the exact
    /// formula's, or an overflow exactly where that overflows.
    /// </summary>
    [Fact]
    public void ShouldAnswerACoveredLongAsTheSolveDoesAtEveryEdge()
    {
        MarginTierTable[] tables = [DocTiers(), new([new MarginTier(0, 1_000_000, 100), new MarginTier(1L << 62, 99_000_000, 1)])];
        void Same(long qty, long cost, long margin, long moneyPerTickLot, MarginTierTable tiers) => Assert.True(
            Outcome(() => ReferenceLiquidationPrice(qty, cost, margin, tiers, moneyPerTickLot)) is var expected
                && Outcome(() => LiquidationMath.LiquidationPrice(qty, cost, margin, tiers, moneyPerTickLot)) is var actual && expected == actual,
            $"qty {qty} cost {cost} margin {margin} m {moneyPerTickLot}: the formula {expected}, the engine {actual}");

        // A fortune behind a one-lot long: the formula's price (far below zero) does not fit in 64 bits. No money per tick: both divide by zero.
        Same(1, 0, long.MaxValue, 1, tables[0]);
        Same(1, 1_000, long.MaxValue - 1_000, 1, tables[0]);
        Same(1, 1_000, 2_000, 0, tables[0]);
        var random = new Random(92);
        long Around(long edge) => edge + random.NextInt64(-3, 4);
        for (var i = 0; i < 50_000; i++)
        {
            var tiers = tables[random.Next(tables.Length)];
            var qty = random.Next(3) switch { 0 => random.NextInt64(1, 1_000), 1 => Around(1L << 40), _ => random.NextInt64(1, 1L << 50) };
            var cost = random.Next(3) switch { 0 => random.NextInt64(0, 1L << 50), 1 => Around(1L << 61), _ => random.NextInt64(long.MinValue / 2, long.MaxValue / 2) };
            cost = random.Next(8) == 0 ? -cost : cost;
            var margin = random.Next(4) switch { 0 => Around(cost), 1 => Around(1L << 61), 2 => long.MaxValue - random.NextInt64(0, 1L << 40), _ => cost + random.NextInt64(0, 1L << 40) };
            var moneyPerTickLot = random.Next(3) switch { 0 => random.NextInt64(1, 1_000), 1 => Around(1L << 40), _ => random.NextInt64(1, 1L << 45) };   // the solve's 128-bit divisor holds 2^50 × 2^45 × 2^28
            Same(qty, cost, margin, moneyPerTickLot, tiers);
        }
    }

    /// <summary>
    /// Lots and money per tick whose product with the rate factor passes 2^127 (the 128-bit solve's divisor): the exact formula
    /// gives a fraction there, so 1 tick for a short (breached at every price; and an overflow for a long, whose 1 tick's notional passes 64 bits). The
    /// engine must answer the same, never from a divisor wrapped around in 128 bits (the code before divided a short's numerator
    /// by one, got a price near 2^22 and overflowed on its notional where the formula gives a fraction; a long got 0 where it overflows).
    /// </summary>
    [Fact]
    public void ShouldSolveTheLiquidationPriceWhenItsDivisorPassesOneHundredTwentySevenBits()
    {
        var tiers = DocTiers();
        var random = new Random(93);
        var shortsAtOneTick = 0;
        for (var i = 0; i < 20_000; i++)
        {
            // Lots × money per tick near 2^(101..125): times a factor of ~2^26.6 the divisor passes 2^127 in most draws, and
            // wrapped around it lands anywhere (2^39 × (m × f − 2^89) for m just above 2^89 ÷ f: a divisor near 2^65).
            var lotsBits = random.Next(39, 63);
            var qty = (1L << lotsBits) + random.NextInt64(0, 1L << 20);
            var factor = FixedPoint.RateScale + tiers[tiers.TierOf(0)].MaintenanceRate;
            var moneyPerTickLot = random.Next(2) == 0
                ? (long)(((System.Numerics.BigInteger.One << (128 - lotsBits)) / factor) + random.Next(0, 3))
                : random.NextInt64(1L << 61, long.MaxValue);
            var signedQty = random.Next(2) == 0 ? qty : -qty;
            var cost = random.NextInt64(1, 1L << 60) * Math.Sign(signedQty);
            var margin = random.NextInt64(0, 1L << 60);
            var expected = Outcome(() => ReferenceLiquidationPrice(signedQty, cost, margin, tiers, moneyPerTickLot));
            var actual = Outcome(() => LiquidationMath.LiquidationPrice(signedQty, cost, margin, tiers, moneyPerTickLot));
            Assert.True(expected == actual, $"qty {signedQty} m {moneyPerTickLot} cost {cost} margin {margin}: the formula {expected}, the engine {actual}");
            shortsAtOneTick += signedQty < 0 && actual == "1" ? 1 : 0;
        }

        Assert.True(shortsAtOneTick > 5_000, $"shorts solved to 1 tick: {shortsAtOneTick}");
    }

    /// <summary>What a solve gave, as text: its price, or the exception it threw where the arithmetic cannot give one (an
    /// overflow, or a division by zero money per tick), so the engine and the exact formula compare outcome for outcome.</summary>
    private static string Outcome(Func<long> solve)
    {
        try
        {
            return solve().ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is OverflowException or DivideByZeroException)
        {
            return e.GetType().Name;
        }
    }

    /// <summary>The documented solve in exact big integers: the formula in the tier where equity meets maintenance (the highest
    /// tier whose floor F the solution reaches: a long's (C − WB) × 1e8 ≥ F × (1e8 − MMR) + cum × 1e8, a short's (WB + C) × 1e8
    /// ≥ F × (1e8 + MMR) − cum × 1e8), then again in the tier at the price where rounding to a tick crossed a floor.</summary>
    private static long ReferenceLiquidationPrice(long signedQty, long cost, long margin, MarginTierTable tiers, long moneyPerTickLot)
    {
        System.Numerics.BigInteger qty = Math.Abs(signedQty), absCost = Math.Abs(cost), scale = FixedPoint.RateScale;
        var tier = 0;
        for (var k = 1; k < tiers.Count; k++)
        {
            System.Numerics.BigInteger floor = tiers[k].FloorNotional, rate = tiers[k].MaintenanceRate, cum = tiers.CumulativeAmount(k);
            var reaches = signedQty > 0
                ? (absCost - margin) * scale >= (floor * (scale - rate)) + (cum * scale)
                : (margin + absCost) * scale >= (floor * (scale + rate)) - (cum * scale);
            tier = reaches ? k : tier;
        }

        long price = 0;
        for (var attempt = 0; attempt <= tiers.Count; attempt++)
        {
            var mmr = tiers[tier].MaintenanceRate;
            var cum = tiers.CumulativeAmount(tier);
            var divisor = qty * moneyPerTickLot * (signedQty > 0 ? scale - mmr : scale + mmr);
            var numerator = (signedQty > 0 ? absCost - margin - cum : margin + absCost + cum) * scale;
            var quotient = System.Numerics.BigInteger.DivRem(numerator, divisor, out var remainder);
            quotient += remainder > 0 && signedQty > 0 ? 1 : remainder < 0 && signedQty < 0 ? -1 : 0;   // up for longs, down for shorts
            price = quotient > long.MaxValue || quotient < long.MinValue ? throw new OverflowException() : (long)quotient;
            if (price <= 0)
            {
                return signedQty > 0 ? 0 : 1;   // a long covered all the way down; a short past its price everywhere
            }

            var notional = qty * price * moneyPerTickLot;
            var tierAtPrice = notional > long.MaxValue ? throw new OverflowException() : tiers.TierOf((long)notional);
            if (tierAtPrice == tier)
            {
                return price;
            }

            tier = tierAtPrice;
        }

        return price;
    }

    [Theory]
    [InlineData(7, 2, Rounding.Down, 3)]
    [InlineData(7, 2, Rounding.Up, 4)]
    [InlineData(-7, 2, Rounding.Down, -4)]
    [InlineData(-7, 2, Rounding.Up, -3)]
    [InlineData(-7, 2, Rounding.TowardZero, -3)]
    [InlineData(-7, 2, Rounding.AwayFromZero, -4)]
    [InlineData(8, 2, Rounding.Up, 4)]
    public void ShouldRoundInTheNamedDirection(long a, long divisor, Rounding rounding, long expected) =>
        Assert.Equal(expected, FixedPoint.MulDiv(a, 1, divisor, rounding));
}

public sealed class FixedPointTests
{
    [Fact]
    public void ShouldRoundInTheNamedDirectionForRandomOperandsAtAnyScale()
    {
        var random = new Random(12);
        foreach (var rounding in Enum.GetValues<Rounding>())
        {
            for (var i = 0; i < 20_000; i++)
            {
                var numerator = random.NextInt64(-1_000_000_000_000, 1_000_000_000_000);
                var divisor = random.NextInt64(1, 100_000) * (random.Next(2) == 0 ? 1 : -1);
                var fast = FixedPoint.Divide(numerator, divisor, rounding);

                // The same division with both operands scaled past 64 bits gives the same quotient.
                var wide = FixedPoint.Divide((Int128)numerator << 64, (Int128)divisor << 64, rounding);
                Assert.Equal(wide, fast);
                var exact = (decimal)numerator / divisor;
                var expected = rounding switch
                {
                    Rounding.Down => Math.Floor(exact),
                    Rounding.Up => Math.Ceiling(exact),
                    Rounding.TowardZero => Math.Truncate(exact),
                    _ => exact < 0 ? Math.Floor(exact) : Math.Ceiling(exact),
                };
                Assert.Equal((Int128)(long)expected, fast);
            }
        }

        // The one quotient that does not fit in 64 bits is still exact: 2^63.
        Assert.Equal(-(Int128)long.MinValue, FixedPoint.Divide(long.MinValue, -1, Rounding.Down));
    }

    [Fact]
    public void ShouldGiveTheSameResultsOnTheSixtyFourBitPathsAsInOneHundredTwentyEightBits()
    {
        // MulDiv, ApplyRate and Product take 64-bit routes when the product fits; near and past the edge they must
        // agree with the 128-bit division (and throw OverflowException exactly when the result does not fit).
        var random = new Random(34);
        long Operand() => random.Next(4) switch
        {
            0 => random.NextInt64(-100_000, 100_000),
            1 => random.NextInt64(-3_037_000_499, 3_037_000_500),          // around the square root of 2^63
            2 => random.NextInt64(long.MinValue / 2, long.MaxValue / 2),
            _ => random.Next(2) == 0 ? long.MaxValue - random.Next(3) : long.MinValue + random.Next(3),
        };

        static long? Wide(Func<long> f)
        {
            try
            {
                return f();
            }
            catch (OverflowException)
            {
                return null;
            }
        }

        Assert.Equal(long.MinValue, FixedPoint.Product(long.MinValue, -1, -1));   // a × b = 2^63 does not fit; the whole product does
        Assert.Throws<OverflowException>(() => FixedPoint.Product(1L << 62, 1L << 62, 16));   // 2^128 must not wrap to 0
        // The edge of the plain-multiply route (magnitudes' significant bits summing to 63 or 64) and just past it.
        Assert.Equal(((1L << 31) - 1) * ((1L << 32) - 1), FixedPoint.Product((1L << 31) - 1, (1L << 32) - 1, 1));
        Assert.Equal(long.MinValue, FixedPoint.Product(-(1L << 31), 1L << 32, 1));
        Assert.Throws<OverflowException>(() => FixedPoint.Product(1L << 31, 1L << 32, 1));
        Assert.Throws<OverflowException>(() => FixedPoint.Product(3, 1L << 20, 1L << 42));
        foreach (var rounding in Enum.GetValues<Rounding>())
        {
            for (var i = 0; i < 20_000; i++)
            {
                long a = Operand(), b = Operand(), c = random.Next(3) == 0 ? Operand() : random.NextInt64(-1_000, 1_000);
                var divisor = random.Next(3) == 0 ? Operand() : random.NextInt64(1, 1_000_000);
                if (divisor == 0)
                {
                    continue;
                }

                var expected = Wide(() => FixedPoint.Narrow(FixedPoint.Divide((Int128)a * b, divisor, rounding)));
                Assert.Equal(expected, Wide(() => FixedPoint.MulDiv(a, b, divisor, rounding)));
                var rate = random.NextInt64(-FixedPoint.RateScale, FixedPoint.RateScale);
                Assert.Equal(Wide(() => FixedPoint.Narrow(FixedPoint.Divide((Int128)a * rate, FixedPoint.RateScale, rounding))), Wide(() => FixedPoint.ApplyRate(a, rate, rounding)));
                var product = (System.Numerics.BigInteger)a * b * c;
                Assert.Equal(product >= long.MinValue && product <= long.MaxValue ? (long)product : null, Wide(() => FixedPoint.Product(a, b, c)));
                Assert.Equal(0, FixedPoint.Product(a, b, 0));
            }
        }
    }

    [Theory]
    [InlineData(1L << 31)]
    [InlineData(1L << 34)]
    [InlineData(1L << 61)]
    [InlineData(1L << 62)]
    [InlineData(1L)]
    [InlineData(12_345L)]
    public void ShouldTellARangeInOneComparisonAtItsEdgesAndWhereTheSumWraps(long bound)
    {
        // The fast paths' range checks: -bound <= x < bound, and -limit <= x <= limit, against the plain comparisons.
        long[] probes = [0, 1, -1, bound - 1, bound, bound + 1, -bound, -bound - 1, -bound + 1, long.MaxValue, long.MinValue,
            long.MaxValue - bound + 1, long.MinValue + bound, 2 * bound, -2 * bound];
        foreach (var x in probes)
        {
            Assert.Equal(x >= -bound && x < bound, FixedPoint.MagnitudeUnder(x, bound));
            if (bound < 1L << 62)
            {
                Assert.Equal(x >= -bound && x <= bound, FixedPoint.MagnitudeAtMost(x, bound));
            }

            Assert.Equal(x == 0, FixedPoint.MagnitudeAtMost(x, 0));
        }
    }

    [Fact]
    public void ShouldDivideOneHundredTwentyEightBitOperandsExactlyAtEveryMagnitude()
    {
        // The 64-bit path and the runtime's 128-bit routine (the rest) against exact big-integer division.
        var random = new Random(56);
        Int128 Wide(int bits)
        {
            var value = ((Int128)random.NextInt64() << 64) | (ulong)random.NextInt64();
            value &= (Int128.One << bits) - 1;
            return random.Next(2) == 0 ? value : -value;
        }

        foreach (var rounding in Enum.GetValues<Rounding>())
        {
            for (var i = 0; i < 50_000; i++)
            {
                var numerator = Wide(random.Next(1, 128));
                var divisor = Wide(random.Next(1, 128));
                if (divisor == 0)
                {
                    continue;
                }

                var exact = System.Numerics.BigInteger.DivRem(numerator, divisor, out var remainder);
                if (remainder != 0)
                {
                    var negative = (numerator < 0) != (divisor < 0);
                    exact += rounding switch
                    {
                        Rounding.Down => negative ? -1 : 0,
                        Rounding.Up => negative ? 0 : 1,
                        Rounding.TowardZero => 0,
                        _ => negative ? -1 : 1,
                    };
                }

                Assert.Equal(exact, (System.Numerics.BigInteger)FixedPoint.Divide(numerator, divisor, rounding));
            }
        }

        // Exact multiples and one-off neighbours, where an estimate is most likely to land on the wrong side.
        for (var i = 0; i < 20_000; i++)
        {
            var divisor = Wide(random.Next(20, 70));
            var quotient = (Int128)random.NextInt64(1, 1L << 61);
            var numerator = (divisor * quotient) + random.Next(-1, 2);
            if (divisor == 0 || Int128.Abs(numerator) >> 126 != 0)
            {
                continue;
            }

            Assert.Equal((System.Numerics.BigInteger)numerator / divisor, (System.Numerics.BigInteger)FixedPoint.Divide(numerator, divisor, Rounding.TowardZero));
        }

        Assert.Equal(Int128.MinValue / 3, FixedPoint.Divide(Int128.MinValue, 3, Rounding.TowardZero));
    }
}
