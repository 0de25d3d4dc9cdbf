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
}
