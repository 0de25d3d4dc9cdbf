using Aivora.Core.Events;
using Aivora.Core.Orders;
using static Aivora.Core.Tests.EngineHarness;

namespace Aivora.Core.Tests;

public sealed class SelfTradePreventionTests
{
    [Fact]
    public void ShouldExpireMakerByDefaultAndKeepMatching()
    {
        var h = new EngineHarness();
        var own = h.Rest(1, Side.Sell, 10_000, 4);
        var other = h.Rest(2, Side.Sell, 10_005, 4);

        var events = h.Limit(1, Side.Buy, 10_005, 4);

        var prevented = Single(events, EventKind.SelfTradePrevented);
        Assert.Equal((own, SelfTradePrevention.ExpireMaker), (prevented.OtherOrderId, (SelfTradePrevention)prevented.Reason));
        var cancelled = Single(events, EventKind.OrderCancelled);
        Assert.Equal((own, CancelReason.SelfTradePrevention), (cancelled.OrderId, (CancelReason)cancelled.Reason));
        Assert.Equal(other, Single(events, EventKind.Trade).OtherOrderId);
        Assert.DoesNotContain(OfKind(events, EventKind.Trade), t => t.AccountId == t.OtherAccountId);
    }

    [Fact]
    public void ShouldCancelTakerRemainderWhenExpireTaker()
    {
        var h = new EngineHarness();
        var own = h.Rest(1, Side.Sell, 10_000, 4);

        var events = h.Limit(1, Side.Buy, 10_000, 6, stp: SelfTradePrevention.ExpireTaker);

        var cancelled = Single(events, EventKind.OrderCancelled);
        Assert.NotEqual(own, cancelled.OrderId);
        Assert.Equal(6, cancelled.QtyLots);
        Assert.Equal(own, Assert.Single(h.Asks).OrderId);
        Assert.Empty(h.Bids);
    }

    [Fact]
    public void ShouldCancelBothWhenExpireBoth()
    {
        var h = new EngineHarness();
        h.Rest(1, Side.Sell, 10_000, 4);

        var events = h.Limit(1, Side.Buy, 10_000, 6, stp: SelfTradePrevention.ExpireBoth);

        Assert.Equal(2, OfKind(events, EventKind.OrderCancelled).Count);
        Assert.Empty(h.Asks);
        Assert.Empty(h.Bids);
    }

    [Fact]
    public void ShouldDecrementBothAndCancelTheSmallerWhenDecrementAndCancel()
    {
        var h = new EngineHarness();
        var own = h.Rest(1, Side.Sell, 10_000, 4);
        h.Rest(2, Side.Sell, 10_000, 4);

        var events = h.Limit(1, Side.Buy, 10_000, 6, stp: SelfTradePrevention.DecrementAndCancel);

        Assert.Equal(own, Single(events, EventKind.OrderCancelled).OrderId);   // maker 4 ≤ taker 6
        var trade = Single(events, EventKind.Trade);                           // taker left with 2
        Assert.Equal((2L, 0L), (trade.QtyLots, trade.RemainingLots));
        Assert.Equal(2, Assert.Single(h.Asks).RemainingLots);
    }

    [Fact]
    public void ShouldDecrementLargerMakerWhenTakerIsSmallerUnderDecrementAndCancel()
    {
        var h = new EngineHarness();
        var own = h.Rest(1, Side.Sell, 10_000, 10);

        var events = h.Limit(1, Side.Buy, 10_000, 4, stp: SelfTradePrevention.DecrementAndCancel);

        Assert.Equal(4, Single(events, EventKind.OrderCancelled).QtyLots);
        Assert.Equal(6, Single(events, EventKind.BookOrderChanged).QtyLots);
        Assert.Equal((own, 6L), (h.Asks[0].OrderId, h.Asks[0].RemainingLots));
        Assert.Empty(OfKind(events, EventKind.Trade));
    }

    [Fact]
    public void ShouldPreventTradesBetweenAccountsOfTheSameStpGroup()
    {
        var h = new EngineHarness();
        h.Rest(1, Side.Sell, 10_000, 4, stpGroup: 9);

        var events = h.Limit(2, Side.Buy, 10_000, 4, stpGroup: 9);

        Assert.Empty(OfKind(events, EventKind.Trade));
        Assert.Single(events, e => e.Kind == EventKind.SelfTradePrevented);
    }

    [Fact]
    public void ShouldAllowSelfTradeWhenModeIsNone()
    {
        var h = new EngineHarness();
        h.Rest(1, Side.Sell, 10_000, 4);

        var events = h.Limit(1, Side.Buy, 10_000, 4, stp: SelfTradePrevention.None);

        var trade = Single(events, EventKind.Trade);
        Assert.Equal(trade.AccountId, trade.OtherAccountId);
    }
}
