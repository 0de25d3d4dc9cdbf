using Aivora.Client.Examples;
using Aivora.Client.Session;
using Aivora.Exchange;

namespace Aivora.SystemTests;

/// <summary>The SDK's sample market maker, as the node's load runs it: one session, one quoter per instrument, every report to every quoter.</summary>
[Collection("node")]
public sealed class SampleMarketMakerTests : IDisposable
{
    private readonly NodeUnderTest _node = new();

    public void Dispose() => _node.Dispose();

    /// <summary>
    /// A resting bid above the BTC quoter's asks makes its post-only asks rejected (they would take). Those rejects are the
    /// BTC quoter's alone: it counts exactly the rejects of its own orders and backs off; the ETH quoter on the same session
    /// counts none and keeps every quote it placed.
    /// </summary>
    [Fact]
    public void ShouldCountAndBackOffFromARejectOnlyInTheQuoterWhoseOrderItRefused()
    {
        _node.StartPriceFeeder();
        _node.Deposit(1, 1_000_000);
        _node.Deposit(1001, 100_000);
        var maker = _node.Client(1);
        var taker = _node.Client(1001);
        var makerLog = new ReportLog();
        var takerLog = new ReportLog();
        _node.LogOn(maker, makerLog);
        _node.LogOn(taker, takerLog);
        Assert.True(_node.PumpUntil(() => _node.Host.StateMachine.Pricing(1)!.LastIndex.State == Core.Pricing.IndexState.Healthy));

        // BTC asks would go at 650,010 and 650,015 (two and three ticks of 5 above 650,000): a bid at 650,100 is in their way.
        Assert.True(taker.SendNewOrder(_node.NowNs, 1, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 650_100, 10));
        Assert.True(takerLog.Await(_node, taker, r => r.Kind == ReportKind.Accepted));

        var btc = new SampleMarketMaker(maker, null, 1, 650_000, 5, spreadTicks: 2, qtyLots: 5, levels: 2, firstClientOrderId: 1_000_000_000);
        var eth = new SampleMarketMaker(maker, null, 2, 350_000, 1, spreadTicks: 2, qtyLots: 50, levels: 2, firstClientOrderId: 2_000_000_000);
        var route = new Route([btc, eth], makerLog, _node);
        Assert.True(_node.PumpUntil(() =>
        {
            btc.Step(_node.NowNs);
            eth.Step(_node.NowNs);
            maker.Poll(_node.NowNs, ref route);
            return btc.Rejects >= 3 && makerLog.Of(ReportKind.Accepted).Count(r => r.InstrumentId == 2) == 4;
        }), $"BTC rejects {btc.Rejects}, ETH quotes accepted {makerLog.Of(ReportKind.Accepted).Count(r => r.InstrumentId == 2)}");

        var btcRejects = makerLog.Of(ReportKind.Rejected).Count(r => r.ClientOrderId is >= 1_000_000_000 and < 2_000_000_000);
        Assert.Equal(btcRejects, btc.Rejects);
        Assert.Equal(0, eth.Rejects);
        Assert.Equal(4, eth.OrdersSent);   // its four quotes rest: nothing to re-send, nothing refused
        Assert.DoesNotContain(makerLog.Of(ReportKind.Rejected), r => r.ClientOrderId >= 2_000_000_000);
    }

    // As the node's load: every report of the session to every quoter (and into the log).
    private struct Route(SampleMarketMaker[] quoters, ReportLog log, NodeUnderTest node) : IExecutionReportHandler
    {
        public readonly void OnReport(in ExecutionReport report)
        {
            log.Reports.Add(report);
            foreach (var q in quoters)
            {
                q.OnReport(in report, node.NowNs);
            }
        }
    }
}
