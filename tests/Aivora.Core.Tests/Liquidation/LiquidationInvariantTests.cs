using Aivora.Core.Commands;
using Aivora.Core.Risk;
using Xunit.Abstractions;
using Aivora.Core.Events;
using Aivora.Core.Liquidation;
using Aivora.Core.Margin;
using Aivora.Core.Orders;
using static Aivora.Core.Tests.Liquidation.LiquidationBench;

namespace Aivora.Core.Tests.Liquidation;

/// <summary>
/// Long seeded runs with shocks: two correlated instruments, market makers quoting around mark, traders
/// with mixed leverage, cross and isolated, marks walking with jumps. After every command: money
/// conserved to the unit (and at every liquidation step, by the bench's sink), open interest long = short,
/// the fund's equity never negative unless it was just deleveraged, no account (but the fund and those waiting
/// for a slice cooldown) below maintenance, and nobody out of the path (the fund aside) owing
/// money, in cross or in an isolated wallet. A replay of the commands
/// reproduces every event and both state hashes.
/// </summary>
public sealed class LiquidationInvariantTests(ITestOutputHelper output)
{
    private static readonly int[] Makers = [1, 2, 3, 4];
    private static readonly int[] Traders = [.. Enumerable.Range(10, 60)];

    internal static MarginTierTable Tiers() => new(
    [
        new MarginTier(0, 500_000, 100),
        new MarginTier(2_000 * Usdt, 1_000_000, 50),
        new MarginTier(10_000 * Usdt, 2_500_000, 20),
    ]);

    internal static LiquidationConfig Config() => new()
    {
        InsuranceFundAccountId = Fund,
        ClearanceFeeRate = 500_000,
        LargePositionNotional = 300 * Usdt,
        SliceCooldownNs = 200_000_000,
    };

    [Theory]
    [InlineData(61)]
    [InlineData(62)]
    [InlineData(63)]
    [InlineData(104)]   // 104 and 139 left accounts below maintenance while isolated shrinks released margin the position needed
    [InlineData(139)]
    [InlineData(125)]   // 125 and 138: a resumed (waiting) path deleveraged a counterparty past its price on another instrument
    [InlineData(138)]   // and nothing looked at it before that instrument's next mark
    [InlineData(203)]   // 203, 296 and 348: a position pushed past its price by fills, between marks, waited for the next mark
    [InlineData(296)]
    [InlineData(348)]
    [InlineData(2)]     // 2: a slice's clearance fee, taken from equity at mark, left a closed short owing 0.0864 USDT after its
                        // last lots filled above mark (still inside the bankruptcy price the order was given)
    [InlineData(10)]    // 10 and 13: an isolated position grown past what the cross balance held (the check valued the wallet
    [InlineData(13)]    // against the position at mark, the top-up is to margin on cost): the balance went negative. Either fix
                        // alone passes them (the check reserving the top-up, the top-up taking no more than cross equity)
    public void ShouldKeepEveryInvariantThroughPriceShocks(int seed)
    {
        var bench = Run(seed, 4_000, out var counts);
        output.WriteLine($"seed {seed}: {counts}, fund {bench.Ledger.InsuranceFund}, fund position {bench.Ledger.PositionOf(Fund, 1).QtyLots}/{bench.Ledger.PositionOf(Fund, 2).QtyLots}");
        Assert.True(counts.Triggered >= 10 && counts.Slices >= 5, $"the run must liquidate: {counts}");

        var replay = new LiquidationBench(Config(), Tiers(), maxAccounts: 128, instruments: 2);
        foreach (var c in bench.Commands)
        {
            replay.Run(c);
        }

        Assert.Equal(bench.Events.Count, replay.Events.Count);
        Assert.True(bench.Events.SequenceEqual(replay.Events), "replay produced different events");
        Assert.Equal(bench.Ledger.StateHash(), replay.Ledger.StateHash());
        Assert.Equal(bench.Machine.Engine.StateHash(), replay.Machine.Engine.StateHash());
    }

    internal readonly record struct PathCounts(int Triggered, int Slices, int Takeovers, int Deleverages, int Waits, int TriggeredByTierChanges = 0);

