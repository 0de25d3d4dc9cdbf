using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Orders;
using Aivora.Core.Reference;
using Aivora.Core.Risk;
using Aivora.Core.Tests.Flows;
using static Aivora.Core.Tests.Risk.RiskTestSend;
using Aivora.Core.Exchange;
using Aivora.Core.Liquidation;
using Aivora.Core.Margin;

namespace Aivora.Core.Tests.Risk;

/// <summary>Deposits, withdrawals, leverage, fee tiers and tier tables as commands: deterministic, explained, replayable.</summary>
public sealed class AccountCommandTests
{
    private const long Usdt = 1_000_000;

    private static readonly MarginTierTable s_strict = new([new MarginTier(0, 2_000_000, 20)]);   // 2% MMR, 20x cap

    private static (PerpStateMachine<RecordingSink> Risk, List<EngineEvent> Events) NewVenue()
    {
        var events = new List<EngineEvent>();
        var ledger = new Ledger(
        [
            new ContractSpec
            {
                InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(),
                FeeTiers = [new FeeSchedule(2_000, 5_000), new FeeSchedule(-500, 3_000)],
            },
        ], 64);
        var config = CommandFlowGenerator.Config(100, 50, 16) with
        {
            Instruments = [CommandFlowGenerator.Instruments[0] with { MaxQuantity = 1_000_000, MaxNotional = long.MaxValue }],
        };
        var risk = new PerpStateMachine<RecordingSink>(config, ledger, new RiskLimits { TierTables = [MarginMathTests.DocTiers(), s_strict], ParameterCoolingNs = 1 }, new RecordingSink(events));
        ledger.SetMark(1, 10_000);
        return (risk, events);
    }

