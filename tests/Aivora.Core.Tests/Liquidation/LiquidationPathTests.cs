using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Liquidation;
using Aivora.Core.Orders;
using Aivora.Core.Pricing;
using static Aivora.Core.Tests.Liquidation.LiquidationBench;

namespace Aivora.Core.Tests.Liquidation;

/// <summary>The liquidation path on worked numbers, each figure checked to the unit (money conservation is checked at every step by the bench's sink).</summary>
public sealed class LiquidationPathTests
{
    private const int Victim = 7;

    private static LiquidationConfig Config(long largeUsdt = 800, long cooldownNs = 1_000_000_000) => new()
    {
        InsuranceFundAccountId = Fund,
        ClearanceFeeRate = 1_000_000,   // 1%
        LargePositionNotional = largeUsdt * Usdt,
        SliceRate = 20_000_000,   // 20%
        SliceCooldownNs = cooldownNs,
        HardFloorRate = 50_000_000,   // 50%
    };

    /// <summary>Victim long 1,000 lots at 10,000 on 110 USDT (bankruptcy 8,900, liquidation 8,945); the short side split between accounts 2 and 4.</summary>
    private static LiquidationBench LongVictim(LiquidationConfig config, long shortsOf2 = 1_000, long fundUsdt = 0)
    {
        var bench = new LiquidationBench(config);
        bench.Deposit(Victim, 110 * Usdt);
        bench.Deposit(2, 1_000 * Usdt);
        bench.Deposit(4, 200 * Usdt);
        if (fundUsdt > 0)
        {
            bench.Deposit(Fund, fundUsdt * Usdt);
        }

        bench.Limit(2, Side.Sell, 10_000, shortsOf2);
        if (shortsOf2 < 1_000)
        {
            bench.Limit(4, Side.Sell, 10_000, 1_000 - shortsOf2);
        }

        bench.Limit(Victim, Side.Buy, 10_000, 1_000, TimeInForce.Ioc);
        Assert.Equal(1_000, bench.Ledger.PositionOf(Victim, 1).QtyLots);
        Assert.Equal(8_945, bench.Ledger.LiquidationPrice(Victim, 1));
        bench.Mark(9_500);   // band 8,550..10,450: room for the bids below
        return bench;
    }

    private static LiquidationStepView View(in EngineEvent e) => new(in e);

