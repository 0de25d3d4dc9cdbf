namespace Aivora.Core.Events;

/// <summary>
/// Receives every outcome of every command, in order. Implemented by structs and used as a
/// constrained generic argument so the JIT specialises and inlines the call: no interface
/// dispatch per event. The event is only valid during the call.
/// </summary>
public interface IEngineEventSink
{
    /// <summary>
    /// Whether the sink reads events of this kind (by default every kind). The engine neither builds nor sends
    /// the kinds a sink declines (nor computes what only they carry, such as the ack's what-ifs); the state it
    /// reaches is the same either way. For a struct sink the JIT folds the answer: no test at run time.
    /// </summary>
    static virtual bool Wants(EventKind kind) => true;

    void OnEvent(in EngineEvent e);
}

/// <summary>
/// A sink that wants no events: the state alone, as a journal replay that only checks the state hash needs it.
/// </summary>
public readonly struct StateOnlySink : IEngineEventSink
{
    public static bool Wants(EventKind kind) => false;

    public void OnEvent(in EngineEvent e)
    {
    }
}
