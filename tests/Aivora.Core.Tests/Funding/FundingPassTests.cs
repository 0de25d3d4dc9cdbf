using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Exchange;
using Aivora.Core.Funding;
using Aivora.Core.Liquidation;
using Aivora.Core.Orders;
using Aivora.Core.Pricing;
using Aivora.Core.Risk;
using Aivora.Core.Tests.Flows;
using Aivora.Core.Tests.Risk;
using Aivora.Core.Reference;

namespace Aivora.Core.Tests.Funding;

/// <summary>
/// A funding settlement is a pass the state machine spreads over the commands after the funding time, and every holder is
/// paid as of that time whatever happens before the pass reaches it: the same money, to the unit, as the settlement paid
/// in one go before anything moved, and money conserved between any two steps.
/// </summary>
public sealed class FundingPassTests
{
    private const long Usdt = 1_000_000;
    private const int Accounts = 400;

    /// <summary>
    /// Two ledgers, the same positions on two instruments (a fifth of the accounts isolated), both settled at the same rates.
    /// One pays everyone first, then runs a random run of operations; the other starts the same passes, then runs the same
    /// operations with one payment of the passes between each (fills that close, flip and open positions, accounts new to
    /// the instrument, transfers, withdrawals, wallet moves, marks). Each account is paid before its position or its money moves, on
    /// the lots it held at the funding time: the two end equal, balance by balance and position by position, with the same
    /// residue; money is conserved after every step of the spread one.
    /// </summary>
    [Theory]
    [InlineData(1, 10_000, -20_000)]
    [InlineData(2, -30_000, 7_000)]
    [InlineData(3, 123_457, 99_999)]
    public void ShouldPayEveryHolderAsOfTheFundingTimeWhateverMovesBeforeThePassReachesIt(int seed, long rate1, long rate2)
    {
        var atOnce = RandomLedger(seed);
        var spread = RandomLedger(seed);
        Assert.Equal(atOnce.StateHash(), spread.StateHash());

        foreach (var ledger in new[] { atOnce, spread })
        {
            Assert.True(ledger.StartFunding(1, rate1));
            Assert.True(ledger.StartFunding(2, rate2));
            Assert.True(ledger.FundingUnderWayOn(1) && ledger.FundingUnderWayOn(2));
        }

        var ended = new List<int>();
        while (atOnce.ContinueFunding(int.MaxValue, out var id, out _))
        {
            ended.Add(id);
        }

        Assert.Equal([1, 2], ended);
        Assert.False(atOnce.FundingUnderWay);

        var random = new Random(seed * 7);
        var operations = Enumerable.Range(0, 400).Select(_ => RandomOperation(random)).ToList();
        var endedAtStep = new List<int>();
        ended.Clear();
        for (var step = 0; step < operations.Count; step++)
        {
            operations[step](spread);
            Assert.Equal(spread.TotalDeposits - spread.TotalWithdrawals, spread.MoneyInSystem());
            if (spread.ContinueFunding(1, out var id, out _))
            {
                ended.Add(id);
                endedAtStep.Add(step);
            }

            Assert.Equal(spread.TotalDeposits - spread.TotalWithdrawals, spread.MoneyInSystem());
        }

        while (spread.ContinueFunding(1, out var id, out _))
        {
            ended.Add(id);
            endedAtStep.Add(operations.Count);
        }

        Assert.Equal([1, 2], ended);
        Assert.True(endedAtStep[0] > 100, $"the first pass ended after {endedAtStep[0]} operations: too few ran while it was under way");
        foreach (var operation in operations)
        {
            operation(atOnce);
        }

        for (var a = 1; a <= Accounts + 20; a++)
        {
            Assert.True(atOnce.Balance(a) == spread.Balance(a), $"account {a}: balance {spread.Balance(a)}, paid at once {atOnce.Balance(a)}");
            foreach (var i in new[] { 1, 2 })
            {
                Assert.Equal(atOnce.PositionOf(a, i), spread.PositionOf(a, i));
            }
        }

        Assert.Equal(atOnce.FundingResidue, spread.FundingResidue);
        Assert.Equal(atOnce.StateHash(), spread.StateHash());
        Assert.Equal(spread.TotalDeposits - spread.TotalWithdrawals, spread.MoneyInSystem());
    }

