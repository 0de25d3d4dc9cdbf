namespace Aivora.Core.Commands;

/// <summary>Parameters an operator may change (values match the wire's Parameter enum).</summary>
public enum RiskParameter : ushort
{
    None = 0,

    /// <summary>Band half-width in basis points around the mark.</summary>
    PriceBandBps = 6,

    /// <summary>1e-8 units; negative is a rebate.</summary>
    MakerFeeRate = 7,

    /// <summary>1e-8 units.</summary>
    TakerFeeRate = 8,

    /// <summary>Funding rate cap per interval, 1e-8 units (the rate is clamped to ± this).</summary>
    FundingRateCap = 9,

    /// <summary>The leverage positions use unless the account chose one (still capped by the tier).</summary>
    MaxLeverage = 11,

    /// <summary>Selects one of the tier tables registered in the risk configuration (Value = its index).</summary>
    MarginTiers = 12,

    MaxOpenOrders = 13,

    /// <summary>Lots of open interest (one side) the instrument may reach; 0: no cap.</summary>
    MaxOpenInterest = 15,

    /// <summary>Lots one account may hold on the instrument; 0: no cap.</summary>
    MaxPosition = 16,

    /// <summary>Share of open interest (1e-8) one account may hold, above <see cref="Risk.RiskLimits.ConcentrationFloorLots"/>; 0: no cap.</summary>
    MaxOpenInterestShare = 17,

    /// <summary>A position may be at most this share (1e-8) of the visible depth within the maintenance distance of mark; 0: off.</summary>
    BookDepthCap = 18,
}
