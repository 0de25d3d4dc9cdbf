using Aivora.Client.Session;
using Aivora.Core.Events;
using Aivora.Exchange;
using Aivora.Node.Configuration;
using Aivora.Node.Engine;

namespace Aivora.SystemTests;

/// <summary>A liquidation over the wire: the feeders move the index, the node liquidates, and every step reaches the account's session and the public status stream.</summary>
[Collection("node")]
public sealed class LiquidationTests
{
    private const int Victim = DefaultConfiguration.FirstTakerAccount;
    private const int Maker = DefaultConfiguration.FirstMakerAccount;

    private readonly struct Recording(List<EngineEvent> events) : IEngineEventSink
    {
        public void OnEvent(in EngineEvent e) => events.Add(e);
    }

    /// <summary>
    /// The opening both tests share: the feeder logged on and feeding prices; the victim (340 USDT, 337.4 after the taker
    /// fee) buys 100 lots at 65,000.0 (6,500 USDT: liquidation 61,873.5, bankruptcy 61,626.0) from the maker (1,000,000 USDT).
    /// </summary>
    private static (ExchangeClient Feeder, ExchangeClient Victim, ReportLog VictimLog, ExchangeClient Maker, ReportLog MakerLog) OpenTheVictimsLong(NodeUnderTest node)
    {
        var feeder = node.StartPriceFeeder();
        node.Deposit(Victim, 340);
        node.Deposit(Maker, 1_000_000);
        var victim = node.Client(Victim);
        var maker = node.Client(Maker);
        var victimLog = new ReportLog();
        var makerLog = new ReportLog();
        node.LogOn(victim, victimLog);
        node.LogOn(maker, makerLog);
        Assert.True(maker.SendNewOrder(node.NowNs, 1, 1, Side.Sell, OrdType.Limit, TimeInForce.GTC, 650_000, 100));
        Assert.True(makerLog.Await(node, maker, r => r.Kind == ReportKind.Accepted));
        Assert.True(victim.SendNewOrder(node.NowNs, 1, 1, Side.Buy, OrdType.Limit, TimeInForce.IOC, 650_000, 100));
        Assert.True(victimLog.Await(node, victim, r => r.Kind == ReportKind.Filled));
        return (feeder, victim, victimLog, maker, makerLog);
    }