    /// <summary>
    /// The ledger's pass pays what the settlement's rule (<see cref="FundingSettlement.Settle"/>) says over the same positions:
    /// each payer its lots' payment rounded up, each receiver its share of the pool rounded down, the rest the residue.
    /// </summary>
    [Fact]
    public void ShouldPayWhatTheSettlementsRuleSaysForEveryPosition()
    {
        var ledger = RandomLedger(9);
        var ids = Enumerable.Range(1, Accounts + 20).ToArray();
        var lots = ids.Select(a => ledger.PositionOf(a, 1).QtyLots).ToArray();
        var before = ids.Select(a => ledger.Balance(a) + ledger.PositionOf(a, 1).IsolatedMargin).ToArray();
        var expected = new long[ids.Length];
        var residue = FundingSettlement.Settle(lots, expected, ledger.MarkOf(1), ledger.Contract(1).MoneyPerTickLot, 41_000, ledger.FundingResidue, out var paid);

        Assert.True(ledger.StartFunding(1, 41_000));
        long paidByPass;
        while (!ledger.ContinueFunding(5, out _, out paidByPass))
        {
        }

        Assert.Equal(paid, paidByPass);
        Assert.Equal(residue, ledger.FundingResidue);
        Assert.Contains(expected, e => e < 0);
        Assert.Contains(expected, e => e > 0);
        for (var k = 0; k < ids.Length; k++)
        {
            var moved = ledger.Balance(ids[k]) + ledger.PositionOf(ids[k], 1).IsolatedMargin - before[k];
            Assert.True(expected[k] == moved, $"account {ids[k]} ({lots[k]} lots): moved {moved}, the rule says {expected[k]}");
        }
    }

    /// <summary>
    /// In the state machine: at the funding time a pass starts, and with more holders than a command's slice it goes on over
    /// the commands after it; the node is told there is work due (it ticks for it); an account's own command pays it first;
    /// the settlement's event comes when the pass ends, with what the paying side paid; every balance is then what one
    /// settlement at the funding time pays.
    /// </summary>
    [Fact]
    public void ShouldSpreadTheSettlementOverTheCommandsAfterTheFundingTimeAndPublishItWhenItEnds()
    {
        const long Second = 1_000_000_000;
        var (machine, events) = Node();
        var twin = Node().Machine.Ledger;
        foreach (var ledger in new[] { machine.Ledger, twin })
        {
            Populate(ledger, new Random(4));
        }

        machine.Process(EngineCommand.Tick(Second));   // anchors the schedule: the first funding time at 1 h
        var fundingTime = machine.Pricing(1)!.NextFundingNs;
        var rate = machine.Pricing(1)!.PredictedRate;
        Assert.NotEqual(0, rate);
        var paidAtOnce = twin.SettleFunding(1, rate);
        const int lastSlotAccount = Accounts;   // deposited last: the highest slot, which the pass reaches last

        events.Clear();
        var commands = 0;
        var now = fundingTime;
        while (true)
        {
            var balanceBefore = machine.Ledger.Balance(lastSlotAccount);
            var command = commands == 2 ? EngineCommand.Account(CommandKind.Withdraw, now, lastSlotAccount, Usdt) : EngineCommand.Tick(now);
            machine.Process(in command);
            commands++;
            Assert.Equal(machine.Ledger.TotalDeposits - machine.Ledger.TotalWithdrawals, machine.Ledger.MoneyInSystem());
            if (commands == 2)
            {
                Assert.Equal(balanceBefore, machine.Ledger.Balance(lastSlotAccount));   // not reached yet
            }

            if (commands == 3)
            {
                // Its withdrawal paid its funding first: moved by both while the pass is still under way.
                Assert.True(machine.Ledger.FundingUnderWay);
                Assert.Equal(twin.Balance(lastSlotAccount) - Usdt, machine.Ledger.Balance(lastSlotAccount));
            }

            if (events.Any(e => e.Kind == EventKind.FundingSettled))
            {
                break;
            }

            Assert.True(machine.Ledger.FundingUnderWay);
            Assert.True(machine.NextWorkDueNs <= now, "a pass under way is work due now");
            Assert.True(commands < 50, "the pass did not end");
            now += 1_000;
        }

        // 400 holders, 128 a command: the fourth command ends it.
        Assert.Equal(4, commands);
        Assert.False(machine.Ledger.FundingUnderWay);
        var settlement = Assert.Single(events, e => e.Kind == EventKind.FundingSettled);
        var settled = settlement.AsFundingSettled();
        Assert.Equal((rate, paidAtOnce, twin.FundingResidue, 10_000L), (settled.Rate, settled.TotalPaid, settled.ResidueCarried, settled.MarkPriceTicks));
        for (var a = 1; a <= Accounts; a++)
        {
            Assert.Equal(twin.Balance(a) - (a == lastSlotAccount ? Usdt : 0), machine.Ledger.Balance(a));
        }
    }

