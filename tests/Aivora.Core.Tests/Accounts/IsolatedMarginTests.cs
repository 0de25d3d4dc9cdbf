using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Core.Reference;
using Aivora.Core.Risk;
using Aivora.Core.Tests.Flows;
using Aivora.Core.Tests.Risk;
using Aivora.Core.Exchange;

namespace Aivora.Core.Tests.Accounts;

public sealed class IsolatedMarginTests
{
    private const long Usdt = 1_000_000;

    private static Ledger NewLedger() => new(
    [
        new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
        new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 10, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
    ], 64);

    /// <summary>The ledger behind a state machine (instrument 1 with room for large orders), and a way to send it a command
    /// and get the events it published.</summary>
    private static (Ledger Ledger, Func<EngineCommand, List<EngineEvent>> Send) NewGate()
    {
        var events = new List<EngineEvent>();
        var ledger = NewLedger();
        var risk = new PerpStateMachine<RecordingSink>(CommandFlowGenerator.Config(100, 50, 16) with
        {
            Instruments = [CommandFlowGenerator.Instruments[0] with { MaxQuantity = 1_000_000, MaxNotional = long.MaxValue }, CommandFlowGenerator.Instruments[1]],
        }, ledger, new RiskLimits(), new RecordingSink(events));
        return (ledger, c =>
        {
            events.Clear();
            risk.Process(in c);
            return [.. events];
        });
    }

    /// <summary>Account 1 isolated long 0.1 BTC at 60,000 (the doc's example), account 2 the cross short.</summary>
    private static Ledger WithIsolatedLong(long deposit)
    {
        var ledger = NewLedger();
        Assert.True(ledger.SetMarginMode(1, 1, isolated: true).IsOk);
        ledger.Deposit(1, deposit);
        ledger.Deposit(2, 100_000 * Usdt);
        ledger.SetMark(1, 600_000);
        ledger.ApplyFill(1, 1, Side.Buy, 600_000, 100, isMaker: false);
        ledger.ApplyFill(2, 1, Side.Sell, 600_000, 100, isMaker: true);
        return ledger;
    }

    /// <summary>
    /// Shrinking an isolated position releases what its equity holds beyond initial margin, the loss at mark counted:
    /// a trader who added margin to keep an under-water long alive, then sold half, must not get that margin back while
    /// the rest of the position still needs it (the old rule released the wallet's excess over initial margin on cost
    /// and left the position bankrupt: equity −60 USDT, with 240 USDT free in the balance). In profit, the excess returns.
    /// </summary>
    [Fact]
    public void ShouldNotReleaseTheMarginAnUnderWaterIsolatedPositionStillNeedsWhenItShrinks()
    {
        var ledger = WithIsolatedLong(1_000 * Usdt);                 // long 100 lots at 60,000: wallet 600, balance 400
        ledger.SetMark(1, 528_000);                                  // -12 %: -720 at mark, equity -120
        Assert.True(ledger.AdjustIsolatedMargin(1, 1, 300 * Usdt).IsOk);   // wallet 900, balance 100, equity 180

        ledger.ApplyFill(1, 1, Side.Sell, 528_000, 50, isMaker: false);  // realizes -360: wallet 540, -360 left at mark
        ledger.ApplyFill(2, 1, Side.Buy, 528_000, 50, isMaker: true);

        Assert.Equal(540 * Usdt, ledger.PositionOf(1, 1).IsolatedMargin);
        Assert.Equal(100 * Usdt, ledger.Balance(1));
        var scope = ledger.Scope(1, 1);
        Assert.Equal(180 * Usdt, scope.Equity);
        Assert.False(scope.Unhealthy);
        Assert.Equal(ledger.TotalDeposits, ledger.MoneyInSystem());

        ledger.SetMark(1, 610_000);                                  // +50 on the 50 lots left
        ledger.ApplyFill(1, 1, Side.Sell, 610_000, 25, isMaker: false);  // +25 realized: wallet 565; 25 lots at 10x need 150
        ledger.ApplyFill(2, 1, Side.Buy, 610_000, 25, isMaker: true);

        Assert.Equal(150 * Usdt, ledger.PositionOf(1, 1).IsolatedMargin);
        Assert.Equal(515 * Usdt, ledger.Balance(1));
        Assert.Equal(ledger.TotalDeposits, ledger.MoneyInSystem());
    }

