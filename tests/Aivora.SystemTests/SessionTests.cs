using Aivora.Client.Session;
using Aivora.Codecs.Session;
using Aivora.Exchange;
using Aivora.Node.Configuration;

namespace Aivora.SystemTests;

/// <summary>Logon over real sockets: the good key is bound to its account, every bad logon gets its own reason.</summary>
[Collection("node")]
public sealed class SessionTests
{
    [Fact]
    public void ShouldAckLogonWithAccountWhenSignatureIsGood()
    {
        using var node = new NodeUnderTest();
        var client = node.Client(1);
        node.LogOn(client);
        Assert.Equal(ClientState.LoggedOn, client.State);
        Assert.Equal(1, client.AccountId);
        Assert.Equal(SessionEndReason.None, client.PreviousSessionEnd);
        Assert.Equal((1L, 1L), (client.LogonAcksReceived, client.ReportsReceived));   // the ack is the one response so far
    }

    [Fact]
    public void ShouldTakeASessionsLogsFromThoseReservedBeforeTrading()
    {
        // A logon creates its replies' publication: its log reserved before trading, the logon takes it from the driver's pool,
        // and the engine thread writes no fresh log for it (~9 ms on this VM otherwise).
        using var node = new NodeUnderTest(options => options with { MaxSessions = 2 });
        var (logs, termLength) = node.Host.Gateway.ReserveSessionLogs();
        Assert.Equal((2, 1 << 20), (logs, termLength));
        var allocated = node.Host.Driver.TermBuffers.Allocated;

        node.LogOn(node.Client(1));

        Assert.Equal(allocated, node.Host.Driver.TermBuffers.Allocated);
        Assert.Equal(1, node.Host.Driver.TermBuffers.Reused);
        Assert.Equal(1, node.Host.Driver.TermBuffers.Available(termLength));
    }

    [Fact]
    public void ShouldSendASessionsExecutionReportsBeforeTheMarketData()
    {
        // In each of the driver's duty cycles the responses leave first: an ack does not wait behind the multicast sends of the
        // book change its own order caused (perf wire --market-data), and the owner hears of a fill before the public print.
        using var node = new NodeUnderTest();
        node.LogOn(node.Client(1));
        node.LogOn(node.Client(2));
        Assert.Equal(2, node.Host.Gateway.ResponsePublications.Count());
        Assert.All(node.Host.Gateway.ResponsePublications, responses => Assert.True(responses.SendFirst));
    }

    [Fact]
    public void ShouldRejectLogonWithBadSignature()
    {
        using var node = new NodeUnderTest();
        var client = node.Client(1, secret: DefaultConfiguration.DemoSecret(2));
        node.LogOn(client);
        Assert.Equal(ClientState.Rejected, client.State);
        Assert.Equal(LogonRejectReason.BadSignature, client.LogonRejectReason);
    }

    [Fact]
    public void ShouldRejectLogonWithUnknownKey()
    {
        using var node = new NodeUnderTest();
        var client = node.Client(777);
        node.LogOn(client);
        Assert.Equal(LogonRejectReason.UnknownKey, client.LogonRejectReason);
        Assert.Contains("777", client.LogonRejectText);
    }

    [Fact]
    public void ShouldRejectLogonWithStaleTimestamp()
    {
        using var node = new NodeUnderTest();
        var client = node.Client(1);
        Assert.True(node.PumpUntil(() => client.IsConnected));
        Assert.True(client.TryLogon(node.NowNs - 60_000_000_000));   // a minute behind the node's clock
        var log = new ReportLog();
        Assert.True(log.Await(node, client, r => r.Kind == ReportKind.LogonReject));
        Assert.Equal(LogonRejectReason.StaleTimestamp, client.LogonRejectReason);
    }

    [Fact]
    public void ShouldRejectLogonThatReusesANonce()
    {
        using var node = new NodeUnderTest();
        var now = node.NowNs;
        var first = node.Client(1);
        Assert.True(node.PumpUntil(() => first.IsConnected));
        Assert.True(first.TryLogon(now));
        Assert.True(node.PumpUntil(() => { var l = new ReportLog(); first.Poll(node.NowNs, ref l.Handler); return first.State == ClientState.LoggedOn; }));
        Assert.True(first.SendLogout(node.NowNs));
        node.PumpFor(50);

        // Same key, same timestamp and nonce as the accepted logon: a replay.
        var replay = node.Client(1);
        Assert.True(node.PumpUntil(() => replay.IsConnected));
        Assert.True(replay.TryLogon(now));
        var log = new ReportLog();
        Assert.True(log.Await(node, replay, r => r.Kind == ReportKind.LogonReject));
        Assert.Equal(LogonRejectReason.ReplayedNonce, replay.LogonRejectReason);
    }

    [Fact]
    public void ShouldRejectASecondSessionForTheSameAccount()
    {
        using var node = new NodeUnderTest();
        node.LogOn(node.Client(1));
        var second = node.Client(1);
        node.LogOn(second);
        Assert.Equal(LogonRejectReason.AlreadyLoggedOn, second.LogonRejectReason);
    }