    [Fact]
    public void ShouldReduceInSlicesAtOrBetterThanBankruptcyThenHandTheRestToTheFund()
    {
        var bench = LongVictim(Config());
        bench.Deposit(3, 10_000 * Usdt);
        bench.Limit(3, Side.Buy, 8_960, 300);
        bench.Limit(3, Side.Buy, 8_950, 200);
        bench.Limit(3, Side.Buy, 8_800, 1_000);   // below bankruptcy: never reached

        var from = bench.Events.Count;
        bench.Mark(8_940);
        var steps = bench.Steps(from);
        Assert.Equal(
            [LiquidationStep.Triggered, LiquidationStep.PartialReduction, LiquidationStep.PartialReduction, LiquidationStep.InsuranceTakeover, LiquidationStep.Completed],
            steps.Select(e => View(e).Step));

        // Triggered at mark 8,940: equity 110 − 106 = 4 USDT under maintenance 0.5% × 894 = 4.47 USDT; bankruptcy (1,000 − 110) / 0.1 = 8,900.
        var t = View(steps[0]);
        Assert.Equal((8_940L, 1_000L, 4_000_000L, 4_470_000L, 8_900L, 0), (t.MarkPriceTicks, t.PositionLots, t.Equity, t.MaintenanceMargin, t.BankruptcyPriceTicks, t.Tier));
        Assert.False(t.IsolatedScope);

        // Slice 1: the position is large (894 ≥ 800 USDT): 20% = 200 lots, limit 8,900, filled at 8,960.
        // Realized −20.8 USDT; clearance fee 1% of 179.2 = 1.792 USDT (margin left 4.4 USDT) to the fund.
        var s1 = View(steps[1]);
        Assert.Equal((200L, 8_960L, 1_792_000L, 1_792_000L, 8_900L), (s1.FillLots, s1.FillPriceTicks, s1.Fee, s1.InsuranceFundDelta, s1.BankruptcyPriceTicks));

        // No longer large (715.2 USDT): slice 2 is the whole 800 lots; bankruptcy (800 − 87.408) / 0.08 = 8,907.4 → 8,908.
        // The book absorbs 100 at 8,960 and 200 at 8,950 (average 8,953.33 → 8,953). Each fill's fee is capped at the margin
        // left less what the order's lots still to fill could lose against mark at its limit (32 ticks a lot): after the first
        // 2.808 − 700 × 3.2 = 0.568 USDT (not 0.896), after the second 2.44 − 500 × 3.2 = 0.84 USDT (not 1.79).
        var s2 = View(steps[2]);
        Assert.Equal((800L, 2_608_000L, 8_908L), (s2.PositionLots, s2.Equity, s2.BankruptcyPriceTicks));
        Assert.Equal((300L, 8_953L, 1_408_000L), (s2.FillLots, s2.FillPriceTicks, s2.Fee));

        // The book has nothing more at or above bankruptcy (1.6 USDT behind 500 lots: 8,908): the fund takes the 500 lots
        // at 8,908, worth 8,940 at mark: its equity rises 500 × 32 ticks × 100 = 1.6 USDT.
        var take = View(steps[3]);
        Assert.Equal((500L, 1_600_000L, 8_908L), (take.PositionLots, take.Equity, take.BankruptcyPriceTicks));
        Assert.Equal((500L, 8_908L, 1_600_000L, Fund), (take.FillLots, take.FillPriceTicks, take.InsuranceFundDelta, take.CounterpartyAccountId));

        var done = View(steps[4]);
        Assert.Equal((0L, 0L), (done.PositionLots, done.Equity));   // the bankruptcy price came out exact: nothing left, nothing owed
        Assert.Equal(0, bench.Ledger.Balance(Victim));
        Assert.Equal(1_792_000 + 1_408_000, bench.Ledger.InsuranceFund);
        Assert.Equal((500L, -445_400_000L), (bench.Ledger.PositionOf(Fund, 1).QtyLots, -bench.Ledger.PositionOf(Fund, 1).Cost));
        Assert.Equal(1_000, bench.Machine.Engine.RestingOrders(1, Side.Buy).Single(o => o.PriceTicks == 8_800).QtyLots);
        Assert.Equal(bench.Ledger.OpenInterest(1).Long, bench.Ledger.OpenInterest(1).Short);
        bench.AssertConserved();

        // The liquidation order's fills are taker fills of the victim's own IOC, reduce-only.
        Assert.Contains(bench.Events.Skip(from), e => e.Kind == EventKind.Trade && e.AccountId == Victim && e.PriceTicks == 8_960 && e.QtyLots == 200);
    }

