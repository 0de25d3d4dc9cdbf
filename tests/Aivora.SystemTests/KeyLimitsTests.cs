using Aivora.Client.Session;
using Aivora.Core.Commands;
using Aivora.Exchange;
using Aivora.Gateway.Sessions;
using Aivora.Node.Configuration;

namespace Aivora.SystemTests;

/// <summary>
/// What a key allows, as a market maker and an operator rely on it: its order-entry rate limit (told at logon, counted over
/// new orders and amends, never over cancels) and its scopes. A refused request is answered with the reason and never
/// reaches the state machine.
/// </summary>
[Collection("node")]
public sealed class KeyLimitsTests
{
    private const int Account = 3;

    [Fact]
    public void ShouldAdmitTheKeysOrdersASecondAndRateLimitTheRestWhileCancelsStillGo()
    {
        var keys = DefaultConfiguration.DemoKeys.Select(k => k.KeyId == Account ? k with { OrdersPerSecond = 5 } : k);
        using var node = new NodeUnderTest(keys: keys);
        node.StartPriceFeeder();
        node.Deposit(Account, 1_000_000);
        var client = node.Client(Account);
        var log = new ReportLog();
        node.LogOn(client, log);
        Assert.Equal(5, client.OrdersPerSecondLimit);

        // Four new orders and an amend: the second's five. Then a new order and an amend past it, and a cancel, which is
        // never limited (a market maker over its limit must still be able to pull quotes).
        var recordedBefore = node.Recorder.Count;
        for (var i = 1; i <= 4; i++) Assert.True(client.SendNewOrder(node.NowNs, i, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 630_000 - (i * 10), 1));
        Assert.True(client.SendAmend(node.NowNs, 11, 1, 1, 629_000, 1));
        Assert.True(client.SendNewOrder(node.NowNs, 5, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 629_500, 1));
        Assert.True(client.SendAmend(node.NowNs, 12, 1, 2, 628_000, 1));
        Assert.True(client.SendCancel(node.NowNs, 13, 1, 3));
        Assert.True(log.Await(node, client, _ => log.Of(ReportKind.Cancelled).Any() && log.Of(ReportKind.Rejected).Count() == 2),
            string.Join(", ", log.Reports.Select(r => $"{r.Kind} {r.ClientOrderId} {r.RejectReason}")));

        Assert.Equal([1L, 2L, 3L, 4L], log.Of(ReportKind.Accepted).Select(r => r.ClientOrderId));
        Assert.Equal(1L, Assert.Single(log.Of(ReportKind.Amended)).ClientOrderId);   // the order's id: amends report under it
        Assert.Equal(3L, Assert.Single(log.Of(ReportKind.Cancelled)).ClientOrderId);
        var limited = log.Of(ReportKind.Rejected).ToList();
        Assert.Equal([(5L, CommandType.NewOrder), (12L, CommandType.AmendOrder)], limited.Select(r => (r.ClientOrderId, r.RejectedCommand)));
        Assert.All(limited, r => Assert.Equal((RejectReason.RateLimited, 5L, 6L), (r.RejectReason, r.LimitValue, r.ActualValue)));

        // The refused two never reached the state machine; the book holds what was admitted: 1 moved, 2 where it was.
        var recorded = node.Recorder.Commands[recordedBefore..].ToArray().Where(c => c.Kind != CommandKind.AdvanceTime).ToList();
        Assert.Equal([CommandKind.PlaceOrder, CommandKind.PlaceOrder, CommandKind.PlaceOrder, CommandKind.PlaceOrder, CommandKind.AmendOrder, CommandKind.CancelOrder], recorded.Select(c => c.Kind));
        Assert.Equal([1L, 2L, 4L], client.OpenOrders.Keys.Order());
        Assert.Equal((629_000L, 629_980L), (client.OpenOrders[1].PriceTicks, client.OpenOrders[2].PriceTicks));

        // The next second admits orders again.
        node.PumpFor(1_050);
        Assert.True(client.SendNewOrder(node.NowNs, 6, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 629_500, 1));
        Assert.True(log.Await(node, client, r => r.ClientOrderId == 6), string.Join(", ", log.Reports.Select(r => $"{r.Kind} {r.ClientOrderId} {r.RejectReason}")));
        Assert.Equal(ReportKind.Accepted, log.Reports.Last(r => r.ClientOrderId == 6).Kind);
        Assert.Equal(0, client.SequenceGaps);
    }