    /// <summary>
    /// An account whose funding payment takes it below maintenance at the same mark is liquidated in the command whose slice
    /// pays it, as the settlement in one call had it found at once: no mark has to move first.
    /// </summary>
    [Fact]
    public void ShouldLiquidateAnAccountItsFundingPaymentTookBelowMaintenanceInTheCommandThatPaysIt()
    {
        const long Second = 1_000_000_000;
        const int Thin = Accounts + 1;   // deposited after the 400: the pass reaches it last
        var (machine, events) = Node();
        var ledger = machine.Ledger;
        Populate(ledger, new Random(4));
        machine.Process(EngineCommand.Tick(Second));
        var fundingTime = machine.Pricing(1)!.NextFundingNs;
        var rate = machine.Pricing(1)!.PredictedRate;
        Assert.True(rate > 0);   // longs pay

        // Long 1,000 lots at 10,000 (1,000 USDT), its equity half its funding payment above maintenance.
        ledger.Deposit(Thin, 1);
        ledger.Deposit(Thin + 1, 5_000 * Usdt);
        ledger.ApplyFill(Thin, 1, Side.Buy, 10_000, 1_000, isMaker: false);
        ledger.ApplyFill(Thin + 1, 1, Side.Sell, 10_000, 1_000, isMaker: true);
        var payment = FundingSettlement.Payment(1_000, FundingSettlement.PerLotNarrow(10_000, 100, rate), 10_000, 100, rate);
        var scope = ledger.Scope(Thin, 1);
        ledger.Deposit(Thin, scope.MaintenanceMargin + (payment / 2) - scope.Equity);
        Assert.False(ledger.Scope(Thin, 1).Unhealthy);
        for (var source = 1; source <= 3; source++)
        {
            machine.Process(EngineCommand.Feed(fundingTime - 1_000, 1, source, 10_000));   // an index (liquidation waits while it is stale)
        }

        Assert.Equal(10_000, ledger.MarkOf(1));
        Assert.DoesNotContain(events, e => e.Kind == EventKind.LiquidationStep);

        var now = fundingTime;
        var commands = 0;
        while (ledger.FundingUnderWay || commands == 0)
        {
            var balance = ledger.Balance(Thin);
            var from = events.Count;
            machine.Process(EngineCommand.Tick(now++));
            commands++;
            var paidNow = ledger.Balance(Thin) != balance;
            Assert.Equal(paidNow, events.Skip(from).Any(e => e.Kind == EventKind.LiquidationStep && e.AccountId == Thin && new LiquidationStepView(in e).Step == LiquidationStep.Triggered));
            Assert.True(commands < 50, "the pass did not end");
        }

        Assert.Equal(4, commands);   // 402 holders: the thin account's payment in the last slice
        Assert.Single(events, e => e.Kind == EventKind.LiquidationStep && e.AccountId == Thin && new LiquidationStepView(in e).Step == LiquidationStep.Triggered);
    }

