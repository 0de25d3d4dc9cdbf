using Aivora.Core.Events;
using Aivora.Core.Orders;
using static Aivora.Core.Tests.EngineHarness;

namespace Aivora.Core.Tests;

/// <summary>Full tables reject or cancel with a capacity reason; nothing grows, nothing crashes.</summary>
public sealed class CapacityTests
{
    [Fact]
    public void ShouldRejectRestingOrderWhenOrderCapacityIsFullButStillAcceptIoc()
    {
        var h = new EngineHarness(maxResting: 3);
        h.Rest(1, Side.Buy, 9_990, 2);
        h.Rest(1, Side.Buy, 9_985, 2);
        h.Rest(1, Side.Sell, 10_010, 2);

        Assert.Equal(RejectReason.CapacityOrders, RejectOf(h.Limit(2, Side.Buy, 9_980, 2)));
        var ioc = h.Limit(2, Side.Buy, 10_010, 2, TimeInForce.Ioc);
        Assert.Single(ioc, e => e.Kind == EventKind.Trade);
        h.Rest(2, Side.Buy, 9_980, 2);   // the fill freed a place
    }

    [Fact]
    public void ShouldCancelRemainderWithCapacityReasonWhenNoPriceLevelIsFree()
    {
        var h = new EngineHarness(maxLevels: 2);
        h.Rest(1, Side.Sell, 10_010, 2);
        h.Rest(1, Side.Buy, 9_990, 2);
        h.Rest(1, Side.Buy, 9_985, 2);

        var events = h.Limit(2, Side.Buy, 10_010, 6);

        Assert.Equal(2, Single(events, EventKind.Trade).QtyLots);
        var cancelled = Single(events, EventKind.OrderCancelled);
        Assert.Equal((CancelReason.Capacity, 4L), ((CancelReason)cancelled.Reason, cancelled.QtyLots));
        Assert.Equal(2, h.Engine.LevelCount(Btc, Side.Buy));
        h.Rest(2, Side.Buy, 9_990, 2);   // an existing level still takes orders
    }

    [Fact]
    public void ShouldRejectNewAccountWhenAccountCapacityIsFull()
    {
        var h = new EngineHarness(maxAccounts: 2);
        h.Rest(1, Side.Buy, 9_990, 2);
        h.Rest(2, Side.Buy, 9_990, 2);

        Assert.Equal(RejectReason.CapacityAccounts, RejectOf(h.Limit(3, Side.Buy, 9_990, 2)));
        h.Rest(1, Side.Buy, 9_985, 2);
    }
}
