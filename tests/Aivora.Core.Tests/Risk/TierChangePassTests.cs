using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Exchange;
using Aivora.Core.Liquidation;
using Aivora.Core.Margin;
using Aivora.Core.Orders;
using Aivora.Core.Reference;
using Aivora.Core.Risk;
using Aivora.Core.Tests.Flows;
using static Aivora.Core.Tests.Risk.RiskTestSend;

namespace Aivora.Core.Tests.Risk;

/// <summary>
/// A scheduled change of a contract's tier table re-keys its holders by a pass over the commands after it, 128 holders a
/// command (Ledger.RekeyPass.cs), not all in the change's own command: the node's clock work stays due while the pass runs
/// (an idle node ticks it along), each slice's accounts are looked at for liquidation at the command's end, and an account
/// that sends a command is re-keyed first.
/// </summary>
public sealed class TierChangePassTests
{
    private const long Usdt = 1_000_000;
    private const int Holders = 300;   // besides the maker and the thin account: three slices of 128
    private const int Maker = 5_000;
    private const int Thin = 7;

    private static readonly MarginTierTable s_strict = new([new MarginTier(0, 2_000_000, 20)]);   // 2% MMR, 20x cap

    /// <summary>
    /// 300 holders on contract 1, then a thin long (account 7: 5,000 USDT on 560, ~60 left at a mark of 9,000, over the doc
    /// tiers' 0.4 % maintenance and under the strict table's 2 %), the last slot the pass reaches. The doc tiers change to
    /// the strict table at 100 ns, the mark at 9,000 already; or (<paramref name="loosen"/>) the strict table to the doc
    /// tiers, the mark still at 10,000, the thin long isolated (its wallet the 500 USDT of its initial margin at 10x).
    /// An isolated position is keyed in the liquidation index by its price; a healthy cross one sits in bands instead, which
    /// a mark leaving them re-keys anyway.
    /// </summary>
    private static (PerpStateMachine<RecordingSink> Risk, List<EngineEvent> Events) HoldersAndAThinLong(bool loosen = false)
    {
        var events = new List<EngineEvent>();
        var ledger = new Ledger(
        [
            new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = loosen ? s_strict : MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
        ], Holders + 16);
        var config = CommandFlowGenerator.Config(100, 50, Holders + 16) with
        {
            Instruments = [CommandFlowGenerator.Instruments[0] with { MaxQuantity = 10_000_000, MaxNotional = long.MaxValue }],
        };
        var risk = new PerpStateMachine<RecordingSink>(config, ledger, new RiskLimits { TierTables = [MarginMathTests.DocTiers(), s_strict], ParameterCoolingNs = 1 }, new RecordingSink(events));
        ledger.SetMark(1, 10_000);
        Send(risk, events, EngineCommand.Account(CommandKind.Deposit, 1, Maker, 1_000_000 * Usdt));
        Send(risk, events, EngineCommand.Limit(1, Maker, 1, 1, Side.Sell, 10_000, 1_000_000));
        for (var a = 1_001; a < 1_001 + Holders; a++)
        {
            Send(risk, events, EngineCommand.Account(CommandKind.Deposit, 1, a, 10_000 * Usdt));
            Assert.Contains(Send(risk, events, EngineCommand.Limit(1, a, 1, 1, Side.Buy, 10_000, 100, TimeInForce.Ioc)), e => e.Kind == EventKind.Trade);
        }

        Send(risk, events, EngineCommand.Account(CommandKind.Deposit, 1, Thin, 560 * Usdt));
        if (loosen)
        {
            Send(risk, events, EngineCommand.Account(CommandKind.SetMarginMode, 1, Thin, 1, instrumentId: 1));
        }

        Assert.Contains(Send(risk, events, EngineCommand.Limit(1, Thin, 1, 1, Side.Buy, 10_000, 5_000, TimeInForce.Ioc)), e => e.Kind == EventKind.Trade);
        Send(risk, events, EngineCommand.Mark(2, 1, loosen ? 10_000 : 9_000));
        Assert.False(risk.Ledger.Scope(Thin, 1).Unhealthy);
        Send(risk, events, EngineCommand.ChangeParameter(3, 1, RiskParameter.MarginTiers, loosen ? 0 : 1, 100, reasonCode: 9));
        Assert.DoesNotContain(events, e => e.Kind == EventKind.LiquidationStep);
        return (risk, events);
    }

