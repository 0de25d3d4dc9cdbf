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
    public void ShouldCountAsWaitedTheTimeAnotherProbeOnTheSameCoreHadIt()
    {
        // Two probes pinned to one core at once: each runs about half the time, and its stalls are mostly the other's turns,
        // which the kernel counts as the probe's wait on its run queue. (The node probes its two cores at once the same way.)
        var probes = CoreStalls.MeasureTogether([0, 0], TimeSpan.FromMilliseconds(100));

        Assert.Equal(2, probes.Length);
        foreach (var m in probes)
        {
            Assert.Equal(0, m.Cpu);
            Assert.Equal(OperatingSystem.IsLinux(), m.Pinned);
            if (!ThreadSchedulingTests.KernelKeepsThem)
            {
                Assert.Equal(-1, m.WaitedNs);   // not seen, and said so
                continue;
            }

            Assert.True(m.WaitedNs >= 20_000_000, $"waited {m.WaitedNs} ns of {m.DurationNs}");
            Assert.True(m.StolenShare >= 0.2, $"stolen {m.StolenShare:P1}");
            Assert.True(m.SwitchedOut >= 2, $"switched out {m.SwitchedOut} times");
            // A wait is a gap in its clock reads: counted as a stall unless under the threshold.
            Assert.True(m.WaitedNs <= m.StolenNs + (m.SwitchedOut * CoreStalls.StallNs), $"waited {m.WaitedNs} ns, stalls {m.StolenNs} ns");
            Assert.Equal(m.WaitedNs / (double)m.DurationNs, m.WaitedShare, 12);
        }
    }

    [Fact]
    public void ShouldProbeEachCoreOnceWhenProbingThemTogether()
    {
        var probes = CoreStalls.MeasureTogether([1, 0], TimeSpan.FromMilliseconds(20));

        Assert.Equal([1, 0], probes.Select(m => m.Cpu));
        Assert.All(probes, m => Assert.Equal(OperatingSystem.IsLinux(), m.Pinned));
        Assert.All(probes, m => Assert.InRange(m.DurationNs, 20_000_000, 5_000_000_000));
        // Read just before and just after its loop: at most the loop's time (and a wait that fell between a read and the loop).
        Assert.All(probes, m => Assert.InRange(m.WaitedNs, ThreadSchedulingTests.KernelKeepsThem ? 0 : -1, m.DurationNs + 100_000_000));
        Assert.Throws<ArgumentOutOfRangeException>(() => CoreStalls.MeasureTogether([0], TimeSpan.Zero));
    }

    [Fact]
    public void ShouldNameEachCoreByItsRoleInTheNodesLine()
    {
        var engine = new StallMeasurement(1, true, 250_000_000, 10_000_000, 400, 300, 7_500_000, 1_234_000, WaitedNs: 2_500_000, SwitchedOut: 3);
        var load = new StallMeasurement(0, false, 250_000_000, 10_000_000, 0, 0, 0, 0, WaitedNs: 0, SwitchedOut: 1);
        var unseen = new StallMeasurement(1, true, 250_000_000, 10_000_000, 400, 300, 7_500_000, 1_234_000);

        var two = Aivora.Node.Program.StallsLine([engine, load]);
        var one = Aivora.Node.Program.StallsLine([unseen]);

        Assert.Contains("both at once, 0.25 s; a gap over 2 us is time it did not run;", two, StringComparison.Ordinal);
        Assert.Contains("): CPU 1 (engine) 1,600 a second (1,200 over 10 us), 3.0 % of its time (1.00 % waiting for this machine's other tasks, switched out 3 times), the longest 1,234 us; CPU 0 (load, not pinned) 0 a second (0 over 10 us), 0.0 % of its time (0.00 % waiting for this machine's other tasks, switched out 1 time), the longest 0 us: every timing", two, StringComparison.Ordinal);
        Assert.Contains("): CPU 1 (engine and load) 1,600 a second (1,200 over 10 us), 3.0 % of its time (this machine's share not seen), the longest", one, StringComparison.Ordinal);
    }

    [Fact]
    public void ShouldSayHowLongEachPinnedThreadWaitedOverTheTradingWindow()
    {
        var engine = new SchedulingSample(3_900_000_000, 21_600_000, 9);
        var load = new SchedulingSample(3_990_000_000, 6_200_000, 12);

        var line = Aivora.Node.Program.RunQueueLine(engine, load, windowNs: 4_000_000_000, engineCpu: 1, loadCpu: 0);
        var unseen = Aivora.Node.Program.RunQueueLine(engine, null, windowNs: 4_000_000_000, engineCpu: 1, loadCpu: -1);
        var shared = Aivora.Node.Program.RunQueueLine(engine, load, windowNs: 4_000_000_000, engineCpu: 0, loadCpu: 0);
        var none = Aivora.Node.Program.RunQueueLine(engine, load, windowNs: 0, engineCpu: 1, loadCpu: 0);

        Assert.StartsWith("run queue while trading (4.0 s, the gc line's window; from the kernel's figures for each thread): engine thread (CPU 1) switched out 9 times, 21.6 ms waiting (0.54 % of the window); load thread (CPU 0) switched out 12 times, 6.2 ms waiting (0.16 % of the window): time another task", line, StringComparison.Ordinal);
        Assert.DoesNotContain("share one core", line, StringComparison.Ordinal);
        Assert.Contains("engine thread (CPU 1) switched out 9 times, 21.6 ms waiting (0.54 % of the window); load thread: not seen (no scheduler statistics for it here):", unseen, StringComparison.Ordinal);
        Assert.EndsWith("; here the two threads share one core, so each also waits while the other has it", shared, StringComparison.Ordinal);
        Assert.StartsWith("run queue while trading: no trading window to measure", none, StringComparison.Ordinal);
    }
}
