using System.Diagnostics;

namespace Aivora.Gateway;

/// <summary>
/// Nanoseconds since the Unix epoch, read from the monotonic timestamp counter anchored once to the
/// wall clock at start: it never goes backwards (a wall-clock step does not move engine time).
/// Commands are stamped with it when they enter the node; the engine itself reads no clock.
/// </summary>
public sealed class EpochClock
{
    private readonly long _anchorEpochNs = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
    private readonly long _anchorTimestamp = Stopwatch.GetTimestamp();
    private static readonly double s_nsPerTick = 1e9 / Stopwatch.Frequency;

    public long NowNs => At(Stopwatch.GetTimestamp());

    /// <summary>The engine time of a <see cref="Stopwatch.GetTimestamp"/> reading taken in this process (a harness lines its
    /// own timestamps up with the transact times of execution reports without reading the clock again).</summary>
    public long At(long timestamp) => _anchorEpochNs + (long)((timestamp - _anchorTimestamp) * s_nsPerTick);
}
