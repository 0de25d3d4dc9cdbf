namespace Aivora.Core.Orders;

[Flags]
public enum OrderFlags : byte
{
    None = 0,

    /// <summary>Rejected if it would take liquidity on entry.</summary>
    PostOnly = 1,

    /// <summary>With PostOnly: instead of rejecting, re-price one tick behind the opposite touch.</summary>
    PostOnlySlide = 2,

    /// <summary>May only reduce the account's position: checked at every fill through the position keeper.</summary>
    ReduceOnly = 4,

    /// <summary>
    /// Acknowledge without the what-if figures (the liquidation price and ADL quantile the account would have if the order
    /// filled completely): pre-trade risk does not compute them, the largest single part of what it adds to a new order's cost. The
    /// checks, the margin figure and what the order does are the same. For quotes, whose maker has no use for them.
    /// </summary>
    NoWhatIfs = 8,
}

public static class OrderFlagsExtensions
{
    /// <summary>Every flag an order may carry: any other bit is refused (by the engine's shape check, and at the gateway with this bound).</summary>
    public const OrderFlags Defined = OrderFlags.PostOnly | OrderFlags.PostOnlySlide | OrderFlags.ReduceOnly | OrderFlags.NoWhatIfs;
}