    [Fact]
    public void ShouldMarginTheDocumentedIsolatedLongByItsOwnWallet()
    {
        var ledger = WithIsolatedLong(1_000 * Usdt);

        var position = ledger.PositionOf(1, 1);
        Assert.Equal(600 * Usdt, position.IsolatedMargin);          // 6,000 notional at 10x, taken from the balance
        Assert.Equal(400 * Usdt, ledger.Balance(1));
        Assert.Equal(542_169, ledger.LiquidationPrice(1, 1));       // WB 600 → ≈ 54,217 (the doc's number)
        Assert.Equal(400 * Usdt, ledger.Equity(1));                 // cross equity leaves the isolated position out
        Assert.Equal(ledger.TotalDeposits, ledger.MoneyInSystem());
    }

    [Fact]
    public void ShouldKeepLossesInTheWalletAndReturnWhatIsLeftOnClose()
    {
        var ledger = WithIsolatedLong(1_000 * Usdt);

        ledger.ApplyFill(1, 1, Side.Sell, 580_000, 100, isMaker: false);   // −200 USDT realized
        ledger.ApplyFill(2, 1, Side.Buy, 580_000, 100, isMaker: true);

        Assert.Equal(0, ledger.PositionOf(1, 1).IsolatedMargin);
        Assert.Equal(800 * Usdt, ledger.Balance(1));
        Assert.Equal(ledger.TotalDeposits, ledger.MoneyInSystem());
    }

    [Fact]
    public void ShouldTopUpOnGrowthAndReleaseTheExcessOnReduction()
    {
        var ledger = WithIsolatedLong(2_000 * Usdt);

        ledger.ApplyFill(1, 1, Side.Buy, 600_000, 100, false);
        ledger.ApplyFill(2, 1, Side.Sell, 600_000, 100, true);
        Assert.Equal(1_200 * Usdt, ledger.PositionOf(1, 1).IsolatedMargin);

        ledger.ApplyFill(1, 1, Side.Sell, 610_000, 100, false);            // +100 realized into the wallet, then the excess leaves
        ledger.ApplyFill(2, 1, Side.Buy, 610_000, 100, true);
        Assert.Equal(600 * Usdt, ledger.PositionOf(1, 1).IsolatedMargin);
        Assert.Equal((2_000 * Usdt) - (600 * Usdt) + (100 * Usdt), ledger.Balance(1));
        Assert.Equal(ledger.TotalDeposits, ledger.MoneyInSystem());
    }

    [Fact]
    public void ShouldAddAndRemoveIsolatedMarginWithinTheRules()
    {
        var ledger = WithIsolatedLong(1_000 * Usdt);

        Assert.True(ledger.AdjustIsolatedMargin(1, 1, 100 * Usdt).IsOk);
        Assert.Equal(700 * Usdt, ledger.PositionOf(1, 1).IsolatedMargin);
        Assert.True(ledger.LiquidationPrice(1, 1) < 542_169, "more margin moves the liquidation price away");

        var refused = ledger.AdjustIsolatedMargin(1, 1, -150 * Usdt);      // only 100 above initial margin
        Assert.Equal((LedgerReject.InsufficientMargin, 150 * Usdt, 100 * Usdt), (refused.Reject, refused.Required, refused.Available));
        Assert.True(ledger.AdjustIsolatedMargin(1, 1, -100 * Usdt).IsOk);

        var tooMuch = ledger.AdjustIsolatedMargin(1, 1, 500 * Usdt);       // the balance holds 400
        Assert.Equal(LedgerReject.InsufficientMargin, tooMuch.Reject);
        Assert.Equal(LedgerReject.NotIsolated, ledger.AdjustIsolatedMargin(2, 1, Usdt).Reject);
        Assert.Equal(LedgerReject.PositionOpen, ledger.SetMarginMode(1, 1, isolated: false).Reject);
        Assert.Equal(ledger.TotalDeposits, ledger.MoneyInSystem());
    }

