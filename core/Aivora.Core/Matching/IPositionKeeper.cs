using Aivora.Core.Orders;

namespace Aivora.Core.Matching;

/// <summary>
/// The owner of positions, as the book sees it: it says how much a reduce-only order may still
/// fill and hears every fill as it happens (so the next answer already reflects it). The risk core
/// implements it; a struct constraint lets the JIT inline both calls into the matching loop.
/// </summary>
public interface IPositionKeeper
{
    /// <summary>Lots that an order of <paramref name="side"/> may still fill without increasing or
    /// flipping the account's position (0 when it would only increase it).</summary>
    long ReduceOnlyAllowance(int accountId, int instrumentId, Side side);

    /// <summary>Lots a reduce-only fill of <paramref name="side"/> at <paramref name="priceTicks"/> may take with the
    /// account's margin scope still covering what it costs (its loss against mark and its fee): past that the close would
    /// leave money owed that no position backs, the bankruptcy price. <see cref="long.MaxValue"/> when nothing bounds it.</summary>
    long ReduceOnlyLotsCovered(int accountId, int instrumentId, Side side, long priceTicks, bool isMaker);

    /// <summary>A fill of one side of a trade, taker first, then maker.</summary>
    void OnFill(int accountId, int instrumentId, Side side, long priceTicks, long qtyLots, bool isMaker);
}

/// <summary>No positions: reduce-only orders never have an allowance. For a bare book.</summary>
public struct NoPositions : IPositionKeeper
{
    public readonly long ReduceOnlyAllowance(int accountId, int instrumentId, Side side) => 0;

    public readonly long ReduceOnlyLotsCovered(int accountId, int instrumentId, Side side, long priceTicks, bool isMaker) => long.MaxValue;

    public readonly void OnFill(int accountId, int instrumentId, Side side, long priceTicks, long qtyLots, bool isMaker)
    {
    }
}
