namespace Aivora.Core.Numbers;

/// <summary>Every division in money arithmetic names one of these. "Against the account" means the
/// direction that never lets the exchange create money: fees and margin up, payouts down.</summary>
public enum Rounding : byte
{
    /// <summary>Toward negative infinity (floor).</summary>
    Down = 0,

    /// <summary>Toward positive infinity (ceiling).</summary>
    Up = 1,

    TowardZero = 2,

    AwayFromZero = 3,
}
