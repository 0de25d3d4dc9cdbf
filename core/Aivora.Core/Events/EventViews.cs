using Aivora.Core.Commands;
using Aivora.Core.Instruments;
using Aivora.Core.Orders;
using Aivora.Core.Pricing;

namespace Aivora.Core.Events;

// Typed views over the flat EngineEvent: the event stays one struct (fast to pass, journal and compare),
// and a consumer reads each kind's fields by what they mean instead of by which generic slot carries
// them. Each view is a ref struct over the event (no copy); Kind is checked in debug builds.

/// <summary>Index and mark of an instrument moved (<see cref="EventKind.PricesUpdated"/>).</summary>
public readonly ref struct PricesUpdatedView(ref readonly EngineEvent e)
{
    private readonly ref readonly EngineEvent _e = ref e;
    public int InstrumentId => _e.InstrumentId;
    public long MarkPriceTicks => _e.PriceTicks;
    public long IndexPriceTicks => _e.QtyLots;
    /// <summary>Predicted funding rate, 1e-8 units.</summary>
    public long PredictedFundingRate => _e.RemainingLots;
    public IndexState IndexState => (IndexState)_e.Reason;
    public int ValidIndexSources => _e.Count;
    public long TimeNs => _e.TimeNs;
}

/// <summary>A funding settlement (<see cref="EventKind.FundingSettled"/>).</summary>
public readonly ref struct FundingSettledView(ref readonly EngineEvent e)
{
    private readonly ref readonly EngineEvent _e = ref e;
    public int InstrumentId => _e.InstrumentId;
    public long MarkPriceTicks => _e.PriceTicks;
    /// <summary>The settled rate, 1e-8 units (positive: longs pay shorts).</summary>
    public long Rate => _e.QtyLots;
    /// <summary>Money paid by the paying side (= received by the other, less the residue).</summary>
    public long TotalPaid => _e.RemainingLots;
    /// <summary>Rounding residue carried into the next settlement.</summary>
    public long ResidueCarried => _e.OtherRemainingLots;
    public int PremiumSamples => _e.Count;
    public long TimeNs => _e.TimeNs;
}

/// <summary>A parameter change scheduled or applied (<see cref="EventKind.ParameterScheduled"/>, <see cref="EventKind.ParameterChanged"/>).</summary>
public readonly ref struct ParameterChangeView(ref readonly EngineEvent e)
{
    private readonly ref readonly EngineEvent _e = ref e;
    public int InstrumentId => _e.InstrumentId;
    public RiskParameter Parameter => (RiskParameter)_e.Count;
    public long OldValue => _e.QtyLots;
    public long NewValue => _e.RemainingLots;
    public long EffectiveNs => _e.OtherRemainingLots;
    public long ReasonCode => _e.OrderId;
}

/// <summary>A held stop fired (<see cref="EventKind.OrderTriggered"/>).</summary>
public readonly ref struct OrderTriggeredView(ref readonly EngineEvent e)
{
    private readonly ref readonly EngineEvent _e = ref e;
    public long StopId => _e.OrderId;
    public long ClientOrderId => _e.ClientOrderId;
    public int AccountId => _e.AccountId;
    public int InstrumentId => _e.InstrumentId;
    public long TriggerPriceTicks => _e.Required;
    public long ObservedPriceTicks => _e.Available;
    public TriggerSource Source => (TriggerSource)_e.Reason;
}

/// <summary>A stop held outside the book (<see cref="EventKind.StopAccepted"/>).</summary>
public readonly ref struct StopAcceptedView(ref readonly EngineEvent e)
{
    private readonly ref readonly EngineEvent _e = ref e;
    public long StopId => _e.OrderId;
    public long ClientOrderId => _e.ClientOrderId;
    public int AccountId => _e.AccountId;
    public int InstrumentId => _e.InstrumentId;
    public Side Side => _e.Side;
    /// <summary>Limit price once triggered (0: market).</summary>
    public long LimitPriceTicks => _e.PriceTicks;
    public long QtyLots => _e.QtyLots;
    public long TriggerPriceTicks => _e.Required;
    public TriggerSource Source => (TriggerSource)_e.Reason;
}

