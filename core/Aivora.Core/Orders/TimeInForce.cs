namespace Aivora.Core.Orders;

public enum TimeInForce : byte
{
    /// <summary>Good till cancelled: the remainder rests.</summary>
    Gtc = 0,

    /// <summary>Immediate or cancel: the remainder is cancelled.</summary>
    Ioc = 1,

    /// <summary>Fill or kill: fills entirely or not at all, with no effect on the book.</summary>
    Fok = 2,

    /// <summary>Good till date: rests until engine time reaches the order's expiry.</summary>
    Gtd = 3,
}

public static class TimeInForceExtensions
{
    /// <summary>True when a remainder of this order may rest on the book.</summary>
    public static bool CanRest(this TimeInForce tif) => tif == TimeInForce.Gtc || tif == TimeInForce.Gtd;
}
