using System.Diagnostics;
using Aivora.Transport.Native;

namespace Aivora.Node.Load;

/// <summary>
/// The other floor the node's figures are read against, beside <see cref="RawUdpFloor"/>: what a core takes from a thread
/// that never gives it up. One thread, pinned to the core, reads the clock in a tight loop for a while; a gap between two
/// reads longer than <see cref="StallNs"/> is time it did not run (an interrupt, the hypervisor running something else on
/// the vCPU, a page of its own code or stack brought back): a stall. A stall lands in whatever runs on the core then, so
/// every operation timed there can read one: how often they come and how long they last is the floor under any p99 or
/// p99.9 measured on that core, whatever the code.
/// <code>
///   clock reads:  |·|·|·|·|·|·|·|·|··········(stall: gap > 2 us)··········|·|·|·|·|·|·|
///                 a read every ~20-30 ns                                    the loop again
///   stolen = the stalls' gaps, summed; stalls and long stalls (> 10 us) counted; the longest kept
/// </code>
/// On this VM (2026-12-04, 3 s on each core): 1,500-2,100 stalls a second, about 1,300 of them long (15-35 us, one about
/// every millisecond), 2.6-4.2 % of the core's time, with no context switch in the guest and at no rate of its own
/// interrupts (its tick is 250 Hz): the host's. An operation of 150 ns then has about one chance in 4,000 of carrying
/// one, a sweep of 1 us one in 600: inside a p99.9's 1 in 1,000, but not by much; in a phase where they come faster, the
/// p99.9 of short operations reads them (`perf book`'s far-prices spells, `p999_repeat` 0.00). The long ones of a
/// millisecond and more are this machine's own: with both cores busy (as when the node trades, and with
/// <see cref="MeasureTogether"/>), the kernel's DAMON thread takes one of them for 1.8-3.4 ms about twice a second
/// (2026-12-05, seen with <c>perf sched</c>), and the probe's run-queue wait (<see cref="StallMeasurement.WaitedNs"/>) counts it.
/// </summary>
public static class CoreStalls
{
    /// <summary>A gap between two clock reads longer than this is a stall (the loop reads the clock every few tens of ns).</summary>
    public const long StallNs = 2_000;

    /// <summary>A stall longer than this is counted apart as well (a long one).</summary>
    public const long LongStallNs = 10_000;

    /// <summary>
    /// A thread pinned to <paramref name="cpu"/> (-1: not pinned) spins on the clock for <paramref name="duration"/>; the
    /// calling thread waits for it (bounded: the loop ends by the clock, whatever it finds).
    /// </summary>
    public static StallMeasurement Measure(int cpu, TimeSpan duration) => MeasureTogether([cpu], duration)[0];

