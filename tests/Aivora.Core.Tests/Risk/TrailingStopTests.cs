using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Orders;
using Aivora.Core.Tests.Liquidation;
using static Aivora.Core.Tests.Liquidation.LiquidationBench;

namespace Aivora.Core.Tests.Risk;

/// <summary>Trailing stops on mark: the trigger follows the best mark since placement at the callback distance and fires at the boundary, through pre-trade risk.</summary>
public sealed class TrailingStopTests
{
    private static LiquidationBench Bench()
    {
        var bench = new LiquidationBench();
        bench.Deposit(7, 10_000 * Usdt);
        bench.Deposit(2, 100_000 * Usdt);
        bench.Limit(2, Side.Buy, 9_500, 1_000);
        bench.Limit(2, Side.Sell, 10_500, 1_000);
        return bench;
    }

    private static List<EngineEvent> Since(LiquidationBench bench, int from, EventKind kind) => [.. bench.Events.Skip(from).Where(e => e.Kind == kind)];

    [Fact]
    public void ShouldFollowTheHighestMarkDownByTheCallbackInTicksAndFireExactlyAtIt()
    {
        var bench = Bench();
        var from = bench.Events.Count;
        bench.Run(EngineCommand.Trailing(bench.Now, 7, 1, 77, Side.Sell, 10, callbackTicks: 100));
        Assert.Equal(9_900, Assert.Single(Since(bench, from, EventKind.StopAccepted)).Required);

        bench.Mark(10_050);   // a new high: the trigger follows to 9,950
        bench.Mark(10_020);   // lower: it stays
        from = bench.Events.Count;
        bench.Mark(9_951);
        Assert.Empty(Since(bench, from, EventKind.OrderTriggered));
        bench.Mark(9_950);
        var fired = Assert.Single(Since(bench, from, EventKind.OrderTriggered));
        Assert.Equal((9_950L, 9_950L, 77L), (fired.Required, fired.Available, fired.ClientOrderId));
        Assert.Contains(Since(bench, from, EventKind.Trade), t => t.AccountId == 7 && t.QtyLots == 10 && t.PriceTicks == 9_500);
        Assert.Equal(-10, bench.Ledger.PositionOf(7, 1).QtyLots);
        Assert.Equal(0, bench.Machine.Stops.TrailingCount);
    }

    [Fact]
    public void ShouldFollowTheLowestMarkUpByTheCallbackInBasisPoints()
    {
        var bench = Bench();
        bench.Run(EngineCommand.Trailing(bench.Now, 7, 1, 78, Side.Buy, 10, callbackTicks: 0, callbackBps: 50));
        bench.Mark(9_800);    // anchor 9,800: trigger 9,800 + 49 (50 bps rounded toward the anchor)
        var from = bench.Events.Count;
        bench.Mark(9_848);
        Assert.Empty(Since(bench, from, EventKind.OrderTriggered));
        bench.Mark(9_849);
        Assert.Equal(9_849, Assert.Single(Since(bench, from, EventKind.OrderTriggered)).Required);
        Assert.Equal(10, bench.Ledger.PositionOf(7, 1).QtyLots);
    }

    [Fact]
    public void ShouldRefuseATrailingStopWithoutOneCallbackOrOffMarkAndCancelByClientOrderId()
    {
        var bench = Bench();
        foreach (var bad in new[]
        {
            EngineCommand.Trailing(bench.Now, 7, 1, 80, Side.Sell, 10, callbackTicks: 0),
            EngineCommand.Trailing(bench.Now, 7, 1, 81, Side.Sell, 10, callbackTicks: 10, callbackBps: 10),
            EngineCommand.Trailing(bench.Now, 7, 1, 82, Side.Sell, 10, callbackTicks: 0, callbackBps: 10_000),
            EngineCommand.Trailing(bench.Now, 7, 1, 83, Side.Sell, 10, callbackTicks: -5),
            EngineCommand.Trailing(bench.Now, 7, 1, 84, Side.Sell, 10, callbackTicks: 10) with { TriggerSource = TriggerSource.Last },
        })
        {
            var from = bench.Events.Count;
            bench.Run(bad);
            Assert.Equal(RejectReason.InvalidTrigger, (RejectReason)Assert.Single(Since(bench, from, EventKind.OrderRejected)).Reason);
        }

        bench.Run(EngineCommand.Trailing(bench.Now, 7, 1, 85, Side.Sell, 10, callbackTicks: 100));
        Assert.Equal(1, bench.Machine.Stops.TrailingCount);
        bench.Run(EngineCommand.Cancel(bench.Now, 7, 0, 85));
        Assert.Equal(0, bench.Machine.Stops.TrailingCount);
        var after = bench.Events.Count;
        bench.Mark(9_000);
        Assert.Empty(Since(bench, after, EventKind.OrderTriggered));
    }
}
