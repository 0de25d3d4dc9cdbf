namespace Aivora.Core.Commands;

public enum CommandKind : byte
{
    None = 0,
    PlaceOrder = 1,
    CancelOrder = 2,
    AmendOrder = 3,
    MassCancel = 4,
    SetTradingState = 5,
    SetReferencePrice = 6,

    /// <summary>Moves engine time forward only (expires GTD orders); a timer tick from the node.</summary>
    AdvanceTime = 7,

    /// <summary>Decreases an order's remaining quantity in place (keeps priority); at zero it is cancelled.</summary>
    ReduceOrder = 8,

    /// <summary>A new mark price; handled by the risk layer (the bare engine rejects it as unknown).</summary>
    SetMarkPrice = 9,

    /// <summary>An operator's parameter change with an effective engine time and a reason (risk layer).</summary>
    SetParameter = 10,

    /// <summary>A price from an authorised feeder (risk layer): input to the index.</summary>
    PriceFeed = 11,

    /// <summary>Cross or isolated margin for an account's position on one instrument (Value 1 = isolated).</summary>
    SetMarginMode = 12,

    /// <summary>Money into (Value positive) or out of (negative) an isolated position's wallet.</summary>
    AdjustIsolatedMargin = 13,

    /// <summary>Money into an account (Value, positive), e.g. a confirmed on-chain deposit.</summary>
    Deposit = 14,

    /// <summary>Money out of an account (Value, positive); refused below initial margin, with the figures.</summary>
    Withdraw = 15,

    /// <summary>The account's leverage on one instrument (Value), within the tier cap.</summary>
    SetLeverage = 16,

    /// <summary>The account's fee tier (Value), an operator decision.</summary>
    SetFeeTier = 17,
}
