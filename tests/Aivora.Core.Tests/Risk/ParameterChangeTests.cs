using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Orders;
using Aivora.Core.Reference;
using Aivora.Core.Risk;
using Aivora.Core.Tests.Flows;
using static Aivora.Core.Tests.Risk.RiskTestSend;
using Aivora.Core.Exchange;

namespace Aivora.Core.Tests.Risk;

public sealed class ParameterChangeTests
{
    private const long Hour = 3_600_000_000_000;

    private static (PerpStateMachine<RecordingSink> Risk, List<EngineEvent> Events) NewVenue()
    {
        var events = new List<EngineEvent>();
        var ledger = new Ledger([new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(2_000, 5_000) }], 64);
        var risk = new PerpStateMachine<RecordingSink>(CommandFlowGenerator.Config(100, 50, 16), ledger, new RiskLimits { ParameterCoolingNs = Hour }, new RecordingSink(events));
        ledger.Deposit(1, 1_000_000_000);
        return (risk, events);
    }

    [Fact]
    public void ShouldApplyAScheduledChangeWhenEngineTimeReachesItAndExplainIt()
    {
        var (risk, events) = NewVenue();

        var scheduled = Assert.Single(Send(risk, events, EngineCommand.ChangeParameter(1_000, 1, RiskParameter.TakerFeeRate, 7_000, 2 * Hour, reasonCode: 4242)));
        Assert.Equal((EventKind.ParameterScheduled, 5_000L, 7_000L, 2 * Hour, 4242L), (scheduled.Kind, scheduled.QtyLots, scheduled.RemainingLots, scheduled.OtherRemainingLots, scheduled.OrderId));
        Assert.Equal(5_000, risk.Ledger.Contract(1).Fees.TakerRate);

        Assert.Empty(Send(risk, events, EngineCommand.Tick((2 * Hour) - 1)));
        var changed = Assert.Single(Send(risk, events, EngineCommand.Tick(2 * Hour)));
        Assert.Equal((EventKind.ParameterChanged, 5_000L, 7_000L, 2 * Hour), (changed.Kind, changed.QtyLots, changed.RemainingLots, changed.TimeNs));
        Assert.Equal(7_000, risk.Ledger.Contract(1).Fees.TakerRate);
    }

    [Fact]
    public void ShouldRefuseAChangeInsideTheCoolingPeriodWithTheEarliestAllowedTime()
    {
        var (risk, events) = NewVenue();
        Send(risk, events, EngineCommand.ChangeParameter(1_000, 1, RiskParameter.MaxLeverage, 20, 1_000, 1));

        var refused = Assert.Single(Send(risk, events, EngineCommand.ChangeParameter(2_000, 1, RiskParameter.MaxLeverage, 5, Hour / 2, 2)));

        Assert.Equal(RejectReason.ParameterCoolingPeriod, (RejectReason)refused.Reason);
        Assert.Equal((Hour + 1_000, Hour / 2), (refused.Required, refused.Available));
        Assert.Equal(20, risk.Ledger.Contract(1).DefaultLeverage);
        Assert.Equal(EventKind.ParameterScheduled, Assert.Single(Send(risk, events, EngineCommand.ChangeParameter(3_000, 1, RiskParameter.MaxLeverage, 5, Hour + 1_000, 3))).Kind);
        Assert.Equal(EventKind.ParameterChanged, Assert.Single(Send(risk, events, EngineCommand.ChangeParameter(4_000, 1, RiskParameter.TakerFeeRate, 6_000, 4_000, 4))).Kind);   // another parameter: no cooling
    }

    [Fact]
    public void ShouldGateOrdersWithTheNewBandAndOpenOrderLimitOnceApplied()
    {
        var (risk, events) = NewVenue();
        Send(risk, events, EngineCommand.ChangeParameter(1_000, 1, RiskParameter.PriceBandBps, 100, 1_000, 1));       // 1% around 10,000
        Send(risk, events, EngineCommand.ChangeParameter(1_000, 1, RiskParameter.MaxOpenOrders, 1, 1_000, 2));

        Assert.Equal(RejectReason.PriceOutsideBand, (RejectReason)Send(risk, events, EngineCommand.Limit(2_000, 1, 1, 0, Side.Buy, 9_850, 1)).Single(e => e.Kind == EventKind.OrderRejected).Reason);
        Assert.Contains(Send(risk, events, EngineCommand.Limit(2_000, 1, 1, 0, Side.Buy, 9_950, 1)), e => e.Kind == EventKind.OrderAccepted);
        Assert.Equal(RejectReason.MaxOpenOrders, (RejectReason)Send(risk, events, EngineCommand.Limit(2_000, 1, 1, 0, Side.Buy, 9_940, 1)).Single(e => e.Kind == EventKind.OrderRejected).Reason);
    }

    [Theory]
    [InlineData(RiskParameter.None, 1)]
    [InlineData(RiskParameter.PriceBandBps, 0)]
    [InlineData(RiskParameter.TakerFeeRate, -1)]
    [InlineData(RiskParameter.MaxLeverage, 0)]
    public void ShouldRefuseUnsupportedParametersAndValuesOutOfRange(RiskParameter parameter, long value)
    {
        var (risk, events) = NewVenue();

        var refused = Assert.Single(Send(risk, events, EngineCommand.ChangeParameter(1_000, 1, parameter, value, 1_000, 1)));

        Assert.Equal(RejectReason.InvalidParameter, (RejectReason)refused.Reason);
    }

    [Fact]
    public void ShouldRefuseAnEffectiveTimeInThePast()
    {
        var (risk, events) = NewVenue();
        Send(risk, events, EngineCommand.Tick(10_000));

        Assert.Equal(RejectReason.InvalidEffectiveTime, (RejectReason)Assert.Single(Send(risk, events, EngineCommand.ChangeParameter(10_000, 1, RiskParameter.TakerFeeRate, 1, 5_000, 1))).Reason);
    }
}
