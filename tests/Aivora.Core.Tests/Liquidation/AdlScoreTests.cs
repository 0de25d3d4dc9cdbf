using System.Numerics;
using Aivora.Core.Accounts;
using Aivora.Core.Orders;

namespace Aivora.Core.Tests.Liquidation;

public sealed class AdlScoreTests
{
    /// <summary>−score, with "no equity" (long.MinValue) ranking last: how the ranking holds a score.</summary>
    private static long Negated(long score) => score == long.MinValue ? long.MaxValue : -score;

    /// <summary>The reference: the score's place in the ranking, 5 − ⌊ahead × 5 ÷ (n + 1)⌋, ahead counted one by one (the
    /// entries whose negated score is below the score's negation: ranked strictly higher; "no equity" ranks last).</summary>
    private static int QuantileByRank(long[] ascending, long score) =>
        5 - (int)((long)ascending.Count(e => e < Negated(score)) * 5 / (ascending.Length + 1));

    /// <summary>
    /// The ADL score divides by cost and then by equity (or notional) instead of by their 128-bit product: it must give
    /// the score of the formula itself, floor(pnl × notional × 1e8 ÷ (cost × equity)) in profit and
    /// floor(pnl × equity × 1e8 ÷ (cost × notional)) in loss, clamped to the ranks, for any magnitudes, the ADL order
    /// (who is deleveraged first) depends on it to the unit.
    /// </summary>
    [Fact]
    public void ShouldEqualTheFormulaDividedByTheProductAtEveryMagnitude()
    {
        var random = new Random(78);
        long Money() => random.Next(4) switch
        {
            0 => random.NextInt64(1, 1_000),
            1 => random.NextInt64(1, 10_000_000_000),             // up to 10k USDT at 1e-6
            2 => random.NextInt64(1, 10_000_000_000_000_000),     // up to 10 G USDT
            _ => long.MaxValue - random.Next(1_000),
        };

        for (var i = 0; i < 100_000; i++)
        {
            var pnl = random.Next(5) == 0 ? 0 : Money() * (random.Next(2) == 0 ? 1 : -1);
            long cost = Money(), notional = random.Next(10) == 0 ? 0 : Money(), equity = Money();
            var divisor = (BigInteger)cost * (pnl >= 0 ? equity : Math.Max(1, notional));
            var numerator = (BigInteger)pnl * (pnl >= 0 ? notional : equity) * 100_000_000;
            var floor = BigInteger.DivRem(numerator, divisor, out var remainder) - (remainder < 0 ? 1 : 0);
            var expected = floor > long.MaxValue ? long.MaxValue : floor < long.MinValue + 1 ? long.MinValue + 1 : (long)floor;
            Assert.Equal(expected, Ledger.Score(pnl, cost, notional, equity));
        }

        // No equity left ranks last; no cost (no position) too.
        Assert.Equal(long.MinValue, Ledger.Score(5, 10, 10, 0));
        Assert.Equal(long.MinValue, Ledger.Score(5, 0, 10, 10));
    }

