using Aivora.Core.Liquidation;
using Aivora.Core.Margin;

namespace Aivora.Core.Risk;

/// <summary>What a stale index gates: new exposure only (reduce-only orders still close positions), or every new order.</summary>
public enum StaleIndexPolicy : byte
{
    CloseOnly = 0,
    Halt = 1,
}

public sealed record RiskLimits
{
    /// <summary>What a stale index allows (never new exposure, never a liquidation).</summary>
    public StaleIndexPolicy StaleIndex { get; init; } = StaleIndexPolicy.CloseOnly;

    /// <summary>Resting orders an account may hold on one instrument.</summary>
    public int MaxOpenOrdersPerInstrument { get; init; } = 200;

    /// <summary>Stop and take-profit orders held outside the book, all accounts together.</summary>
    public int MaxStopOrders { get; init; } = 4_096;

    /// <summary>Minimum time between the effective times of two changes of the same parameter.</summary>
    public long ParameterCoolingNs { get; init; } = 3_600_000_000_000;

    /// <summary>Parameter changes that may wait for their effective time at once.</summary>
    public int MaxPendingParameterChanges { get; init; } = 64;

    /// <summary>Tier tables an operator may switch an instrument to (SetParameter MarginTiers, value = index).</summary>
    public IReadOnlyList<MarginTierTable> TierTables { get; init; } = [];

    /// <summary>Open interest (lots, one side) an instrument may reach; 0: no cap (per instrument after a scheduled change).</summary>
    public long MaxOpenInterestLots { get; init; }

    /// <summary>Lots one account may hold on an instrument; 0: no cap.</summary>
    public long MaxPositionLots { get; init; }

    /// <summary>Share of an instrument's open interest (1e-8) one account may hold; 0: no cap. Applies to positions of at least <see cref="ConcentrationFloorLots"/>.</summary>
    public long MaxOpenInterestShareRate { get; init; }

    /// <summary>Positions below this many lots are never refused for concentration (a young market's first traders hold all of it).</summary>
    public long ConcentrationFloorLots { get; init; } = 1_000;

    /// <summary>Raise <c>ConcentrationWarning</c> when the <see cref="ConcentrationTopAccounts"/> largest holders of an instrument hold more
    /// than this share (1e-8) of all open positions, both sides counted (checked every second of engine time; re-armed below nine tenths of it); 0: off.</summary>
    public long ConcentrationWarningRate { get; init; }

    /// <summary>How many of the largest holders the concentration warning sums (at most 16).</summary>
    public int ConcentrationTopAccounts { get; init; } = 5;

    /// <summary>A position may be at most this share (1e-8) of the opposite visible depth within the maintenance distance of mark
    /// (what its liquidation would sell into); 0: off. Re-measured every second of engine time, moved only by more than a fifth.</summary>
    public long BookDepthCapRate { get; init; }

    /// <summary>The liquidation path's parameters (fund account, clearance fee, slices, cooldown).</summary>
    public LiquidationConfig Liquidation { get; init; } = new();
}
