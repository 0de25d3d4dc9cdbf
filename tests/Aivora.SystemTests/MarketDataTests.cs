using Aivora.Client.MarketData;
using Aivora.Client.Session;
using Aivora.Core.Matching;
using Aivora.Exchange;
using Aivora.Node.Configuration;
using Aivora.Node.Engine;
using Aivora.Transport.Driver;
using CoreSide = Aivora.Core.Orders.Side;

namespace Aivora.SystemTests;

/// <summary>Market data rebuilt by a client equals the engine's book: live, after a late join, and after forced gaps.</summary>
[Collection("node")]
public sealed class MarketDataTests
{
    private static (ExchangeClient[] Clients, ReportLog[] Logs) Traders(NodeUnderTest node, int count)
    {
        node.StartPriceFeeder();
        var driver = node.NewClientDriver();
        var clients = new ExchangeClient[count];
        var logs = new ReportLog[count];
        for (var i = 0; i < count; i++)
        {
            node.Deposit(1 + i, 5_000_000);
            clients[i] = node.Client(1 + i, driver);
            logs[i] = new ReportLog();
            node.LogOn(clients[i], logs[i]);
        }

        return (clients, logs);
    }

    /// <summary>Random limit orders (some crossing), cancels and amends from several clients, pumped as they go.</summary>
    private static void RandomFlow(NodeUnderTest node, ExchangeClient[] clients, int orders, int seed, MarketDataClient? md = null)
    {
        var random = new Random(seed);
        var sink = new ReportLog();
        long id = 1_000;
        for (var n = 0; n < orders; n++)
        {
            var c = clients[random.Next(clients.Length)];
            var instrument = random.Next(2) + 1;
            var spec = DefaultConfiguration.Engine.Instruments[instrument - 1];
            var roll = random.Next(10);
            if (roll < 7 || c.OpenOrders.Count == 0)
            {
                var side = random.Next(2) == 0 ? Side.Buy : Side.Sell;
                var offset = (random.Next(40) - 8) * spec.TickSize;
                var price = side == Side.Buy ? spec.ReferencePriceTicks - offset : spec.ReferencePriceTicks + offset;
                while (!c.SendNewOrder(node.NowNs, id++, instrument, side, OrdType.Limit, TimeInForce.GTC, price, 1 + random.Next(5))) node.Pump();
            }
            else
            {
                var victim = c.OpenOrders.Values.ElementAt(random.Next(c.OpenOrders.Count));
                var sent = roll < 9
                    ? c.SendCancel(node.NowNs, id++, victim.InstrumentId, victim.ClientOrderId)
                    : c.SendAmend(node.NowNs, id++, victim.InstrumentId, victim.ClientOrderId, 0, victim.QtyLots + 1);
                if (!sent) node.Pump();
            }

            node.Pump();
            foreach (var client in clients) client.Poll(node.NowNs, ref sink.Handler);
            md?.Poll();
        }

        // Let everything in flight land.
        node.PumpUntil(() => { foreach (var client in clients) client.Poll(node.NowNs, ref sink.Handler); md?.Poll(); return false; }, 300);
    }

    private static void AssertSameBook(NodeUnderTest node, MarketDataClient md)
    {
        var depth = new LevelView[4_096];
        foreach (var spec in DefaultConfiguration.Engine.Instruments)
        {
            var book = md.BookOf(spec.Id);
            Assert.True(book.Synced, $"{spec.Symbol}: client book not synced");
            foreach (var side in new[] { CoreSide.Buy, CoreSide.Sell })
            {
                var n = node.Engine.GetLevels(spec.Id, side, depth);
                var levels = side == CoreSide.Buy ? book.Bids.ToArray() : book.Asks.ToArray();
                Assert.Equal(depth.Take(n).Select(l => (l.PriceTicks, l.TotalLots, l.OrderCount)), levels.Select(l => (l.PriceTicks, l.QtyLots, l.OrderCount)));
            }
        }
    }

    [Fact]
    public void ShouldRebuildTheEngineBookFromMarketDataAfterThousandsOfRandomOrders()
    {
        using var node = new NodeUnderTest();
        var md = node.MarketData();
        var (clients, _) = Traders(node, 3);
        Assert.True(node.PumpUntil(() => { md.Poll(); return md.AllSynced; }), "market data never synced");
        node.PumpFor(50);
        RandomFlow(node, clients, 3_000, seed: 7, md);
        Assert.True(node.Engine.RestingOrderCount > 50, "the flow should leave a real book behind");
        Assert.Equal(0, md.Book.Gaps);
        AssertSameBook(node, md);
    }