    /// <summary>
    /// The same runs with each instrument's tier table changed now and then, between <see cref="Tiers"/> and a tighter one
    /// (<see cref="Tighter"/>; a third random stream picks the changes, so the seeds above keep their runs), each
    /// change followed by a tick. A change re-keys the holders by a pass over the commands after it (Ledger.RekeyPass.cs):
    /// with these 70 accounts the tick's slice takes them all and looks at them for liquidation at its end, so the stricter
    /// table's liquidations start in the tick, after each step the invariants hold as in the runs above (nobody out of the
    /// path below maintenance under the table in force), and a replay of the commands reproduces every event and both state
    /// hashes.
    /// </summary>
    [Theory]
    [InlineData(81)]
    [InlineData(82)]
    [InlineData(83)]
    public void ShouldKeepEveryInvariantWithTierChangesAmongTheCommands(int seed)
    {
        var bench = Run(seed, 4_000, out var counts, tierChanges: true);
        var changes = bench.Events.Count(e => e.Kind == EventKind.ParameterChanged);
        output.WriteLine($"seed {seed}: {counts}, tier changes {changes}");
        Assert.True(counts.Triggered >= 10 && changes >= 20, $"the run must liquidate and change tiers: {counts}, {changes} changes");
        Assert.True(counts.TriggeredByTierChanges >= 1, $"a stricter table must start a liquidation in the tick after it: {counts}");

        var replay = new LiquidationBench(Config(), Tiers(), maxAccounts: 128, instruments: 2, WithBothTierTables);
        foreach (var c in bench.Commands)
        {
            replay.Run(c);
        }

        Assert.True(bench.Events.SequenceEqual(replay.Events), "replay produced different events");
        Assert.Equal(bench.Ledger.StateHash(), replay.Ledger.StateHash());
        Assert.Equal(bench.Machine.Engine.StateHash(), replay.Machine.Engine.StateHash());
    }

    // Tiers() tightened as an operator would: every maintenance rate three times as high, every leverage cap 2.5 times lower
    // (initial margin 2.5, 5 and 12.5 % over maintenance 1.5, 3 and 7.5 %).
    private static MarginTierTable Tighter()
    {
        var tiers = Tiers();
        return new([.. Enumerable.Range(0, tiers.Count).Select(k => tiers[k] with { MaintenanceRate = tiers[k].MaintenanceRate * 3, MaxLeverage = tiers[k].MaxLeverage * 2 / 5 })]);
    }

    private static RiskLimits WithBothTierTables(RiskLimits limits) => limits with { TierTables = [Tiers(), Tighter()], ParameterCoolingNs = 1 };

    /// <summary>
    /// The same runs with traders also closing whole positions with reduce-only market orders, half of them into a book
    /// thinned to one level 8 % from mark (a second random stream picks them, so the seeds above keep their runs): no margin
    /// check stands in front of those, only the book's bound at what the account can pay for
    /// (<see cref="CancelReason.BankruptcyPrice"/>), which the invariants (nobody out of the path owing money) hold to.
    /// </summary>
    [Theory]
    [InlineData(71)]
    [InlineData(72)]
    [InlineData(73)]
    public void ShouldKeepEveryInvariantWithReduceOnlyMarketClosesAmongTheOrders(int seed)
    {
        var bench = Run(seed, 4_000, out var counts, reduceOnlyCloses: true);
        output.WriteLine($"seed {seed}: {counts}, bankruptcy-price cancels {bench.Events.Count(e => e.Kind == EventKind.OrderCancelled && (CancelReason)e.Reason == CancelReason.BankruptcyPrice)}");
        Assert.True(counts.Triggered >= 10, $"the run must liquidate: {counts}");
        Assert.Contains(bench.Events, e => e.Kind == EventKind.OrderCancelled && (CancelReason)e.Reason == CancelReason.BankruptcyPrice);
    }

