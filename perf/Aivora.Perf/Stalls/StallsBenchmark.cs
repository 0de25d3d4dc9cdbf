using Aivora.Node.Load;

namespace Aivora.Perf.Stalls;

/// <summary>
/// <c>stalls</c>: what each core takes from a thread that never yields it (<see cref="CoreStalls"/>), one core after the other:
/// the floor under every tail figure the other harnesses print for that core, measured when they are (the goal round runs it
/// at its start and end). <c>--cpu N</c> probes one core (a CPU the probe cannot be pinned to is an error, exit 2); by
/// default every CPU the process may run on (its affinity), lowest first; <c>--ms N</c> sets each probe's length (1,000 ms; 250 with <c>--quick</c>);
/// <c>--together</c> probes them all at once instead (every core busy, as in a run that spins on all of them: this machine's own
/// tasks must then take one of them).
/// </summary>
public static class StallsBenchmark
{
    public static int Run(string[] args)
    {
        var quick = args.Contains("--quick");
        if (!CommandLine.TryInt("stalls", args, "--ms", quick ? 250 : 1_000, 10, 600_000, out var ms, out var error)
            || !CommandLine.TryInt("stalls", args, "--cpu", -1, 0, 1_023, out var cpu, out error))
        {
            Console.Error.WriteLine(error);
            return 2;
        }

        var cpus = CommandLine.Value(args, "--cpu") is null ? AllowedCpus() : [cpu];
        var together = args.Contains("--together");
        var measured = together ? CoreStalls.MeasureTogether(cpus, TimeSpan.FromMilliseconds(ms)) : null;
        for (var k = 0; k < cpus.Length; k++)
        {
            var c = cpus[k];
            var m = measured?[k] ?? CoreStalls.Measure(c, TimeSpan.FromMilliseconds(ms));
            if (!m.Pinned)
            {
                // A figure for "CPU c" taken wherever the scheduler put the probe would be no figure of that core.
                Console.Error.WriteLine($"stalls: the probe could not be pinned to CPU {c} (the scheduler refused it: not a CPU this process may run on?)");
                return 2;
            }

            Console.WriteLine(FormattableString.Invariant(
                $"RESULT bench=stalls cpu={c} pinned={(m.Pinned ? "true" : "false")} ms={m.DurationNs / 1e6:F0} stall_ns={CoreStalls.StallNs} stalls_per_sec={m.StallsPerSecond:F0} long_stall_ns={CoreStalls.LongStallNs} long_stalls_per_sec={m.LongStallsPerSecond:F0} stolen_pct={m.StolenShare * 100:F2} longest_us={m.LongestNs / 1000.0:F1} ns_per_read={m.NsPerRead:F1} together={(together ? "true" : "false")} waited_pct={KernelFigures.OrUnseen(m.WaitedNs < 0 ? null : m.WaitedShare * 100, "F2")} switched_out={KernelFigures.OrUnseen(m.SwitchedOut < 0 ? null : m.SwitchedOut)}"));
        }

        Console.WriteLine("# stalls: a pinned thread reading the clock in a tight loop; a gap between reads over stall_ns is time it did not run, summed in stolen_pct: whatever is timed on that core can read them; ns_per_read is the loop's pace between them (how fast the core ran when it ran); waited_pct is the part of the time it waited while another task of this machine had the core (the kernel's count for the thread: isolating the core takes it away; the rest of stolen_pct the scheduler does not see: the host's, and interrupts' work on the core), switched_out how many times; with --together every core is probed at once, as busy as a run that spins on all of them");
        return 0;
    }

    /// <summary>The CPUs this process may run on (its affinity: under <c>taskset -c 1</c>, CPU 1 alone), lowest first.</summary>
    private static int[] AllowedCpus()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsWindows())
        {
            return Enumerable.Range(0, Environment.ProcessorCount).ToArray();
        }

        var mask = (ulong)(long)System.Diagnostics.Process.GetCurrentProcess().ProcessorAffinity;
        var cpus = Enumerable.Range(0, 64).Where(c => (mask & (1UL << c)) != 0).ToArray();
        return cpus.Length > 0 ? cpus : Enumerable.Range(0, Environment.ProcessorCount).ToArray();
    }
}
