namespace Aivora.Core.Events;

/// <summary>
/// Receives every outcome of every command, in order. Implemented by structs and used as a
/// constrained generic argument so the JIT specialises and inlines the call: no interface
/// dispatch per event. The event is only valid during the call.
/// </summary>
public interface IEngineEventSink
{
    void OnEvent(in EngineEvent e);
}
