using Aivora.Client.Session;
using Aivora.Exchange;
using Aivora.Transport.Subscription;

namespace Aivora.SystemTests;

/// <summary>
/// What the public trades (Trades) and order-by-order (BookOrderEvents) streams carry, field by field, against the execution
/// reports of the same orders: the same trade ids, order ids, prices and quantities. (The L2 stream is checked by rebuilding the
/// engine's book in <see cref="MarketDataTests"/>.)
/// </summary>
[Collection("node")]
public sealed class MarketDataContentTests
{
    private sealed class Streams
    {
        public readonly List<(long TradeId, long Price, long Quantity, Side Aggressor)> Trades = [];
        public readonly List<(BookAction Action, Side Side, long OrderId, long Price, long Quantity)> Orders = [];
    }

    private readonly struct Handler(Streams streams) : IMessageHandler
    {
        public void OnMessage(ReadOnlySpan<byte> message, in FragmentHeader header)
        {
            if (TradesDecoder.TryWrap(message, out var t) == SbeDecodeResult.Ok)
            {
                Assert.Equal(1, t.InstrumentId);
                var entries = t.Entries();
                while (entries.Next()) streams.Trades.Add(((long)entries.TradeId, entries.Price, entries.Quantity, entries.AggressorSide));
            }
            else if (BookOrderEventsDecoder.TryWrap(message, out var o) == SbeDecodeResult.Ok)
            {
                Assert.Equal(1, o.InstrumentId);
                var events = o.Events();
                while (events.Next()) streams.Orders.Add((events.Action, events.Side, (long)events.OrderId, events.Price, events.Quantity));
            }
        }
    }

    [Fact]
    public void ShouldPublishEachTradeAndBookOrderChangeWithTheIdsPricesAndQuantitiesOfTheReports()
    {
        using var node = new NodeUnderTest();
        node.StartPriceFeeder();
        node.Deposit(1, 1_000_000);
        node.Deposit(2, 1_000_000);
        var driver = node.NewClientDriver();
        var trades = driver.AddSubscription(node.Gateway.TradesChannel, node.Gateway.TradesStreamId);
        var orders = driver.AddSubscription(node.Gateway.OrdersChannel, node.Gateway.OrdersStreamId);
        Assert.True(node.PumpUntil(() => trades.ImageCount > 0 && orders.ImageCount > 0), "the market-data streams never connected");
        node.PumpFor(50);   // the subscriptions' status messages reach the node's publications: until then they drop what they are given
        var streams = new Streams();
        var assembler = new FragmentAssembler<Handler>(new Handler(streams), 64 * 1024);
        void PollStreams()
        {
            trades.Poll(ref assembler, 64);
            orders.Poll(ref assembler, 64);
        }

        var (makerLog, takerLog) = (new ReportLog(), new ReportLog());
        var maker = node.Client(1, driver);
        var taker = node.Client(2, driver);
        node.LogOn(maker, makerLog);
        node.LogOn(taker, takerLog);

        // Three asks of 2 lots a level apart and a bid below them; an IOC buy of 5 takes the asks best first: two whole, one
        // in part. The rest of that ask is cancelled.
        long[] askPrices = [650_100, 650_105, 650_110];
        for (var i = 0; i < askPrices.Length; i++)
        {
            Assert.True(maker.SendNewOrder(node.NowNs, 100 + i, 1, Side.Sell, OrdType.Limit, TimeInForce.GTC, askPrices[i], 2));
        }

        Assert.True(maker.SendNewOrder(node.NowNs, 200, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 649_000, 3));
        Assert.True(makerLog.Await(node, maker, _ => makerLog.Of(ReportKind.Accepted).Count() == 4));
        Assert.True(taker.SendNewOrder(node.NowNs, 300, 1, Side.Buy, OrdType.Limit, TimeInForce.IOC, 650_110, 5));
        Assert.True(takerLog.Await(node, taker, _ => takerLog.Of(ReportKind.Filled).Count() == 3));
        Assert.True(maker.SendCancel(node.NowNs, 400, 1, 102));
        Assert.True(makerLog.Await(node, maker, r => r.Kind == ReportKind.Cancelled));
        Assert.True(node.PumpUntil(() => { PollStreams(); return streams.Orders.Count >= 8; }), $"L3 events: {streams.Orders.Count} of 8");
        Assert.True(node.PumpUntil(() => { PollStreams(); return streams.Trades.Count >= 3; }), $"trades: {streams.Trades.Count} of 3");
        node.PumpFor(50);
        PollStreams();

        var published = node.Host.Gateway.MarketData;
        Assert.Equal((0, 0), (published.Trades.Dropped, published.Orders.Dropped));
        var orderId = makerLog.Of(ReportKind.Accepted).ToDictionary(r => r.ClientOrderId, r => r.OrderId);
        Assert.Equal(4, orderId.Values.Distinct().Count());

        // Trades: one entry per fill, as the taker's fill reports say it (the aggressor bought), and the maker's reports agree.
        var takerFills = takerLog.Of(ReportKind.Filled).ToList();
        Assert.Equal(takerFills.Select(f => (f.TradeId, f.PriceTicks, f.QtyLots, Side.Buy)), streams.Trades);
        Assert.Equal([(650_100L, 2L), (650_105L, 2L), (650_110L, 1L)], takerFills.Select(f => (f.PriceTicks, f.QtyLots)));
        Assert.Equal(takerFills.Select(f => f.TradeId), makerLog.Of(ReportKind.Filled).Select(f => f.TradeId));
        Assert.Equal(3, takerFills.Select(f => f.TradeId).Distinct().Count());

        // L3: each resting order added with its exchange order id, removed when filled or cancelled, changed when filled in part.
        (BookAction, Side, long, long, long)[] expected =
        [
            (BookAction.Add, Side.Sell, orderId[100], 650_100, 2),
            (BookAction.Add, Side.Sell, orderId[101], 650_105, 2),
            (BookAction.Add, Side.Sell, orderId[102], 650_110, 2),
            (BookAction.Add, Side.Buy, orderId[200], 649_000, 3),
            (BookAction.Remove, Side.Sell, orderId[100], 650_100, 0),
            (BookAction.Remove, Side.Sell, orderId[101], 650_105, 0),
            (BookAction.Change, Side.Sell, orderId[102], 650_110, 1),
            (BookAction.Remove, Side.Sell, orderId[102], 650_110, 0),
        ];
        Assert.Equal(expected, streams.Orders);
    }
}