    [Fact]
    public void ShouldIgnoreOrdersFromAnImageThatHasNotLoggedOn()
    {
        using var node = new NodeUnderTest();
        var client = node.Client(1);
        Assert.True(node.PumpUntil(() => client.IsConnected));
        var commands = node.Recorder.Count;
        Assert.True(client.SendNewOrder(node.NowNs, 1, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 649_000, 1));
        Assert.True(node.PumpUntil(() => node.Host.Gateway.Counters.NotLoggedOn > 0));
        Assert.True(node.OnlyClockTicksSince(commands), "an order from an image that never logged on reached the state machine");
        Assert.Equal(0, node.Engine.RestingOrderCount);
    }

    [Fact]
    public void ShouldNotPublishToAResponseHostItWasNotToldTo()
    {
        using var node = new NodeUnderTest();
        // 127.0.0.2 is this machine too, but not in the node's response hosts (127.0.0.1 by default).
        var client = new ExchangeClient(node.NewClientDriver(), new ClientOptions
        {
            OrderChannel = node.Gateway.OrderChannel,
            ResponseHost = "127.0.0.2",
            ApiKeyId = 1,
            Secret = DefaultConfiguration.DemoSecret(1),
        });
        Assert.True(node.PumpUntil(() => client.IsConnected));
        Assert.True(client.TryLogon(node.NowNs));
        Assert.True(node.PumpUntil(() => node.Host.Gateway.Counters.LogonsRejected == 1));
        node.PumpFor(100);
        Assert.Equal(ClientState.LoggingOn, client.State);   // nothing was sent to it
        Assert.Equal(0, node.Host.Gateway.ActiveSessions);
        client.Dispose();
    }

    [Fact]
    public void ShouldFreeTheSessionSlotsOfImagesThatNeverLogOn()
    {
        using var node = new NodeUnderTest(o => o with { MaxSessions = 2, LogonTimeoutNs = 200_000_000 });
        // Two images take both slots with something other than a logon, and never log on.
        var squatters = new[] { node.Client(1), node.Client(2) };
        foreach (var squatter in squatters)
        {
            Assert.True(node.PumpUntil(() => squatter.IsConnected));
            Assert.True(squatter.SendRaw(new byte[12]) > 0);
        }

        Assert.True(node.PumpUntil(() => node.Host.Gateway.Counters.Malformed >= 2));
        var late = node.Client(3);
        Assert.True(node.PumpUntil(() => late.IsConnected));
        Assert.True(late.TryLogon(node.NowNs));
        node.PumpFor(100);
        Assert.NotEqual(ClientState.LoggedOn, late.State);   // no slot while the squatters hold them

        // After the logon timeout their slots are free: a fresh logon goes through.
        node.PumpFor(300);
        late.Dispose();
        var again = node.Client(3);
        node.LogOn(again);
        Assert.Equal(ClientState.LoggedOn, again.State);
    }

    [Fact]
    public void ShouldMatchTheDocumentedSignatureTestVector()
    {
        // The vector in the schema's Logon description and the README.
        Span<byte> signature = stackalloc byte[32];
        byte[] secret = [.. Enumerable.Range(0, 32).Select(i => (byte)i)];
        LogonSignature.Compute(secret, 7, 1_700_000_000_000_000_000, 1, signature);
        Assert.Equal("e619587c0624b09a36445e5c01f45476936722a845278d2b4759cee6f2e98d58", Convert.ToHexStringLower(signature));
    }

    [Fact]
    public void ShouldEndASilentSessionAndCancelItsOrders()
    {
        using var node = new NodeUnderTest(o => o with { MinHeartbeatIntervalMs = 100 });
        node.StartPriceFeeder();
        node.Deposit(1, 100_000);
        var driver = node.NewClientDriver();
        var maker = node.Client(1, driver, heartbeatMs: 100);
        var log = new ReportLog();
        node.LogOn(maker, log);
        Assert.True(maker.SendNewOrder(node.NowNs, 10, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 649_000, 5));
        Assert.True(log.Await(node, maker, r => r.Kind == ReportKind.Accepted));
        Assert.Equal(1, node.Engine.RestingOrderCount);

        // The maker's process stops (its driver no longer runs): no heartbeats, its image goes quiet.
        maker.Dispose();
        Assert.True(node.PumpUntil(() => node.Engine.RestingOrderCount == 0, 3_000), "orders of a silent cancel-on-disconnect session were not cancelled");
        Assert.Contains(node.Recorder.Commands.ToArray(), c => c.Kind == Core.Commands.CommandKind.MassCancel && c.CancelReason == Core.Events.CancelReason.Disconnect);

        // On reconnect, the client learns why its last session ended.
        var again = node.Client(1);
        node.LogOn(again);
        Assert.Equal(ClientState.LoggedOn, again.State);
        Assert.True(again.PreviousSessionEnd is SessionEndReason.HeartbeatTimeout or SessionEndReason.ConnectionLost);
    }
}
