namespace Aivora.Core.Orders;

/// <summary>What happens when an aggressor would trade with a resting order of the same account
/// or the same non-zero STP group. The aggressor's mode decides.</summary>
public enum SelfTradePrevention : byte
{
    /// <summary>The venue default: expire maker.</summary>
    Default = 0,

    /// <summary>Cancel the aggressor's remainder; the resting order stays.</summary>
    ExpireTaker = 1,

    /// <summary>Cancel the resting order; the aggressor keeps matching.</summary>
    ExpireMaker = 2,

    /// <summary>Cancel both.</summary>
    ExpireBoth = 3,

    /// <summary>Decrease both by the smaller remaining quantity; an order left with nothing is cancelled.</summary>
    DecrementAndCancel = 4,

    /// <summary>Self-trades are allowed (for benchmark replays and accounts that opt out).</summary>
    None = 5,
}

public static class SelfTradePreventionExtensions
{
    public static bool IsValid(this SelfTradePrevention mode) => mode <= SelfTradePrevention.None;

    public static SelfTradePrevention Resolve(this SelfTradePrevention mode) =>
        mode == SelfTradePrevention.Default ? SelfTradePrevention.ExpireMaker : mode;
}
