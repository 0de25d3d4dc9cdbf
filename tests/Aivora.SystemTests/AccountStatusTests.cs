using Aivora.Client.Session;
using Aivora.Exchange;

namespace Aivora.SystemTests;

/// <summary>After a reconnect a client asks for its open orders and position and gets the node's own view.</summary>
[Collection("node")]
public sealed class AccountStatusTests
{
    [Fact]
    public void ShouldReportOpenOrdersAndPositionToAReconnectedSession()
    {
        using var node = new NodeUnderTest();
        node.StartPriceFeeder();
        node.Deposit(1, 1_000_000);
        node.Deposit(2, 1_000_000);
        var first = node.Client(1, cancelOnDisconnect: false);
        var other = node.Client(2);
        var log = new ReportLog();
        var otherLog = new ReportLog();
        node.LogOn(first, log);
        node.LogOn(other, otherLog);

        // 30 resting orders (more than one frame of AccountStatus) and a 3-lot long position.
        for (var i = 1; i <= 30; i++) Assert.True(first.SendNewOrder(node.NowNs, i, i % 2 == 0 ? 2 : 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, i % 2 == 0 ? 340_000 + i : 640_000 + (i * 5), 2));
        Assert.True(log.Await(node, first, _ => log.Of(ReportKind.Accepted).Count() == 30), string.Join(", ", log.Reports.Select(r => $"{r.Kind} {r.ClientOrderId} {r.RejectReason}")));
        Assert.True(other.SendNewOrder(node.NowNs, 900, 1, Side.Sell, OrdType.Limit, TimeInForce.GTC, 650_000, 3));
        Assert.True(otherLog.Await(node, other, r => r.Kind == ReportKind.Accepted));
        Assert.True(first.SendNewOrder(node.NowNs, 31, 1, Side.Buy, OrdType.Limit, TimeInForce.IOC, 650_000, 3));
        Assert.True(log.Await(node, first, r => r.Kind == ReportKind.Filled && r.ClientOrderId == 31));
        Assert.True(first.SendLogout(node.NowNs));
        node.PumpFor(50);
        Assert.Equal(30 + 0, node.Engine.RestingOrderCount);   // no cancel-on-disconnect: they stay

        var again = node.Client(1);
        var againLog = new ReportLog();
        node.LogOn(again, againLog);
        Assert.Equal(SessionEndReason.Logout, again.PreviousSessionEnd);
        Assert.Empty(again.OpenOrders);
        Assert.True(again.RequestAccountStatus(node.NowNs, 77));
        Assert.True(againLog.Await(node, again, r => r.Kind == ReportKind.AccountStatus));
        var status = againLog.Of(ReportKind.AccountStatus).Single();
        Assert.Equal(77, status.ClientOrderId);
        Assert.Equal(30, again.OpenOrders.Count);
        Assert.Equal(Enumerable.Range(1, 30).Select(i => (long)i), again.OpenOrders.Keys.Order());
        Assert.All(again.OpenOrders.Values, o => Assert.Equal(2, o.LeavesLots));
        var position = Assert.Single(again.Positions.Values);
        Assert.Equal((1, 3L), (position.InstrumentId, position.QtyLots));
        Assert.Equal(0, again.SequenceGaps);
    }

    /// <summary>
    /// Each AccountStatus encodes every resting order of the account on the engine thread: a session gets ten a second
    /// answered, and the rest of a burst RateLimited with the limit and the count admitting it would make; the next second it is answered
    /// again. Orders are not held back by the status requests' window.
    /// </summary>
    [Fact]
    public void ShouldAnswerTenAccountStatusRequestsASecondAndRateLimitTheRest()
    {
        using var node = new NodeUnderTest();
        node.StartPriceFeeder();
        node.Deposit(1, 1_000_000);
        var client = node.Client(1);
        var log = new ReportLog();
        node.LogOn(client, log);

        for (var i = 1; i <= 12; i++) Assert.True(client.RequestAccountStatus(node.NowNs, 100 + i));
        Assert.True(log.Await(node, client, _ => log.Reports.Count(r => r.ClientOrderId > 100) == 12), string.Join(", ", log.Reports.Select(r => $"{r.Kind} {r.ClientOrderId}")));
        Assert.Equal(Enumerable.Range(101, 10).Select(i => (long)i), log.Of(ReportKind.AccountStatus).Select(r => r.ClientOrderId));
        var limited = log.Of(ReportKind.Rejected).ToList();
        Assert.Equal([111L, 112L], limited.Select(r => r.ClientOrderId));
        Assert.All(limited, r => Assert.Equal((RejectReason.RateLimited, CommandType.AccountStatusRequest, 10L), (r.RejectReason, r.RejectedCommand, r.LimitValue)));
        Assert.All(limited, r => Assert.Equal(11, r.ActualValue));   // what admitting it would have made the second's count

        Assert.True(client.SendNewOrder(node.NowNs, 1, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 640_000, 1));
        Assert.True(log.Await(node, client, r => r.Kind == ReportKind.Accepted && r.ClientOrderId == 1), string.Join(", ", log.Reports.Select(r => $"{r.Kind} {r.ClientOrderId} {r.RejectReason}")));

        node.PumpFor(1_050);
        Assert.True(client.RequestAccountStatus(node.NowNs, 200));
        Assert.True(log.Await(node, client, r => r.Kind == ReportKind.AccountStatus && r.ClientOrderId == 200), string.Join(", ", log.Reports.Select(r => $"{r.Kind} {r.ClientOrderId} {r.RejectReason}")));
        Assert.Equal(0, client.SequenceGaps);
    }
}
