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
/// p99.9 of short operations reads them (`perf book`'s far-prices spells, `p999_repeat` 0.00).
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
    public static StallMeasurement Measure(int cpu, TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(duration), duration, "a measurement takes some time");
        }

        StallMeasurement result = default;
        var probe = new Thread(() =>
        {
            var pinned = cpu >= 0 && ThreadAffinity.TryPinCurrentThread(cpu, out _);
            var clock = new StopwatchClock();
            result = Measure(ref clock, (long)duration.TotalNanoseconds) with { Cpu = cpu, Pinned = pinned };
        })
        { Name = $"stall probe (cpu {cpu})", IsBackground = true };
        probe.Start();
        probe.Join();
        return result;
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
/// <see cref="CoreStalls.LongStallNs"/>), the time they took together and the longest.
/// </summary>
public readonly record struct StallMeasurement(int Cpu, bool Pinned, long DurationNs, long Reads, long Stalls, long LongStalls, long StolenNs, long LongestNs)
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
}
