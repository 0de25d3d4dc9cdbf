using Aivora.Core.Events;
using Aivora.Core.Orders;
using static Aivora.Core.Tests.EngineHarness;

namespace Aivora.Core.Tests;

/// <summary>One test per matching rule: priority, prices, time in force, market protection, post-only.</summary>
public sealed class MatchingEngineTests
{
    [Fact]
    public void ShouldCarryBothSidesClientOrderIdsAndFillsSoFarInEachTrade()
    {
        // A maker of 10 filled in two trades by two takers: each trade names both orders' client ids and what each has
        // filled so far (what an execution report's cumulative quantity is), the fill itself included.
        var h = new EngineHarness();
        var maker = h.Rest(1, Side.Sell, 10_010, 10, clientOrderId: 71);
        var firstEvent = Single(h.Limit(2, Side.Buy, 10_010, 8, TimeInForce.Gtc, clientOrderId: 81), EventKind.Trade);
        var first = firstEvent.AsTrade();
        Assert.Equal((maker, 71L, 8L, 2L), (first.MakerOrderId, first.MakerClientOrderId, first.MakerFilledLots, first.MakerRemainingLots));
        Assert.Equal((81L, 8L, 0L), (first.TakerClientOrderId, first.TakerFilledLots, first.TakerRemainingLots));

        var secondEvent = Single(h.Limit(3, Side.Buy, 10_010, 6, TimeInForce.Ioc, clientOrderId: 91), EventKind.Trade);
        var second = secondEvent.AsTrade();
        Assert.Equal((71L, 10L, 0L), (second.MakerClientOrderId, second.MakerFilledLots, second.MakerRemainingLots));
        Assert.Equal((91L, 2L, 4L), (second.TakerClientOrderId, second.TakerFilledLots, second.TakerRemainingLots));
    }

    [Fact]
    public void ShouldFillOldestOrderFirstAtRestingPriceWhenTwoOrdersShareALevel()
    {
        var h = new EngineHarness();
        var first = h.Rest(1, Side.Sell, 10_010, 4);
        var second = h.Rest(2, Side.Sell, 10_010, 4);

        var events = h.Limit(3, Side.Buy, 10_050, 6);

        var trades = OfKind(events, EventKind.Trade);
        Assert.Equal(2, trades.Count);
        Assert.Equal((first, 4L, 10_010L), (trades[0].OtherOrderId, trades[0].QtyLots, trades[0].PriceTicks));
        Assert.Equal((second, 2L, 10_010L), (trades[1].OtherOrderId, trades[1].QtyLots, trades[1].PriceTicks));
        Assert.Equal(Side.Buy, trades[0].Side);
        Assert.Equal(2, Assert.Single(h.Asks).RemainingLots);
        Assert.Empty(h.Bids);
    }

    [Fact]
    public void ShouldSweepLevelsBestFirstAndRestRemainderWhenLimitStopsIt()
    {
        var h = new EngineHarness();
        h.Rest(1, Side.Sell, 10_000, 2);
        h.Rest(1, Side.Sell, 10_005, 2);
        h.Rest(1, Side.Sell, 10_010, 2);
        h.Rest(1, Side.Sell, 10_020, 2);

        var events = h.Limit(2, Side.Buy, 10_010, 10);

        Assert.Equal([10_000L, 10_005L, 10_010L], OfKind(events, EventKind.Trade).Select(t => t.PriceTicks));
        var levels = OfKind(events, EventKind.LevelChanged);
        Assert.Equal([(Side.Sell, 10_000L, 0L), (Side.Sell, 10_005L, 0L), (Side.Sell, 10_010L, 0L), (Side.Buy, 10_010L, 4L)],
            levels.Select(l => (l.Side, l.PriceTicks, l.QtyLots)));
        var resting = Assert.Single(h.Bids);
        Assert.Equal((10_010L, 4L, 6L), (resting.PriceTicks, resting.RemainingLots, resting.FilledLots));
        Assert.Equal(10_020, h.Engine.BestPrice(Btc, Side.Sell));
    }

    [Fact]
    public void ShouldCancelRemainderWhenIocCannotFillCompletely()
    {
        var h = new EngineHarness();
        h.Rest(1, Side.Sell, 10_000, 4);

        var events = h.Limit(2, Side.Buy, 10_000, 10, TimeInForce.Ioc);

        Assert.Equal(4, Single(events, EventKind.Trade).QtyLots);
        var cancelled = Single(events, EventKind.OrderCancelled);
        Assert.Equal((CancelReason.IocRemainder, 6L), ((CancelReason)cancelled.Reason, cancelled.QtyLots));
        Assert.Empty(h.Bids);
        Assert.Empty(h.Asks);
    }

    [Fact]
    public void ShouldLeaveBookUntouchedWhenFokCannotFillEntirely()
    {
        var h = new EngineHarness();
        h.Rest(1, Side.Sell, 10_000, 4);
        h.Rest(1, Side.Sell, 10_005, 4);
        var before = h.Asks;

        var events = h.Limit(2, Side.Buy, 10_005, 10, TimeInForce.Fok);

        Assert.Empty(OfKind(events, EventKind.Trade));
        Assert.Empty(OfKind(events, EventKind.LevelChanged));
        Assert.Equal(CancelReason.FillOrKill, (CancelReason)Single(events, EventKind.OrderCancelled).Reason);
        Assert.Equal(before, h.Asks);
    }

    [Fact]
    public void ShouldFillEntirelyWhenFokHasEnoughLiquidity()
    {
        var h = new EngineHarness();
        h.Rest(1, Side.Sell, 10_000, 4);
        h.Rest(1, Side.Sell, 10_005, 8);

        var events = h.Limit(2, Side.Buy, 10_005, 10, TimeInForce.Fok);

        Assert.Equal(10, OfKind(events, EventKind.Trade).Sum(t => t.QtyLots));
        Assert.Empty(OfKind(events, EventKind.OrderCancelled));
        Assert.Equal(2, Assert.Single(h.Asks).RemainingLots);
    }

