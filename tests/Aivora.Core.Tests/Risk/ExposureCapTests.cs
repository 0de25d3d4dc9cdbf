using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Orders;
using Aivora.Core.Tests.Liquidation;
using static Aivora.Core.Tests.Liquidation.LiquidationBench;

namespace Aivora.Core.Tests.Risk;

/// <summary>Caps on exposure: each refuses an order that could grow a position past it, with the cap and the value that broke it, and never a reduction.</summary>
public sealed class ExposureCapTests
{
    private static EngineEvent LastReject(LiquidationBench bench, int from) => Assert.Single(bench.Events.Skip(from), e => e.Kind == EventKind.OrderRejected);

    private static (RejectReason Reason, long Limit, long Actual) Rejected(LiquidationBench bench, int account, Side side, long price, long qty)
    {
        var from = bench.Events.Count;
        bench.Limit(account, side, price, qty);
        var reject = bench.Events.Skip(from).Where(e => e.Kind == EventKind.OrderRejected).ToList();
        return reject.Count == 0 ? (RejectReason.None, 0, 0) : ((RejectReason)reject[0].Reason, reject[0].Required, reject[0].Available);
    }

    [Fact]
    public void ShouldCapOneAccountsPositionCountingItsOpenOrdersButNeverAReduction()
    {
        var bench = new LiquidationBench(limits: l => l with { MaxPositionLots = 500 });
        bench.Deposit(7, 10_000 * Usdt);
        bench.Deposit(2, 10_000 * Usdt);
        bench.Limit(2, Side.Sell, 10_000, 300);
        bench.Limit(7, Side.Buy, 10_000, 300, TimeInForce.Ioc);
        Assert.Equal(RejectReason.None, Rejected(bench, 7, Side.Buy, 9_990, 100).Reason);   // resting: 400 if it fills
        Assert.Equal((RejectReason.PositionCap, 500L, 600L), Rejected(bench, 7, Side.Buy, 9_980, 200));
        Assert.Equal((RejectReason.PositionCap, 500L, 700L), Rejected(bench, 7, Side.Sell, 10_050, 1_000));   // could flip to short 700
        Assert.Equal(RejectReason.None, Rejected(bench, 7, Side.Sell, 10_050, 800).Reason);   // at worst short 500
    }

    [Fact]
    public void ShouldCapOpenInterestAndTheShareOneAccountHolds()
    {
        var bench = new LiquidationBench(limits: l => l with { MaxOpenInterestLots = 1_000 });
        bench.Deposit(7, 10_000 * Usdt);
        bench.Deposit(8, 10_000 * Usdt);
        bench.Deposit(9, 10_000 * Usdt);
        bench.Limit(7, Side.Sell, 10_000, 800);
        bench.Limit(8, Side.Buy, 10_000, 800, TimeInForce.Ioc);
        Assert.Equal(800, bench.Ledger.OpenInterestLots(1));

        // 300 more would take open interest to 1,100.
        Assert.Equal((RejectReason.OpenInterestCap, 1_000L, 1_100L), Rejected(bench, 9, Side.Buy, 10_000, 300));
        // Closing is never refused: 8 sells back 500 of its long.
        Assert.Equal(RejectReason.None, Rejected(bench, 8, Side.Sell, 9_990, 500).Reason);

        var share = new LiquidationBench(limits: l => l with { MaxOpenInterestShareRate = 30_000_000, ConcentrationFloorLots = 100 });
        share.Deposit(7, 10_000 * Usdt);
        share.Deposit(8, 10_000 * Usdt);
        share.Deposit(9, 10_000 * Usdt);
        share.Limit(7, Side.Sell, 10_000, 99);   // below the floor: the first traders may hold all of it
        share.Limit(8, Side.Buy, 10_000, 99, TimeInForce.Ioc);
        Assert.Equal(RejectReason.None, Rejected(share, 9, Side.Buy, 9_000, 20).Reason);
        // 8 would hold 200 of 200: 30% allows 60.
        Assert.Equal((RejectReason.ConcentrationCap, 99L, 200L), Rejected(share, 8, Side.Buy, 9_000, 101));
    }