    [Fact]
    public void ShouldDepositAndRefuseAWithdrawalBelowInitialMarginWithTheFigures()
    {
        var (risk, events) = NewVenue();

        var deposit = Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.Deposit, 1, 7, 1_000 * Usdt)));
        Assert.Equal((EventKind.BalanceChanged, 1_000 * Usdt, 1_000 * Usdt), (deposit.Kind, deposit.QtyLots, deposit.RemainingLots));
        Assert.Equal(RejectReason.InvalidAmount, (RejectReason)Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.Deposit, 2, 7, -5))).Reason);

        Send(risk, events, EngineCommand.Account(CommandKind.Deposit, 3, 8, 100_000 * Usdt));
        Send(risk, events, EngineCommand.Limit(4, 8, 1, 0, Side.Sell, 10_000, 5_000));
        Send(risk, events, EngineCommand.Limit(5, 7, 1, 0, Side.Buy, 10_000, 5_000));   // 5,000 USDT long at 10x: IM 500

        var refused = Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.Withdraw, 6, 7, 600 * Usdt)));
        Assert.Equal(RejectReason.InsufficientMargin, (RejectReason)refused.Reason);
        Assert.True(refused.Required > refused.Available);
        var withdrawn = Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.Withdraw, 7, 7, 400 * Usdt)));
        Assert.Equal(-400 * Usdt, withdrawn.QtyLots);
    }

    /// <summary>
    /// A withdrawal may not take the margin the account's resting orders hold: the pre-trade check accepted them against
    /// equity, and their fills would otherwise land on an account with no margin for them. The ledger counts positions only,
    /// and let a withdrawal of 500 USDT through from 1,000 behind a resting 9,000 USDT buy at 10x (900 held). An absurd amount
    /// is refused with its figure saturated, not wrapped past the range.
    /// </summary>
    [Fact]
    public void ShouldRefuseAWithdrawalOfTheMarginRestingOrdersHold()
    {
        var (risk, events) = NewVenue();
        Send(risk, events, EngineCommand.Account(CommandKind.Deposit, 1, 7, 1_000 * Usdt));
        Assert.Contains(Send(risk, events, EngineCommand.Limit(2, 7, 1, 1, Side.Buy, 9_990, 9_000)), e => e.Kind == EventKind.OrderAccepted);   // 9,000 lots at mark 10,000: 9,000 USDT at 10x, 900 held

        var refused = Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.Withdraw, 3, 7, 500 * Usdt)));
        Assert.Equal((RejectReason.InsufficientMargin, 1_400 * Usdt, 1_000 * Usdt), ((RejectReason)refused.Reason, refused.Required, refused.Available));
        Assert.Equal(1_000 * Usdt, risk.Ledger.Balance(7));
        var absurd = Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.Withdraw, 3, 7, long.MaxValue)));
        Assert.Equal((RejectReason.InsufficientMargin, long.MaxValue), ((RejectReason)absurd.Reason, absurd.Required));   // saturated, not wrapped
        Assert.Equal(EventKind.BalanceChanged, Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.Withdraw, 4, 7, 100 * Usdt))).Kind);

        Assert.Equal(EventKind.OrderCancelled, Send(risk, events, EngineCommand.Cancel(5, 7, 0, clientOrderId: 1))[0].Kind);
        Assert.Equal(EventKind.BalanceChanged, Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.Withdraw, 6, 7, 800 * Usdt))).Kind);
    }

    /// <summary>
    /// Money moved into an isolated wallet still backs that contract's orders: the move is measured with the wallet's relief
    /// (an isolated long with its wallet at initial margin, a resting buy whose 400 USDT beyond the wallet comes from cross:
    /// 300 more into the wallet is allowed, and a withdrawal that would leave cross under what the order still needs is not;
    /// once a mark move has left cross short of it, no money moves into the wallet either).
    /// </summary>
    [Fact]
    public void ShouldLetMoneyIntoAnIsolatedWalletBackItsOrdersButNotLeaveTheAccount()
    {
        var (risk, events) = NewVenue();
        Send(risk, events, EngineCommand.Account(CommandKind.Deposit, 1, 7, 1_000 * Usdt));
        Send(risk, events, EngineCommand.Account(CommandKind.Deposit, 1, 8, 100_000 * Usdt));
        Assert.Equal(EventKind.MarginModeChanged, Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.SetMarginMode, 2, 7, 1, instrumentId: 1))).Kind);
        Send(risk, events, EngineCommand.Limit(3, 8, 1, 0, Side.Sell, 10_000, 5_000));
        Send(risk, events, EngineCommand.Limit(4, 7, 1, 0, Side.Buy, 10_000, 5_000));   // isolated 5,000 USDT long at 10x: wallet 500
        Assert.Equal(500 * Usdt, risk.Ledger.PositionOf(7, 1).IsolatedMargin);
        Assert.Contains(Send(risk, events, EngineCommand.Limit(5, 7, 1, 1, Side.Buy, 9_990, 4_000)), e => e.Kind == EventKind.OrderAccepted);   // 400 more on the worse side, from cross

        var refused = Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.Withdraw, 6, 7, 200 * Usdt)));
        Assert.Equal(RejectReason.InsufficientMargin, (RejectReason)refused.Reason);
        Assert.Equal(EventKind.IsolatedMarginAdjusted, Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.AdjustIsolatedMargin, 7, 7, 300 * Usdt, instrumentId: 1))).Kind);
        Assert.Equal(RejectReason.InsufficientMargin, (RejectReason)Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.Withdraw, 8, 7, 150 * Usdt))).Reason);
        Assert.Equal(EventKind.BalanceChanged, Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.Withdraw, 9, 7, 50 * Usdt))).Kind);

        // The mark up 12 %: the 9,000 lots' worse side needs 1,008 USDT, 208 beyond the wallet's 800, and cross holds 149.75.
        // Money moved into the wallet covers as much of that as it takes from cross: no transfer while cross is short of it.
        risk.Ledger.SetMark(1, 11_200);
        var moved = Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.AdjustIsolatedMargin, 10, 7, 50 * Usdt, instrumentId: 1)));
        Assert.Equal((RejectReason.InsufficientMargin, 208 * Usdt), ((RejectReason)moved.Reason, moved.Required));
        Assert.Equal(800 * Usdt, risk.Ledger.PositionOf(7, 1).IsolatedMargin);
    }

    [Fact]
    public void ShouldSetLeverageWithinTheTierCapOnly()
    {
        var (risk, events) = NewVenue();

        Assert.Equal(EventKind.LeverageChanged, Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.SetLeverage, 1, 7, 50, instrumentId: 1))).Kind);
        var refused = Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.SetLeverage, 2, 7, 200, instrumentId: 1)));
        Assert.Equal((RejectReason.LeverageAboveTierCap, 125L, 200L), ((RejectReason)refused.Reason, refused.Required, refused.Available));
    }

    [Fact]
    public void ShouldChargeFeesByTheAccountsFeeTier()
    {
        var (risk, events) = NewVenue();
        Send(risk, events, EngineCommand.Account(CommandKind.Deposit, 1, 7, 10_000 * Usdt));
        Send(risk, events, EngineCommand.Account(CommandKind.Deposit, 1, 8, 10_000 * Usdt));
        Assert.Equal(EventKind.FeeTierChanged, Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.SetFeeTier, 2, 7, 1))).Kind);
        Assert.Equal(RejectReason.InvalidAmount, (RejectReason)Assert.Single(Send(risk, events, EngineCommand.Account(CommandKind.SetFeeTier, 3, 7, 5))).Reason);

        Send(risk, events, EngineCommand.Limit(4, 8, 1, 0, Side.Sell, 10_000, 1_000));   // maker, tier 0: 2,000 = 0.002%
        Send(risk, events, EngineCommand.Limit(5, 7, 1, 0, Side.Buy, 10_000, 1_000));    // taker, tier 1: 3,000 = 0.003%

        Assert.Equal((10_000 * Usdt) - 30_000, risk.Ledger.Balance(7));    // 1,000 USDT × 0.003%
        Assert.Equal((10_000 * Usdt) - 20_000, risk.Ledger.Balance(8));    // 1,000 USDT × 0.002% (tier 0, not tier 1's rebate)
    }

    /// <summary>
    /// A stricter tier table takes an account below maintenance at the mark where it stands: its liquidation starts in the
    /// command the change takes effect in, not at the next mark that happens to move.
    /// </summary>
    [Fact]
    public void ShouldLiquidateAnAccountAStricterTierTableTakesBelowMaintenanceWhenItTakesEffect()
    {
        var (risk, events) = NewVenue();
        Send(risk, events, EngineCommand.Account(CommandKind.Deposit, 1, 7, 560 * Usdt));
        Send(risk, events, EngineCommand.Account(CommandKind.Deposit, 1, 8, 100_000 * Usdt));
        Send(risk, events, EngineCommand.Limit(2, 8, 1, 0, Side.Sell, 10_000, 5_000));
        Send(risk, events, EngineCommand.Limit(3, 7, 1, 0, Side.Buy, 10_000, 5_000));   // 5,000 USDT long on 560
        Send(risk, events, EngineCommand.Mark(4, 1, 9_000));   // 500 USDT lost: ~60 left, over 0.4 % maintenance (18), under 2 % (90)
        Assert.False(risk.Ledger.Scope(7, 1).Unhealthy);
        Assert.DoesNotContain(events, e => e.Kind == EventKind.LiquidationStep);

        Send(risk, events, EngineCommand.ChangeParameter(5, 1, RiskParameter.MarginTiers, 1, 100, reasonCode: 9));
        var atChange = Send(risk, events, EngineCommand.Tick(100));
        Assert.Contains(atChange, e => e.Kind == EventKind.ParameterChanged);
        Assert.Equal(9_000, risk.Ledger.MarkOf(1));   // no mark moved
        Assert.Contains(atChange, e => e.Kind == EventKind.LiquidationStep && e.AccountId == 7 && new LiquidationStepView(in e).Step == LiquidationStep.Triggered);
    }

    [Fact]
    public void ShouldSwitchToARegisteredTierTableAtItsEffectiveTime()
    {
        var (risk, events) = NewVenue();
        Send(risk, events, EngineCommand.Account(CommandKind.Deposit, 1, 7, 1_000 * Usdt));
        Send(risk, events, EngineCommand.Account(CommandKind.Deposit, 1, 8, 100_000 * Usdt));
        Send(risk, events, EngineCommand.Limit(2, 8, 1, 0, Side.Sell, 10_000, 5_000));
        Send(risk, events, EngineCommand.Limit(3, 7, 1, 0, Side.Buy, 10_000, 5_000));
        var before = risk.Ledger.LiquidationPrice(7, 1);

        Send(risk, events, EngineCommand.ChangeParameter(4, 1, RiskParameter.MarginTiers, 1, 100, reasonCode: 9));
        Assert.Equal(before, risk.Ledger.LiquidationPrice(7, 1));   // not yet
        var changed = Assert.Single(Send(risk, events, EngineCommand.Tick(100)), e => e.Kind == EventKind.ParameterChanged);

        Assert.Equal((-1L, 1L), (changed.QtyLots, changed.RemainingLots));
        Assert.True(risk.Ledger.LiquidationPrice(7, 1) > before, "a stricter table liquidates a long earlier");
        // The liquidation index was re-keyed: a mark at the new liquidation price flags the account.
        var found = new int[8];
        var flagged = risk.Ledger.MarkUpdate(1, risk.Ledger.LiquidationPrice(7, 1), found);
        Assert.Contains(7, found.Take(flagged));
        Assert.Equal(RejectReason.InvalidParameter, (RejectReason)Assert.Single(Send(risk, events, EngineCommand.ChangeParameter(200, 1, RiskParameter.MarginTiers, 7, 300, 1))).Reason);
    }
}
