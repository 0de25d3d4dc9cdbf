namespace Aivora.Core.Liquidation;

/// <summary>One step of the liquidation path (the schema's LiquidationStep: same names and values).</summary>
public enum LiquidationStep : byte
{
    /// <summary>Equity of the margin scope fell below its maintenance margin, on mark.</summary>
    Triggered = 0,

    /// <summary>The scope's open orders and held stops were cancelled (reason Liquidation).</summary>
    OrdersCancelled = 1,

    /// <summary>An IOC liquidation order took a slice from the book at or better than bankruptcy.</summary>
    PartialReduction = 2,

    /// <summary>The insurance fund took over what the book could not absorb, at the bankruptcy price.</summary>
    InsuranceTakeover = 3,

    /// <summary>An opposite position was reduced against the remainder at the bankruptcy price.</summary>
    AutoDeleverage = 4,

    /// <summary>Reserved: the clearance fee is reported on each PartialReduction.</summary>
    FeeCharged = 5,

    /// <summary>The path ended: the scope is healthy again, or the position is closed. Figures are after.</summary>
    Completed = 6,

    /// <summary>The path waits for its slice cooldown (engine time in Available).</summary>
    Waiting = 7,
}
