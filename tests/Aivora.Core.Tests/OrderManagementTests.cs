using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Orders;
using static Aivora.Core.Tests.EngineHarness;

namespace Aivora.Core.Tests;

/// <summary>Cancel, amend, mass cancel and client order ids.</summary>
public sealed class OrderManagementTests
{
    [Fact]
    public void ShouldRemoveOrderAndReportLevelWhenCancelled()
    {
        var h = new EngineHarness();
        var id = h.Rest(1, Side.Buy, 9_990, 4);

        var events = h.Cancel(1, id);

        Assert.Equal([EventKind.OrderCancelled, EventKind.BookOrderRemoved, EventKind.LevelChanged], events.Select(e => e.Kind));
        Assert.Equal(CancelReason.User, (CancelReason)events[0].Reason);
        Assert.Equal(0, events[2].Count);
        Assert.Empty(h.Bids);
    }

    [Fact]
    public void ShouldKeepTimePriorityWhenQuantityIsAmendedDown()
    {
        var h = new EngineHarness();
        var first = h.Rest(1, Side.Sell, 10_010, 10);
        h.Rest(2, Side.Sell, 10_010, 4);

        var events = h.Amend(1, first, 10_010, 6);

        Assert.True(Single(events, EventKind.OrderAmended).Flag);
        Assert.Equal(6, Single(events, EventKind.BookOrderChanged).QtyLots);
        Assert.Equal([first], h.Asks.Take(1).Select(o => o.OrderId));
        Assert.Equal(first, Single(h.Limit(3, Side.Buy, 10_010, 2), EventKind.Trade).OtherOrderId);
    }

    [Fact]
    public void ShouldLoseTimePriorityWhenQuantityIsAmendedUp()
    {
        var h = new EngineHarness();
        var first = h.Rest(1, Side.Sell, 10_010, 4);
        var second = h.Rest(2, Side.Sell, 10_010, 4);

        var events = h.Amend(1, first, 10_010, 8);

        Assert.False(Single(events, EventKind.OrderAmended).Flag);
        Assert.Equal([second, first], h.Asks.Select(o => o.OrderId));
        Assert.Equal(12, Single(events, EventKind.LevelChanged).QtyLots);
    }

    [Fact]
    public void ShouldRequeueAndMatchWhenPriceAmendCrosses()
    {
        var h = new EngineHarness();
        var bid = h.Rest(1, Side.Buy, 9_990, 4);
        h.Rest(2, Side.Sell, 10_010, 2);

        var events = h.Amend(1, bid, 10_010, 4);

        var trade = Single(events, EventKind.Trade);
        Assert.Equal((bid, 10_010L, 2L), (trade.OrderId, trade.PriceTicks, trade.QtyLots));
        var resting = Assert.Single(h.Bids);
        Assert.Equal((bid, 10_010L, 2L), (resting.OrderId, resting.PriceTicks, resting.RemainingLots));
    }

    [Fact]
    public void ShouldCancelWhenAmendedToAtOrBelowFilledQuantity()
    {
        var h = new EngineHarness();
        var ask = h.Rest(1, Side.Sell, 10_010, 10);
        h.Limit(2, Side.Buy, 10_010, 4);

        var events = h.Amend(1, ask, 10_010, 4);

        Assert.Equal(CancelReason.User, (CancelReason)Single(events, EventKind.OrderCancelled).Reason);
        Assert.Empty(h.Asks);
    }

    [Fact]
    public void ShouldRejectAmendWithOrderNotActiveWhenOrderAlreadyFilled()
    {
        var h = new EngineHarness();
        var ask = h.Rest(1, Side.Sell, 10_010, 4);
        h.Limit(2, Side.Buy, 10_010, 4);

        Assert.Equal(RejectReason.OrderNotActive, RejectOf(h.Amend(1, ask, 10_010, 8)));
        Assert.Equal(RejectReason.UnknownOrder, RejectOf(h.Amend(1, 999, 10_010, 8)));
    }

    [Fact]
    public void ShouldRejectPriceAmendOfPostOnlyWhenItWouldTake()
    {
        var h = new EngineHarness();
        var bid = h.Rest(1, Side.Buy, 9_990, 4, flags: OrderFlags.PostOnly);
        h.Rest(2, Side.Sell, 10_010, 2);

        Assert.Equal(RejectReason.PostOnlyWouldTake, RejectOf(h.Amend(1, bid, 10_010, 4)));
        Assert.Equal(9_990, Assert.Single(h.Bids).PriceTicks);
    }

