namespace Aivora.Core.Orders;

public enum OrderType : byte
{
    Limit = 0,

    /// <summary>An IOC/FOK limit order whose price is the protection price at the band edge:
    /// never an unbounded sweep.</summary>
    Market = 1,
}