    [Fact]
    public void ShouldRefuseWhatAKeysScopesDoNotCoverAndRunWhatTheyDo()
    {
        // Account 3 has three keys: its demo key (trade and read), a read-only key (a monitor) and a cancel-only key (a risk
        // desk's). The node runs one session an account, so they log on in turn.
        const ulong cancelOnlyKey = 903, readOnlyKey = 904;
        var keys = DefaultConfiguration.DemoKeys.Append(new ApiKey(cancelOnlyKey, DefaultConfiguration.DemoSecret((int)cancelOnlyKey), Account, KeyScopes.CancelOnly))
            .Append(new ApiKey(readOnlyKey, DefaultConfiguration.DemoSecret((int)readOnlyKey), Account, KeyScopes.Read));
        using var node = new NodeUnderTest(keys: keys);
        node.StartPriceFeeder();
        node.Deposit(Account, 1_000_000);

        // The trader rests three orders and may not feed prices (an admin's scope).
        var trader = node.Client(Account, cancelOnDisconnect: false);
        var traderLog = new ReportLog();
        node.LogOn(trader, traderLog);
        for (var i = 1; i <= 3; i++) Assert.True(trader.SendNewOrder(node.NowNs, i, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 630_000 - (i * 10), 1));
        Assert.True(traderLog.Await(node, trader, _ => traderLog.Of(ReportKind.Accepted).Count() == 3));
        var recordedBefore = node.Recorder.Count;
        Assert.True(trader.SendPriceFeed(node.NowNs, 1, 1, 700_000));
        Assert.True(traderLog.Await(node, trader, r => r.Kind == ReportKind.Rejected));
        Assert.Equal((CommandType.PriceFeed, RejectReason.KeyScope), Refusals(traderLog).Single());
        node.LogOut(trader, traderLog);

        // The read-only key may not add, cancel or pull orders; it reads the account.
        var readOnly = node.Client(Account, cancelOnDisconnect: false, keyId: readOnlyKey);
        var readLog = new ReportLog();
        node.LogOn(readOnly, readLog);
        Assert.True(readOnly.SendNewOrder(node.NowNs, 20, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 629_000, 1));
        Assert.True(readOnly.SendAmend(node.NowNs, 21, 1, 1, 629_000, 1));
        Assert.True(readOnly.SendCancel(node.NowNs, 22, 1, 1));
        Assert.True(readOnly.SendMassCancel(node.NowNs, 23, 1));
        Assert.True(readLog.Await(node, readOnly, _ => readLog.Of(ReportKind.Rejected).Count() == 4));
        Assert.Equal([(CommandType.NewOrder, RejectReason.KeyScope), (CommandType.AmendOrder, RejectReason.KeyScope), (CommandType.CancelOrder, RejectReason.KeyScope), (CommandType.MassCancel, RejectReason.KeyScope)],
            Refusals(readLog));
        Assert.True(readOnly.RequestAccountStatus(node.NowNs, 24));
        Assert.True(readLog.Await(node, readOnly, r => r.Kind == ReportKind.AccountStatus));
        Assert.Equal([1L, 2L, 3L], readOnly.OpenOrders.Keys.Order());
        node.LogOut(readOnly, readLog);
        Assert.True(node.OnlyClockTicksSince(recordedBefore), "a refused request reached the state machine");

        // The cancel-only key may not add or move an order; it pulls one, then the rest.
        var cancelOnly = node.Client(Account, keyId: cancelOnlyKey);
        var cancelLog = new ReportLog();
        node.LogOn(cancelOnly, cancelLog);
        Assert.True(cancelOnly.SendNewOrder(node.NowNs, 10, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 629_000, 1));
        Assert.True(cancelOnly.SendAmend(node.NowNs, 11, 1, 1, 629_000, 1));
        Assert.True(cancelLog.Await(node, cancelOnly, _ => cancelLog.Of(ReportKind.Rejected).Count() == 2));
        Assert.Equal([(CommandType.NewOrder, RejectReason.KeyScope), (CommandType.AmendOrder, RejectReason.KeyScope)], Refusals(cancelLog));
        Assert.True(node.OnlyClockTicksSince(recordedBefore), "a refused request reached the state machine");
        Assert.Equal(3, node.Engine.RestingOrderCount);
        Assert.True(cancelOnly.SendCancel(node.NowNs, 12, 1, 1));
        Assert.True(cancelLog.Await(node, cancelOnly, r => r.Kind == ReportKind.Cancelled && r.ClientOrderId == 1), string.Join(", ", cancelLog.Reports.Select(r => $"{r.Kind} {r.ClientOrderId}")));
        Assert.Equal(2, node.Engine.RestingOrderCount);
        Assert.True(cancelOnly.SendMassCancel(node.NowNs, 13, 1));
        Assert.True(cancelLog.Await(node, cancelOnly, r => r.Kind == ReportKind.MassCancelAck));
        Assert.Equal(0, node.Engine.RestingOrderCount);
        Assert.Equal(0, cancelOnly.SequenceGaps);
    }

    private static List<(CommandType, RejectReason)> Refusals(ReportLog log) =>
        log.Of(ReportKind.Rejected).Select(r => (r.RejectedCommand, r.RejectReason)).ToList();
}