    [Fact]
    public void ShouldKeepPlaceWhenReducedAndCancelWhenReducedToZero()
    {
        var h = new EngineHarness();
        var first = h.Rest(1, Side.Sell, 10_010, 10);
        var second = h.Rest(2, Side.Sell, 10_010, 4);

        var reduced = h.Send(EngineCommand.Reduce(h.NowNs, 1, first, 4));
        Assert.True(Single(reduced, EventKind.OrderAmended).Flag);
        Assert.Equal([(first, 6L), (second, 4L)], h.Asks.Select(o => (o.OrderId, o.RemainingLots)));
        Assert.Equal(RejectReason.QuantityOffLotGrid, RejectOf(h.Send(EngineCommand.Reduce(h.NowNs, 1, first, 3))));

        var gone = h.Send(EngineCommand.Reduce(h.NowNs, 1, first, 6));
        Assert.Equal(CancelReason.User, (CancelReason)Single(gone, EventKind.OrderCancelled).Reason);
        Assert.Equal([second], h.Asks.Select(o => o.OrderId));
    }

    [Fact]
    public void ShouldKeepCurrentValueWhenAmendFieldIsZero()
    {
        var h = new EngineHarness();
        var id = h.Rest(1, Side.Buy, 9_990, 10);

        h.Amend(1, id, 9_995, 0);
        h.Amend(1, id, 0, 6);

        var order = Assert.Single(h.Bids);
        Assert.Equal((9_995L, 6L), (order.PriceTicks, order.QtyLots));
    }

    [Fact]
    public void ShouldRejectDuplicateClientOrderIdAndAllowItAgainAfterTheOrderEnds()
    {
        var h = new EngineHarness();
        var id = h.Rest(1, Side.Buy, 9_990, 2, clientOrderId: 77);

        Assert.Equal(RejectReason.DuplicateClientOrderId, RejectOf(h.Limit(1, Side.Buy, 9_985, 2, clientOrderId: 77)));
        h.Rest(2, Side.Buy, 9_985, 2, clientOrderId: 77);   // another account may use the same id

        var cancel = h.Send(EngineCommand.Cancel(h.NowNs, 1, 0, 77));
        Assert.Equal(id, Single(cancel, EventKind.OrderCancelled).OrderId);
        h.Rest(1, Side.Buy, 9_980, 2, clientOrderId: 77);
    }

    [Fact]
    public void ShouldFindAnAggressorByItsIdsOnlyOnceItRests()
    {
        // An aggressor enters the id tables when it rests: one that filled in part and rests is found by both ids; one that
        // ends in its own command (IOC remainder, filled) leaves no id behind, so its client order id is free again.
        var h = new EngineHarness();
        h.Rest(2, Side.Sell, 10_010, 4);
        var partly = Single(h.Limit(1, Side.Buy, 10_010, 6, clientOrderId: 41), EventKind.OrderAccepted).OrderId;
        Assert.True(h.Engine.TryGetOrder(partly, out var byId) && byId.QtyLots - byId.FilledLots == 2);
        Assert.True(h.Engine.TryGetOrderByClientId(1, 41, out var byClientId) && byClientId.OrderId == partly);
        Assert.Equal(RejectReason.DuplicateClientOrderId, RejectOf(h.Limit(1, Side.Buy, 9_990, 2, clientOrderId: 41)));
        var cancel = h.Send(EngineCommand.Cancel(h.NowNs, 1, 0, 41));
        Assert.Equal(partly, Single(cancel, EventKind.OrderCancelled).OrderId);

        h.Rest(2, Side.Buy, 9_990, 2);
        var ioc = h.Limit(3, Side.Sell, 9_980, 6, TimeInForce.Ioc, clientOrderId: 42);
        Assert.Equal(CancelReason.IocRemainder, (CancelReason)Single(ioc, EventKind.OrderCancelled).Reason);
        h.Rest(2, Side.Buy, 9_990, 2);
        var filled = h.Limit(3, Side.Sell, 9_990, 2, clientOrderId: 43);
        Assert.Equal(2, Single(filled, EventKind.Trade).QtyLots);

        var iocId = Single(ioc, EventKind.OrderAccepted).OrderId;
        Assert.False(h.Engine.TryGetOrder(iocId, out _));
        Assert.False(h.Engine.TryGetOrderByClientId(3, 42, out _));
        Assert.False(h.Engine.TryGetOrder(Single(filled, EventKind.OrderAccepted).OrderId, out _));
        Assert.False(h.Engine.TryGetOrderByClientId(3, 43, out _));
        Assert.Equal(RejectReason.OrderNotActive, RejectOf(h.Cancel(3, iocId)));
        h.Rest(3, Side.Sell, 10_050, 2, clientOrderId: 42);   // the ended order's client id is free again

        // A resting order amended to a crossing price re-enters as an aggressor already indexed: filled, its ids go.
        var amended = h.Rest(4, Side.Buy, 9_970, 2, clientOrderId: 44);
        h.Rest(5, Side.Sell, 10_000, 2);
        Assert.Equal(2, Single(h.Amend(4, amended, 10_000, 2), EventKind.Trade).QtyLots);
        Assert.False(h.Engine.TryGetOrder(amended, out _));
        Assert.False(h.Engine.TryGetOrderByClientId(4, 44, out _));
        h.Rest(4, Side.Buy, 9_970, 2, clientOrderId: 44);
    }

