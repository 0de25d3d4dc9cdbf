namespace Aivora.Core.Events;

/// <summary>Why a live order (or an aggressor's remainder) left the book.</summary>
public enum CancelReason : byte
{
    User = 0,
    IocRemainder = 1,
    FillOrKill = 2,
    SelfTradePrevention = 3,
    Expiry = 4,
    MassCancel = 5,

    /// <summary>The remainder could not rest because the side's price levels are all in use.</summary>
    Capacity = 6,

    /// <summary>A reduce-only order could fill no further without increasing or flipping the position.</summary>
    ReduceOnly = 7,

    /// <summary>The session that entered the order ended (logout, silence, lost connection, slow consumer) and asked for cancel-on-disconnect.</summary>
    Disconnect = 8,

    /// <summary>The account's dead-man countdown ran out.</summary>
    DeadManSwitch = 9,

    /// <summary>Cancelled as the first step of the account's liquidation.</summary>
    Liquidation = 10,

    /// <summary>An operator's kill switch cancelled it.</summary>
    KillSwitch = 11,

    /// <summary>A reduce-only order could fill no further without its margin scope's equity at mark falling below zero:
    /// what is left would fill past the account's bankruptcy price (see IPositionKeeper.ReduceOnlyLotsCovered).</summary>
    BankruptcyPrice = 12,
}