/// <summary>A fill between an aggressor (taker) and a resting order (maker) (<see cref="EventKind.Trade"/>): each side's ids and what it has left and has filled, so an execution report needs nothing else.</summary>
public readonly ref struct TradeView(ref readonly EngineEvent e)
{
    private readonly ref readonly EngineEvent _e = ref e;
    public long TradeId => _e.TradeId;
    public int InstrumentId => _e.InstrumentId;
    /// <summary>The maker's price.</summary>
    public long PriceTicks => _e.PriceTicks;
    public long QtyLots => _e.QtyLots;
    /// <summary>The aggressor's side.</summary>
    public Side TakerSide => _e.Side;
    public long TakerOrderId => _e.OrderId;
    public int TakerAccountId => _e.AccountId;
    public long TakerClientOrderId => _e.ClientOrderId;
    public long TakerRemainingLots => _e.RemainingLots;
    /// <summary>The taker's filled lots so far, this fill included.</summary>
    public long TakerFilledLots => _e.Required;
    public long MakerOrderId => _e.OtherOrderId;
    public int MakerAccountId => _e.OtherAccountId;
    public long MakerClientOrderId => _e.OtherClientOrderId;
    public long MakerRemainingLots => _e.OtherRemainingLots;
    /// <summary>The maker's filled lots so far, this fill included.</summary>
    public long MakerFilledLots => _e.Available;
}

/// <summary>Pre-trade risk's what-if for an order about to enter (<see cref="EventKind.OrderRiskAssessed"/>).</summary>
public readonly ref struct OrderRiskAssessedView(ref readonly EngineEvent e)
{
    private readonly ref readonly EngineEvent _e = ref e;
    public long ClientOrderId => _e.ClientOrderId;
    public int AccountId => _e.AccountId;
    public int InstrumentId => _e.InstrumentId;
    /// <summary>The account's liquidation price if the order fills completely (0: none, or not computed).</summary>
    public long LiquidationPriceIfFilled => _e.PriceTicks;
    /// <summary>The order asked for no what-ifs (<see cref="OrderFlags.NoWhatIfs"/>): the liquidation price and ADL quantile were not computed (both 0); the margin figures were.</summary>
    public bool WhatIfsSkipped => _e.Flag;
    /// <summary>Initial margin the order adds (money).</summary>
    public long MarginAdded => _e.Required;
    /// <summary>Margin still available after it (money).</summary>
    public long AvailableAfter => _e.Available;
    /// <summary>The ADL quantile (1-5) the position would have if the order filled completely, against the last second's ranking (0: flat, or no ranking yet).</summary>
    public int AdlQuantileIfFilled => _e.Count;
}

/// <summary>A rejected command (<see cref="EventKind.OrderRejected"/>) and the figures that explain it.</summary>
public readonly ref struct OrderRejectedView(ref readonly EngineEvent e)
{
    private readonly ref readonly EngineEvent _e = ref e;
    public RejectReason Reason => (RejectReason)_e.Reason;
    public CommandKind Command => (CommandKind)_e.Reason2;
    public long ClientOrderId => _e.ClientOrderId;
    public long OrderId => _e.OrderId;
    public int AccountId => _e.AccountId;
    public int InstrumentId => _e.InstrumentId;
    /// <summary>Margin rejects: money required; limit rejects: the limit broken.</summary>
    public long RequiredOrLimit => _e.Required;
    /// <summary>Margin rejects: money available; limit rejects: the value that broke the limit.</summary>
    public long AvailableOrActual => _e.Available;
}

/// <summary>A mark price update (<see cref="EventKind.MarkPriceChanged"/>).</summary>
public readonly ref struct MarkPriceChangedView(ref readonly EngineEvent e)
{
    private readonly ref readonly EngineEvent _e = ref e;
    public int InstrumentId => _e.InstrumentId;
    public long MarkPriceTicks => _e.PriceTicks;
    public int PositionsAtOrPastLiquidation => _e.Count;
}

/// <summary>An instrument's trading state changed (<see cref="EventKind.TradingStateChanged"/>).</summary>
public readonly ref struct TradingStateChangedView(ref readonly EngineEvent e)
{
    private readonly ref readonly EngineEvent _e = ref e;
    public int InstrumentId => _e.InstrumentId;
    public TradingState State => (TradingState)_e.Reason;
}