    [Fact]
    public void ShouldDeleverageTheHighestRankedOppositePositionsAtBankruptcyWhenTheFundIsEmpty()
    {
        var bench = LongVictim(Config(), shortsOf2: 600);   // 2 is short 600 on 1,000 USDT, 4 short 400 on 200 USDT
        Assert.True(bench.Ledger.AdlQuantile(4, 1) > bench.Ledger.AdlQuantile(2, 1));
        Assert.Equal(5, bench.Ledger.AdlQuantile(4, 1));

        var from = bench.Events.Count;
        bench.Mark(8_800);   // past bankruptcy: equity −10 USDT, and no bids at all
        var steps = bench.Steps(from);
        Assert.Equal(
            [LiquidationStep.Triggered, LiquidationStep.AutoDeleverage, LiquidationStep.AutoDeleverage, LiquidationStep.Completed],
            steps.Select(e => View(e).Step));
        Assert.Equal(-10_000_000, View(steps[0]).Equity);

        // Scores: profit% × notional / equity. Account 4: 12% × 352 / 248 = 0.17032258; account 2: 12% × 528 / 1,072 = 0.05910447.
        var first = View(steps[1]);
        var second = View(steps[2]);
        Assert.Equal((4, 400L, 8_900L, 17_032_258L), (first.CounterpartyAccountId, first.FillLots, first.FillPriceTicks, first.AdlScore));
        Assert.Equal((2, 600L, 8_900L, 5_910_447L), (second.CounterpartyAccountId, second.FillLots, second.FillPriceTicks, second.AdlScore));

        // At bankruptcy the victim ends at exactly zero; the counterparties realize 1,100 ticks a lot, not the 1,200 mark shows.
        Assert.Equal(0, bench.Ledger.Balance(Victim));
        Assert.Equal((200 + 44) * Usdt, bench.Ledger.Balance(4));
        Assert.Equal((1_000 + 66) * Usdt, bench.Ledger.Balance(2));
        Assert.Equal((0L, 0L, 0L), (bench.Ledger.PositionOf(Victim, 1).QtyLots, bench.Ledger.PositionOf(4, 1).QtyLots, bench.Ledger.PositionOf(2, 1).QtyLots));
        Assert.Equal(0, bench.Ledger.InsuranceFund);
        bench.AssertConserved();
    }

    [Fact]
    public void ShouldLetTheFundTakeWhatItsEquityCoversDeleverageTheRestAndDeleverageTheFundWhenItsEquityTurnsNegative()
    {
        var bench = LongVictim(Config(), shortsOf2: 600, fundUsdt: 5);
        var from = bench.Events.Count;
        bench.Mark(8_800);
        var steps = bench.Steps(from);
        Assert.Equal(
            [LiquidationStep.Triggered, LiquidationStep.InsuranceTakeover, LiquidationStep.AutoDeleverage, LiquidationStep.AutoDeleverage, LiquidationStep.Completed],
            steps.Select(e => View(e).Step));

        // Each lot taken at 8,900 is worth 8,800: 0.01 USDT lost per lot; 5 USDT covers 500 lots.
        var take = View(steps[1]);
        Assert.Equal((500L, 8_900L, -5_000_000L), (take.FillLots, take.FillPriceTicks, take.InsuranceFundDelta));
        Assert.Equal((4, 400L), (View(steps[2]).CounterpartyAccountId, View(steps[2]).FillLots));
        Assert.Equal((2, 100L), (View(steps[3]).CounterpartyAccountId, View(steps[3]).FillLots));
        Assert.Equal(0, bench.Ledger.Equity(Fund));

        // The mark falls further: the fund's equity would be −5 USDT. Its 500 lots are deleveraged at its own
        // bankruptcy price (445 − 5) / 0.05 = 8,800 against the only short left (account 2, 500 lots).
        from = bench.Events.Count;
        bench.Mark(8_700);
        steps = bench.Steps(from);
        Assert.Equal([LiquidationStep.Triggered, LiquidationStep.AutoDeleverage, LiquidationStep.Completed], steps.Select(e => View(e).Step));
        Assert.All(steps, e => Assert.Equal(Fund, e.AccountId));
        Assert.Equal((2, 500L, 8_800L), (View(steps[1]).CounterpartyAccountId, View(steps[1]).FillLots, View(steps[1]).FillPriceTicks));
        Assert.Equal((0L, 0L), (bench.Ledger.Equity(Fund), bench.Ledger.PositionOf(Fund, 1).QtyLots));
        bench.AssertConserved();
    }