    [Fact]
    public void ShouldReportEveryStepToTheAccountAndThePublicStreamTiedToTheJournal()
    {
        using var node = new NodeUnderTest();
        var (feeder, victim, victimLog, maker, makerLog) = OpenTheVictimsLong(node);
        node.Deposit(Maker + 1, 10_000);
        var md = node.MarketData();

        // The maker bids 60 lots near the band's edge (61,800.0); another account sells it 1 lot: the last price is 61,800.0.
        Assert.True(maker.SendNewOrder(node.NowNs, 2, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 618_000, 60));
        Assert.True(makerLog.Await(node, maker, r => r.Kind == ReportKind.Accepted && r.ClientOrderId == 2), string.Join(", ", makerLog.Reports.Select(r => $"{r.Kind} {r.RejectReason} {r.LimitValue}")));
        var seller = node.Client(Maker + 1);
        var sellerLog = new ReportLog();
        node.LogOn(seller, sellerLog);
        Assert.True(seller.SendNewOrder(node.NowNs, 1, 1, Side.Sell, OrdType.Limit, TimeInForce.IOC, 618_000, 1));
        Assert.True(sellerLog.Await(node, seller, r => r.Kind == ReportKind.Filled));
        Assert.True(node.PumpUntil(() => { md.Poll(); return md.Status.Messages > 0; }), "status stream never arrived");
        Assert.Equal(0, node.Host.StateMachine.Ledger.Scope(Victim, 1).Unhealthy ? 1 : 0);

        // Two of the three sources fall 5.2%: the third is an outlier; the mark (the median of index and last with no basis
        // samples yet: their mean) falls to 61,700.0, past the victim's liquidation price.
        Assert.True(feeder.SendPriceFeed(node.NowNs, 1, 1, 616_000));
        Assert.True(feeder.SendPriceFeed(node.NowNs, 2, 1, 616_000));
        Assert.True(victimLog.Await(node, victim, r => r.Kind == ReportKind.Liquidation && r.LiquidationStep == LiquidationStep.Completed),
            $"{string.Join(", ", victimLog.Reports.Select(r => $"{r.Kind} {r.LiquidationStep}"))}; mark {node.Host.StateMachine.Pricing(1)!.MarkTicks}, index {node.Host.StateMachine.Pricing(1)!.LastIndex}, liquidation price {node.Host.StateMachine.Ledger.LiquidationPrice(Victim, 1)}");
        Assert.True(node.PumpUntil(() => { md.Poll(); return md.Liquidations > 0; }), "the public stream never showed the liquidation");

        var steps = victimLog.Of(ReportKind.Liquidation).ToList();
        Assert.Equal(LiquidationStep.Triggered, steps[0].LiquidationStep);
        var seen = string.Join("; ", steps.Select(r => $"{r.LiquidationStep} px={r.PriceTicks} qty={r.QtyLots} eq={r.Equity} bp={r.BankruptcyPriceTicks} mark={r.MarkPriceTicks}"));
        Assert.True(steps.Any(s => s.LiquidationStep == LiquidationStep.PartialReduction && s.QtyLots == 59 && s.PriceTicks == 618_000), seen);
        Assert.All(steps, s => Assert.Equal(Victim, s.AccountId));
        Assert.Equal(0, victim.SequenceGaps);
        Assert.Contains(victimLog.Reports, r => r.Kind == ReportKind.Filled && r.Liquidity == Liquidity.Liquidation && r.QtyLots == 59 && r.ClientOrderId == 0);
        Assert.True(makerLog.Await(node, maker, r => r.Kind == ReportKind.Filled && r.ClientOrderId == 2 && r.Liquidity == Liquidity.Maker && r.QtyLots == 59));
        Assert.Equal(0, node.Host.StateMachine.Ledger.PositionOf(Victim, 1).QtyLots);

        // Every step names the journal sequence of the command it happened in: the price feed that moved the mark.
        var journal = steps[0].JournalSequence;
        Assert.All(steps, s => Assert.Equal(journal, s.JournalSequence));
        var trigger = node.Recorder.Commands[(int)journal - 1];
        Assert.Equal(Core.Commands.CommandKind.PriceFeed, trigger.Kind);

        // Replaying the journal to that command reproduces the steps, figure by figure.
        var events = new List<EngineEvent>();
        var replay = NodeHost.NewStateMachine(DefaultConfiguration.Engine, 8 * 3_600 * 1_000_000_000L, new Recording(events), NodeUnderTest.Limits);
        foreach (ref readonly var c in node.Recorder.Commands[..(int)journal]) replay.Process(in c);
        var replayed = events.Where(e => e.Kind == EventKind.LiquidationStep && e.AccountId == Victim).ToList();
        Assert.Equal(steps.Count, replayed.Count);
        for (var i = 0; i < steps.Count; i++)
        {
            var e = replayed[i];
            var v = new LiquidationStepView(in e);
            Assert.Equal(((int)steps[i].LiquidationStep, steps[i].Equity, steps[i].BankruptcyPriceTicks, steps[i].MarkPriceTicks), ((int)v.Step, v.Equity, v.BankruptcyPriceTicks, v.MarkPriceTicks));
        }

        // The maker, short 40 lots after the slice (the fund took the victim's last 41 at bankruptcy), sees its place in the ADL
        // queue: its position's score against the last ranking the node took (as orders' what-ifs read it).
        Assert.True(maker.RequestAccountStatus(node.NowNs, 5));
        Assert.True(makerLog.Await(node, maker, r => r.Kind == ReportKind.AccountStatus));
        var position = Assert.Single(maker.Positions.Values);
        Assert.Equal((-40L, node.Host.StateMachine.Ledger.AdlQuantileAtSnapshot(Maker, 1)), (position.QtyLots, position.AdlQuantile));
        Assert.InRange(position.AdlQuantile, 1, 5);
        Assert.Equal(41, node.Host.StateMachine.Ledger.PositionOf(DefaultConfiguration.InsuranceFundAccount, 1).QtyLots);
    }

    [Fact]
    public void ShouldDeleverageTheOppositePositionAndTellItsOwnerWhenTheBookAndTheFundCannotTakeIt()
    {
        using var node = new NodeUnderTest();
        var (feeder, victim, victimLog, maker, makerLog) = OpenTheVictimsLong(node);

        // The index gaps 10.8 % down (the third source is an outlier): the mark (the mean of index and last) lands under
        // the victim's bankruptcy price (61,626.0), no bid is there, and the fund (empty in this node) covers nothing.
        Assert.True(feeder.SendPriceFeed(node.NowNs, 1, 1, 580_000));
        Assert.True(feeder.SendPriceFeed(node.NowNs, 2, 1, 580_000));
        Assert.True(makerLog.Await(node, maker, r => r.Kind == ReportKind.Liquidation && r.LiquidationStep == LiquidationStep.AutoDeleverage),
            string.Join(", ", victimLog.Reports.Where(r => r.Kind == ReportKind.Liquidation).Select(r => $"{r.LiquidationStep} {r.QtyLots}")));

        // The maker's report names the maker only; the victim's names the victim only.
        var adl = makerLog.Of(ReportKind.Liquidation).Single(r => r.LiquidationStep == LiquidationStep.AutoDeleverage);
        Assert.Equal((Maker, 100L, 616_260L), (adl.AccountId, adl.QtyLots, adl.PriceTicks));
        Assert.True(adl.AdlScore > 0);
        Assert.True(victimLog.Await(node, victim, r => r.Kind == ReportKind.Liquidation && r.LiquidationStep == LiquidationStep.Completed));
        Assert.Contains(victimLog.Reports, r => r.Kind == ReportKind.Liquidation && r.LiquidationStep == LiquidationStep.AutoDeleverage && r.AccountId == Victim && r.QtyLots == 100);
        Assert.Equal((0L, 0L), (node.Host.StateMachine.Ledger.PositionOf(Victim, 1).QtyLots, node.Host.StateMachine.Ledger.PositionOf(Maker, 1).QtyLots));
        Assert.Equal(0, victim.SequenceGaps + maker.SequenceGaps);
    }
}