/// <summary>The views by kind: <c>e.AsFundingSettled().Rate</c> instead of <c>e.QtyLots</c>.</summary>
public static class EngineEventViews
{
    public static PricesUpdatedView AsPricesUpdated(this ref readonly EngineEvent e) => new(in Checked(in e, EventKind.PricesUpdated));
    public static FundingSettledView AsFundingSettled(this ref readonly EngineEvent e) => new(in Checked(in e, EventKind.FundingSettled));
    public static ParameterChangeView AsParameterChange(this ref readonly EngineEvent e) => new(in e);
    public static OrderTriggeredView AsOrderTriggered(this ref readonly EngineEvent e) => new(in Checked(in e, EventKind.OrderTriggered));
    public static StopAcceptedView AsStopAccepted(this ref readonly EngineEvent e) => new(in Checked(in e, EventKind.StopAccepted));
    public static TradeView AsTrade(this ref readonly EngineEvent e) => new(in Checked(in e, EventKind.Trade));
    public static OrderRiskAssessedView AsOrderRiskAssessed(this ref readonly EngineEvent e) => new(in Checked(in e, EventKind.OrderRiskAssessed));
    public static OrderRejectedView AsOrderRejected(this ref readonly EngineEvent e) => new(in Checked(in e, EventKind.OrderRejected));
    public static MarkPriceChangedView AsMarkPriceChanged(this ref readonly EngineEvent e) => new(in Checked(in e, EventKind.MarkPriceChanged));
    public static TradingStateChangedView AsTradingStateChanged(this ref readonly EngineEvent e) => new(in Checked(in e, EventKind.TradingStateChanged));

    private static ref readonly EngineEvent Checked(ref readonly EngineEvent e, EventKind kind)
    {
        System.Diagnostics.Debug.Assert(e.Kind == kind, $"a {kind} view over a {e.Kind} event");
        return ref e;
    }
}

/// <summary>One step of a liquidation path (<see cref="EventKind.LiquidationStep"/>): everything needed to check it.</summary>
public readonly ref struct LiquidationStepView(ref readonly EngineEvent e)
{
    private readonly ref readonly EngineEvent _e = ref e;
    public Liquidation.LiquidationStep Step => (Liquidation.LiquidationStep)_e.Reason;
    public int AccountId => _e.AccountId;
    public int InstrumentId => _e.InstrumentId;
    public IndexState IndexState => (IndexState)_e.Reason2;
    /// <summary>Maintenance-margin tier of the position (0 is the first).</summary>
    public int Tier => _e.Count;
    /// <summary>True: the scope is the isolated position; false: the cross account.</summary>
    public bool IsolatedScope => _e.Flag;
    public long MarkPriceTicks => _e.PriceTicks;
    public long IndexPriceTicks => _e.OrderId;
    /// <summary>Signed position in lots before the step (after it for Completed).</summary>
    public long PositionLots => _e.QtyLots;
    /// <summary>Equity of the margin scope before the step (after it for Completed).</summary>
    public long Equity => _e.RemainingLots;
    public long MaintenanceMargin => _e.OtherRemainingLots;
    public long BankruptcyPriceTicks => _e.Required;
    /// <summary>Volume-weighted fill price of a slice, or the transfer price (bankruptcy) of a takeover or ADL step; for Waiting, the engine time of the next slice.</summary>
    public long FillPriceTicks => _e.Available;
    /// <summary>Lots the step filled or transferred (orders cancelled, for OrdersCancelled).</summary>
    public long FillLots => _e.TradeId;
    /// <summary>Clearance fee the step charged (to the fund).</summary>
    public long Fee => Step == Liquidation.LiquidationStep.AutoDeleverage ? 0 : _e.OtherOrderId;
    /// <summary>ADL score of the counterparty (profit% × effective leverage, 1e-8), for an AutoDeleverage step.</summary>
    public long AdlScore => Step == Liquidation.LiquidationStep.AutoDeleverage ? _e.OtherOrderId : 0;
    /// <summary>Change of the insurance fund's equity (at mark) the step caused.</summary>
    public long InsuranceFundDelta => _e.ClientOrderId;
    /// <summary>The ADL counterparty (AutoDeleverage) or the fund (InsuranceTakeover).</summary>
    public int CounterpartyAccountId => _e.OtherAccountId;
    public long TimeNs => _e.TimeNs;
}
