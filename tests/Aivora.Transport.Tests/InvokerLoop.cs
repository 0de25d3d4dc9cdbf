using Aivora.Transport.Driver;

namespace Aivora.Transport.Tests;

/// <summary>Drives duty cycles from the test thread until a condition holds or a bound passes (every wait has one).</summary>
internal static class InvokerLoop
{
    /// <summary>Runs <paramref name="driver"/>'s duty cycle, then <paramref name="step"/>, until <paramref name="done"/>; false after <paramref name="seconds"/>.</summary>
    public static bool Until(MediaDriver driver, Func<bool> done, double seconds, Action? step = null) =>
        Until(done, seconds, () =>
        {
            driver.DoWork();
            step?.Invoke();
        });

    /// <summary>Runs <paramref name="step"/> (publications' and subscriptions' own duty cycles, polls) until <paramref name="done"/>; false after <paramref name="seconds"/>.</summary>
    public static bool Until(Func<bool> done, double seconds, Action step)
    {
        long deadline = NanoClock.Now + (long)(seconds * 1e9);
        while (!done())
        {
            if (NanoClock.Now > deadline) return false;
            step();
        }
        return true;
    }
}
