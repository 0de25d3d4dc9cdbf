namespace Aivora.Core.Pricing;

/// <summary>Health of the index price. Values match the wire's IndexState.</summary>
public enum IndexState : byte
{
    /// <summary>Every configured source is fresh and agrees.</summary>
    Healthy = 0,

    /// <summary>Some sources are silent or outliers, but at least the minimum remain.</summary>
    Degraded = 1,

    /// <summary>Fewer valid sources than the minimum: no new exposure, and never a liquidation.</summary>
    Stale = 2,
}
