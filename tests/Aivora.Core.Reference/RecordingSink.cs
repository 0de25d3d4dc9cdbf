using Aivora.Core.Events;

namespace Aivora.Core.Reference;

/// <summary>Keeps every event in a list (tests only: it allocates as the list grows).</summary>
public readonly struct RecordingSink(List<EngineEvent> events) : IEngineEventSink
{
    public List<EngineEvent> Events => events;

    public void OnEvent(in EngineEvent e) => events.Add(e);
}