    internal static LiquidationBench Run(int seed, int steps, out PathCounts counts, bool reduceOnlyCloses = false, bool tierChanges = false)
    {
        var random = new Random(seed);
        var closes = new Random(seed + 1_000_000);
        var changes = new Random(seed + 2_000_000);
        var tableInUse = new int[3];
        var bench = new LiquidationBench(Config(), Tiers(), maxAccounts: 128, instruments: 2, tierChanges ? WithBothTierTables : null);
        bench.Deposit(Fund, 30 * Usdt);
        foreach (var m in Makers)
        {
            bench.Deposit(m, 100_000 * Usdt);
        }

        foreach (var t in Traders)
        {
            bench.Deposit(t, random.Next(20, 400) * Usdt);
            if (random.Next(3) == 0)
            {
                bench.Run(EngineCommand.MarginMode(bench.Now, t, random.Next(1, 3), isolated: true));
            }

            for (var id = 1; id <= 2; id++)
            {
                bench.Run(EngineCommand.Account(CommandKind.SetLeverage, bench.Now, t, random.Next(2, 51), id));
            }
        }

        int triggered = 0, slices = 0, takeovers = 0, deleverages = 0, waits = 0, triggeredByTierChanges = 0;
        for (var step = 0; step < steps; step++)
        {
            var from = bench.Events.Count;
            if (tierChanges && changes.Next(100) == 0)
            {
                var changed = changes.Next(1, 3);
                tableInUse[changed] = 1 - tableInUse[changed];
                var at = bench.Now + 1;
                bench.Run(EngineCommand.ChangeParameter(at, changed, RiskParameter.MarginTiers, tableInUse[changed], at, reasonCode: 1));
                var beforeTick = bench.Events.Count;
                bench.Run(EngineCommand.Tick(bench.Now + 1));
                triggeredByTierChanges += bench.Events.Skip(beforeTick).Count(e => e.Kind == EventKind.LiquidationStep && (LiquidationStep)e.Reason == LiquidationStep.Triggered);
            }

            var id = random.Next(1, 3);
            var mark = bench.Ledger.MarkOf(id);
            var roll = random.Next(100);
            if (roll < 35)
            {
                Requote(bench, random, Makers[random.Next(Makers.Length)], id, mark);
            }
            else if (roll < 70)
            {
                var t = Traders[random.Next(Traders.Length)];
                var side = random.Next(2) == 0 ? Side.Buy : Side.Sell;
                var price = side == Side.Buy ? mark + (mark / 50) : mark - (mark / 50);
                var held = bench.Ledger.PositionOf(t, id).QtyLots;
                if (reduceOnlyCloses && held != 0 && closes.Next(3) == 0)
                {
                    // Now and then into a book thinned to one far level, 8 % from mark: past many a position's bankruptcy.
                    if (closes.Next(2) == 0)
                    {
                        var closing = held > 0 ? Side.Sell : Side.Buy;
                        foreach (var m in Makers)
                        {
                            bench.Run(EngineCommand.MassCancel(bench.Now, m, id, closing == Side.Sell ? SideFilter.Buy : SideFilter.Sell));
                        }

                        bench.Limit(Makers[0], closing == Side.Sell ? Side.Buy : Side.Sell, closing == Side.Sell ? mark - (mark * 8 / 100) : mark + (mark * 8 / 100), 5_000, instrument: id);
                    }

                    bench.Run(EngineCommand.Place(bench.Now, t, id, bench.Events.Count + 1, held > 0 ? Side.Sell : Side.Buy, OrderType.Market, TimeInForce.Ioc, 0, Math.Abs(held), OrderFlags.ReduceOnly));
                }
                else
                {
                    bench.Limit(t, side, price, random.Next(10, 400), TimeInForce.Ioc, id);
                }
            }
            else if (roll < 92)
            {
                // Both instruments move together (correlated); now and then a jump of 3-8%.
                var bps = random.Next(100) < 6 ? random.Next(300, 800) * (random.Next(2) == 0 ? -1 : 1) : random.Next(-40, 41);
                for (var k = 1; k <= 2; k++)
                {
                    var m = bench.Ledger.MarkOf(k);
                    bench.Mark(Math.Clamp(m + (m * bps / 10_000), 4_000, 25_000), k);
                }
            }
            else if (roll < 97)
            {
                bench.Advance(random.Next(50, 400) * 1_000_000L);
            }
            else
            {
                var t = Traders[random.Next(Traders.Length)];
                bench.Run(EngineCommand.Account(random.Next(3) == 0 ? CommandKind.Withdraw : CommandKind.Deposit, bench.Now, t, random.Next(5, 200) * Usdt));
            }

            var fundDeleveraged = false;
            foreach (var e in bench.Events.Skip(from).Where(e => e.Kind == EventKind.LiquidationStep))
            {
                var s = (LiquidationStep)e.Reason;
                triggered += s == LiquidationStep.Triggered ? 1 : 0;
                slices += s == LiquidationStep.PartialReduction ? 1 : 0;
                takeovers += s == LiquidationStep.InsuranceTakeover ? 1 : 0;
                deleverages += s == LiquidationStep.AutoDeleverage ? 1 : 0;
                waits += s == LiquidationStep.Waiting ? 1 : 0;
                fundDeleveraged |= s == LiquidationStep.AutoDeleverage && e.AccountId == Fund;
            }

            bench.AssertConserved();
            Assert.False(bench.Ledger.RekeyUnderWay, $"step {step}: a tier change's pass still under way after the command that followed it");
            for (var k = 1; k <= 2; k++)
            {
                var (longs, shorts) = bench.Ledger.OpenInterest(k);
                Assert.Equal(longs, shorts);
                Assert.Equal(longs, bench.Ledger.OpenInterestLots(k));
            }

            var fundEquity = bench.Ledger.Equity(Fund);
            Assert.True(fundEquity >= 0 || fundDeleveraged, $"step {step}: fund equity {fundEquity} with no ADL");
            // Fills move margin too (a taker's sweep past mark, a fee): not only marks.
            foreach (var a in Traders.Concat(Makers))
            {
                for (var k = 1; k <= 2; k++)
                {
                    var scope = bench.Ledger.Scope(a, k);
                    Assert.False(scope.Unhealthy && !bench.Ledger.IsLiquidating(a), $"step {step}: account {a} on {k} left below maintenance: {scope}");
                }
            }

            // Nobody but the fund owes money once its command is over: an account out of the liquidation path has cross
            // equity at or above zero, and so has each isolated position's wallet with its PnL.
            foreach (var a in Traders.Concat(Makers))
            {
                if (bench.Ledger.IsLiquidating(a))
                {
                    continue;
                }

                Assert.True(bench.Ledger.Equity(a) >= 0, $"step {step}: account {a} owes {-bench.Ledger.Equity(a)} in cross (balance {bench.Ledger.Balance(a)})");
                for (var k = 1; k <= 2; k++)
                {
                    var scope = bench.Ledger.Scope(a, k);
                    Assert.False(scope.Isolated && scope.PositionLots != 0 && scope.Equity < 0, $"step {step}: account {a}'s isolated position on {k} owes {-scope.Equity}: {scope}");
                }
            }

            if (step % 250 == 0)
            {
                Assert.Null(bench.Machine.Engine.ValidateInvariants());
            }
        }

        counts = new PathCounts(triggered, slices, takeovers, deleverages, waits, triggeredByTierChanges);
        return bench;
    }

