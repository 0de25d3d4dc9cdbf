namespace Aivora.Core.Instruments;

public enum TradingState : byte
{
    Open = 0,

    /// <summary>Only reduce-only orders are accepted; cancels always are.</summary>
    CloseOnly = 1,

    /// <summary>No new orders or amends; cancels are accepted.</summary>
    Halted = 2,
}