    [Fact]
    public void ShouldReKeyTheCrossPositionsWhenMarginMovesFromTheBalanceIntoAWallet()
    {
        // Account 1: isolated long on instrument 1 (wallet 600, balance 400 left) and a cross long of 500 USDT on
        // instrument 2 backed by that balance. Moving 300 into the wallet leaves the cross long 100 of backing:
        // its liquidation price rises from about 10,000 to 40,161 ticks, and a mark of 40,100 must find it.
        var ledger = WithIsolatedLong(1_000 * Usdt);
        ledger.SetMark(2, 50_000);
        ledger.ApplyFill(1, 2, Side.Buy, 50_000, 1_000, isMaker: false);
        ledger.ApplyFill(2, 2, Side.Sell, 50_000, 1_000, isMaker: true);
        var before = ledger.LiquidationPrice(1, 2);
        Assert.InRange(before, 9_000, 11_000);

        Assert.True(ledger.AdjustIsolatedMargin(1, 1, 300 * Usdt).IsOk);
        var after = ledger.LiquidationPrice(1, 2);
        Assert.Equal(40_161, after);

        Span<int> atRisk = stackalloc int[4];
        Assert.Equal(1, ledger.MarkUpdate(2, 40_100, atRisk));
        Assert.Equal(1, atRisk[0]);
    }

    [Fact]
    public void ShouldSwitchModesAndMoveMarginThroughTheGateWithEvents()
    {
        var (ledger, send) = NewGate();
        ledger.SetMark(1, 10_000);
        ledger.Deposit(1, 100 * Usdt);
        ledger.Deposit(2, 100_000 * Usdt);

        Assert.True(Assert.Single(send(EngineCommand.MarginMode(1, 1, 1, isolated: true))).Flag);
        send(EngineCommand.Limit(2, 2, 1, 0, Side.Sell, 10_000, 10_000));
        Assert.Equal(RejectReason.InsufficientMargin, (RejectReason)send(EngineCommand.Limit(3, 1, 1, 0, Side.Buy, 10_000, 1_100)).Single(e => e.Kind == EventKind.OrderRejected).Reason);
        var filled = send(EngineCommand.Limit(4, 1, 1, 0, Side.Buy, 10_000, 900));
        Assert.Contains(filled, e => e.Kind == EventKind.Trade);
        Assert.Equal(90 * Usdt, ledger.PositionOf(1, 1).IsolatedMargin);    // 900 USDT at 10x moved into the wallet
        var whatIf = Assert.Single(filled, e => e.Kind == EventKind.OrderRiskAssessed).PriceTicks;
        Assert.Equal(ledger.LiquidationPrice(1, 1), whatIf);                // the ack's figure is the position's real one

        var added = Assert.Single(send(EngineCommand.IsolatedMargin(5, 1, 1, 5 * Usdt)));
        Assert.Equal((EventKind.IsolatedMarginAdjusted, 95 * Usdt), (added.Kind, added.RemainingLots));
        Assert.Equal(RejectReason.PositionOrOrdersOpen, (RejectReason)Assert.Single(send(EngineCommand.MarginMode(6, 1, 1, isolated: false))).Reason);
        Assert.Equal(ledger.TotalDeposits, ledger.MoneyInSystem());
    }

    /// <summary>
    /// A fill that grows an isolated position tops its wallet up from the balance to initial margin on the position's cost.
    /// For a long under water that is more than initial margin at mark less the wallet, which the check used to reserve:
    /// here 0.8 USDT more than the balance held, and the balance went negative.
    /// </summary>
    [Fact]
    public void ShouldReserveTheTopUpAnIsolatedLongUnderWaterNeedsToGrow()
    {
        var (ledger, send) = NewGate();

        send(EngineCommand.Mark(1, 1, 10_000));
        ledger.Deposit(1, 99 * Usdt);
        ledger.Deposit(2, 100_000 * Usdt);
        send(EngineCommand.MarginMode(2, 1, 1, isolated: true));
        send(EngineCommand.Limit(3, 2, 1, 0, Side.Sell, 10_000, 900));
        send(EngineCommand.Limit(4, 1, 1, 0, Side.Buy, 10_000, 900));
        Assert.Equal((90 * Usdt, 9 * Usdt), (ledger.PositionOf(1, 1).IsolatedMargin, ledger.Balance(1)));   // 900 USDT at 10x

        // Mark 9,800: the long is worth 882 USDT, initial margin 88.2 at mark, the wallet 90 (on its cost of 900).
        send(EngineCommand.Mark(5, 1, 9_800));
        send(EngineCommand.Limit(6, 2, 1, 0, Side.Sell, 9_800, 1_000));

        // 100 more at 9,800: margin on the cost 900 + 98 is 99.8, 9.8 more than the wallet holds; the balance has 9.
        var refused = Assert.Single(send(EngineCommand.Limit(7, 1, 1, 0, Side.Buy, 9_800, 100)), e => e.Kind == EventKind.OrderRejected);
        Assert.Equal((RejectReason.InsufficientMargin, 9_800_000L, 9 * Usdt), ((RejectReason)refused.Reason, refused.Required, refused.Available));

        // 90 more: margin on the cost 900 + 88.2 is 98.82, a top-up of 8.82 out of 9.
        Assert.Contains(send(EngineCommand.Limit(8, 1, 1, 0, Side.Buy, 9_800, 90)), e => e.Kind == EventKind.Trade);
        Assert.Equal((98_820_000L, 180_000L), (ledger.PositionOf(1, 1).IsolatedMargin, ledger.Balance(1)));
        Assert.Equal(ledger.TotalDeposits, ledger.MoneyInSystem());
    }

