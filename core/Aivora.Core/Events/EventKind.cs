namespace Aivora.Core.Events;

public enum EventKind : byte
{
    None = 0,

    /// <summary>OrderId, ClientOrderId, AccountId, InstrumentId, Side, PriceTicks (effective limit), QtyLots.</summary>
    OrderAccepted = 1,

    /// <summary>Command (in Reason2), Reason, ClientOrderId, OrderId (as given), AccountId, InstrumentId; risk rejects add Required and Available.</summary>
    OrderRejected = 2,

    /// <summary>TradeId, InstrumentId, PriceTicks (the maker's), QtyLots, Side (aggressor), OrderId/AccountId/ClientOrderId (taker),
    /// OtherOrderId/OtherAccountId/OtherClientOrderId (maker), RemainingLots (taker after), OtherRemainingLots (maker after),
    /// Required (the taker's filled lots so far, this fill included), Available (the maker's): <see cref="TradeView"/> names them.
    /// It is also the maker's L3 event: the resting order OtherOrderId, on the side opposite Side at PriceTicks, now has
    /// OtherRemainingLots resting, and at 0 it is off the book. No <see cref="BookOrderChanged"/> or <see cref="BookOrderRemoved"/>
    /// follows a fill (as an exchange's order-by-order feed applies an execution to the order it names).</summary>
    Trade = 3,

    /// <summary>OrderId, ClientOrderId, AccountId, InstrumentId, Side, PriceTicks, QtyLots (cancelled), RemainingLots (0), Reason.</summary>
    OrderCancelled = 4,

    /// <summary>OrderId, ClientOrderId, AccountId, InstrumentId, Side, PriceTicks (new), QtyLots (new total), RemainingLots, Flag (kept priority).</summary>
    OrderAmended = 5,

    /// <summary>OrderId, ClientOrderId, AccountId, InstrumentId, Side, PriceTicks, QtyLots (expired remainder).</summary>
    OrderExpired = 6,

    /// <summary>OrderId/AccountId (taker), OtherOrderId/OtherAccountId (maker), QtyLots (would-be trade), Reason (mode).</summary>
    SelfTradePrevented = 7,

    /// <summary>L2: InstrumentId, Side, PriceTicks, QtyLots (level total), Count (orders).</summary>
    LevelChanged = 8,

    /// <summary>L3: InstrumentId, OrderId, Side, PriceTicks, QtyLots (resting).</summary>
    BookOrderAdded = 9,

    /// <summary>L3: InstrumentId, OrderId, Side, PriceTicks, QtyLots (new resting, kept place). Not after a fill: the
    /// <see cref="Trade"/> says what its maker has left.</summary>
    BookOrderChanged = 10,

    /// <summary>L3: InstrumentId, OrderId, Side, PriceTicks. Not after a fill that took the whole order: the <see cref="Trade"/>
    /// says so (its maker has 0 left).</summary>
    BookOrderRemoved = 11,

    /// <summary>AccountId (0 all), InstrumentId (0 all), Reason (side filter), Count (orders cancelled).</summary>
    MassCancelDone = 12,

    /// <summary>InstrumentId, Reason (new trading state).</summary>
    TradingStateChanged = 13,

    /// <summary>InstrumentId, PriceTicks.</summary>
    ReferencePriceChanged = 14,

    /// <summary>Risk what-if for an order about to enter the book: ClientOrderId, AccountId, InstrumentId,
    /// PriceTicks (the account's liquidation price if the order fills completely, 0 = none),
    /// Required (initial margin the order adds), Available (available margin after it), Count (the ADL quantile if it fills completely),
    /// Flag (the order asked for no what-ifs, OrderFlags.NoWhatIfs: PriceTicks and Count not computed, 0).</summary>
    OrderRiskAssessed = 15,