    [Fact]
    public void ShouldWaitTheCooldownBetweenSlicesOfALargePositionAndGoOnAtOnceBelowTheHardFloor()
    {
        var bench = LongVictim(Config(largeUsdt: 100));
        bench.Deposit(3, 10_000 * Usdt);
        bench.Limit(3, Side.Buy, 8_960, 2_000);

        var from = bench.Events.Count;
        bench.Mark(8_940);
        var steps = bench.Steps(from);
        Assert.Equal([LiquidationStep.Triggered, LiquidationStep.PartialReduction, LiquidationStep.Waiting], steps.Select(e => View(e).Step));
        var wait = View(steps[2]);
        // After the first 200 lots: equity 2.608 USDT, maintenance 3.576, hard floor 1.788: wait one second.
        Assert.Equal((800L, 2_608_000L, 3_576_000L, bench.Now + 1_000_000_000), (wait.PositionLots, wait.Equity, wait.MaintenanceMargin, wait.FillPriceTicks));
        Assert.Equal(1, bench.Machine.WaitingLiquidations);

        // While it waits the account may not add exposure.
        from = bench.Events.Count;
        bench.Limit(Victim, Side.Buy, 8_900, 10);
        Assert.Equal(RejectReason.AccountInLiquidation, (RejectReason)Assert.Single(bench.Events.Skip(from), e => e.Kind == EventKind.OrderRejected).Reason);

        from = bench.Events.Count;
        bench.Advance(500_000_000);
        Assert.Empty(bench.Steps(from));

        bench.Advance(500_000_000);
        steps = bench.Steps(from);
        Assert.Equal([LiquidationStep.PartialReduction, LiquidationStep.Waiting], steps.Select(e => View(e).Step));
        Assert.Equal((160L, 8_960L, 1_433_600L), (View(steps[0]).FillLots, View(steps[0]).FillPriceTicks, View(steps[0]).Fee));
        Assert.Equal(1_494_400, View(steps[1]).Equity);

        // The mark drops: equity 0.8544 USDT is below the hard floor (1.4288): the next slices go at once.
        from = bench.Events.Count;
        var now = bench.Now;
        bench.Mark(8_930);
        steps = bench.Steps(from);
        Assert.Equal(LiquidationStep.PartialReduction, View(steps[0]).Step);
        Assert.True(bench.Now - now < 1_000_000_000);
        var last = View(steps[^1]);
        Assert.True(last.Step == LiquidationStep.Completed || (last.Step == LiquidationStep.Waiting && last.Equity >= last.MaintenanceMargin / 2), $"ended with {steps[^1]}");
        bench.AssertConserved();
    }

    [Fact]
    public void ShouldFireLastPriceStopsThatAResumedSliceCrossesInTheCommandThatResumedIt()
    {
        var bench = LongVictim(Config(largeUsdt: 100));
        bench.Deposit(3, 10_000 * Usdt);
        bench.Deposit(6, 10_000 * Usdt);
        bench.Limit(3, Side.Buy, 8_960, 200);   // exactly the first slice
        bench.Mark(8_940);
        Assert.Equal(1, bench.Machine.WaitingLiquidations);
        bench.Limit(3, Side.Buy, 8_950, 2_000);   // the next slices' bid, below the stop's trigger
        bench.Run(EngineCommand.Triggered(bench.Now, 6, 1, 61, Side.Sell, OrderType.StopMarket, triggerPriceTicks: 8_955, qtyLots: 10, source: TriggerSource.Last));
        Assert.Equal(1, bench.Machine.Stops.Count);   // the last trade (8,960) is above it

        // The cooldown ends at a clock tick, which names no instrument: the slice it resumes trades at 8,950 and the stop fires.
        var from = bench.Events.Count;
        bench.Advance(1_000_000_000);

        var slice = bench.Steps(from).First(e => View(e).Step == LiquidationStep.PartialReduction);
        Assert.Equal(8_950, View(slice).FillPriceTicks);
        Assert.Equal(61, Assert.Single(bench.Events.Skip(from), e => e.Kind == EventKind.OrderTriggered).ClientOrderId);
        Assert.Equal(0, bench.Machine.Stops.Count);
        Assert.Equal(-10, bench.Ledger.PositionOf(6, 1).QtyLots);
        bench.AssertConserved();
    }