    /// <summary>
    /// One probe a core, all spinning at once for <paramref name="duration"/>: the cores as busy as when the node trades on
    /// them, so a task of this machine that wants a core must take one of theirs (with one core busy it runs on an idle one).
    /// Each probe also reads its own run-queue wait (<see cref="ThreadScheduling"/>): the part of its stalls this machine's
    /// other tasks took. The calling thread waits for them (bounded: each loop ends by the clock, and the probes wait at most
    /// 5 s for each other to start).
    /// </summary>
    public static StallMeasurement[] MeasureTogether(IReadOnlyList<int> cpus, TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(duration), duration, "a measurement takes some time");
        }

        var results = new StallMeasurement[cpus.Count];
        using var start = new Barrier(cpus.Count);
        var probes = new Thread[cpus.Count];
        for (var k = 0; k < cpus.Count; k++)
        {
            var (index, cpu) = (k, cpus[k]);
            probes[k] = new Thread(() =>
            {
                var pinned = cpu >= 0 && ThreadAffinity.TryPinCurrentThread(cpu, out _);
                using var scheduling = ThreadScheduling.OpenForCurrentThread();
                start.SignalAndWait(TimeSpan.FromSeconds(5));
                var clock = new StopwatchClock();
                var before = scheduling?.Read();
                var m = Measure(ref clock, (long)duration.TotalNanoseconds);
                var waited = SchedulingSample.Between(before, scheduling?.Read());
                results[index] = m with
                {
                    Cpu = cpu,
                    Pinned = pinned,
                    WaitedNs = waited?.WaitedNs ?? -1,
                    SwitchedOut = waited?.TimesRun ?? -1,
                };
            })
            { Name = $"stall probe (cpu {cpu})", IsBackground = true };
        }

        foreach (var probe in probes)
        {
            probe.Start();
        }

        foreach (var probe in probes)
        {
            probe.Join();
        }

        return results;
    }

    /// <summary>The loop itself, on any clock (tests script one): reads it until <paramref name="durationNs"/> have passed since
    /// the first read, and sums the gaps over <see cref="StallNs"/>.</summary>
    internal static StallMeasurement Measure<TClock>(ref TClock clock, long durationNs)
        where TClock : struct, INanosecondClock
    {
        var start = clock.NowNs();
        var last = start;
        long reads = 0, stalls = 0, longStalls = 0, stolen = 0, longest = 0;
        while (true)
        {
            var now = clock.NowNs();
            reads++;
            var gap = now - last;
            last = now;
            if (gap > StallNs)
            {
                stalls++;
                stolen += gap;
                longStalls += gap > LongStallNs ? 1 : 0;
                longest = Math.Max(longest, gap);
            }

            if (now - start >= durationNs)
            {
                return new StallMeasurement(-1, false, now - start, reads, stalls, longStalls, stolen, longest);
            }
        }
    }

    /// <summary>The clock the probe reads: nanoseconds from <see cref="Stopwatch"/> (its ticks are nanoseconds on Linux).</summary>
    private struct StopwatchClock : INanosecondClock
    {
        private static readonly double NsPerTick = 1e9 / Stopwatch.Frequency;

        public long NowNs() => Stopwatch.Frequency == 1_000_000_000 ? Stopwatch.GetTimestamp() : (long)(Stopwatch.GetTimestamp() * NsPerTick);
    }
}

/// <summary>A clock in nanoseconds, for <see cref="CoreStalls"/>'s loop (a struct: the loop is compiled for it, no call through an interface).</summary>
internal interface INanosecondClock
{
    long NowNs();
}

/// <summary>
/// What one probe saw on one core: <paramref name="Cpu"/> (-1: not pinned) and whether the pin took, how long it spun, how many
/// times it read the clock, how many stalls (gaps over <see cref="CoreStalls.StallNs"/>) and long stalls (over
/// <see cref="CoreStalls.LongStallNs"/>), the time they took together and the longest; and of that time, how much it waited on
/// its run queue while another task of this machine had the core (<paramref name="WaitedNs"/>) and how many times it was
/// switched out (<paramref name="SwitchedOut"/>), both from the kernel's figures for the thread (-1: not seen).
/// </summary>
public readonly record struct StallMeasurement(int Cpu, bool Pinned, long DurationNs, long Reads, long Stalls, long LongStalls, long StolenNs, long LongestNs, long WaitedNs = -1, long SwitchedOut = -1)
{
    /// <summary>
    /// The loop's own pace while it ran (its time less the stalls, a clock read and a compare a turn): how fast the core ran
    /// when it ran. A vCPU slowed without stopping (a busy sibling thread on the host, its frequency) shows no stall but reads
    /// slower here: the machine's phase as no code of ours sets it. On 2026-12-04, 22 runs of this probe on core 1 each just
    /// before a `perf risk --quick --case order-entry` there: 29.5-31.0 ns a read before 7 of the 8 runs whose book alone read
    /// 97-123 ns an order, 26.9-28.1 before 13 of the 14 that read 75-85.
    /// </summary>
    public double NsPerRead => Reads > 0 ? (double)(DurationNs - StolenNs) / Reads : 0;

    public double StallsPerSecond => DurationNs > 0 ? Stalls * 1e9 / DurationNs : 0;

    public double LongStallsPerSecond => DurationNs > 0 ? LongStalls * 1e9 / DurationNs : 0;

    /// <summary>The share of the time the thread did not run (0 to 1).</summary>
    public double StolenShare => DurationNs > 0 ? (double)StolenNs / DurationNs : 0;

    /// <summary>The share of the time it waited for another task of this machine (0 to 1; -1: not seen). The rest of
    /// <see cref="StolenShare"/> the scheduler does not count: the host's, and interrupts' work on the core.</summary>
    public double WaitedShare => WaitedNs < 0 ? -1 : DurationNs > 0 ? (double)WaitedNs / DurationNs : 0;
}
