using System.Numerics;
using Aivora.Core.Accounts;

namespace Aivora.Core.Tests.Liquidation;

public sealed class AdlScoreTests
{
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
}