    /// <summary>
    /// An order's what-if ADL quantile is read against four bounds of the ranking, comparing products instead of dividing
    /// for the score: it must give the quantile of the score's place in the ranking (5 − ⌊ahead × 5 ÷ (n + 1)⌋) for every
    /// ranking size, ties, entries with no equity, and operands at every magnitude (products past 128 bits included).
    /// </summary>
    [Fact]
    public void ShouldPlaceAWhatIfScoreInTheSameQuantileAsItsRankInTheRanking()
    {
        var random = new Random(79);
        long Money() => random.Next(4) switch
        {
            0 => random.NextInt64(1, 1_000),
            1 => random.NextInt64(1, 10_000_000_000),
            2 => random.NextInt64(1, 10_000_000_000_000_000),
            _ => long.MaxValue - random.Next(1_000),
        };

        (long Pnl, long Cost, long Notional, long Equity) Operands()
        {
            var pnl = random.Next(5) == 0 ? 0 : Money() * (random.Next(2) == 0 ? 1 : -1);
            return (pnl, random.Next(50) == 0 ? 0 : Money(), random.Next(10) == 0 ? 0 : Money(), random.Next(50) == 0 ? -Money() : Money());
        }

        var bounds = new long[4];
        var checkedCount = 0;
        for (var r = 0; r < 2_000; r++)
        {
            // A ranking as the snapshot makes it: negated scores of real operands, sorted ascending (ties and "no equity" included).
            var n = random.Next(4) == 0 ? random.Next(6) : random.Next(300);
            var ranking = new long[n];
            for (var e = 0; e < n; e++)
            {
                var o = Operands();
                ranking[e] = Negated(Ledger.Score(o.Pnl, o.Cost, o.Notional, o.Equity));
                if (e > 0 && random.Next(8) == 0) ranking[e] = ranking[random.Next(e)];   // ties
            }

            Array.Sort(ranking);
            Ledger.QuantileBounds(ranking, bounds);
            for (var q = 0; q < 100; q++)
            {
                // Half the time the score of an entry of the ranking itself, or one unit off it: the edges of the comparisons.
                var (pnl, cost, notional, equity) = Operands();
                var expected = QuantileByRank(ranking, Ledger.Score(pnl, cost, notional, equity));
                Assert.Equal(expected, Ledger.QuantileAmong(bounds, pnl, cost, notional, equity));
                checkedCount++;
            }

            if (n > 0)
            {
                // Exactly at a boundary's score: x = s × cost × d for a small profit (pnl × notional × 1e8 = s × cost × equity).
                var s = -ranking[random.Next(n)];
                if (s is > 0 and < 1_000_000_000)
                {
                    long cost = 100_000_000, equity = random.NextInt64(1, 1_000_000), notional = equity;
                    foreach (var pnl in new[] { s - 1, s, s + 1 })
                    {
                        Assert.Equal(QuantileByRank(ranking, Ledger.Score(pnl, cost, notional, equity)), Ledger.QuantileAmong(bounds, pnl, cost, notional, equity));
                    }
                }
            }
        }

        Assert.Equal(200_000, checkedCount);
    }

    /// <summary>
    /// Scores a double cannot tell apart: at a bound's score near 2^62, one unit of score either side is a relative difference
    /// of 2e-19, far below a double's precision. The quantile must still follow the exact score (one unit below the bound's
    /// score ranks below it, the bound's own score and above do not), in profit and in loss.
    /// </summary>
    [Fact]
    public void ShouldPlaceScoresOneUnitFromABoundByTheirExactValue()
    {
        // In profit the score is pnl × notional × 1e8 ÷ (cost × equity): with cost 1e8 and notional = equity it is pnl itself.
        const long cost = 100_000_000, equity = 7, notional = 7;
        foreach (var s in new[] { (1L << 62) + 12_345, (1L << 61) - 3, 4_611_686_018_427_387_000 })
        {
            // Bounds: the negated scores where the quantile changes (ascending); here all four at one score, so a position
            // ranks below all four (quantile 5 − 4 = 1) or below none (5).
            long[] bounds = [-s, -s, -s, -s];
            Assert.Equal(1, Ledger.QuantileAmong(bounds, s - 1, cost, notional, equity));
            Assert.Equal(5, Ledger.QuantileAmong(bounds, s, cost, notional, equity));
            Assert.Equal(5, Ledger.QuantileAmong(bounds, s + 1, cost, notional, equity));
            Assert.Equal(s - 1, Ledger.Score(s - 1, cost, notional, equity));   // the operands give the score intended
        }
    }

    /// <summary>
    /// An order's what-if ADL quantile is its position's after a complete fill at the order's price, placed in the ranking of
    /// the last snapshot: the score from that position's PnL at mark, its notional (unsigned, shorts too) and the account's
    /// equity after the fill (the fill's realized PnL in, the position's PnL before it replaced by the one after), counted
    /// among the snapshot's positions on that side. On random books of longs and shorts in profit and in loss, orders of
    /// either side that open, grow, cut and flip positions must get the quantile of that score's place in the ranking,
    /// worked out here from the ledger's public figures.
    /// </summary>
    [Fact]
    public void ShouldGiveAnOrdersWhatIfTheQuantileOfItsPositionAfterTheFill()
    {
        const int Accounts = 40, Instrument = 1;
        const long MoneyPerTickLot = 100, Usdt = 1_000_000;
        var ledger = new Ledger([new ContractSpec { InstrumentId = Instrument, MoneyPerTickLot = MoneyPerTickLot, Tiers = Risk.MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) }], maxAccounts: Accounts + 1);
        var random = new Random(80);
        ledger.SetMark(Instrument, 10_000);
        for (var a = 1; a <= Accounts; a++)
        {
            ledger.Deposit(a, random.NextInt64(20, 500) * Usdt);
        }

