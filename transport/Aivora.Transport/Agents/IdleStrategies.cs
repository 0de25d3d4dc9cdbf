namespace Aivora.Transport.Agents;

/// <summary>What an agent's thread does after a duty cycle: nothing when there was work, and a strategy-specific wait when there was none.</summary>
public interface IIdleStrategy
{
    void Idle(int workCount);

    /// <summary>Back to the first (cheapest) idle step.</summary>
    void Reset();
}

/// <summary>Never gives the core away: the lowest latency, a whole core per thread. Use only with a core to spare.</summary>
public sealed class BusySpinIdleStrategy : IIdleStrategy
{
    public void Idle(int workCount)
    {
        if (workCount == 0) Thread.SpinWait(1); // a pause instruction: kinder to a hyper-thread sibling
    }

    public void Reset() { }
}

/// <summary>Yields the core to another ready thread when idle; still busy from the OS's point of view.</summary>
public sealed class YieldingIdleStrategy : IIdleStrategy
{
    public void Idle(int workCount)
    {
        if (workCount == 0) Thread.Yield();
    }

    public void Reset() { }
}

/// <summary>Sleeps a fixed time when idle: cheap on CPU, slow to react (the conductor's choice).</summary>
public sealed class SleepingIdleStrategy(int milliseconds = 1) : IIdleStrategy
{
    public void Idle(int workCount)
    {
        if (workCount == 0) Thread.Sleep(milliseconds);
    }

    public void Reset() { }
}

/// <summary>
/// Spins, then yields, then sleeps for doubling times up to a bound, and starts over on work: quick
/// to react after a burst and cheap when quiet. The default for driver agents that share cores.
/// </summary>
public sealed class BackoffIdleStrategy(int maxSpins = 100, int maxYields = 50, int minSleepMs = 0, int maxSleepMs = 1) : IIdleStrategy
{
    private int _spins, _yields, _sleepMs;

    public void Idle(int workCount)
    {
        if (workCount > 0)
        {
            Reset();
            return;
        }
        if (_spins < maxSpins)
        {
            _spins++;
            Thread.SpinWait(1);
        }
        else if (_yields < maxYields)
        {
            _yields++;
            Thread.Yield();
        }
        else
        {
            Thread.Sleep(Math.Max(_sleepMs, minSleepMs)); // Sleep(0) gives the rest of the time slice away
            _sleepMs = Math.Min(Math.Max(1, _sleepMs * 2), maxSleepMs);
        }
    }

    public void Reset()
    {
        _spins = _yields = _sleepMs = 0;
    }
}
