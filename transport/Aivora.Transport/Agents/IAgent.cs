namespace Aivora.Transport.Agents;

/// <summary>
/// A unit of driver work run in a loop: a duty cycle returns how much it did (0 = idle), which an
/// <see cref="IIdleStrategy"/> turns into spinning, yielding or sleeping.
/// </summary>
public interface IAgent
{
    string RoleName { get; }

    /// <summary>One duty cycle at <paramref name="nowNs"/> (<see cref="Driver.NanoClock"/>); returns the work done.</summary>
    int DoWork(long nowNs);

    /// <summary>Called once, on the agent's own thread, after its last duty cycle.</summary>
    void OnClose();
}

/// <summary>Several agents in one duty cycle, in order (the shared threading modes).</summary>
public sealed class CompositeAgent(params IAgent[] agents) : IAgent
{
    public string RoleName { get; } = string.Join('+', agents.Select(a => a.RoleName));

    public int DoWork(long nowNs)
    {
        int work = 0;
        foreach (var agent in agents) work += agent.DoWork(nowNs);
        return work;
    }

    public void OnClose()
    {
        foreach (var agent in agents) agent.OnClose();
    }
}