    private static (PerpStateMachine<RecordingSink> Machine, List<EngineEvent> Events) Node()
    {
        var events = new List<EngineEvent>();
        var ledger = new Ledger([new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) }], Accounts + 8);
        var config = CommandFlowGenerator.Config(1_000, 200, Accounts + 8) with { Instruments = [CommandFlowGenerator.Instruments[0]] };
        var pricing = new InstrumentPricingConfig
        {
            InstrumentId = 1,
            Index = new IndexConfig { Sources = [new IndexSource(1, 1), new IndexSource(2, 1), new IndexSource(3, 1)], MinSources = 2 },
            FundingIntervalNs = 3_600_000_000_000,
            FirstFundingTimeNs = 3_600_000_000_000,
        };
        return (new PerpStateMachine<RecordingSink>(config, ledger, new RiskLimits(), new RecordingSink(events), [pricing]), events);
    }

    /// <summary>400 holders of instrument 1 at mark 10,000, each with 2,000 USDT: accounts 1-200 long, 201-400 short.</summary>
    private static void Populate(Ledger ledger, Random random)
    {
        ledger.SetMark(1, 10_000);
        for (var a = 1; a <= Accounts; a++)
        {
            ledger.Deposit(a, 2_000 * Usdt);
        }

        for (var a = 1; a <= 200; a++)
        {
            var lots = random.NextInt64(1, 50);
            ledger.ApplyFill(a, 1, Side.Buy, 10_000, lots, isMaker: false);
            ledger.ApplyFill(a + 200, 1, Side.Sell, 10_000, lots, isMaker: true);
        }
    }

    /// <summary>Accounts 1-400 with 300-3,000 USDT, every fifth isolated on instrument 1; then random trades between them on
    /// instruments 1 (mark 10,000, 100 money per tick-lot) and 2 (mark 50,000, 10).</summary>
    private static Ledger RandomLedger(int seed)
    {
        var ledger = new Ledger(
            [new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(200, 500) },
             new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 10, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(200, 500) }],
            maxAccounts: Accounts + 32);
        var random = new Random(seed);
        ledger.SetMark(1, 10_000);
        ledger.SetMark(2, 50_000);
        for (var a = 1; a <= Accounts; a++)
        {
            ledger.Deposit(a, random.NextInt64(300, 3_000) * Usdt);
            if (a % 5 == 0)
            {
                Assert.True(ledger.SetMarginMode(a, 1, isolated: true).IsOk);
            }
        }

        for (var t = 0; t < 1_500; t++)
        {
            Trade(ledger, random, 1 + random.Next(Accounts), 1 + random.Next(Accounts));
        }

        return ledger;
    }

    private static void Trade(Ledger ledger, Random random, int buyer, int seller)
    {
        var instrument = 1 + random.Next(2);
        if (buyer != seller)
        {
            var price = instrument == 1 ? random.NextInt64(9_900, 10_101) : random.NextInt64(49_500, 50_501);
            var lots = random.NextInt64(1, 20);
            ledger.ApplyFill(buyer, instrument, Side.Buy, price, lots, isMaker: false);
            ledger.ApplyFill(seller, instrument, Side.Sell, price, lots, isMaker: true);
        }
    }

    /// <summary>One random operation, the same on whichever ledger it runs: a trade (some with accounts 401-420, new to the
    /// ledger), a transfer of a position at a price with no fee (as the fund's takeover and ADL move them), a withdrawal,
    /// money into or out of an isolated wallet, or a mark.</summary>
    private static Action<Ledger> RandomOperation(Random random)
    {
        var roll = random.Next(100);
        var a = 1 + random.Next(Accounts);
        var b = random.Next(6) == 0 ? Accounts + 1 + random.Next(20) : 1 + random.Next(Accounts);
        var seed = random.Next();
        var amount = random.NextInt64(1, 200) * Usdt;
        var mark = random.NextInt64(9_800, 10_201);
        var isolated = Math.Max(5, a - (a % 5));
        var wallet = random.Next(2) == 0 ? amount / 10 : -amount / 10;
        return roll switch
        {
            < 64 => ledger => Trade(ledger, new Random(seed), a, b),
            < 70 => ledger => ledger.Transfer(a, b == a ? b % Accounts + 1 : b, 1 + (seed % 2), seed % 3 == 0 ? Side.Buy : Side.Sell, seed % 2 == 0 ? mark : mark * 5, 1 + (seed % 7)),
            < 80 => ledger => ledger.Withdraw(a, amount),
            < 90 => ledger => ledger.AdjustIsolatedMargin(isolated, 1, wallet),
            _ => ledger => ledger.SetMark(1, mark),
        };
    }
}