    /// <summary>
    /// A resting order fills at its own price: an isolated short's ask above mark tops its wallet up to margin on what it
    /// sells at, not on its value at mark, and the check reserves that.
    /// </summary>
    [Fact]
    public void ShouldReserveWhatAnIsolatedAskAboveMarkCostsWhenItFills()
    {
        var (ledger, send) = NewGate();

        send(EngineCommand.Mark(1, 1, 10_000));
        ledger.Deposit(1, 101 * Usdt);
        ledger.Deposit(2, 100_000 * Usdt);
        send(EngineCommand.MarginMode(2, 1, 1, isolated: true));

        // 1,000 lots at 10,200 sell 1,020 USDT: 102 of margin at 10x (100 at mark), more than the 101 held.
        var refused = Assert.Single(send(EngineCommand.Limit(3, 1, 1, 0, Side.Sell, 10_200, 1_000)), e => e.Kind == EventKind.OrderRejected);
        Assert.Equal((RejectReason.InsufficientMargin, 102 * Usdt, 101 * Usdt), ((RejectReason)refused.Reason, refused.Required, refused.Available));

        ledger.Deposit(1, Usdt);
        Assert.Contains(send(EngineCommand.Limit(4, 1, 1, 0, Side.Sell, 10_200, 1_000)), e => e.Kind == EventKind.OrderAccepted);
        Assert.Contains(send(EngineCommand.Limit(5, 2, 1, 0, Side.Buy, 10_200, 1_000)), e => e.Kind == EventKind.Trade);
        Assert.Equal((102 * Usdt, 0L), (ledger.PositionOf(1, 1).IsolatedMargin, ledger.Balance(1)));
        Assert.Equal(ledger.TotalDeposits, ledger.MoneyInSystem());
    }

    /// <summary>
    /// A fill the check did not see at its price (a resting order filled later, a taker filled better than its limit) can
    /// cost an isolated position more margin than the account has: the top-up takes what cross equity holds and no more,
    /// so nobody owes money; the wallet short of its target is the isolated position's risk.
    /// </summary>
    [Fact]
    public void ShouldNeverTopUpAnIsolatedWalletBeyondTheCrossEquity()
    {
        var ledger = WithIsolatedLong(650 * Usdt);                           // wallet 600, balance 50

        ledger.ApplyFill(1, 1, Side.Buy, 600_000, 100, isMaker: true);      // initial margin on cost 1,200: 600 more wanted
        ledger.ApplyFill(2, 1, Side.Sell, 600_000, 100, isMaker: false);

        Assert.Equal((650 * Usdt, 0L), (ledger.PositionOf(1, 1).IsolatedMargin, ledger.Balance(1)));
        Assert.Equal(ledger.TotalDeposits, ledger.MoneyInSystem());
    }