    [Fact]
    public void ShouldExpireGtdOrderWhenEngineTimePassesItsExpiry()
    {
        var h = new EngineHarness();
        var events = h.Limit(1, Side.Buy, 9_990, 2, TimeInForce.Gtd, expiryNs: 5_000);
        var orderId = Single(events, EventKind.OrderAccepted).OrderId;

        h.AdvanceTo(4_999);
        Assert.Empty(h.Send(Commands.EngineCommand.Tick(h.NowNs)));
        Assert.Single(h.Bids);

        h.AdvanceTo(5_000);
        var expiry = h.Send(Commands.EngineCommand.Tick(h.NowNs));

        var expired = Single(expiry, EventKind.OrderExpired);
        Assert.Equal((orderId, 2L), (expired.OrderId, expired.QtyLots));
        Assert.Contains(expiry, e => e.Kind == EventKind.LevelChanged && e.QtyLots == 0);
        Assert.Empty(h.Bids);
        Assert.Equal(RejectReason.OrderNotActive, RejectOf(h.Cancel(1, orderId)));
    }

    [Fact]
    public void ShouldExpireDueOrdersBeforeTheCommandThatCarriesTheTime()
    {
        var h = new EngineHarness();
        h.Limit(1, Side.Sell, 10_000, 2, TimeInForce.Gtd, expiryNs: 5_000);

        h.AdvanceTo(6_000);
        var events = h.Limit(2, Side.Buy, 10_000, 2);

        Assert.Equal(EventKind.OrderExpired, events[0].Kind);
        Assert.Empty(OfKind(events, EventKind.Trade));
        Assert.Single(h.Bids);
    }

    [Fact]
    public void ShouldBoundMarketOrderByProtectionPriceAtBandEdge()
    {
        var h = new EngineHarness();
        h.Rest(1, Side.Sell, 10_500, 2);   // exactly the band edge: 10,000 + 5%
        h.Send(Commands.EngineCommand.SetReference(h.NowNs, Btc, 9_800)); // edge now 10,290
        h.Rest(1, Side.Sell, 10_200, 2);

        var events = h.Market(2, Side.Buy, 10);

        Assert.Equal(10_290, Single(events, EventKind.OrderAccepted).PriceTicks);
        Assert.Equal([10_200L], OfKind(events, EventKind.Trade).Select(t => t.PriceTicks));
        Assert.Equal(CancelReason.IocRemainder, (CancelReason)Single(events, EventKind.OrderCancelled).Reason);
        Assert.Equal(10_500, h.Engine.BestPrice(Btc, Side.Sell));
    }

    [Fact]
    public void ShouldRejectMarketOrderWhenThereIsNoReferencePrice()
    {
        var h = new EngineHarness(spec: DefaultSpec with { ReferencePriceTicks = 0 });

        Assert.Equal(RejectReason.NoReferencePrice, RejectOf(h.Market(1, Side.Buy, 2)));
    }

    [Fact]
    public void ShouldRejectPostOnlyWhenItWouldTake()
    {
        var h = new EngineHarness();
        h.Rest(1, Side.Sell, 10_010, 2);

        Assert.Equal(RejectReason.PostOnlyWouldTake, RejectOf(h.Limit(2, Side.Buy, 10_010, 2, flags: OrderFlags.PostOnly)));
        Assert.Empty(h.Bids);
        var resting = h.Limit(2, Side.Buy, 10_005, 2, flags: OrderFlags.PostOnly);
        Assert.Single(resting, e => e.Kind == EventKind.BookOrderAdded);
    }

    [Fact]
    public void ShouldSlidePostOnlyOneTickBehindOppositeTouchWhenAsked()
    {
        var h = new EngineHarness();
        h.Rest(1, Side.Sell, 10_010, 2);

        var events = h.Limit(2, Side.Buy, 10_050, 2, flags: OrderFlags.PostOnly | OrderFlags.PostOnlySlide);

        Assert.Equal(10_005, Single(events, EventKind.OrderAccepted).PriceTicks);
        Assert.Empty(OfKind(events, EventKind.Trade));
        Assert.Equal(10_005, Assert.Single(h.Bids).PriceTicks);
    }

    [Fact]
    public void ShouldReportL2AndL3ChangesWhenOrderRests()
    {
        var h = new EngineHarness();
        h.Rest(1, Side.Buy, 9_990, 4);

        var events = h.Limit(2, Side.Buy, 9_990, 6);

        var added = Single(events, EventKind.BookOrderAdded);
        Assert.Equal((Side.Buy, 9_990L, 6L), (added.Side, added.PriceTicks, added.QtyLots));
        var level = Single(events, EventKind.LevelChanged);
        Assert.Equal((9_990L, 10L, 2), (level.PriceTicks, level.QtyLots, level.Count));
    }

    [Fact]
    public void ShouldProduceSameStateHashWhenTwoEnginesGetSameCommands()
    {
        var a = new EngineHarness();
        var b = new EngineHarness();
        foreach (var h in new[] { a, b })
        {
            h.Rest(1, Side.Sell, 10_010, 4);
            h.Rest(2, Side.Buy, 9_990, 4);
            h.Limit(3, Side.Buy, 10_010, 2);
        }

        Assert.Equal(a.Engine.StateHash(), b.Engine.StateHash());
        a.Limit(3, Side.Buy, 10_010, 2);
        Assert.NotEqual(a.Engine.StateHash(), b.Engine.StateHash());
    }
}
