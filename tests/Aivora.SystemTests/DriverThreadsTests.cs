namespace Aivora.SystemTests;

/// <summary>
/// The main command with its media driver on threads of its own (`--driver shared`, for machines with cores to spare):
/// the engine thread then hands its replies to the driver's threads and never sees them leave, so its in-node line says
/// "written", not "sent". On two cores the driver's thread competes with the two spinning ones: round trips are slow, and
/// the run still ends with every check passing.
/// </summary>
public sealed class DriverThreadsTests
{
    [Fact]
    public void ShouldSayTheReplyWasOnlyWrittenWhenTheDriverRunsThreadsOfItsOwn()
    {
        var (exitCode, output, errors) = NodeProcess.Run(["--driver", "shared", "--seconds", "1", "--shock-bps", "0"], setting: null);

        Assert.True(exitCode == 0, $"exit code {exitCode}: {errors}\n{output}");
        Assert.Contains("  in the node, from decode to its reply written for the driver's own threads (their send is not seen here) (", output, StringComparison.Ordinal);
        Assert.DoesNotContain("from decode to its reply sent", output, StringComparison.Ordinal);
        // Before its floors, what the wait for this machine's other processes found (quiet at once, after a while, or not
        // within its bound: other tests' processes may share the machine).
        Assert.Matches(@"(?m)^machine: (quiet before measuring \(other processes used [0-9.]+ of a core over [0-9.]+ s\)|quiet after waiting [0-9.]+ s for other processes|still busy after 5 s)", output);
        // Both cores' stalls, probed together before trading: the engine's, then the load's.
        Assert.Matches(@"cores' stalls, same run, before trading \(.*\): CPU [0-9]+ \(engine\) [0-9,]+ a second .*; CPU [0-9]+ \(load\) [0-9,]+ a second .*: every timing", output);
        // And what the two pinned threads waited for while trading (the driver's own threads among what they waited for).
        Assert.Matches(@"run queue while trading \([0-9.]+ s, .*\): engine thread( \(CPU [0-9]+\) switched out [0-9,]+ times?, [0-9.]+ ms waiting \([0-9.]+ % of the window\)|: not seen \(no scheduler statistics for it here\)); load thread( \(CPU [0-9]+\) switched out [0-9,]+ times?, [0-9.]+ ms waiting|: not seen)", output);
        Assert.Contains("result: ok", output, StringComparison.Ordinal);
    }
}
