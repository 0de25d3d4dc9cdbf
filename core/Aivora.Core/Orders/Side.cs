namespace Aivora.Core.Orders;

/// <summary>Order side. Values match the wire encoding (0 buy, 1 sell).</summary>
public enum Side : byte
{
    Buy = 0,
    Sell = 1,
}

public static class SideExtensions
{
    public static Side Opposite(this Side side) => side == Side.Buy ? Side.Sell : Side.Buy;

    public static bool IsValid(this Side side) => side <= Side.Sell;
}