    /// <summary>
    /// How many lots a reduce-only close may fill at a price: each costs its loss against mark and its fee (5 bps here,
    /// rounded up a lot), paid by the scope's equity at mark; an isolated position's loss by its wallet, its fee by cross.
    /// </summary>
    [Fact]
    public void ShouldLetAReduceOnlyCloseFillNoMoreLotsThanItsScopePaysFor()
    {
        var ledger = new Ledger(
        [
            new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 50_000) },
            new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 50_000) },
        ], 64);
        ledger.SetMark(1, 10_000);
        ledger.SetMark(2, 10_000);
        ledger.Deposit(1, 115 * Usdt);
        ledger.Deposit(2, 100_000 * Usdt);
        ledger.ApplyFill(1, 1, Side.Buy, 10_000, 1_000, isMaker: false);    // 0.5 USDT fee: balance 114.5
        ledger.ApplyFill(2, 1, Side.Sell, 10_000, 1_000, isMaker: true);
        ledger.SetMark(1, 9_050);                                            // equity 114.5 − 95 = 19.5 USDT

        // At 8,700: 350 ticks × 100 = 0.035 USDT a lot against mark, fee ⌈870,000 × 5 bps⌉ = 435: 19.5 USDT / 35,435 = 550.
        Assert.Equal(550, ledger.ReduceOnlyLotsCovered(1, 1, Side.Sell, 8_700, isMaker: false));
        Assert.Equal(557, ledger.ReduceOnlyLotsCovered(1, 1, Side.Sell, 8_700, isMaker: true));       // no maker fee
        Assert.Equal(43_046, ledger.ReduceOnlyLotsCovered(1, 1, Side.Sell, 9_050, isMaker: false));  // the fee alone: 453 a lot
        Assert.Equal(long.MaxValue, ledger.ReduceOnlyLotsCovered(1, 1, Side.Sell, 9_060, isMaker: false));   // 1,000 of gain pays 453 of fee

        // Isolated, on instrument 2: long 1,000 at 10,000 on a wallet of 100 (10x) with 14.5 left in cross; mark 9,050.
        Assert.True(ledger.SetMarginMode(3, 2, isolated: true).IsOk);
        ledger.Deposit(3, 115 * Usdt);
        ledger.ApplyFill(3, 2, Side.Buy, 10_000, 1_000, isMaker: false);
        ledger.ApplyFill(2, 2, Side.Sell, 10_000, 1_000, isMaker: true);
        ledger.SetMark(2, 9_050);
        Assert.Equal((100 * Usdt, 14_500_000L), (ledger.PositionOf(3, 2).IsolatedMargin, ledger.Balance(3)));
        // The wallet's equity, 5 USDT, pays 142 lots' loss at 8,700; the fee is cross's: 14.5 USDT / 435 = 33,333 lots.
        Assert.Equal(142, ledger.ReduceOnlyLotsCovered(3, 2, Side.Sell, 8_700, isMaker: false));
        Assert.Equal(32_008, ledger.ReduceOnlyLotsCovered(3, 2, Side.Sell, 9_050, isMaker: false));   // 14.5 USDT / 453
    }

    [Theory]
    [InlineData(61)]
    [InlineData(62)]
    public void ShouldConserveMoneyWithHalfTheAccountsIsolated(int seed)
    {
        var ledger = NewLedger();
        var engine = new MatchingEngine<RecordingSink, LedgerPositions>(CommandFlowGenerator.Config(2_000, 400, 64), new RecordingSink([]), new LedgerPositions(ledger));
        var generator = new CommandFlowGenerator(seed);
        var random = new Random(seed);
        for (var account = 1; account <= 14; account++)
        {
            ledger.Deposit(account, 50_000 * Usdt);
            if (account % 2 == 0)
            {
                ledger.SetMarginMode(account, 1, isolated: true);
                ledger.SetMarginMode(account, 2, isolated: true);
            }
        }

        long isolatedMoves = 0;
        for (var i = 0; i < 100_000; i++)
        {
            var step = generator.Next();
            if (step.IsPositionAdjustment)
            {
                switch (random.Next(4))
                {
                    case 0: isolatedMoves += ledger.AdjustIsolatedMargin(step.AccountId, step.InstrumentId, random.Next(-200, 201) * Usdt).IsOk ? 1 : 0; break;
                    case 1: ledger.SetMark(step.InstrumentId, step.InstrumentId == 1 ? random.Next(9_500, 10_500) : random.Next(47_500, 52_500)); break;
                    case 2: ledger.SettleFunding(step.InstrumentId, random.Next(-300_000, 300_001)); break;
                    default: ledger.Withdraw(step.AccountId, random.Next(1, 2_000) * Usdt); break;
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
                }
            }

            if (i % 1_000 == 0)
            {
                Assert.Equal(ledger.TotalDeposits - ledger.TotalWithdrawals, ledger.MoneyInSystem());
                var (longs, shorts) = ledger.OpenInterest(1);
                Assert.Equal(longs, shorts);
            }
        }

        Assert.True(isolatedMoves > 50, $"isolated margin moves: {isolatedMoves}");
        Assert.Equal(ledger.TotalDeposits - ledger.TotalWithdrawals, ledger.MoneyInSystem());
    }
}
