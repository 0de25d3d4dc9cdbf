using System.Diagnostics;

namespace Aivora.SystemTests;

/// <summary>
/// The main command with the engine and the load on one core (a one-core machine, or an operator pinning both to the same
/// one): each yields the core when idle, and the run ends on time with every check passing. Two busy-spinning threads on one
/// core made each round trip wait out the scheduler's time slices: the floor's 24,000 ping-pongs alone ran for minutes.
/// </summary>
public sealed class SharedCoreTests
{
    [Fact]
    public void ShouldRunTheWholeDemoWithTheEngineAndTheLoadPinnedToOneCore()
    {
        var started = Stopwatch.GetTimestamp();

        var (exitCode, output, errors) = NodeProcess.Run(["--cpu", "0", "--load-cpu", "0", "--seconds", "2"], setting: null);

        Assert.True(exitCode == 0, $"exit code {exitCode}: {errors}\n{output}");
        // "(pinned together)", or "(this machine has one)" where it has.
        Assert.Matches(@"one core for both \((pinned together|this machine has one)\): each yields it when idle", output);
        // Before its floors, what the wait for this machine's other processes found (quiet at once, after a while, or not
        // within its bound: other tests' processes may share the machine).
        Assert.Matches(@"(?m)^machine: (quiet before measuring \(other processes used [0-9.]+ of a core over [0-9.]+ s\)|quiet after waiting [0-9.]+ s for other processes|still busy after 5 s)", output);
        Assert.Contains("engine thread: pinned to CPU 0; load thread: pinned to CPU 0", output, StringComparison.Ordinal);
        // The one core's stalls, probed once before trading.
        Assert.Matches(@"cores' stalls, same run, before trading \(.*\): CPU 0 \(engine and load\) [0-9,]+ a second \([0-9,]+ over 10 us\), [0-9.]+ % of its time \(([0-9.]+ % waiting for this machine's other tasks, switched out [0-9,]+ times?|this machine's share not seen)\), the longest [0-9,]+ us: every timing", output);
        // Over the trading window, each thread's wait for the other on their one core (and for anything else of this machine).
        Assert.Matches(@"run queue while trading \([0-9.]+ s, .*\): engine thread( \(CPU 0\) switched out [0-9,]+ times?, [0-9.]+ ms waiting \([0-9.]+ % of the window\)|: not seen \(no scheduler statistics for it here\)); load thread( \(CPU 0\) switched out [0-9,]+ times?, [0-9.]+ ms waiting \([0-9.]+ % of the window\)|: not seen \(no scheduler statistics for it here\)): .*; here the two threads share one core, so each also waits while the other has it", output);
        Assert.Contains("shock: fed; account 2002 liquidated on the wire", output, StringComparison.Ordinal);
        // The liquidation and every path of the engine and of the load ran on code compiled before trading: the JIT's own count
        // of what it compiled on each thread (a liquidation's first explanation used to stall the engine 4 ms, and the load's
        // clients' first reading of it 2.7 ms).
        Assert.Contains("JIT while running: nothing on the engine thread (from its start), nothing on the load thread (after its warm-up): every path they took was compiled before", output, StringComparison.Ordinal);
        Assert.Contains("result: ok", output, StringComparison.Ordinal);
        // The node's share of the round trip, beside the client's: its own messages, decode to reply sent and to reports written.
        var inNode = System.Text.RegularExpressions.Regex.Match(output,
            @"  in the node, from decode to its reply sent \(([0-9,]+) order-entry messages after the warm-up\): p50 ([0-9.]+) us, .*; of it decode to reports written \(.*\): p50 ([0-9.]+) us");
        Assert.True(inNode.Success, output);
        Assert.True(long.Parse(inNode.Groups[1].Value.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture) > 1_000, inNode.Value);
        Assert.True(double.Parse(inNode.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture) <= double.Parse(inNode.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture), inNode.Value);
        // Start-up (the JIT profile's second start, the engine compiled before trading) and the floor take about two seconds
        // here, the run two more. Spinning, the floor alone takes its whole 30 s bound (it ran for minutes before it had one).
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(20), $"took {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s");
    }
}