    private static bool Triggered(List<EngineEvent> events, int accountId) =>
        events.Exists(e => e.Kind == EventKind.LiquidationStep && e.AccountId == accountId && new LiquidationStepView(in e).Step == LiquidationStep.Triggered);

    [Fact]
    public void ShouldRekeyTheHoldersA128ASliceAndLiquidateTheThinLongInTheSliceThatReachesIt()
    {
        var (risk, events) = HoldersAndAThinLong();
        var holders = Holders + 2;   // the maker is short: a holder too

        var atChange = Send(risk, events, EngineCommand.Tick(100));
        Assert.Contains(atChange, e => e.Kind == EventKind.ParameterChanged);
        Assert.Equal(holders - 128, risk.Ledger.UnkeyedAccounts);   // the first slice, in the change's own command
        Assert.False(Triggered(atChange, Thin));                    // its keys are the old table's until its turn
        Assert.True(risk.NextWorkDueNs <= 100, "the clock work stays due while the pass runs: an idle node ticks it along");

        Assert.False(Triggered(Send(risk, events, EngineCommand.Tick(101)), Thin));
        Assert.Equal(holders - 256, risk.Ledger.UnkeyedAccounts);
        Assert.True(Triggered(Send(risk, events, EngineCommand.Tick(102)), Thin));   // the last slice: its slot comes last
        Assert.Equal(0, risk.Ledger.UnkeyedAccounts);
        Assert.True(risk.NextWorkDueNs > 102, "nothing due once the pass has ended");
    }

    [Fact]
    public void ShouldRekeyAnAccountThatSendsACommandBeforeThePassReachesIt()
    {
        var (risk, events) = HoldersAndAThinLong();
        Send(risk, events, EngineCommand.Tick(100));
        var unkeyed = risk.Ledger.UnkeyedAccounts;

        // A cancel of an order it does not have (refused; it moves no money, so nothing else re-keys the account): re-keyed
        // first, as its own command starts, and looked at at the command's end with the slice: ~60 USDT left against the
        // strict table's 90 of maintenance.
        var cancelled = Send(risk, events, EngineCommand.Cancel(101, Thin, 0, clientOrderId: 99));
        Assert.Contains(cancelled, e => e.Kind == EventKind.OrderRejected);
        Assert.True(Triggered(cancelled, Thin));
        Assert.Equal(unkeyed - 128 - 1, risk.Ledger.UnkeyedAccounts);
    }

    /// <summary>
    /// The other way: the strict table loosened to the doc tiers, then the mark down to 9,100, where the isolated thin long's
    /// old key (the strict table's price, ~9,190) flags it and the doc tiers keep it healthy (a 50 USDT wallet against 18 of
    /// maintenance). The liquidation path re-keys it before it looks (one account fewer for the pass), finds it healthy and
    /// leaves it: no step, and its old key does not flag it again at the next mark.
    /// </summary>
    [Fact]
    public void ShouldRekeyAnAccountItsOldKeyFlagsBeforeTheLiquidationPathLooksAtIt()
    {
        var (risk, events) = HoldersAndAThinLong(loosen: true);
        Send(risk, events, EngineCommand.Tick(100));
        var unkeyed = risk.Ledger.UnkeyedAccounts;

        Assert.Equal(500 * Usdt, risk.Ledger.PositionOf(Thin, 1).IsolatedMargin);
        var marked = Send(risk, events, EngineCommand.Mark(101, 1, 9_100));
        Assert.DoesNotContain(marked, e => e.Kind == EventKind.LiquidationStep);
        Assert.False(risk.Ledger.Scope(Thin, 1).Unhealthy);
        Assert.Equal(unkeyed - 128 - 1, risk.Ledger.UnkeyedAccounts);
        var found = new int[Holders + 8];
        Assert.DoesNotContain(Thin, found.Take(risk.Ledger.MarkUpdate(1, 9_100, found)));
    }
}
