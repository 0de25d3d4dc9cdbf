using System.Runtime.CompilerServices;
using Aivora.Core.Orders;

namespace Aivora.Core.Exchange;

/// <summary>
/// Which amends pre-trade risk puts through the margin test (<see cref="PerpStateMachine{TSink}"/>): one that raises the
/// order's remaining quantity, or moves its price towards the other side (a buy higher, a sell lower: it may trade now, and
/// any later fill is at a worse price for the account). Not a reduce-only order's, not a cut, not an amend the engine will
/// refuse anyway (nothing left, no price), and not one that only pulls the order back (a buy lower, a sell higher, no more
/// quantity). That one cannot add risk: the open lots the margin counts stay, the order cannot take where it goes (it did
/// not cross where it was), and any fill it gets later is at a better price for the account than before. So an account
/// short of margin, or on an instrument whose index is stale, may still pull its quotes back from the touch. One rule for
/// the gate and for the harness that times amends by it (<c>perf risk</c>'s by-kind lines).
/// </summary>
public static class AmendMarginTest
{
    /// <param name="side">The order's side.</param>
    /// <param name="flags">The order's flags (reduce-only never takes the test).</param>
    /// <param name="priceTicks">The order's price.</param>
    /// <param name="qtyLots">The order's total quantity, what has filled included.</param>
    /// <param name="filledLots">What has filled.</param>
    /// <param name="amendPriceTicks">The amend's price (0: unchanged).</param>
    /// <param name="amendQtyLots">The amend's total quantity (0: unchanged).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Applies(Side side, OrderFlags flags, long priceTicks, long qtyLots, long filledLots, long amendPriceTicks, long amendQtyLots)
    {
        var newPrice = amendPriceTicks == 0 ? priceTicks : amendPriceTicks;
        var newRemaining = (amendQtyLots == 0 ? qtyLots : amendQtyLots) - filledLots;
        var pullsBack = newRemaining <= qtyLots - filledLots && (side == Side.Buy ? newPrice <= priceTicks : newPrice >= priceTicks);
        return (flags & OrderFlags.ReduceOnly) == 0 && newRemaining > 0 && newPrice > 0 && !pullsBack;
    }
}
