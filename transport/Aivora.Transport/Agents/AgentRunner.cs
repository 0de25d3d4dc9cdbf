using Aivora.Transport.Driver;
using Aivora.Transport.Native;

namespace Aivora.Transport.Agents;

/// <summary>
/// Runs one agent on a dedicated thread until disposed: duty cycle, idle strategy, repeat. An
/// exception from the agent stops the loop and is kept for the owner (never lost, never a process
/// crash). Disposal waits a bounded time for the thread to finish.
/// </summary>
public sealed class AgentRunner : IDisposable
{
    private readonly IAgent _agent;
    private readonly IIdleStrategy _idle;
    private readonly Thread _thread;
    private readonly int _cpu;
    private volatile bool _running = true;

    /// <summary>What stopped the agent, if it failed.</summary>
    public Exception? Failure { get; private set; }
    public bool IsRunning => _thread.IsAlive;
    public string RoleName => _agent.RoleName;

    /// <param name="cpu">A CPU to pin the thread to, or -1 to leave it to the OS.</param>
    public AgentRunner(IAgent agent, IIdleStrategy idle, int cpu = -1)
    {
        _agent = agent;
        _idle = idle;
        _cpu = cpu;
        _thread = new Thread(Run) { IsBackground = true, Name = "aivora-" + agent.RoleName };
        _thread.Start();
    }

    private void Run()
    {
        if (_cpu >= 0) ThreadAffinity.TryPinCurrentThread(_cpu, out _);
        try
        {
            while (_running) _idle.Idle(_agent.DoWork(NanoClock.Now));
        }
        catch (Exception e)
        {
            Failure = e;
        }
        finally
        {
            _agent.OnClose();
        }
    }

    /// <summary>Stops the loop and waits up to <paramref name="timeout"/> for the thread; false if it did not finish.</summary>
    public bool Stop(TimeSpan timeout)
    {
        _running = false;
        return _thread.Join(timeout);
    }

    public void Dispose() => Stop(TimeSpan.FromSeconds(5));
}
