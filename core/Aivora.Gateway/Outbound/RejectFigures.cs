using Aivora.Core.Events;
using Aivora.Exchange;
using RejectReason = Aivora.Core.Events.RejectReason;

namespace Aivora.Gateway.Outbound;

/// <summary>
/// Which reject fields carry a reject's figures. Margin rejects fill requiredValue / availableValue
/// (money); limit rejects fill limitValue / actualValue (the bound and the value that broke it, in the
/// bound's own unit: ticks, lots, ticks x lots, orders, leverage). The engine event carries both pairs
/// in Required / Available; <see cref="ExchangeGateway"/> fills them for shape rejects from the engine's
/// own rules (MatchingEngine.TryExplainReject) before the report is written.
/// </summary>
internal static class RejectFigures
{
    public static bool IsMoney(RejectReason reason) => reason is RejectReason.InsufficientMargin or RejectReason.InvalidAmount;

    public static void Write(ref OrderRejectedEncoder m, RejectReason reason, in EngineEvent e)
    {
        if (e.Required == 0 && e.Available == 0)
        {
            return;
        }

        if (IsMoney(reason))
        {
            m.RequiredValue(e.Required);
            m.AvailableValue(e.Available);
        }
        else
        {
            m.LimitValue(e.Required);
            m.ActualValue(e.Available);
        }
    }
}
