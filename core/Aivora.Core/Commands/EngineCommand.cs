using Aivora.Core.Events;
using Aivora.Core.Instruments;
using Aivora.Core.Orders;

namespace Aivora.Core.Commands;

/// <summary>
/// One input to the state machine, already decoded from the wire and stamped with engine time.
/// A flat value type so a journal, a generator and a replay can hold it without allocation;
/// each <see cref="CommandKind"/> reads the fields its factory method sets.
/// </summary>
public struct EngineCommand
{
    public CommandKind Kind;
    public Side Side;
    public OrderType Type;
    public TimeInForce TimeInForce;
    public OrderFlags Flags;
    public SelfTradePrevention Stp;
    public SideFilter SideFilter;
    public TradingState TradingState;

    /// <summary>Engine time carried by the command (stamped once when it entered the node).</summary>
    public long NowNs;

    /// <summary>Account (positive); 0 in a mass cancel means every account.</summary>
    public int AccountId;

    /// <summary>Instrument (positive); 0 in a mass cancel means every instrument.</summary>
    public int InstrumentId;

    /// <summary>Exchange order id for cancel/amend (0: use <see cref="ClientOrderId"/> with the account).</summary>
    public long OrderId;

    /// <summary>The account's own id for the order (0: none).</summary>
    public long ClientOrderId;

    public long PriceTicks;

    /// <summary>Order quantity; for an amend, the new total quantity (filled part included).</summary>
    public long QtyLots;

    /// <summary>GTD expiry in engine time.</summary>
    public long ExpiryNs;

    /// <summary>Orders of different accounts sharing a non-zero group never trade with each other.</summary>
    public long StpGroup;

    /// <summary>For stop and take-profit orders: the price that fires them.</summary>
    public long TriggerPriceTicks;

    public TriggerSource TriggerSource;

    /// <summary>For a trailing stop: the callback distance in ticks (or 0 and <see cref="CallbackBps"/>).</summary>
    public long CallbackTicks;

    /// <summary>For a trailing stop: the callback distance in basis points of the best mark (or 0 and <see cref="CallbackTicks"/>).</summary>
    public long CallbackBps;

    /// <summary>SetParameter: which parameter, its new value, when it takes effect, and the operator's reason code (the text lives in the audit log).</summary>
    public RiskParameter Parameter;

    public long Value;

    public long EffectiveNs;

    public long ReasonCode;

    /// <summary>MassCancel: the reason its cancels carry (User, the default value, reads as MassCancel).</summary>
    public CancelReason CancelReason;

    /// <summary>PriceFeed: the feeder.</summary>
    public int SourceId;

    public static EngineCommand Place(
        long nowNs, int accountId, int instrumentId, long clientOrderId, Side side, OrderType type,
        TimeInForce tif, long priceTicks, long qtyLots,
        OrderFlags flags = OrderFlags.None, SelfTradePrevention stp = SelfTradePrevention.Default,
        long stpGroup = 0, long expiryNs = 0) => new()
        {
            Kind = CommandKind.PlaceOrder,
            NowNs = nowNs,
            AccountId = accountId,
            InstrumentId = instrumentId,
            ClientOrderId = clientOrderId,
            Side = side,
            Type = type,
            TimeInForce = tif,
            PriceTicks = priceTicks,
            QtyLots = qtyLots,
            Flags = flags,
            Stp = stp,
            StpGroup = stpGroup,
            ExpiryNs = expiryNs,
        };

    public static EngineCommand Limit(long nowNs, int accountId, int instrumentId, long clientOrderId, Side side, long priceTicks, long qtyLots, TimeInForce tif = TimeInForce.Gtc) =>
        Place(nowNs, accountId, instrumentId, clientOrderId, side, OrderType.Limit, tif, priceTicks, qtyLots);

    /// <summary>Cancel by exchange order id (or, with orderId 0, by the account's client order id).</summary>
    public static EngineCommand Cancel(long nowNs, int accountId, long orderId, long clientOrderId = 0) => new()
    {
        Kind = CommandKind.CancelOrder,
        NowNs = nowNs,
        AccountId = accountId,
        OrderId = orderId,
        ClientOrderId = clientOrderId,
    };

    /// <summary>Amend to a new price and new total quantity (filled part included); 0 in either keeps the current value.</summary>
    public static EngineCommand Amend(long nowNs, int accountId, long orderId, long newPriceTicks, long newQtyLots, long clientOrderId = 0) => new()
    {
        Kind = CommandKind.AmendOrder,
        NowNs = nowNs,
        AccountId = accountId,
        OrderId = orderId,
        ClientOrderId = clientOrderId,
        PriceTicks = newPriceTicks,
        QtyLots = newQtyLots,
    };

    /// <summary>Reduce the order's remaining quantity by <paramref name="byLots"/>, keeping its place; at or below zero it is cancelled.</summary>
    public static EngineCommand Reduce(long nowNs, int accountId, long orderId, long byLots, long clientOrderId = 0) => new()
    {
        Kind = CommandKind.ReduceOrder,
        NowNs = nowNs,
        AccountId = accountId,
        OrderId = orderId,
        ClientOrderId = clientOrderId,
        QtyLots = byLots,
    };