    [Fact]
    public void ShouldReachTheSameStateHashesWhenTheRecordedCommandsAreReplayed()
    {
        using var node = new NodeUnderTest(fundingIntervalS: 1);
        var (clients, _) = Traders(node, 3);
        RandomFlow(node, clients, 2_000, seed: 17);
        clients[0].Dispose();   // a cancel-on-disconnect session ends: its mass cancel is recorded like any command
        node.PumpFor(1_500);    // clock ticks, a funding settlement or more
        Assert.True(node.Host.StateMachine.Engine.Sink.Router.FundingSettlements > 0, "the run should include funding");

        var replay = NodeHost.NewStateMachine(DefaultConfiguration.Engine, 1_000_000_000L, new Core.Events.CountingSink(), NodeUnderTest.Limits);
        foreach (ref readonly var command in node.Recorder.Commands) replay.Process(in command);
        Assert.False(node.Recorder.Overflowed);
        Assert.Equal(node.Engine.StateHash(), replay.Engine.StateHash());
        Assert.Equal(node.Host.StateMachine.Ledger.StateHash(), replay.Ledger.StateHash());
        Assert.Equal(node.Host.StateMachine.Ledger.TotalDeposits - node.Host.StateMachine.Ledger.TotalWithdrawals, node.Host.StateMachine.Ledger.MoneyInSystem());
    }

    [Fact]
    public void ShouldRecoverALateJoinerFromTheNextSnapshot()
    {
        using var node = new NodeUnderTest();
        var (clients, _) = Traders(node, 2);
        RandomFlow(node, clients, 800, seed: 11);
        var late = node.MarketData();
        Assert.True(node.PumpUntil(() => { late.Poll(); return late.AllSynced; }, 3_000), "a late joiner never synced from a snapshot");
        Assert.True(late.Recoveries >= 2);
        // Reference data comes with the snapshot rounds: the late joiner knows every instrument's grid.
        Assert.True(node.PumpUntil(() => { late.Poll(); return late.Instruments.Count == 2; }, 2_000));
        var btc = late.Instruments[1];
        Assert.Equal(("BTC-PERP", 1, 5L, 3, 1L, TradingState.Open), (btc.Symbol, btc.PriceScale, btc.TickSize, btc.QuantityScale, btc.LotSize, btc.TradingState));
        RandomFlow(node, clients, 400, seed: 12, late);
        node.PumpUntil(() => { late.Poll(); return false; }, 300);
        AssertSameBook(node, late);
    }

    [Fact]
    public void ShouldRecoverFromGapsWhenMarketDataPacketsAreDropped()
    {
        using var node = new NodeUnderTest();
        // The L2 stream unreliable on the subscriber's side (no NAKs: a lost packet is a gap), 5% of its packets dropped.
        var lossy = node.NewClientDriver(new DriverOptions
        {
            ThreadingMode = ThreadingMode.Invoker,
            DataLoss = index => new LossGenerator(seed: 99 + index, dropRate: index == 0 ? 0.05 : 0),
        });
        var md = node.MarketData(lossy, node.MarketDataOptions with { BookChannel = node.MarketDataOptions.BookChannel + "|reliable=false" });
        var (clients, _) = Traders(node, 3);
        Assert.True(node.PumpUntil(() => { md.Poll(); return md.AllSynced; }));
        RandomFlow(node, clients, 2_000, seed: 5, md);
        Assert.True(md.Book.Gaps > 0, $"the loss generator should have caused gaps (L2 messages {md.Book.Messages}, sent {node.Host.Gateway.MarketData.Book.Messages})");
        // Quiet now: the next snapshots bring every book back, including one whose last L2 messages were lost (no later
        // L2 message reveals that gap: the client must notice from a snapshot newer than what it heard). Two snapshot
        // rounds after the flow, so at least one was taken after the last order.
        var snapshots = md.Snapshots.Messages;
        Assert.True(node.PumpUntil(() => { md.Poll(); return md.Snapshots.Messages >= snapshots + 4 && md.AllSynced; }, 3_000), "books did not recover after the gaps");
        AssertSameBook(node, md);
    }

    [Fact]
    public void ShouldFollowTheEngineFromSnapshotsAloneWhenEveryL2PacketIsLost()
    {
        using var node = new NodeUnderTest();
        // Every packet of the L2 stream lost: the client hears no L2 message at all, so nothing on L2 ever shows it a
        // gap. Its books must still follow the engine: each snapshot newer than what it heard re-seeds them.
        var deaf = node.NewClientDriver(new DriverOptions
        {
            ThreadingMode = ThreadingMode.Invoker,
            DataLoss = index => new LossGenerator(seed: 7, dropRate: index == 0 ? 1.0 : 0),
        });
        var md = node.MarketData(deaf, node.MarketDataOptions with { BookChannel = node.MarketDataOptions.BookChannel + "|reliable=false" });
        var (clients, _) = Traders(node, 3);
        Assert.True(node.PumpUntil(() => { md.Poll(); return md.AllSynced; }, 3_000), "market data never synced from snapshots");
        RandomFlow(node, clients, 1_000, seed: 9, md);
        Assert.True(node.Engine.RestingOrderCount > 20, "the flow should leave a real book behind");
        Assert.Equal(0, md.Book.Messages);

        var snapshots = md.Snapshots.Messages;
        Assert.True(node.PumpUntil(() => { md.Poll(); return md.Snapshots.Messages >= snapshots + 4; }, 3_000), "no snapshot rounds after the flow");
        AssertSameBook(node, md);
        Assert.True(md.StaleReseeds > 0);
    }
}
