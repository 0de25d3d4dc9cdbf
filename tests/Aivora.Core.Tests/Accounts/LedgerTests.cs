using Aivora.Core.Accounts;
using Aivora.Core.Events;
using Aivora.Core.Funding;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Core.Reference;
using Aivora.Core.Tests.Flows;
using Aivora.Core.Tests.Risk;

namespace Aivora.Core.Tests.Accounts;

public sealed class LedgerTests
{
    private const long Usdt = 1_000_000;

    private static Ledger NewLedger(FeeSchedule? fees = null) => new(
    [
        new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = fees ?? new FeeSchedule(0, 0) },
        new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 10, Tiers = MarginMathTests.DocTiers(), Fees = fees ?? new FeeSchedule(0, 0) },
    ], maxAccounts: 64);

    /// <summary>A contract whose default leverage is under 1 would divide its margin by 0 at the first order: refused when the
    /// ledger is built, naming the contract and the field, instead.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void ShouldRefuseAContractWhoseDefaultLeverageIsUnderOne(int leverage)
    {
        var error = Assert.Throws<ArgumentException>(() => new Ledger(
        [
            new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers() },
            new ContractSpec { InstrumentId = 3, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), DefaultLeverage = leverage },
        ], maxAccounts: 4));
        Assert.Contains("contract 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("DefaultLeverage", error.Message, StringComparison.Ordinal);
        var ledger = new Ledger([new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), DefaultLeverage = 1 }], 4);
        Assert.Equal(1, ledger.InstrumentCount);

        // Changed later (a scheduled parameter change): refused the same way, the contract left as it was.
        error = Assert.Throws<ArgumentException>(() => ledger.UpdateContract(1, spec => spec with { DefaultLeverage = leverage }));
        Assert.Contains("DefaultLeverage", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, ledger.Contract(1).DefaultLeverage);
    }

    [Fact]
    public void ShouldMarginAShortsWorseSideLotForLotAsALongs()
    {
        var ledger = NewLedger();
        ledger.SetMark(1, 10_000);
        ledger.Deposit(7, 1_000 * Usdt);
        ledger.Deposit(8, 1_000 * Usdt);
        ledger.ApplyFill(7, 1, Side.Sell, 10_000, 3, isMaker: false);   // 7: short 3
        ledger.ApplyFill(8, 1, Side.Buy, 10_000, 3, isMaker: true);

        long OpenOnly(long lots) => ledger.ExposureMargin(9, 1, lots, 0, 10_000);   // 9: no position, buy orders alone

        Assert.True(OpenOnly(1) > 0 && OpenOnly(5) > OpenOnly(3));
        Assert.Equal(OpenOnly(3), ledger.ExposureMargin(7, 1, 0, 0, 10_000));   // short 3: as 3 long
        Assert.Equal(OpenOnly(5), ledger.ExposureMargin(7, 1, 0, 2, 10_000));   // and 2 more to sell: 5 on the short side
        Assert.Equal(OpenOnly(3), ledger.ExposureMargin(7, 1, 4, 0, 10_000));   // 4 to buy: long 1 or short 3, the short is worse
        Assert.Equal(OpenOnly(4), ledger.ExposureMargin(7, 1, 7, 0, 10_000));   // 7 to buy: long 4 is worse than short 3
    }

    [Fact]
    public void ShouldRealizeExactPnlOnPartialCloseCloseAndFlip()
    {
        var p = default(Position);

        Assert.Equal(0, Ledger.ApplyToPosition(ref p, 3, 100, 1));        // long 3 @100: cost 300
        Assert.Equal(0, Ledger.ApplyToPosition(ref p, 1, 104, 1));        // long 4, cost 404 (avg 101, not rounded)
        Assert.Equal(9, Ledger.ApplyToPosition(ref p, -1, 110, 1));       // sell 1 @110: 110 − 101
        Assert.Equal((3L, 303L), (p.QtyLots, p.Cost));
        Assert.Equal(-6, Ledger.ApplyToPosition(ref p, -5, 99, 1));       // close 3 @99 (297 − 303), then short 2 @99
        Assert.Equal((-2L, -198L), (p.QtyLots, p.Cost));
        Assert.Equal(18, Ledger.ApplyToPosition(ref p, 2, 90, 1));        // short profit: 198 − 180
        Assert.Equal((0L, 0L), (p.QtyLots, p.Cost));
    }

    [Fact]
    public void ShouldNeverLoseMoneyToRoundingOverAPositionsLife()
    {
        var random = new Random(4);
        for (var round = 0; round < 2_000; round++)
        {
            var p = default(Position);
            long realized = 0, cashFlow = 0;
            var lots = random.Next(1, 50);
            var price = random.Next(1, 10_000);
            realized += Ledger.ApplyToPosition(ref p, lots, price, 7);
            cashFlow -= (long)lots * price * 7;
            while (p.QtyLots != 0)
            {
                var close = Math.Min(p.QtyLots, random.Next(1, 7));
                var exit = random.Next(1, 10_000);
                realized += Ledger.ApplyToPosition(ref p, -close, exit, 7);
                cashFlow += close * exit * 7L;
            }

            Assert.Equal(cashFlow, realized);   // Σ realized = Σ proceeds − Σ cost, to the unit
        }
    }

    [Fact]
    public void ShouldChargeTakersAndRebateMakersIntoTheFeeAccount()
    {
        var ledger = NewLedger(new FeeSchedule(-1_000, 5_000));   // maker −0.01%, taker 0.05%
        ledger.Deposit(1, 10_000 * Usdt);
        ledger.Deposit(2, 10_000 * Usdt);

        ledger.ApplyFill(1, 1, Side.Buy, 600_001, 33, isMaker: false);   // notional 1,980,003,300 units
        ledger.ApplyFill(2, 1, Side.Sell, 600_001, 33, isMaker: true);

        // taker fee 99,000.165 → 99,001 (up); maker rebate 19,800.033 → 19,800 (down): both against the account
        Assert.Equal(99_001 - 19_800, ledger.FeeAccount);
        Assert.Equal((10_000 * Usdt) - 99_001, ledger.Balance(1));
        Assert.Equal((10_000 * Usdt) + 19_800, ledger.Balance(2));
        Assert.Equal(ledger.TotalDeposits, ledger.MoneyInSystem());
    }

    [Fact]
    public void ShouldRejectWithdrawalUnderInitialMarginWithTheFigures()
    {
        var ledger = NewLedger();
        ledger.Deposit(1, 1_000 * Usdt);
        ledger.Deposit(2, 1_000 * Usdt);
        ledger.ApplyFill(1, 1, Side.Buy, 600_000, 100, false);          // 6,000 USDT notional, 10x: IM 600
        ledger.ApplyFill(2, 1, Side.Sell, 600_000, 100, true);
        ledger.SetMark(1, 600_000);

        var refused = ledger.Withdraw(1, 500 * Usdt);

        Assert.Equal(LedgerReject.InsufficientMargin, refused.Reject);
        Assert.Equal((1_100 * Usdt, 1_000 * Usdt), (refused.Required, refused.Available));
        Assert.True(ledger.Withdraw(1, 400 * Usdt).IsOk);
        Assert.Equal(600 * Usdt, ledger.Balance(1));
    }

    [Fact]
    public void ShouldRefuseLeverageAboveTheTierCap()
    {
        var ledger = NewLedger();
        ledger.SetMark(1, 600_000);

        Assert.True(ledger.SetLeverage(1, 1, 125).IsOk);
        var refused = ledger.SetLeverage(1, 1, 126);
        Assert.Equal((LedgerReject.LeverageAboveTierCap, 125L, 126L), (refused.Reject, refused.Required, refused.Available));
    }

    [Theory]
    [InlineData(21)]
    [InlineData(22)]
    public void ShouldConserveMoneyAndBalanceOpenInterestOverLongRandomTrading(int seed)
    {
        var ledger = NewLedger(new FeeSchedule(-200, 500));
        var engine = new MatchingEngine<RecordingSink, LedgerPositions>(CommandFlowGenerator.Config(2_000, 400, 64), new RecordingSink([]), new LedgerPositions(ledger));
        var generator = new CommandFlowGenerator(seed);
        var random = new Random(seed);
        for (var account = 1; account <= 14; account++)
        {
            ledger.Deposit(account, 50_000 * Usdt);
        }

        var trades = 0L;
        for (var i = 0; i < 150_000; i++)
        {
            var step = generator.Next();
            if (step.IsPositionAdjustment)
            {
                // Money moves instead: deposits, withdrawals (some refused), marks and funding.
                switch (random.Next(4))
                {
                    case 0: ledger.Deposit(step.AccountId, random.Next(1, 1_000) * Usdt); break;
                    case 1: ledger.Withdraw(step.AccountId, random.Next(1, 5_000) * Usdt); break;
                    case 2: ledger.SetMark(step.InstrumentId, step.InstrumentId == 1 ? random.Next(9_500, 10_500) : random.Next(47_500, 52_500)); break;
                    default: SettleAndCheckEveryHolderPaid(ledger, step.InstrumentId, random.Next(-300_000, 300_001)); break;
                }
            }
            else
            {
                var command = step.Command;
                engine.Sink.Events.Clear();
                engine.Process(in command);
                foreach (var e in engine.Sink.Events)
                {
                    generator.Observe(in e);
                    trades += e.Kind == EventKind.Trade ? 1 : 0;
                }
            }

            if (i % 1_000 == 0)
            {
                Assert.Equal(ledger.TotalDeposits - ledger.TotalWithdrawals, ledger.MoneyInSystem());
                foreach (var instrument in new[] { 1, 2 })
                {
                    var (longs, shorts) = ledger.OpenInterest(instrument);
                    Assert.Equal(longs, shorts);
                }
            }
        }

        Assert.True(trades > 5_000, $"only {trades} trades");
        Assert.True(ledger.TotalWithdrawals > 0 && ledger.FeeAccount != 0);
        Assert.Equal(ledger.TotalDeposits - ledger.TotalWithdrawals, ledger.MoneyInSystem());
    }

    /// <summary>
    /// A funding settlement, and what every account's balance should have moved by: the settlement's rule
    /// (<see cref="FundingSettlement.Settle"/>) over every account id the ledger can hold, whatever position each has,
    /// so a holder the ledger's settlement did not visit, or an account it paid that holds nothing, shows.
    /// </summary>
    private static void SettleAndCheckEveryHolderPaid(Ledger ledger, int instrumentId, long rate)
    {
        var ids = Enumerable.Range(1, 64).ToArray();
        var lots = ids.Select(a => ledger.PositionOf(a, instrumentId).QtyLots).ToArray();
        var balances = ids.Select(ledger.Balance).ToArray();
        var expected = new long[ids.Length];
        var residue = ledger.MarkOf(instrumentId) <= 0 ? ledger.FundingResidue
            : FundingSettlement.Settle(lots, expected, ledger.MarkOf(instrumentId), ledger.Contract(instrumentId).MoneyPerTickLot, rate, ledger.FundingResidue, out _);
        ledger.SettleFunding(instrumentId, rate);
        Assert.Equal(residue, ledger.FundingResidue);
        for (var k = 0; k < ids.Length; k++)
        {
            Assert.True(expected[k] == ledger.Balance(ids[k]) - balances[k], $"account {ids[k]} ({lots[k]} lots): paid {ledger.Balance(ids[k]) - balances[k]}, expected {expected[k]}");
        }
    }

    [Fact]
    public void ShouldLimitReduceOnlyOrdersToTheLedgersPosition()
    {
        var ledger = NewLedger();
        var engine = new MatchingEngine<CountingSink, LedgerPositions>(CommandFlowGenerator.Config(100, 50, 16), default, new LedgerPositions(ledger));
        ledger.ApplyFill(1, 1, Side.Buy, 10_000, 5, false);   // account 1 long 5 (its counterparty is outside this test)
        var bid = Commands.EngineCommand.Limit(1, 2, 1, 0, Side.Buy, 10_000, 20);
        engine.Process(in bid);

        var sell = Commands.EngineCommand.Place(2, 1, 1, 0, Side.Sell, OrderType.Limit, TimeInForce.Ioc, 10_000, 20, OrderFlags.ReduceOnly);
        engine.Process(in sell);

        Assert.Equal(0, ledger.PositionOf(1, 1).QtyLots);
        Assert.Equal(5, engine.Sink.FilledLots);
    }
}