    /// <summary>A stop / take-profit order is held: OrderId (stop id), ClientOrderId, AccountId, InstrumentId, Side,
    /// PriceTicks (limit, 0 for market), QtyLots, Required (trigger price), Reason (TriggerSource).</summary>
    StopAccepted = 16,

    /// <summary>A held stop was cancelled: OrderId (stop id), ClientOrderId, AccountId, InstrumentId, Reason (CancelReason).</summary>
    StopCancelled = 17,

    /// <summary>A stop fired and now enters as a new order: OrderId (stop id), ClientOrderId, AccountId, InstrumentId,
    /// Required (trigger price), Available (the observed price), Reason (TriggerSource).</summary>
    OrderTriggered = 18,

    /// <summary>InstrumentId, PriceTicks (mark), Count (positions at or past their liquidation price).</summary>
    MarkPriceChanged = 19,

    /// <summary>A parameter change accepted for later: InstrumentId, Count (RiskParameter), QtyLots (current value),
    /// RemainingLots (new value), OtherRemainingLots (effective time), OrderId (reason code).</summary>
    ParameterScheduled = 20,

    /// <summary>A parameter change took effect: fields as ParameterScheduled.</summary>
    ParameterChanged = 21,

    /// <summary>Index and mark of an instrument moved: InstrumentId, PriceTicks (mark), QtyLots (index),
    /// RemainingLots (predicted funding rate, 1e-8), Reason (IndexState), Count (valid index sources).</summary>
    PricesUpdated = 22,

    /// <summary>Funding settled: InstrumentId, PriceTicks (mark), QtyLots (rate, 1e-8), RemainingLots (total paid),
    /// OtherRemainingLots (residue carried), Count (premium samples).</summary>
    FundingSettled = 23,

    /// <summary>AccountId, InstrumentId, Flag (true = isolated).</summary>
    MarginModeChanged = 24,

    /// <summary>AccountId, InstrumentId, QtyLots (amount moved, positive into the wallet), RemainingLots (wallet after).</summary>
    IsolatedMarginAdjusted = 25,

    /// <summary>A deposit or withdrawal: AccountId, QtyLots (amount, negative out), RemainingLots (balance after).</summary>
    BalanceChanged = 26,

    /// <summary>AccountId, InstrumentId, QtyLots (leverage).</summary>
    LeverageChanged = 27,

    /// <summary>AccountId, QtyLots (fee tier).</summary>
    FeeTierChanged = 28,

    /// <summary>One step of a liquidation path (read it through <see cref="LiquidationStepView"/>): AccountId, InstrumentId,
    /// Reason (<see cref="Liquidation.LiquidationStep"/>), Reason2 (index state), Count (tier), Flag (isolated scope),
    /// PriceTicks (mark), OrderId (index), QtyLots (signed position before the step), RemainingLots (scope equity before),
    /// OtherRemainingLots (maintenance margin before), Required (bankruptcy price), Available (fill price),
    /// TradeId (lots filled or transferred), OtherOrderId (fee, or the ADL score for an AutoDeleverage step),
    /// ClientOrderId (insurance-fund delta), OtherAccountId (the ADL counterparty or the fund).</summary>
    LiquidationStep = 29,

    /// <summary>The cap from visible depth moved: InstrumentId, Side (Buy: it caps longs, measured on the bids; Sell: shorts, on the asks),
    /// QtyLots (new cap), OtherRemainingLots (old cap, 0 before the first), RemainingLots (depth within the maintenance distance), PriceTicks (mark).</summary>
    PositionCapChanged = 30,

    /// <summary>Open interest is concentrated: InstrumentId, Count (how many top holders), QtyLots (lots they hold together),
    /// RemainingLots (open interest, one side), Required (the threshold share, 1e-8), Available (their share of all open
    /// positions, both sides counted: held / (2 × open interest), 1e-8),
    /// OtherAccountId (the largest holder), OtherRemainingLots (its lots).</summary>
    ConcentrationWarning = 31,
}
