using System.Diagnostics;

namespace Aivora.Transport.Driver;

/// <summary>Monotonic nanoseconds for the driver's timers.</summary>
public static class NanoClock
{
    private static readonly double TicksToNs = 1e9 / Stopwatch.Frequency;

    public static long Now => (long)(Stopwatch.GetTimestamp() * TicksToNs);
}
