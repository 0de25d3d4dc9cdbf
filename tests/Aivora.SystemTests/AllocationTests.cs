using Aivora.Client.Session;
using Aivora.Exchange;

namespace Aivora.SystemTests;

/// <summary>Decode, risk, match, execution reports, market data and the client SDK allocate nothing per message in steady state.</summary>
[Collection("node")]
public sealed class AllocationTests
{
    private struct Count : IExecutionReportHandler
    {
        public long Reports;

        public void OnReport(in ExecutionReport report) => Reports++;
    }

    [Fact]
    public void ShouldAllocateNothingPerMessageOnTheWirePathInSteadyState()
    {
        using var node = new NodeUnderTest(o => o with { SnapshotIntervalMs = 1_000 });
        node.StartPriceFeeder();
        node.Deposit(1, 5_000_000);
        node.Deposit(2, 5_000_000);
        var driver = node.NewClientDriver();
        var maker = node.Client(1, driver, heartbeatMs: 30_000);
        var taker = node.Client(2, driver, heartbeatMs: 30_000);
        node.LogOn(maker);
        node.LogOn(taker);
        var md = node.MarketData(driver);
        Assert.True(node.PumpUntil(() => { md.Poll(); return md.AllSynced; }));

        var counter = new Count();
        void Round(int i)
        {
            var now = node.NowNs;
            while (!maker.SendNewOrder(now, i, 1, Side.Sell, OrdType.Limit, TimeInForce.GTC, 650_500 + (i % 8 * 5), 2)) node.Pump();
            while (!taker.SendNewOrder(now, i, 1, Side.Buy, OrdType.Limit, TimeInForce.IOC, 650_540, 1)) node.Pump();
            while (!maker.SendCancel(now, i + 10_000_000, 1, i)) node.Pump();
            for (var k = 0; k < 6; k++)
            {
                node.Pump();
                maker.Poll(now, ref counter);
                taker.Poll(now, ref counter);
                md.Poll();
            }
        }

        for (var i = 1; i <= 3_000; i++) Round(i);   // warm-up: JIT, tiered compilation, dictionary sizes
        var before = GC.GetAllocatedBytesForCurrentThread();
        var reportsBefore = counter.Reports;
        for (var i = 3_001; i <= 8_000; i++) Round(i);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(counter.Reports - reportsBefore > 10_000, $"only {counter.Reports - reportsBefore} reports: the flow did not run");
        Assert.True(allocated == 0, $"{allocated} bytes allocated over 5,000 rounds of order, cross and cancel");
    }
}