public sealed class LiquidationIndexTests
{
    private const long Usdt = 1_000_000;

    // Thin accounts (2 USDT: liquidation prices near the market, indexed exactly) and thicker ones (200 USDT: a two-position
    // cross account's bands hold, its positions leave the index until a mark leaves a band): the same exact answer.
    [Theory]
    [InlineData(2)]
    [InlineData(200)]
    public void ShouldReturnExactlyThePositionsPastTheirLiquidationPriceOnMarkUpdate(long depositUsdt)
    {
        var ledger = new Ledger(
        [
            new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = Risk.MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
            new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 10, Tiers = Risk.MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
        ], maxAccounts: 64);
        var engine = new MatchingEngine<RecordingSink, LedgerPositions>(CommandFlowGenerator.Config(2_000, 400, 64), new RecordingSink([]), new LedgerPositions(ledger));
        var generator = new CommandFlowGenerator(41);
        ledger.SetMark(1, 10_000);
        ledger.SetMark(2, 50_000);
        for (var account = 1; account <= 14; account++)
        {
            ledger.Deposit(account, depositUsdt * Usdt);
        }

        for (var i = 0; i < 20_000; i++)
        {
            var step = generator.Next();
            if (step.IsPositionAdjustment)
            {
                continue;
            }

            var command = step.Command;
            engine.Sink.Events.Clear();
            engine.Process(in command);
            foreach (var e in engine.Sink.Events)
            {
                generator.Observe(in e);
            }
        }

        var found = new int[64];
        var totalFlagged = 0;
        foreach (var instrument in new[] { 1, 2 })
        {
            var center = instrument == 1 ? 10_000 : 50_000;
            for (var offset = -2_000; offset <= 2_000; offset += 50)
            {
                var mark = center + (offset * (instrument == 1 ? 1 : 5));
                var count = ledger.MarkUpdate(instrument, mark, found);
                var flagged = found.Take(count).Order().ToArray();

                var expected = Enumerable.Range(1, 14).Where(a =>
                {
                    var q = ledger.PositionOf(a, instrument).QtyLots;
                    var lp = ledger.LiquidationPrice(a, instrument);
                    return lp > 0 && ((q > 0 && lp >= mark) || (q < 0 && lp <= mark));
                }).ToArray();
                Assert.Equal(expected, flagged);
                totalFlagged += count;
            }

            ledger.MarkUpdate(instrument, center, found);
        }

        Assert.True(totalFlagged > 20, "the scan should flag positions at some marks");
    }

