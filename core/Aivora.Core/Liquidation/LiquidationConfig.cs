using Aivora.Core.Numbers;

namespace Aivora.Core.Liquidation;

/// <summary>
/// Parameters of the liquidation path (see <c>PerpStateMachine.Liquidation.cs</c>). Rates are 1e-8 units,
/// money in the settlement asset's smallest unit, times in engine nanoseconds.
/// </summary>
public sealed record LiquidationConfig
{
    /// <summary>The ledger account that is the insurance fund: it receives liquidation fees, takes over
    /// what the book cannot absorb at bankruptcy, and is never liquidated itself (its deficit is deleveraged).
    /// 0: no fund (every takeover goes to auto-deleveraging).</summary>
    public int InsuranceFundAccountId { get; init; } = 999_999_999;

    /// <summary>Clearance fee on the notional of each liquidation fill, capped at the margin left behind the position.</summary>
    public long ClearanceFeeRate { get; init; } = 500_000;   // 0.5%

    /// <summary>A position whose notional at mark is at least this is reduced in slices, with a cooldown between them.</summary>
    public long LargePositionNotional { get; init; } = 1_000_000_000;

    /// <summary>Share of a large position one slice reduces (at least the lots that bring it to the next lower tier, at least one lot).</summary>
    public long SliceRate { get; init; } = 20_000_000;   // 20%

    /// <summary>Engine time between two slices of a large position while its equity stays above the hard floor.</summary>
    public long SliceCooldownNs { get; init; } = 1_000_000_000;

    /// <summary>The hard floor, as a share of maintenance margin: below it no cooldown, the next slice goes at once.</summary>
    public long HardFloorRate { get; init; } = 50_000_000;   // 50%

    /// <summary>Accounts that may wait in a slice cooldown at once; beyond it slices go without a cooldown.</summary>
    public int MaxWaitingPaths { get; init; } = 1_024;

    public void Validate()
    {
        if (InsuranceFundAccountId < 0 || ClearanceFeeRate < 0 || ClearanceFeeRate > FixedPoint.RateScale || LargePositionNotional <= 0 ||
            SliceRate <= 0 || SliceRate > FixedPoint.RateScale || SliceCooldownNs < 0 || HardFloorRate < 0 || HardFloorRate > FixedPoint.RateScale ||
            MaxWaitingPaths < 0)
        {
            throw new ArgumentException($"liquidation config out of range: {this}");
        }
    }
}