    private static void Requote(LiquidationBench bench, Random random, int maker, int id, long mark)
    {
        bench.Run(EngineCommand.MassCancel(bench.Now, maker, id, SideFilter.Both));
        var spread = Math.Max(1, mark / 2_000);
        for (var level = 1; level <= 5; level++)
        {
            bench.Limit(maker, Side.Buy, mark - (level * spread), random.Next(20, 300), instrument: id);
            bench.Limit(maker, Side.Sell, mark + (level * spread), random.Next(20, 300), instrument: id);
        }
    }
}

/// <summary>After warm-up the liquidation path (slices, takeovers, ADL, cooldowns) allocates nothing.</summary>
public sealed class LiquidationAllocationTests
{
    [Fact]
    public void ShouldAllocateNothingOnTheLiquidationPathAfterWarmUp()
    {
        var recorded = LiquidationInvariantTests.Run(62, 8_000, out _);
        var machine = LiquidationBench.NewMachine(default(CountingSink), LiquidationInvariantTests.Config(), LiquidationInvariantTests.Tiers(), 128, 2);
        var commands = recorded.Opening.Concat(recorded.Commands).ToArray();
        var warmUp = commands.Length / 2;
        for (var i = 0; i < warmUp; i++)
        {
            machine.Process(in commands[i]);
        }

        var stepsBefore = machine.Engine.Sink.LiquidationSteps;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = warmUp; i < commands.Length; i++)
        {
            machine.Process(in commands[i]);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var steps = machine.Engine.Sink.LiquidationSteps - stepsBefore;
        Assert.True(steps > 200, $"the measured half must liquidate: {steps} steps");
        Assert.Equal(0, allocated);
        Assert.Equal(recorded.Ledger.StateHash(), machine.Ledger.StateHash());
    }
}
