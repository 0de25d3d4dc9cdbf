using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Liquidation;
using Aivora.Core.Orders;
using Aivora.Core.Tests.Liquidation;
using static Aivora.Core.Tests.Liquidation.LiquidationBench;

namespace Aivora.Core.Tests.Risk;

/// <summary>
/// <see cref="Exchange.PerpStateMachine{TSink}.NextWorkDueNs"/> is when time alone has work due: the node sends a tick then if
/// no order arrives, so a quiet market does not hold back an expiry, a scheduled change or a liquidation's next slice until
/// the next order. Each figure here is the earliest of what is pending, and moves on as each is done.
/// </summary>
public sealed class WorkDueTests
{
    private const long Second = 1_000_000_000;

    [Fact]
    public void ShouldNameTheEarliestExpiryOrScheduledChangeAndMoveOnAsEachIsDone()
    {
        var bench = new LiquidationBench();
        Assert.Equal(Second, bench.Machine.NextWorkDueNs);   // the second's checks, nothing else pending

        bench.Deposit(1, 1_000 * Usdt);
        bench.Run(EngineCommand.Place(bench.Now, 1, 1, 11, Side.Buy, OrderType.Limit, TimeInForce.Gtd, 9_990, 1, expiryNs: 600_000_000));
        Assert.Equal(600_000_000, bench.Machine.NextWorkDueNs);

        bench.Run(EngineCommand.ChangeParameter(bench.Now, 1, RiskParameter.TakerFeeRate, 7_000, 400_000_000, 1));
        Assert.Equal(400_000_000, bench.Machine.NextWorkDueNs);

        var from = bench.Events.Count;
        bench.Run(EngineCommand.Tick(400_000_000));
        Assert.Contains(bench.Events.Skip(from), e => e.Kind == EventKind.ParameterChanged);
        Assert.Equal(600_000_000, bench.Machine.NextWorkDueNs);

        from = bench.Events.Count;
        bench.Run(EngineCommand.Tick(600_000_000));
        Assert.Contains(bench.Events.Skip(from), e => e.Kind == EventKind.OrderExpired && e.ClientOrderId == 11);
        Assert.Equal(Second, bench.Machine.NextWorkDueNs);

        bench.Run(EngineCommand.Tick(Second));
        Assert.Equal(2 * Second, bench.Machine.NextWorkDueNs);
    }

    [Fact]
    public void ShouldNameTheEndOfAWaitingLiquidationsCooldown()
    {
        const int Victim = 7;
        var bench = new LiquidationBench(new LiquidationConfig
        {
            InsuranceFundAccountId = Fund,
            ClearanceFeeRate = 1_000_000,
            LargePositionNotional = 100 * Usdt,
            SliceRate = 20_000_000,
            SliceCooldownNs = 200_000_000,
            HardFloorRate = 50_000_000,
        });
        bench.Deposit(Victim, 110 * Usdt);
        bench.Deposit(2, 1_000 * Usdt);
        bench.Deposit(3, 10_000 * Usdt);
        bench.Limit(2, Side.Sell, 10_000, 1_000);
        bench.Limit(Victim, Side.Buy, 10_000, 1_000, TimeInForce.Ioc);
        bench.Mark(9_500);
        bench.Limit(3, Side.Buy, 8_960, 2_000);

        bench.Mark(8_940);   // the first slice, then a wait of 200 ms
        Assert.Equal(1, bench.Machine.WaitingLiquidations);
        var until = bench.Now + 200_000_000;
        Assert.Equal(until, bench.Machine.NextWorkDueNs);

        var from = bench.Events.Count;
        bench.Run(EngineCommand.Tick(until));   // the tick the node sends then: the next slice, and the next wait
        Assert.Contains(bench.Steps(from), e => new LiquidationStepView(in e).Step == LiquidationStep.PartialReduction);
        Assert.Equal(1, bench.Machine.WaitingLiquidations);
        Assert.Equal(until + 200_000_000, bench.Machine.NextWorkDueNs);
        bench.AssertConserved();
    }
}
