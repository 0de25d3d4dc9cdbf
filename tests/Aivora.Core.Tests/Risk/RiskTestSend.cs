using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Reference;
using Aivora.Core.Exchange;

namespace Aivora.Core.Tests.Risk;

/// <summary>One command through the risk gate, and exactly the events it produced.</summary>
internal static class RiskTestSend
{
    public static List<EngineEvent> Send(PerpStateMachine<RecordingSink> risk, List<EngineEvent> events, EngineCommand c)
    {
        events.Clear();
        risk.Process(in c);
        return [.. events];
    }
}