    [Fact]
    public void ShouldTreatOtherAccountsOrderAsUnknown()
    {
        var h = new EngineHarness();
        var id = h.Rest(1, Side.Buy, 9_990, 2);

        Assert.Equal(RejectReason.UnknownOrder, RejectOf(h.Cancel(2, id)));
        Assert.Single(h.Bids);
    }

    [Fact]
    public void ShouldMassCancelOnlyTheSelectedAccountInstrumentAndSide()
    {
        var h = new EngineHarness();
        var a1 = h.Rest(1, Side.Buy, 9_990, 2);
        var a2 = h.Rest(1, Side.Sell, 10_010, 2);
        var b1 = h.Rest(2, Side.Buy, 9_990, 2);

        var bySide = h.Send(EngineCommand.MassCancel(h.NowNs, 1, Btc, SideFilter.Sell));
        Assert.Equal([a2], OfKind(bySide, EventKind.OrderCancelled).Select(e => e.OrderId));
        Assert.Equal(1, Single(bySide, EventKind.MassCancelDone).Count);

        var byAccount = h.Send(EngineCommand.MassCancel(h.NowNs, 1, 0, SideFilter.Both));
        Assert.Equal([a1], OfKind(byAccount, EventKind.OrderCancelled).Select(e => e.OrderId));
        Assert.Equal([b1], h.Bids.Select(o => o.OrderId));

        var byInstrument = h.Send(EngineCommand.MassCancel(h.NowNs, 0, Btc, SideFilter.Both));
        Assert.Equal(CancelReason.MassCancel, (CancelReason)Single(byInstrument, EventKind.OrderCancelled).Reason);
        Assert.Empty(h.Bids);
    }

    [Fact]
    public void ShouldRejectNewOrdersButAcceptCancelsWhenHalted()
    {
        var h = new EngineHarness();
        var id = h.Rest(1, Side.Buy, 9_990, 2);
        h.Send(EngineCommand.SetState(h.NowNs, Btc, Instruments.TradingState.Halted));

        Assert.Equal(RejectReason.InstrumentHalted, RejectOf(h.Limit(2, Side.Sell, 9_990, 2)));
        Assert.Equal(RejectReason.InstrumentHalted, RejectOf(h.Amend(1, id, 9_995, 2)));
        Assert.Single(h.Cancel(1, id), e => e.Kind == EventKind.OrderCancelled);
    }

    [Fact]
    public void ShouldAcceptOnlyReduceOnlyOrdersWhenCloseOnly()
    {
        var h = new EngineHarness();
        h.Positions.Adjust(1, Btc, 4);
        h.Send(EngineCommand.SetState(h.NowNs, Btc, Instruments.TradingState.CloseOnly));

        Assert.Equal(RejectReason.InstrumentCloseOnly, RejectOf(h.Limit(1, Side.Sell, 10_010, 2)));
        h.Rest(1, Side.Sell, 10_010, 2, flags: OrderFlags.ReduceOnly);
    }
}
