using Aivora.Core.Accounts;
using Aivora.Core.Orders;
using Aivora.Core.Tests.Risk;

namespace Aivora.Core.Tests.Accounts;

/// <summary>The liquidation watch against maintenance itself: what it must never miss.</summary>
public sealed class BelowMaintenanceTests
{
    private const long Usdt = 1_000_000;

    /// <summary>
    /// Every position below maintenance is flagged after a mark moves, on the moved instrument by the mark update and on the
    /// other by its index (as the state machine asks it for cross accounts holding both): an isolated position
    /// whose wallet and PnL at mark are under its maintenance margin, and every position of a cross account whose equity is
    /// under the maintenance of its cross positions (checked in big integers from positions, marks and tiers, not from any
    /// liquidation price). Thirty accounts a seed, cross or isolated per instrument, with random positions on two instruments,
    /// and 400 mark moves of up to 10 %, with crashes and spikes among them; no liquidation runs, so accounts stay below.
    /// A cross short whose other position's losses had eaten its margin and more solved to a liquidation price of 0, which
    /// the index reads as "never": it was not flagged, at any mark.
    /// </summary>
    [Fact]
    public void ShouldFlagEveryPositionBelowMaintenanceAfterAMarkMoves()
    {
        var checkedBelow = 0;
        var misses = new List<string>();
        for (var seed = 0; seed < 60 && misses.Count < 10; seed++)
        {
            var random = new Random(seed);
            long[] m = [100, 10];
            var ledger = new Ledger(
            [
                new ContractSpec { InstrumentId = 1, MoneyPerTickLot = m[0], Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
                new ContractSpec { InstrumentId = 2, MoneyPerTickLot = m[1], Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
            ], maxAccounts: 64);
            long[] marks = [600_000, 30_000];
            ledger.SetMark(1, marks[0]);
            ledger.SetMark(2, marks[1]);
            ledger.Deposit(99, 1_000_000_000_000 * Usdt);
            const int Accounts = 30;
            for (var a = 1; a <= Accounts; a++)
            {
                ledger.Deposit(a, random.NextInt64(1, 3_000_000) * Usdt);
                for (var instrument = 1; instrument <= 2; instrument++)
                {
                    if (random.Next(4) == 0)
                    {
                        ledger.SetMarginMode(a, instrument, isolated: true);
                    }

                    if (random.Next(3) == 0)
                    {
                        continue;
                    }

                    var lots = random.NextInt64(1, instrument == 1 ? 30_000 : 500_000);
                    var side = random.Next(2) == 0 ? Side.Buy : Side.Sell;
                    var price = marks[instrument - 1] + random.NextInt64(-marks[instrument - 1] / 50, marks[instrument - 1] / 50);
                    ledger.ApplyFill(a, instrument, side, price, lots, isMaker: true);
                    ledger.ApplyFill(99, instrument, side.Opposite(), price, lots, isMaker: true);
                }
            }

            var found = new int[64];
            for (var step = 0; step < 400; step++)
            {
                var moved = random.Next(1, 3);
                var mk = moved - 1;
                marks[mk] = Math.Max(1, marks[mk] + random.NextInt64(-marks[mk] / 10, marks[mk] / 10 + 1));
                if (random.Next(20) == 0) marks[mk] = Math.Max(1, marks[mk] / random.Next(2, 50));
                if (random.Next(20) == 0) marks[mk] *= random.Next(2, 6);

                // The moved instrument's positions from the mark update; the other's from its index (the state machine looks
                // there too after a mark move, for cross accounts holding both: their margin moved with it).
                foreach (var instrument in new[] { moved, 3 - moved })
                {
                    var count = instrument == moved ? ledger.MarkUpdate(instrument, marks[mk], found) : ledger.AtRisk(instrument, found);
                    var flagged = found.Take(count).ToHashSet();
                    var k = instrument - 1;
                    for (var a = 1; a <= Accounts; a++)
                    {
                        var p = ledger.PositionOf(a, instrument);
                        if (p.QtyLots == 0) continue;
                        bool below;
                        if (p.Isolated)
                        {
                            var n = (System.Numerics.BigInteger)Math.Abs(p.QtyLots) * marks[k] * m[k];
                            var eq = p.IsolatedMargin + ((System.Numerics.BigInteger)p.QtyLots * marks[k] * m[k]) - p.Cost;
                            var mm = ledger.Contract(instrument).Tiers.MaintenanceMargin((long)n);
                            below = eq < mm;
                        }
                        else
                        {
                            System.Numerics.BigInteger mm = 0;
                            for (var j = 1; j <= 2; j++)
                            {
                                var q = ledger.PositionOf(a, j);
                                if (q.QtyLots == 0 || q.Isolated) continue;
                                mm += ledger.Contract(j).Tiers.MaintenanceMargin(Math.Abs(q.QtyLots) * marks[j - 1] * m[j - 1]);
                            }

                            below = ledger.Equity(a) < mm;
                        }

                        checkedBelow += below ? 1 : 0;
                        if (below && !flagged.Contains(a))
                        {
                            misses.Add($"seed {seed} step {step}: account {a} {(p.Isolated ? "isolated" : "cross")} {p.QtyLots} lots on {instrument} at mark {marks[k]} (moved {moved}) below maintenance, not flagged (liquidation price {ledger.LiquidationPrice(a, instrument)})");
                        }
                    }
                }
            }
        }

        Assert.True(misses.Count == 0, string.Join("\n", misses));
        Assert.True(checkedBelow > 1_000, $"positions found below maintenance: {checkedBelow}");
    }
}
