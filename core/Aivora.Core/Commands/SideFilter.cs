namespace Aivora.Core.Commands;

/// <summary>Which sides a mass cancel touches.</summary>
public enum SideFilter : byte
{
    Buy = 0,
    Sell = 1,
    Both = 2,
}