    /// <summary>
    /// A long of about 1x leverage whose cost is in a tier above the first (20 BTC at 60,000: 1,200,000 USDT, tier 4 of the
    /// doc's; 1,190,000 USDT of margin) is found when the mark falls to where its equity no longer meets maintenance, near
    /// 0.84 % of its entry, and not above it. Its liquidation price was once solved in the tier of its cost, where the
    /// cumulative amount (16,300 USDT) exceeds its shortfall (10,000), and answered 0: the position was never liquidated,
    /// and went into debt below 500 USDT.
    /// </summary>
    [Fact]
    public void ShouldLiquidateALongOfAboutOneTimesLeverageWhoseCostIsAboveTheFirstTier()
    {
        var ledger = new Ledger([new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) }], maxAccounts: 4);
        ledger.Deposit(1, 1_190_000 * Usdt);
        ledger.Deposit(2, 100_000_000 * Usdt);
        var found = new int[4];
        Assert.Equal(0, ledger.MarkUpdate(1, 600_000, found));
        ledger.ApplyFill(1, 1, Side.Buy, 600_000, 20_000, isMaker: false);
        ledger.ApplyFill(2, 1, Side.Sell, 600_000, 20_000, isMaker: true);

        // Equity − 10,000 USDT + 20 × price meets maintenance (0.4 % of the notional) down to 10,000 ÷ 0.996 ÷ 20 = 502.0 USDT.
        var price = ledger.LiquidationPrice(1, 1);
        Assert.Equal(5_021, price);
        Assert.Equal(0, ledger.MarkUpdate(1, price + 1, found));
        Assert.Equal(1, ledger.MarkUpdate(1, price, found));
        Assert.Equal(1, found[0]);
    }

    /// <summary>
    /// A lone cross position is found at its liquidation price whatever its slack, as the mark walks there and back: thin
    /// (under two ticks of slack: keyed by its exact price), a score of ticks (still keyed exactly: a band that narrow would be
    /// left by ordinary moves) and deep (thousands of ticks: banded, out of the index until the mark leaves its band).
    /// </summary>
    [Theory]
    [InlineData(41_500)]      // 10 lots at 10,000 ticks: 0.04 USDT of maintenance; slack 0.0015 USDT, under 2 ticks
    [InlineData(60_000)]      // slack 0.02 USDT: about 19 ticks
    [InlineData(5_000_000)]   // slack 4.96 USDT: about 4,800 ticks
    public void ShouldFindALoneCrossPositionAtItsLiquidationPriceWhateverItsSlack(long depositMicros)
    {
        var (ledger, longAt, shortAt) = LongAndShortAtTheMark(depositMicros);
        var found = new int[8];
        foreach (var (from, to) in new[] { (10_000L, longAt - 3), (longAt - 3, 10_000L), (10_000L, shortAt + 3), (shortAt + 3, 10_000L) })
        {
            for (var step = 0; step <= 40; step++)
            {
                var mark = from + ((to - from) * step / 40);
                var flagged = found[..ledger.MarkUpdate(1, mark, found)].Order().ToArray();
                int[] expected = mark <= longAt ? [1] : mark >= shortAt ? [2] : [];
                Assert.True(expected.SequenceEqual(flagged), $"mark {mark}: flagged [{string.Join(", ", flagged)}], expected [{string.Join(", ", expected)}] (liquidation prices {longAt} / {shortAt})");
            }
        }

        Assert.Equal([1], found[..ledger.MarkUpdate(1, longAt, found)]);
        Assert.Empty(found[..ledger.MarkUpdate(1, longAt + 1, found)]);
    }

    /// <summary>
    /// Fills that leave an account's bands as they were (no re-key: the bands' headroom covers them) never hide a position at
    /// its liquidation price: account 1, deep enough for its bands to reach the edge of the price range, buys (or sells) lot
    /// after lot 1 % on the wrong side of the mark, each fill a loss, until its liquidation price comes within reach of the
    /// mark; between rounds of fills every position it holds (one instrument, or two: the other's price moves with the first one's losses) is found
    /// at its liquidation price and not a tick before it. The first fills keep the bands; a bound that missed the fill's loss,
    /// or looked only at the mark and not at the band's edge, would leave a band around a price that liquidates.
    /// </summary>
    [Theory]
    [InlineData(Side.Buy, 1)]
    [InlineData(Side.Sell, 1)]
    [InlineData(Side.Buy, 2)]
    [InlineData(Side.Sell, 2)]
    public void ShouldFindEveryPositionAtItsPriceAfterFillsThatKeptItsBands(Side side, int instruments)
    {
        var ledger = new Ledger(
        [
            new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = Risk.MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 500_000) },
            new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 10, Tiers = Risk.MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 500_000) },
        ], maxAccounts: 8);
        var marks = new Dictionary<int, long> { [1] = 10_000, [2] = 50_000 };
        ledger.SetMark(1, marks[1]);
        ledger.SetMark(2, marks[2]);
        ledger.Deposit(1, 30 * Usdt);
        ledger.Deposit(2, 1_000_000 * Usdt);
        var sign = side == Side.Buy ? 1 : -1;
        foreach (var instrument in marks.Keys.Take(instruments))
        {
            ledger.ApplyFill(1, instrument, side, marks[instrument], 10, isMaker: false);
            ledger.ApplyFill(2, instrument, side.Opposite(), marks[instrument], 10, isMaker: true);
        }

        var found = new int[8];
        var checkedPrices = 0;
        for (var round = 0; round < 300; round++)
        {
            // One to twelve fills of a lot at 1 % from the mark between looks: each loses 1 % of its notional, and a fee.
            for (var fill = 0; fill <= round % 12; fill++)
            {
                var price = marks[1] + (sign * 100);
                ledger.ApplyFill(1, 1, side, price, 1, isMaker: false);
                ledger.ApplyFill(2, 1, side.Opposite(), price, 1, isMaker: true);
            }

            foreach (var instrument in marks.Keys.Take(instruments))
            {
                var at = ledger.LiquidationPrice(1, instrument);
                if (at <= 0)
                {
                    continue;   // fully collateralised still
                }

                AssertFoundAtItsPriceNotATickBefore(ledger, 1, instrument, at, sign, marks[instrument], found);
                checkedPrices++;
            }

            if (Math.Abs(ledger.LiquidationPrice(1, 1) - marks[1]) < 1_000)
            {
                break;   // close to the mark: the next fills would liquidate at it
            }
        }

        Assert.True(checkedPrices > 20, $"liquidation prices looked at: {checkedPrices}");
        Assert.True(ledger.FillsKeepingBands > 20, $"fills that kept their bands: {ledger.FillsKeepingBands}");
    }

    /// <summary>
    /// The index answers exactly after any sequence of what moves an account's margin, not only after a walk of marks:
    /// fills at prices up to 6 % from the mark (most of them keep the accounts' bands, some open, close or flip positions),
    /// marks moving a little or a lot, deposits, withdrawals, funding and an isolated position, on three instruments, for
    /// accounts from thin to deep. After every step, a mark update at each instrument's current mark must flag exactly the
    /// accounts whose position there is at or past its liquidation price (a brute-force solve of every position); every 20
    /// steps each position near its mark is also looked for at its liquidation price and a tick before it. It fails with the
    /// fill's cash left out of the bands' headroom, with the mark in place of the band's edge, with the edges swapped, or
    /// with a headroom drawn without the bands' own width. <paramref name="scale"/> multiplies every money per tick-lot and
    /// deposit: at 1 the fills' headroom moves in 64 bits (fills under ~17,000 USDT), at 100,000 in 128 bits (each fill's
    /// cash past 2^34 units).
    /// </summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(3, 1)]
    [InlineData(1, 100_000)]
    [InlineData(2, 100_000)]
    public void ShouldFlagExactlyThePositionsPastTheirPriceAfterEveryStep(int seed, long scale)
    {
        var ledger = new Ledger(
        [
            new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100 * scale, Tiers = Risk.MarginMathTests.DocTiers(), Fees = new FeeSchedule(-100_000, 500_000) },
            new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 10 * scale, Tiers = Risk.MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 400_000) },
            new ContractSpec { InstrumentId = 3, MoneyPerTickLot = scale, Tiers = Risk.MarginMathTests.DocTiers(), Fees = new FeeSchedule(200_000, 200_000) },
        ], maxAccounts: 32);
        var random = new Random(seed);
        var marks = new long[] { 0, 10_000, 50_000, 200_000 };
        for (var i = 1; i <= 3; i++)
        {
            ledger.SetMark(i, marks[i]);
        }

        const int Accounts = 16;
        for (var a = 1; a <= Accounts; a++)
        {
            ledger.Deposit(a, (long)(Usdt * Math.Pow(10, random.Next(0, 5) / 2.0)) * scale);   // 1 to 100 USDT (at scale 1)
        }

        ledger.Deposit(Accounts + 1, 1_000_000 * Usdt * scale);   // a deep counterparty
        ledger.SetMarginMode(3, 3, isolated: true);
        var found = new int[64];
        var flaggedTotal = 0;
        var pricesChecked = 0;
        for (var step = 0; step < 3_000; step++)
        {
            var roll = random.Next(100);
            var i = 1 + random.Next(3);
            if (roll < 70)
            {
                var a = 1 + random.Next(Accounts);
                var b = random.Next(4) == 0 ? Accounts + 1 : 1 + random.Next(Accounts);
                if (a == b)
                {
                    continue;
                }

                var side = random.Next(2) == 0 ? Side.Buy : Side.Sell;
                var price = marks[i] + (marks[i] * random.Next(-60, 61) / 1_000);
                var lots = 1 + random.Next(20);
                ledger.ApplyFill(a, i, side, price, lots, isMaker: false);
                ledger.ApplyFill(b, i, side.Opposite(), price, lots, isMaker: true);
            }
            else if (roll < 85)
            {
                marks[i] += marks[i] * random.Next(-50, 51) / (random.Next(8) == 0 ? 1_000 : 10_000);   // mostly within 0.5 %, some 5 %
                ledger.MarkUpdate(i, marks[i], found);
            }
            else if (roll < 92)
            {
                ledger.Deposit(1 + random.Next(Accounts), Usdt * scale / (1 + random.Next(10)));
            }
            else if (roll < 97)
            {
                ledger.Withdraw(1 + random.Next(Accounts), Usdt * scale / (1 + random.Next(10)));
            }
            else
            {
                ledger.SettleFunding(i, random.Next(-100_000, 100_001));
            }

            for (var j = 1; j <= 3; j++)
            {
                var flagged = found[..ledger.MarkUpdate(j, marks[j], found)].Order().ToArray();
                var expected = Enumerable.Range(1, Accounts + 1).Where(a =>
                {
                    var q = ledger.PositionOf(a, j).QtyLots;
                    var lp = ledger.LiquidationPrice(a, j);
                    return lp > 0 && ((q > 0 && lp >= marks[j]) || (q < 0 && lp <= marks[j]));
                }).ToArray();
                Assert.True(expected.SequenceEqual(flagged), $"step {step}, instrument {j} at {marks[j]}: flagged [{string.Join(", ", flagged)}], expected [{string.Join(", ", expected)}]");
                flaggedTotal += flagged.Length;
                foreach (var a in flagged)
                {
                    ledger.Deposit(a, Usdt * scale / 2);   // back toward health (nothing liquidates here): accounts stay near their prices
                }
            }

            if (step % 20 == 19)
            {
                // Each position within 20 % of its mark is found at its liquidation price and not a tick before it: marks
                // inside bands the fills kept since their last re-key are where a bound that was too loose would show.
                for (var j = 1; j <= 3; j++)
                {
                    for (var a = 1; a <= Accounts; a++)
                    {
                        var q = ledger.PositionOf(a, j).QtyLots;
                        var at = ledger.LiquidationPrice(a, j);
                        if (at <= 0 || Math.Abs(at - marks[j]) * 5 > marks[j])
                        {
                            continue;
                        }

                        AssertFoundAtItsPriceNotATickBefore(ledger, a, j, at, Math.Sign(q), marks[j], found);
                        pricesChecked++;
                    }
                }
            }
        }

        Assert.True(flaggedTotal > 50, $"positions found past their price over the run: {flaggedTotal}");
        Assert.True(pricesChecked > 1_000, $"liquidation prices looked at: {pricesChecked}");
        Assert.True(ledger.FillsKeepingBands > 500, $"fills that kept their bands: {ledger.FillsKeepingBands}");
        Assert.True(ledger.FundingPaymentsKeepingBands > 20, $"funding payments that kept their bands: {ledger.FundingPaymentsKeepingBands}");
    }

    /// <summary>
    /// A funding payment moves a cross account's margin like a fill's cash: one its bands' headroom covers leaves them drawn
    /// (no re-key, the liquidation price still far off), one that eats the headroom re-keys the account, and a payment that
    /// takes it below maintenance has it found at the very mark it was paid at, with no mark moving.
    /// </summary>
    [Fact]
    public void ShouldFindAnAccountAFundingPaymentTookBelowMaintenanceAtTheSameMark()
    {
        var ledger = new Ledger([new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = Risk.MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) }], maxAccounts: 8);
        var found = new int[8];
        Assert.Equal(0, ledger.MarkUpdate(1, 10_000, found));
        ledger.Deposit(7, 1_000 * Usdt);
        ledger.Deposit(8, 1_000 * Usdt);
        ledger.ApplyFill(7, 1, Side.Buy, 10_000, 100, isMaker: false);   // 7: long 100 lots, 100 USDT, on 1,000 USDT
        ledger.ApplyFill(8, 1, Side.Sell, 10_000, 100, isMaker: true);

        // 0.01 %: 0.01 USDT each way. Both accounts' bands hold: neither is re-keyed.
        var kept = ledger.FundingPaymentsKeepingBands;
        ledger.SettleFunding(1, 10_000);
        Assert.Equal(kept + 2, ledger.FundingPaymentsKeepingBands);
        Assert.Equal(999_990_000, ledger.Balance(7));
        Assert.Equal(0, ledger.MarkUpdate(1, 10_000, found));

        // 999.79 % of the notional: the long pays 999.79 USDT and keeps 0.2 USDT of equity, under its 0.4 USDT of maintenance
        // margin (0.40 %). Its liquidation price is now above the mark, and the mark it was paid at finds it.
        ledger.SettleFunding(1, 999_790_000);
        Assert.Equal(200_000, ledger.Equity(7));
        Assert.True(ledger.LiquidationPrice(7, 1) > 10_000, $"liquidation price {ledger.LiquidationPrice(7, 1)}");
        Assert.Equal(1, ledger.MarkUpdate(1, 10_000, found));
        Assert.Equal(7, found[0]);
        Assert.Equal(ledger.TotalDeposits - ledger.TotalWithdrawals, ledger.MoneyInSystem());
    }

    /// <summary>A mark a tick short of the account's liquidation price at <paramref name="at"/> (toward the side the position
    /// sits on: <paramref name="sign"/> 1 for a long, −1 for a short) does not flag it, the price itself does; then the mark goes
    /// back to <paramref name="mark"/>.</summary>
    private static void AssertFoundAtItsPriceNotATickBefore(Ledger ledger, int accountId, int instrumentId, long at, int sign, long mark, int[] found)
    {
        Assert.DoesNotContain(accountId, found[..ledger.MarkUpdate(instrumentId, at + sign, found)]);
        Assert.Contains(accountId, found[..ledger.MarkUpdate(instrumentId, at, found)]);
        ledger.MarkUpdate(instrumentId, mark, found);
    }

    /// <summary>
    /// A position that closes leaves the liquidation index with its last fill: a mark past the price it had is nobody's
    /// liquidation. (Re-keying visits the positions an account holds and those the index still has: the one just closed.)
    /// </summary>
    [Fact]
    public void ShouldDropAClosedPositionFromTheIndex()
    {
        var (ledger, longAt, shortAt) = LongAndShortAtTheMark(2 * Usdt);
        var found = new int[8];
        Assert.Equal([1], found[..ledger.MarkUpdate(1, longAt, found)]);   // indexed while open
        ledger.MarkUpdate(1, 10_000, found);

        ledger.ApplyFill(1, 1, Side.Sell, 10_000, 10, isMaker: false);
        ledger.ApplyFill(2, 1, Side.Buy, 10_000, 10, isMaker: true);
        Assert.Equal(0, ledger.MarkUpdate(1, longAt - 1, found));
        Assert.Equal(0, ledger.MarkUpdate(1, shortAt + 1, found));
    }

    /// <summary>Accounts 1 (long) and 2 (short) with 10 lots each at 10,000 ticks, the mark, on instrument 1 (of two listed), each
    /// on <paramref name="depositMicros"/>; and their liquidation prices.</summary>
    private static (Ledger Ledger, long LongAt, long ShortAt) LongAndShortAtTheMark(long depositMicros)
    {
        var ledger = new Ledger(
        [
            new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = Risk.MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
            new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 10, Tiers = Risk.MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
        ], maxAccounts: 8);
        ledger.SetMark(1, 10_000);
        ledger.Deposit(1, depositMicros);
        ledger.Deposit(2, depositMicros);
        ledger.ApplyFill(1, 1, Side.Buy, 10_000, 10, isMaker: false);
        ledger.ApplyFill(2, 1, Side.Sell, 10_000, 10, isMaker: true);
        var longAt = ledger.LiquidationPrice(1, 1);
        var shortAt = ledger.LiquidationPrice(2, 1);
        Assert.True(longAt is > 0 and < 10_000 && shortAt > 10_000, $"liquidation prices {longAt} / {shortAt}");
        return (ledger, longAt, shortAt);
    }

    /// <summary>
    /// An isolated position opened by an account whose cross positions are banded (one or two of them, deep slack: none of its
    /// positions indexed) enters the index with its fill: its own wallet, not the account's slack, decides its price.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ShouldIndexAnIsolatedPositionOpenedBesideBandedCrossPositions(int crossPositions)
    {
        var ledger = new Ledger(
        [
            new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = Risk.MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
            new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 10, Tiers = Risk.MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
            new ContractSpec { InstrumentId = 3, MoneyPerTickLot = 10, Tiers = Risk.MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
        ], maxAccounts: 8);
        ledger.SetMark(1, 10_000);
        ledger.SetMark(2, 50_000);
        ledger.SetMark(3, 20_000);
        ledger.Deposit(1, 1_000 * Usdt);
        ledger.Deposit(2, 1_000 * Usdt);
        foreach (var (instrument, price) in new[] { (1, 10_000L), (2, 50_000L) }.Take(crossPositions))
        {
            ledger.ApplyFill(1, instrument, Side.Buy, price, 1, isMaker: false);
            ledger.ApplyFill(2, instrument, Side.Sell, price, 1, isMaker: true);
        }

        var found = new int[8];
        Assert.Equal(0, ledger.MarkUpdate(1, 1, found));   // deep slack: no mark liquidates the cross longs, and their bands hold
        ledger.MarkUpdate(1, 10_000, found);

        Assert.Equal(LedgerReject.None, ledger.SetMarginMode(1, 3, isolated: true).Reject);
        ledger.ApplyFill(1, 3, Side.Buy, 20_000, 10, isMaker: false);
        ledger.ApplyFill(2, 3, Side.Sell, 20_000, 10, isMaker: true);
        var isolatedAt = ledger.LiquidationPrice(1, 3);
        Assert.True(isolatedAt is > 0 and < 20_000, $"isolated liquidation price {isolatedAt}");
        Assert.Empty(found[..ledger.MarkUpdate(3, isolatedAt + 1, found)]);
        Assert.Equal([1], found[..ledger.MarkUpdate(3, isolatedAt, found)]);
    }

    /// <summary>
    /// The index keeps one entry per position, on the side its sign says: a position that flips from long to short, goes flat,
    /// loses its liquidation price (fully collateralised) or comes back is found on exactly one side, at its latest price.
    /// </summary>
    [Fact]
    public void ShouldKeepEachPositionOnOneSideAtItsLatestPriceAsItFlipsAndCloses()
    {
        var index = new Core.Liquidation.LiquidationIndex(instruments: 2, maxAccounts: 8);
        var found = new int[8];
        int[] At(int instrument, long mark) => found[..index.AtOrPast(instrument, mark, found)];

        index.Update(slot: 3, instrument: 1, signedQtyLots: 5, liquidationPriceTicks: 900, accountId: 103);
        Assert.True(index.Contains(3, 1));
        Assert.False(index.Contains(3, 0));
        Assert.Equal([3], At(1, 900));     // a long at or below its price
        Assert.Empty(At(1, 901));

        index.Update(3, 1, -5, 1_100, 103);   // flipped short: off the long side
        Assert.Empty(At(1, 900));
        Assert.Equal([3], At(1, 1_100));    // a short at or above its price
        Assert.Empty(At(1, 1_099));

        index.Update(3, 1, -5, 1_200, 103);   // re-keyed in place
        Assert.Empty(At(1, 1_100));
        Assert.Equal([3], At(1, 1_200));

        index.Update(3, 1, -5, 0, 103);       // no liquidation price: out of the index
        Assert.False(index.Contains(3, 1));
        Assert.Empty(At(1, 1_000_000));

        index.Update(3, 1, 2, 950, 103);      // back, long
        index.Update(4, 1, 7, 980, 104);
        Assert.Equal([4, 3], At(1, 900));   // the highest long price first
        index.Update(3, 1, 0, 950, 103);      // flat: out, whatever price is passed
        Assert.Equal([4], At(1, 900));
        Assert.False(index.Contains(3, 1));
        Assert.Empty(At(0, 900));           // the other instrument never held anything
    }

    /// <summary>
    /// A cross position's liquidation price counts the other positions' PnL less their maintenance margin, and order entry
    /// the initial margin of each instrument's worse side; the ledger remembers both per position with their inputs: a
    /// scheduled change of an instrument's tiers must show in them at once, as a ledger built with the new tiers computes them.
    /// </summary>
    [Fact]
    public void ShouldPriceCrossLiquidationWithTheOtherInstrumentsNewTiersAfterAContractChange()
    {
        var steep = new Margin.MarginTierTable([new Margin.MarginTier(0, 5_000_000, 4)]);   // 5% maintenance, leverage capped at 4
        Ledger Opened(bool steepTiers)
        {
            var ledger = new Ledger(
            [
                new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = Risk.MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
                new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 10, Tiers = steepTiers ? steep : Risk.MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
            ], maxAccounts: 8);
            ledger.SetMark(1, 10_000);
            ledger.SetMark(2, 50_000);
            ledger.Deposit(7, 5 * Usdt);   // thin: 40 USDT of notional on 5
            ledger.Deposit(8, 3_000 * Usdt);
            ledger.ApplyFill(7, 1, Side.Buy, 10_000, 20, isMaker: false);
            ledger.ApplyFill(8, 1, Side.Sell, 10_000, 20, isMaker: true);
            ledger.ApplyFill(7, 2, Side.Sell, 50_000, 40, isMaker: false);
            ledger.ApplyFill(8, 2, Side.Buy, 50_000, 40, isMaker: true);
            return ledger;
        }

        var changed = Opened(steepTiers: false);
        var before = changed.LiquidationPrice(7, 1);
        var marginBefore = changed.ExposureMargin(7, 2, 0, 10, 50_000);
        changed.UpdateContract(2, c => c with { Tiers = steep });
        var fresh = Opened(steepTiers: true);
        var expected = fresh.LiquidationPrice(7, 1);
        var expectedMargin = fresh.ExposureMargin(7, 2, 0, 10, 50_000);

        Assert.NotEqual(before, expected);   // the steeper tiers on instrument 2 move instrument 1's price
        Assert.Equal(expected, changed.LiquidationPrice(7, 1));
        Assert.NotEqual(marginBefore, expectedMargin);   // and its leverage cap the margin of 50 short lots
        Assert.Equal(expectedMargin, changed.ExposureMargin(7, 2, 0, 10, 50_000));
    }
}
