namespace Aivora.Core.Orders;

public enum OrderType : byte
{
    Limit = 0,

    /// <summary>An IOC/FOK limit order whose price is the protection price at the band edge:
    /// never an unbounded sweep.</summary>
    Market = 1,

    /// <summary>Held outside the book; at the trigger becomes a market order (buy: price rises to
    /// the trigger; sell: falls to it). Accepted by the risk layer, not by the bare engine.</summary>
    StopMarket = 2,

    /// <summary>As StopMarket, but becomes a limit order at the order's price.</summary>
    StopLimit = 3,

    /// <summary>Held outside the book; at the trigger becomes a market order (buy: price falls to
    /// the trigger; sell: rises to it).</summary>
    TakeProfitMarket = 4,

    /// <summary>As TakeProfitMarket, but becomes a limit order at the order's price.</summary>
    TakeProfitLimit = 5,

    /// <summary>A stop on mark whose trigger follows the best mark since placement at a callback distance
    /// (ticks or basis points): a sell fires when mark falls the distance below the highest mark seen, a buy
    /// when it rises the distance above the lowest. Becomes a market order.</summary>
    TrailingStopMarket = 6,
}

/// <summary>Which price a stop or take-profit order watches. Values match the wire.</summary>
public enum TriggerSource : byte
{
    Mark = 0,
    Last = 1,
    Index = 2,
}

public static class OrderTypeExtensions
{
    public static bool IsTriggered(this OrderType type) => type >= OrderType.StopMarket && type <= OrderType.TrailingStopMarket;

    /// <summary>What a triggered order becomes.</summary>
    public static OrderType WhenTriggered(this OrderType type) =>
        type is OrderType.StopLimit or OrderType.TakeProfitLimit ? OrderType.Limit : OrderType.Market;

    /// <summary>True when the order fires as the watched price rises to its trigger (buy stops, sell take-profits).</summary>
    public static bool FiresOnRise(this OrderType type, Side side) =>
        (type is OrderType.StopMarket or OrderType.StopLimit or OrderType.TrailingStopMarket) == (side == Side.Buy);
}
