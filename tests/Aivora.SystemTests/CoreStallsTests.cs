using Aivora.Node.Load;

namespace Aivora.SystemTests;

/// <summary>
/// The stall probe the node's figures are read against (<see cref="CoreStalls"/>): on a scripted clock it counts exactly the
/// gaps over the threshold, sums them and keeps the longest, and stops at its duration; on the real clock it ends on time
/// with figures that hold together. Nothing here spins for more than a fifth of a second.
/// </summary>
public sealed class CoreStallsTests
{
    /// <summary>Readings 50 ns apart, but for the gaps the test puts after given readings.</summary>
    private struct ScriptedClock(Dictionary<int, long> gapsAfterReading) : INanosecondClock
    {
        private int _reads;
        private long _now;

        public readonly int Reads => _reads;

        public long NowNs()
        {
            var now = _now;
            _now += gapsAfterReading.TryGetValue(_reads, out var gap) ? gap : 50;
            _reads++;
            return now;
        }
    }

    [Fact]
    public void ShouldCountSumAndKeepTheLongestOfTheGapsOverTheThresholdOnly()
    {
        // After reading 3: a 5 us stall; after 10: 20 us (a long one); after 20: exactly the threshold (not a stall); after 30:
        // one nanosecond over it (a stall, not a long one).
        var clock = new ScriptedClock(new() { [3] = 5_000, [10] = 20_000, [20] = CoreStalls.StallNs, [30] = CoreStalls.StallNs + 1 });

        var m = CoreStalls.Measure(ref clock, durationNs: 40_000);

        Assert.Equal(3, m.Stalls);
        Assert.Equal(1, m.LongStalls);
        Assert.Equal(5_000 + 20_000 + CoreStalls.StallNs + 1, m.StolenNs);
        Assert.Equal(20_000, m.LongestNs);
        // It stops at the first reading at or past the duration, and says how long it ran.
        Assert.InRange(m.DurationNs, 40_000, 40_000 + 49);
        Assert.Equal(m.DurationNs, (clock.Reads - 1 - 4) * 50L + 5_000 + 20_000 + CoreStalls.StallNs + CoreStalls.StallNs + 1);
        Assert.Equal(m.StolenNs / (double)m.DurationNs, m.StolenShare, 12);
        Assert.Equal(3e9 / m.DurationNs, m.StallsPerSecond, 6);
        // Every reading after the first counted; the pace is the time between stalls over them (50 ns a reading, but for the
        // gap of exactly the threshold, which is no stall).
        Assert.Equal(clock.Reads - 1, m.Reads);
        Assert.Equal((m.DurationNs - m.StolenNs) / (double)m.Reads, m.NsPerRead, 9);
        Assert.InRange(m.NsPerRead, 50, 50 + ((CoreStalls.StallNs - 50) / (double)m.Reads) + 1e-9);
    }

    [Fact]
    public void ShouldEndOnTimeOnTheRealClockWithFiguresThatHoldTogether()
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();

        var m = CoreStalls.Measure(cpu: -1, TimeSpan.FromMilliseconds(50));

        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        Assert.False(m.Pinned);
        Assert.Equal(-1, m.Cpu);
        Assert.InRange(m.DurationNs, 50_000_000, 5_000_000_000);
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"took {elapsed.TotalMilliseconds:F0} ms");
        Assert.InRange(m.StolenNs, 0, m.DurationNs);
        Assert.InRange(m.LongStalls, 0, m.Stalls);
        Assert.InRange(m.LongestNs, 0, m.StolenNs);
        Assert.True(m.Stalls == 0 || m.LongestNs > CoreStalls.StallNs, $"{m.Stalls} stalls, the longest {m.LongestNs} ns");
        Assert.Throws<ArgumentOutOfRangeException>(() => CoreStalls.Measure(-1, TimeSpan.Zero));
    }

    [Fact]
    public void ShouldPinTheProbeToTheCoreItNames()
    {
        var m = CoreStalls.Measure(cpu: 0, TimeSpan.FromMilliseconds(20));

        Assert.Equal(0, m.Cpu);
        Assert.Equal(OperatingSystem.IsLinux(), m.Pinned);
    }

    [Fact]
    public void ShouldNameEachCoreByItsRoleInTheNodesLine()
    {
        var engine = new StallMeasurement(1, true, 250_000_000, 10_000_000, 400, 300, 7_500_000, 1_234_000);
        var load = new StallMeasurement(0, false, 250_000_000, 10_000_000, 0, 0, 0, 0);

        var two = Aivora.Node.Program.StallsLine([engine, load]);
        var one = Aivora.Node.Program.StallsLine([engine]);

        Assert.Contains("0.25 s a core; a gap over 2 us is time it did not run): CPU 1 (engine) 1,600 a second (1,200 over 10 us), 3.0 % of its time, the longest 1,234 us; CPU 0 (load, not pinned) 0 a second (0 over 10 us), 0.0 % of its time, the longest 0 us: every timing", two, StringComparison.Ordinal);
        Assert.Contains("): CPU 1 (engine and load) 1,600 a second", one, StringComparison.Ordinal);
    }
}