    [Fact]
    public void ShouldLiquidateAnIsolatedPositionFromItsWalletAloneAfterCancellingItsOrders()
    {
        var bench = new LiquidationBench(Config(largeUsdt: 1_000));   // 904 USDT: one slice
        bench.Deposit(Victim, 1_000 * Usdt);
        bench.Deposit(2, 10_000 * Usdt);
        bench.Run(EngineCommand.MarginMode(bench.Now, Victim, 1, isolated: true));
        bench.Limit(2, Side.Sell, 10_000, 1_000);
        bench.Limit(Victim, Side.Buy, 10_000, 1_000, TimeInForce.Ioc);
        Assert.Equal(100 * Usdt, bench.Ledger.PositionOf(Victim, 1).IsolatedMargin);   // initial margin at 10x
        bench.Limit(Victim, Side.Sell, 10_400, 100);   // a resting take-profit the path must cancel
        bench.Mark(9_500);
        bench.Deposit(3, 10_000 * Usdt);
        bench.Limit(3, Side.Buy, 9_020, 2_000);

        var from = bench.Events.Count;
        bench.Mark(9_040);   // wallet 100 − 96 = 4 USDT < 0.5% × 904 = 4.52 USDT
        var steps = bench.Steps(from);
        Assert.Equal(
            [LiquidationStep.Triggered, LiquidationStep.OrdersCancelled, LiquidationStep.PartialReduction, LiquidationStep.Completed],
            steps.Select(e => View(e).Step));
        Assert.True(View(steps[0]).IsolatedScope);
        Assert.Equal((4_000_000L, 9_000L), (View(steps[0]).Equity, View(steps[0]).BankruptcyPriceTicks));
        Assert.Contains(bench.Events.Skip(from), e => e.Kind == EventKind.OrderCancelled && e.AccountId == Victim && (CancelReason)e.Reason == CancelReason.Liquidation);

        // All 1,000 lots at 9,020: the wallet keeps 2 USDT; the 1% fee (9.02 USDT) is capped at those 2 USDT.
        Assert.Equal((1_000L, 9_020L, 2_000_000L), (View(steps[2]).FillLots, View(steps[2]).FillPriceTicks, View(steps[2]).Fee));
        Assert.Equal(900 * Usdt, bench.Ledger.Balance(Victim));   // the cross balance is untouched
        Assert.Equal(2_000_000, bench.Ledger.InsuranceFund);
        bench.AssertConserved();
    }

    [Fact]
    public void ShouldNeverLiquidateOnAStaleIndex()
    {
        var bench = LongVictim(Config());
        bench.Machine.SetIndexState(1, IndexState.Stale);
        var from = bench.Events.Count;
        bench.Mark(8_800);
        Assert.Empty(bench.Steps(from));
        Assert.Equal(1_000, bench.Ledger.PositionOf(Victim, 1).QtyLots);

        bench.Machine.SetIndexState(1, IndexState.Healthy);
        bench.Mark(8_800);
        Assert.Equal(LiquidationStep.Triggered, View(bench.Steps(from)[0]).Step);
        Assert.Equal(0, bench.Ledger.PositionOf(Victim, 1).QtyLots);
    }

    [Fact]
    public void ShouldTellTheAdlQuantileAPositionWouldHaveInTheOrdersWhatIf()
    {
        var bench = LongVictim(Config(), shortsOf2: 600);   // shorts: 2 (600 on 1,000 USDT) and 4 (400 on 200 USDT), both in profit at 9,500
        bench.Deposit(3, 10_000 * Usdt);
        bench.Deposit(5, 150 * Usdt);
        bench.Advance(1_000_000_000);   // the clock takes the ranking of the positions held now

        // A new short at the mark has no profit: behind both others, quantile 5 - floor(5 x 2 / 3) = 2, as the ledger ranks it after the fill.
        bench.Limit(3, Side.Buy, 9_500, 200);
        var from = bench.Events.Count;
        bench.Limit(5, Side.Sell, 9_500, 200, TimeInForce.Ioc);
        var whatIf = Assert.Single(bench.Events.Skip(from), e => e.Kind == EventKind.OrderRiskAssessed);
        Assert.Equal(-200, bench.Ledger.PositionOf(5, 1).QtyLots);
        Assert.Equal((2, 2), (whatIf.Count, bench.Ledger.AdlQuantile(5, 1)));
    }
}
