using Aivora.Core.Events;

namespace Aivora.Perf;

/// <summary>
/// Counts like <see cref="CountingSink"/> but declines the acknowledgement's what-if event
/// (<see cref="EventKind.OrderRiskAssessed"/>), so the state machine skips computing it (the liquidation price and ADL quantile
/// each new order would have if it filled completely): what <c>risk</c>'s checks stage and <c>node</c>'s
/// <c>case=without-ack-what-ifs</c> replays run with.
/// </summary>
internal struct NoWhatIfSink : IEngineEventSink
{
    private CountingSink _counts;

    public static bool Wants(EventKind kind) => kind != EventKind.OrderRiskAssessed;

    public void OnEvent(in EngineEvent e) => _counts.OnEvent(in e);
}
