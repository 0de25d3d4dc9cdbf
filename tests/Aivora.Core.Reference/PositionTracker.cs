using Aivora.Core.Matching;
using Aivora.Core.Orders;

namespace Aivora.Core.Reference;

/// <summary>What the reference book asks of positions (the same questions as <see cref="IPositionKeeper"/>).</summary>
public interface IReferencePositions
{
    long Allowance(int accountId, int instrumentId, Side side);

    void OnFill(int accountId, int instrumentId, Side side, long qtyLots);
}

/// <summary>
/// Test double for the risk core's position keeping: a net position per account and instrument,
/// moved by every fill. A reduce-only sell may fill up to a long position, a buy up to a short one.
/// </summary>
public sealed class PositionTracker : IReferencePositions
{
    private readonly Dictionary<(int, int), long> _positions = [];

    public long Position(int accountId, int instrumentId) => _positions.GetValueOrDefault((accountId, instrumentId));

    /// <summary>Moves a position from outside the book (a liquidation, a transfer): allowances change under resting orders.</summary>
    public void Adjust(int accountId, int instrumentId, long deltaLots) =>
        _positions[(accountId, instrumentId)] = Position(accountId, instrumentId) + deltaLots;

    public long Allowance(int accountId, int instrumentId, Side side)
    {
        var position = Position(accountId, instrumentId);
        return side == Side.Sell ? Math.Max(0, position) : Math.Max(0, -position);
    }

    public void OnFill(int accountId, int instrumentId, Side side, long qtyLots) =>
        Adjust(accountId, instrumentId, side == Side.Buy ? qtyLots : -qtyLots);

    public long SumOfPositions(int instrumentId) => _positions.Where(p => p.Key.Item2 == instrumentId).Sum(p => p.Value);
}

/// <summary>Adapter that lets the engine use a <see cref="PositionTracker"/> as its position keeper.</summary>
public readonly struct TrackedPositions(PositionTracker tracker) : IPositionKeeper
{
    public PositionTracker Tracker => tracker;

    public long ReduceOnlyAllowance(int accountId, int instrumentId, Side side) => tracker.Allowance(accountId, instrumentId, side);

    public long ReduceOnlyLotsCovered(int accountId, int instrumentId, Side side, long priceTicks, bool isMaker) => long.MaxValue;   // no money here

    public void OnFill(int accountId, int instrumentId, Side side, long priceTicks, long qtyLots, bool isMaker) => tracker.OnFill(accountId, instrumentId, side, qtyLots);
}
