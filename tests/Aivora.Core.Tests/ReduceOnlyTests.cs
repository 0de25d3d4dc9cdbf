using Aivora.Core.Events;
using Aivora.Core.Orders;
using static Aivora.Core.Tests.EngineHarness;

namespace Aivora.Core.Tests;

/// <summary>Reduce-only is enforced at every fill through the position keeper, never only at entry.</summary>
public sealed class ReduceOnlyTests
{
    [Fact]
    public void ShouldRejectReduceOnlyWhenItCouldOnlyIncreaseThePosition()
    {
        var h = new EngineHarness();
        h.Positions.Adjust(1, Btc, 4);   // long 4: a reduce-only buy would increase it

        Assert.Equal(RejectReason.ReduceOnlyWouldIncrease, RejectOf(h.Limit(1, Side.Buy, 9_990, 2, flags: OrderFlags.ReduceOnly)));
    }

    [Fact]
    public void ShouldCapAggressiveReduceOnlyFillAtThePositionAndCancelTheRest()
    {
        var h = new EngineHarness();
        h.Positions.Adjust(1, Btc, 4);
        h.Rest(2, Side.Buy, 10_000, 10);

        var events = h.Limit(1, Side.Sell, 10_000, 10, flags: OrderFlags.ReduceOnly);

        Assert.Equal(4, Single(events, EventKind.Trade).QtyLots);
        var cancelled = Single(events, EventKind.OrderCancelled);
        Assert.Equal((CancelReason.ReduceOnly, 6L), ((CancelReason)cancelled.Reason, cancelled.QtyLots));
        Assert.Equal(0, h.Positions.Position(1, Btc));
    }

    [Fact]
    public void ShouldNeverFlipPositionWhenRestingReduceOnlyOrdersExceedIt()
    {
        var h = new EngineHarness();
        h.Positions.Adjust(1, Btc, 6);
        h.Rest(1, Side.Sell, 10_000, 4, flags: OrderFlags.ReduceOnly);
        h.Rest(1, Side.Sell, 10_005, 4, flags: OrderFlags.ReduceOnly);

        var events = h.Limit(2, Side.Buy, 10_005, 10);

        Assert.Equal([4L, 2L], OfKind(events, EventKind.Trade).Select(t => t.QtyLots));
        Assert.Equal(0, h.Positions.Position(1, Btc));
        Assert.Empty(h.Asks);    // the second is trimmed to nothing and cancelled on the next touch
        Assert.Equal(4, Assert.Single(h.Bids).RemainingLots);
    }

    [Fact]
    public void ShouldNotLetStaleReduceOnlyMakerBlockTheBookWhenPositionIsGone()
    {
        var h = new EngineHarness();
        h.Positions.Adjust(1, Btc, 4);
        var reduceOnly = h.Rest(1, Side.Sell, 10_000, 4, flags: OrderFlags.ReduceOnly);
        var normal = h.Rest(3, Side.Sell, 10_000, 4);
        h.Positions.Adjust(1, Btc, -4);  // position closed elsewhere

        var events = h.Limit(2, Side.Buy, 10_000, 4);

        var cancelled = Single(events, EventKind.OrderCancelled);
        Assert.Equal((reduceOnly, CancelReason.ReduceOnly), (cancelled.OrderId, (CancelReason)cancelled.Reason));
        Assert.Equal(normal, Single(events, EventKind.Trade).OtherOrderId);
    }

    [Fact]
    public void ShouldKillReduceOnlyFokLargerThanThePosition()
    {
        var h = new EngineHarness();
        h.Positions.Adjust(1, Btc, 4);
        h.Rest(2, Side.Buy, 10_000, 10);

        var events = h.Limit(1, Side.Sell, 10_000, 6, TimeInForce.Fok, flags: OrderFlags.ReduceOnly);

        Assert.Equal(CancelReason.FillOrKill, (CancelReason)Single(events, EventKind.OrderCancelled).Reason);
        Assert.Empty(OfKind(events, EventKind.Trade));
        Assert.Equal(4, h.Positions.Position(1, Btc));
    }

    [Fact]
    public void ShouldTrimRestingReduceOnlyOrdersLeastAggressiveFirstWhenThePositionShrinks()
    {
        var h = new EngineHarness();
        h.Positions.Adjust(1, Btc, 10);
        var near = h.Rest(1, Side.Sell, 10_010, 6, flags: OrderFlags.ReduceOnly);
        var far = h.Rest(1, Side.Sell, 10_020, 6, flags: OrderFlags.ReduceOnly);
        h.Rest(2, Side.Buy, 9_990, 20);

        // The account closes 6 of its 10 elsewhere (a plain sell): 4 left, 12 resting reduce-only.
        var events = h.Limit(1, Side.Sell, 9_990, 6, TimeInForce.Ioc, stp: SelfTradePrevention.None);

        var cancelled = Single(events, EventKind.OrderCancelled);
        Assert.Equal((far, CancelReason.ReduceOnly), (cancelled.OrderId, (CancelReason)cancelled.Reason));
        var trimmed = Single(events, EventKind.OrderAmended);
        Assert.Equal((near, 4L, true), (trimmed.OrderId, trimmed.RemainingLots, trimmed.Flag));
        Assert.Equal([(near, 4L)], h.Asks.Select(o => (o.OrderId, o.RemainingLots)));
        Assert.Equal(4, h.Positions.Position(1, Btc));
    }
}