    /// <summary>Cancel every matching order (and held stop); <paramref name="reason"/> is what the cancels report
    /// (a user's mass cancel, or the node's own: disconnect, kill switch, liquidation).</summary>
    public static EngineCommand MassCancel(long nowNs, int accountId, int instrumentId, SideFilter sides, CancelReason reason = CancelReason.MassCancel) => new()
    {
        Kind = CommandKind.MassCancel,
        NowNs = nowNs,
        AccountId = accountId,
        InstrumentId = instrumentId,
        SideFilter = sides,
        CancelReason = reason,
    };

    public static EngineCommand SetState(long nowNs, int instrumentId, TradingState state) => new()
    {
        Kind = CommandKind.SetTradingState,
        NowNs = nowNs,
        InstrumentId = instrumentId,
        TradingState = state,
    };

    public static EngineCommand SetReference(long nowNs, int instrumentId, long priceTicks) => new()
    {
        Kind = CommandKind.SetReferencePrice,
        NowNs = nowNs,
        InstrumentId = instrumentId,
        PriceTicks = priceTicks,
    };

    public static EngineCommand Tick(long nowNs) => new() { Kind = CommandKind.AdvanceTime, NowNs = nowNs };

    /// <summary>A stop or take-profit order (held by the risk layer until its trigger).</summary>
    public static EngineCommand Triggered(long nowNs, int accountId, int instrumentId, long clientOrderId, Side side, OrderType type,
        long triggerPriceTicks, long qtyLots, long limitPriceTicks = 0, TriggerSource source = TriggerSource.Mark,
        TimeInForce tif = TimeInForce.Gtc, OrderFlags flags = OrderFlags.None) =>
        Place(nowNs, accountId, instrumentId, clientOrderId, side, type, tif, limitPriceTicks, qtyLots, flags) with
        {
            TriggerPriceTicks = triggerPriceTicks,
            TriggerSource = source,
        };

    /// <summary>A trailing stop on mark: a sell follows the highest mark since placement down by the callback, a buy the lowest up by it.
    /// Exactly one of <paramref name="callbackTicks"/> and <paramref name="callbackBps"/> is positive.</summary>
    public static EngineCommand Trailing(long nowNs, int accountId, int instrumentId, long clientOrderId, Side side, long qtyLots,
        long callbackTicks, long callbackBps = 0, OrderFlags flags = OrderFlags.None) =>
        Place(nowNs, accountId, instrumentId, clientOrderId, side, OrderType.TrailingStopMarket, TimeInForce.Ioc, 0, qtyLots, flags) with
        {
            TriggerSource = TriggerSource.Mark,
            CallbackTicks = callbackTicks,
            CallbackBps = callbackBps,
        };

    public static EngineCommand ChangeParameter(long nowNs, int instrumentId, RiskParameter parameter, long value, long effectiveNs, long reasonCode) => new()
    {
        Kind = CommandKind.SetParameter,
        NowNs = nowNs,
        InstrumentId = instrumentId,
        Parameter = parameter,
        Value = value,
        EffectiveNs = effectiveNs,
        ReasonCode = reasonCode,
    };

    public static EngineCommand MarginMode(long nowNs, int accountId, int instrumentId, bool isolated) => new()
    {
        Kind = CommandKind.SetMarginMode,
        NowNs = nowNs,
        AccountId = accountId,
        InstrumentId = instrumentId,
        Value = isolated ? 1 : 0,
    };

    public static EngineCommand IsolatedMargin(long nowNs, int accountId, int instrumentId, long amount) => new()
    {
        Kind = CommandKind.AdjustIsolatedMargin,
        NowNs = nowNs,
        AccountId = accountId,
        InstrumentId = instrumentId,
        Value = amount,
    };

    /// <summary>Deposit, Withdraw, SetLeverage or SetFeeTier for an account (instrument 0 where it does not apply).</summary>
    public static EngineCommand Account(CommandKind kind, long nowNs, int accountId, long value, int instrumentId = 0) => new()
    {
        Kind = kind,
        NowNs = nowNs,
        AccountId = accountId,
        InstrumentId = instrumentId,
        Value = value,
    };

    public static EngineCommand Feed(long nowNs, int instrumentId, int sourceId, long priceTicks) => new()
    {
        Kind = CommandKind.PriceFeed,
        NowNs = nowNs,
        InstrumentId = instrumentId,
        SourceId = sourceId,
        PriceTicks = priceTicks,
    };

    /// <summary>A new mark price (from the pricing service): margin, liquidation checks, bands and stop triggers follow it.</summary>
    public static EngineCommand Mark(long nowNs, int instrumentId, long markTicks) => new()
    {
        Kind = CommandKind.SetMarkPrice,
        NowNs = nowNs,
        InstrumentId = instrumentId,
        PriceTicks = markTicks,
    };
}
