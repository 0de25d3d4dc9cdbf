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

    public static void Write(ref OrderRejectedEncoder m, scoped OrderRejectedView reject)
    {
        if (reject.RequiredOrLimit == 0 && reject.AvailableOrActual == 0)
        {
            return;
        }

        if (IsMoney(reject.Reason))
        {
            m.RequiredValue(reject.RequiredOrLimit);
            m.AvailableValue(reject.AvailableOrActual);
        }
        else
        {
            m.LimitValue(reject.RequiredOrLimit);
            m.ActualValue(reject.AvailableOrActual);
        }
    }
}