        // Pairs trade at prices up to 20 % from 10,000; then the mark moves, so some hold profits and some losses.
        for (var t = 0; t < 200; t++)
        {
            var (buyer, seller) = (1 + random.Next(Accounts), 1 + random.Next(Accounts));
            if (buyer != seller)
            {
                var (price, lots) = (random.NextInt64(8_000, 12_001), random.NextInt64(1, 30));
                ledger.ApplyFill(buyer, Instrument, Side.Buy, price, lots, isMaker: false);
                ledger.ApplyFill(seller, Instrument, Side.Sell, price, lots, isMaker: true);
            }
        }

        var mark = 10_300L;
        ledger.SetMark(Instrument, mark);
        ledger.SnapshotAdlRanking();

        long Value(long lots) => lots * mark * MoneyPerTickLot;

        // The snapshot's ranking, per side: every position's score (cross: the account's equity), negated and ascending.
        long ScoreOf(Position p, long equity) => Ledger.Score(Value(p.QtyLots) - p.Cost, Math.Abs(p.Cost), Math.Abs(Value(p.QtyLots)), equity);
        var positions = Enumerable.Range(1, Accounts).Select(a => (Account: a, Position: ledger.PositionOf(a, Instrument))).ToArray();
        long[] Ranking(bool longs) => [.. positions.Where(x => longs ? x.Position.QtyLots > 0 : x.Position.QtyLots < 0)
            .Select(x => Negated(ScoreOf(x.Position, ledger.Equity(x.Account)))).Order()];
        var (longRanking, shortRanking) = (Ranking(true), Ranking(false));
        Assert.True(longRanking.Length >= 10 && shortRanking.Length >= 10, $"positions: {longRanking.Length} long, {shortRanking.Length} short");

        var (profits, losses, flips) = (0, 0, 0);
        for (var q = 0; q < 4_000; q++)
        {
            var a = 1 + random.Next(Accounts);
            var side = random.Next(2) == 0 ? Side.Buy : Side.Sell;
            var (price, lots) = (random.NextInt64(8_000, 12_001), random.NextInt64(1, 60));
            var before = ledger.PositionOf(a, Instrument);
            var after = before;
            var realized = Ledger.ApplyToPosition(ref after, side == Side.Buy ? lots : -lots, price, MoneyPerTickLot);
            var expected = 0;
            if (after.QtyLots != 0)
            {
                var pnl = Value(after.QtyLots) - after.Cost;
                var equity = ledger.Equity(a) + realized + pnl - (Value(before.QtyLots) - before.Cost);
                var score = Ledger.Score(pnl, Math.Abs(after.Cost), Math.Abs(Value(after.QtyLots)), equity);
                var ranking = after.QtyLots > 0 ? longRanking : shortRanking;
                expected = QuantileByRank(ranking, score);
                (profits, losses) = pnl > 0 ? (profits + 1, losses) : (profits, losses + (pnl < 0 ? 1 : 0));
                flips += before.QtyLots != 0 && Math.Sign(before.QtyLots) != Math.Sign(after.QtyLots) ? 1 : 0;
            }

            Assert.True(expected == ledger.WhatIfAdlQuantile(a, Instrument, side, price, lots),
                $"account {a} {side} {lots} at {price}: position {before.QtyLots} -> {after.QtyLots}, expected quantile {expected}, the ledger {ledger.WhatIfAdlQuantile(a, Instrument, side, price, lots)}");
        }

        Assert.True(profits > 500 && losses > 500 && flips > 100, $"what-ifs in profit {profits}, in loss {losses}, flipping {flips}");
    }
}
