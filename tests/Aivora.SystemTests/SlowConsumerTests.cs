using Aivora.Client.Session;
using Aivora.Exchange;

namespace Aivora.SystemTests;

/// <summary>A client that stops reading never stalls the engine: past the back-pressure bound its session is dropped.</summary>
[Collection("node")]
public sealed class SlowConsumerTests
{
    [Fact]
    public void ShouldDropASlowClientWithoutStallingTheOthers()
    {
        using var node = new NodeUnderTest(o => o with { MaxBackPressureNs = 200_000_000, ResponseTermLength = "64k" });
        node.StartPriceFeeder();
        node.Deposit(1, 5_000_000);
        node.Deposit(2, 5_000_000);
        var slow = node.Client(1);
        var healthy = node.Client(2);
        var slowLog = new ReportLog();
        var healthyLog = new ReportLog();
        node.LogOn(slow, slowLog);
        node.LogOn(healthy, healthyLog);

        // The slow client keeps sending but never reads its responses: its window fills.
        long id = 1;
        var droppedAt = 0L;
        Assert.True(node.PumpUntil(() =>
        {
            slow.SendNewOrder(node.NowNs, id, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 640_000 + (id % 100 * 5), 1);
            slow.SendCancel(node.NowNs, id + 1_000_000, 1, id);
            id++;
            healthy.Poll(node.NowNs, ref healthyLog.Handler);
            if (droppedAt == 0 && node.Host.Gateway.Counters.SessionsEnded > 0) droppedAt = id;
            return droppedAt != 0;
        }, 10_000), "the slow session was never dropped");
        Assert.True(node.Host.Gateway.ReportsDropped > 0);

        // The other client is served all along and after.
        Assert.True(healthy.SendNewOrder(node.NowNs, 77, 1, Side.Sell, OrdType.Limit, TimeInForce.GTC, 660_000, 1));
        Assert.True(healthyLog.Await(node, healthy, r => r.Kind == ReportKind.Accepted && r.ClientOrderId == 77, 2_000));

        // Its orders were cancelled (cancel-on-disconnect), and on reconnect it learns why it was dropped.
        Assert.Equal(1, node.Engine.RestingOrderCount);
        var again = node.Client(1);
        node.LogOn(again);
        Assert.Equal(SessionEndReason.SlowConsumer, again.PreviousSessionEnd);
    }
}