    [Fact]
    public void ShouldCapAPositionByTheDepthItsLiquidationWouldSellIntoWithHysteresis()
    {
        var bench = new LiquidationBench(limits: l => l with { BookDepthCapRate = 100_000_000 });   // 100% of the depth within 0.5% of mark
        bench.Deposit(2, 100_000 * Usdt);
        bench.Deposit(7, 10_000 * Usdt);
        bench.Limit(2, Side.Buy, 9_960, 300);    // within 50 ticks of 10,000
        bench.Limit(2, Side.Buy, 9_900, 500);    // beyond: would not help a liquidation at maintenance
        bench.Limit(2, Side.Sell, 10_040, 200);
        bench.Advance(1_000_000_000);
        Assert.Equal((300L, 200L), (bench.Machine.BookDepthCap(1, longs: true), bench.Machine.BookDepthCap(1, longs: false)));
        var changed = bench.Events.Where(e => e.Kind == EventKind.PositionCapChanged).ToList();
        Assert.Equal(2, changed.Count);

        Assert.Equal((RejectReason.PositionTooLargeForBook, 300L, 400L), Rejected(bench, 7, Side.Buy, 9_950, 400));
        Assert.Equal((RejectReason.PositionTooLargeForBook, 200L, 250L), Rejected(bench, 7, Side.Sell, 10_050, 250));

        // Depth 300 -> 350 (a sixth more): the cap holds. 350 -> 450: it moves, and says so.
        bench.Limit(2, Side.Buy, 9_970, 50);
        bench.Advance(1_000_000_000);
        Assert.Equal(300, bench.Machine.BookDepthCap(1, longs: true));
        bench.Limit(2, Side.Buy, 9_970, 100);
        var from = bench.Events.Count;
        bench.Advance(1_000_000_000);
        Assert.True(450 == bench.Machine.BookDepthCap(1, longs: true), string.Join("\n", bench.Events.Skip(from - 6)));
        var moved = Assert.Single(bench.Events.Skip(from), e => e.Kind == EventKind.PositionCapChanged);
        Assert.Equal((Side.Buy, 450L, 300L, 450L), (moved.Side, moved.QtyLots, moved.OtherRemainingLots, moved.RemainingLots));
        Assert.Equal(RejectReason.None, Rejected(bench, 7, Side.Buy, 9_950, 400).Reason);
    }

    [Fact]
    public void ShouldChangeACapAtItsScheduledTime()
    {
        var bench = new LiquidationBench();
        bench.Deposit(7, 10_000 * Usdt);
        bench.Run(EngineCommand.ChangeParameter(bench.Now, 1, RiskParameter.MaxPosition, 100, bench.Now + 1_000, 42));
        Assert.Equal(RejectReason.None, Rejected(bench, 7, Side.Buy, 9_990, 150).Reason);
        bench.Advance(2_000);
        Assert.Equal((RejectReason.PositionCap, 100L, 200L), Rejected(bench, 7, Side.Buy, 9_980, 50));
    }

    [Fact]
    public void ShouldWarnOnceWhenTheLargestHoldersHoldMoreThanTheThresholdShare()
    {
        var bench = new LiquidationBench(limits: l => l with { ConcentrationWarningRate = 50_000_000, ConcentrationTopAccounts = 2 });
        foreach (var a in new[] { 7, 8, 9 }) bench.Deposit(a, 10_000 * Usdt);
        bench.Limit(8, Side.Sell, 10_000, 300);
        bench.Limit(9, Side.Sell, 10_000, 300);
        bench.Limit(7, Side.Buy, 10_000, 600, TimeInForce.Ioc);
        bench.Advance(1_000_000_000);

        // 7 holds 600 and 8 holds 300: 900 of the 1,200 lots open on both sides, 75% against a 50% threshold.
        var warning = Assert.Single(bench.Events, e => e.Kind == EventKind.ConcentrationWarning);
        Assert.Equal((2, 900L, 600L, 50_000_000L, 75_000_000L, 7, 600L),
            (warning.Count, warning.QtyLots, warning.RemainingLots, warning.Required, warning.Available, warning.OtherAccountId, warning.OtherRemainingLots));
        bench.Advance(1_000_000_000);
        Assert.Single(bench.Events, e => e.Kind == EventKind.ConcentrationWarning);   // raised once, not every second
    }
}
