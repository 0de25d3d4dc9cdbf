namespace Aivora.Core.Events;

/// <summary>Why a command changed nothing. Stable numeric values: they go on the wire.</summary>
public enum RejectReason : byte
{
    None = 0,
    UnknownInstrument = 1,
    InvalidAccount = 2,
    InvalidSide = 3,
    InvalidOrderType = 4,
    InvalidTimeInForce = 5,
    InvalidSelfTradePrevention = 6,
    InstrumentHalted = 7,
    InstrumentCloseOnly = 8,
    InvalidQuantity = 9,
    QuantityOffLotGrid = 10,
    QuantityBelowMinimum = 11,
    QuantityAboveMaximum = 12,
    InvalidPrice = 13,
    PriceOffTickGrid = 14,
    PriceOutsideBand = 15,
    NoReferencePrice = 16,
    NotionalAboveMaximum = 17,
    InvalidExpiry = 18,
    DuplicateClientOrderId = 19,
    PostOnlyWouldTake = 20,
    ReduceOnlyWouldIncrease = 21,

    /// <summary>No order with that id was ever seen (or it belongs to another account).</summary>
    UnknownOrder = 22,

    /// <summary>The order existed but is already filled, cancelled or expired.</summary>
    OrderNotActive = 23,
    AmendNoChange = 24,
    CapacityOrders = 25,
    CapacityAccounts = 26,
    UnknownCommand = 27,
    InvalidTradingState = 28,

    /// <summary>Risk: equity after the order would not cover initial margin (figures: required, available).</summary>
    InsufficientMargin = 64,

    /// <summary>Risk: the index is stale; only reduce-only orders are accepted.</summary>
    IndexStale = 65,

    /// <summary>Risk: the account's open orders on the instrument are at the limit (figures: limit, count).</summary>
    MaxOpenOrders = 66,

    /// <summary>A stop / take-profit order with no valid trigger (price, source), or without the client order id it is cancelled by.</summary>
    InvalidTrigger = 67,

    /// <summary>The held stop orders are at capacity.</summary>
    CapacityStops = 68,

    /// <summary>A parameter change the venue does not support, or a value outside its range.</summary>
    InvalidParameter = 69,

    /// <summary>Too soon after the last change of the same parameter (figures: earliest allowed time, requested time).</summary>
    ParameterCoolingPeriod = 70,

    /// <summary>The effective time is in the past, or too many changes are already pending.</summary>
    InvalidEffectiveTime = 71,

    /// <summary>A price from a feeder that is not authorised for the instrument, or not positive.</summary>
    UnknownPriceSource = 72,

    /// <summary>The margin mode changes only with no position and no open orders on the instrument.</summary>
    PositionOrOrdersOpen = 73,

    /// <summary>Isolated margin can be added to or removed from an open isolated position only.</summary>
    NotIsolated = 74,

    /// <summary>A money amount that is zero, negative where it must be positive, or otherwise unusable.</summary>
    InvalidAmount = 75,

    /// <summary>Leverage above the cap of the position's tier (figures: cap, requested).</summary>
    LeverageAboveTierCap = 76,

    /// <summary>The account's liquidation path is running (waiting for a slice): only reduce-only orders until it ends.</summary>
    AccountInLiquidation = 77,

    /// <summary>The instrument's open interest would pass its cap (figures: the cap, open interest with this order; lots).</summary>
    OpenInterestCap = 78,

    /// <summary>The account's position could pass its cap (figures: the cap, the position the order could make; lots).</summary>
    PositionCap = 79,

    /// <summary>The account would hold more than its allowed share of open interest (figures: the lots the share allows, the position).</summary>
    ConcentrationCap = 80,

    /// <summary>The position could not be liquidated at maintenance within the visible book (figures: the cap from depth, the position).</summary>
    PositionTooLargeForBook = 81,

    // Session and gateway codes (96 and up): the gateway answers these before a command reaches the
    // state machine. They live here so the engine's enum stays the one list the schema mirrors.

    /// <summary>The key's order-entry rate limit was hit (figures: limit per second, orders in the window).</summary>
    RateLimited = 96,

    /// <summary>A request on a session that has not logged on (or whose logon failed).</summary>
    NotLoggedOn = 97,

    /// <summary>The API key's scope does not allow this request.</summary>
    KeyScope = 98,

    /// <summary>An operator's kill switch stops new orders for this account or key.</summary>
    KillSwitch = 99,

    /// <summary>The message names an account other than the session's own (figures: session account, named account).</summary>
    AccountMismatch = 100,

    /// <summary>The bytes are not a valid message of the schema (truncated, wrong schema id or version, absurd group count).</summary>
    MalformedMessage = 101,

    /// <summary>A valid message of the schema that the node does not accept from a client (e.g. an execution report).</summary>
    UnsupportedMessage = 102,

    /// <summary>A field outside the range its type allows on the engine's side (figures: limit, value).</summary>
    FieldOutOfRange = 103,
}
