namespace Aivora.Core.Liquidation;

/// <summary>How the liquidation path's own orders are told apart from a client's.</summary>
public static class LiquidationOrders
{
    /// <summary>
    /// The client order id of every liquidation order: never a client's (the gateway refuses client order ids
    /// above 2^63 − 1, so no client id maps to a negative one). Execution reports show it as 0, with liquidity
    /// <c>Liquidation</c>.
    /// </summary>
    public const long ClientOrderId = long.MinValue;
}
