using Aivora.Node.Load;

namespace Aivora.SystemTests;

/// <summary>
/// The wait for a quiet machine before the node measures its floors (<see cref="MachineQuiet"/>): the kernel's lines read
/// exactly and anything else refused, other processes' share worked out from the ticks, the busiest named even when it ended
/// during the wait, the node's line for each outcome, and a real wait that ends within its bound with figures that hold
/// together. One spinning process at most, for a second.
/// </summary>
public sealed class MachineQuietTests
{
    [Fact]
    public void ShouldReadTheAggregateCpuLineAsBusyAndTotalTicks()
    {
        // user nice system idle iowait irq softirq steal guest guest_nice
        Assert.True(MachineQuiet.TryParseCpuLine("cpu  2079768 5 650410 2429561 1577 7 49658 3 0 0", out var busy, out var total));

        Assert.Equal(2079768 + 5 + 650410 + 7 + 49658 + 3, busy);
        Assert.Equal(2079768 + 5 + 650410 + 2429561 + 1577 + 7 + 49658 + 3, total);
    }

    [Theory]
    [InlineData("cpu0 2079768 0 650410 2429561 1577 0 49658 0 0 0")]   // one core's line, not the machine's
    [InlineData("cpu  2079768 0 650410 2429561 1577 0 49658")]          // too short
    [InlineData("cpu  2079768 0 650410 x 1577 0 49658 0 0 0")]
    [InlineData("cpu  2079768 0 -650410 2429561 1577 0 49658 0 0 0")]
    [InlineData("")]
    public void ShouldRefuseAnyOtherCpuLine(string line) =>
        Assert.False(MachineQuiet.TryParseCpuLine(line, out _, out _));

    [Fact]
    public void ShouldReadAProcessesNameAndTicksCountingFieldsFromTheLastParenthesis()
    {
        // A name may hold spaces and parentheses: utime (here 250) and stime (40) are the 12th and 13th fields after its ')'.
        var line = "17610 (dotnet (run) x) S 1 17610 17610 0 -1 4194560 99 0 0 0 250 40 0 0 20 0 31 0 1234 0 0";

        Assert.True(MachineQuiet.TryParseProcessTicks(line, out var name, out var ticks));

        Assert.Equal("dotnet (run) x", name);
        Assert.Equal(290, ticks);
    }

    [Theory]
    [InlineData("17610 dotnet S 1 17610 17610 0 -1 4194560 99 0 0 0 250 40 0")]   // no parentheses
    [InlineData("17610 (dotnet) S 1 17610 17610 0 -1 4194560 99 0 0 0 250")]      // no stime
    [InlineData("17610 (dotnet) S 1 17610 17610 0 -1 4194560 99 0 0 0 x 40 0")]
    public void ShouldRefuseAnyOtherProcessLine(string line) =>
        Assert.False(MachineQuiet.TryParseProcessTicks(line, out _, out _));

    [Fact]
    public void ShouldCountOtherProcessesBusyTicksInCoresWorthLeavingItsOwnOut()
    {
        // Two cores over a window of 20 ticks each: 40 in all. 30 busy, 10 of them this process's: others used one core's worth.
        var earlier = new MachineQuiet.Ticks(Busy: 1_000, Total: 5_000, Own: 100, Cores: 2);
        var later = new MachineQuiet.Ticks(Busy: 1_030, Total: 5_040, Own: 110, Cores: 2);

        Assert.Equal(1.0, MachineQuiet.OthersCores(earlier, later), 12);
        Assert.Equal(0.0, MachineQuiet.OthersCores(later, later), 12);   // no time passed: nothing to share out
        Assert.Equal(0.0, MachineQuiet.OthersCores(earlier, earlier with { Total = 5_040, Own = 200 }), 12);   // never below none
    }

    [Fact]
    public void ShouldNameTheBusiestEvenIfItEndedAndTakeAReusedPidForANewProcess()
    {
        var used = new Dictionary<int, (string Name, long Ticks)>();
        var first = new Dictionary<int, (string Name, long Ticks)> { [10] = ("dotnet", 1_000), [20] = ("kworker/0:2", 5), [30] = ("sh", 7) };
        var second = new Dictionary<int, (string Name, long Ticks)> { [10] = ("dotnet", 1_019), [20] = ("kworker/0:2", 6), [30] = ("sh", 9) };
        // The busy one ended; pid 30 is now another process, whose 4 ticks are all its own.
        var third = new Dictionary<int, (string Name, long Ticks)> { [20] = ("kworker/0:2", 7), [30] = ("bash", 4) };

        MachineQuiet.Accumulate(used, first, second);
        MachineQuiet.Accumulate(used, second, third);
        var (name, pid, cores) = MachineQuiet.Busiest(used, TimeSpan.FromSeconds(0.2));

        Assert.Equal(("dotnet", 10), (name, pid));
        Assert.Equal(19 / (0.2 * 100), cores, 12);
        Assert.Equal(("bash", 4L), used[30]);   // not sh's 2 ticks and 4 more
        Assert.Equal(2, used[20].Ticks);
        Assert.Equal(("", 0, 0.0), MachineQuiet.Busiest(new Dictionary<int, (string Name, long Ticks)>(), TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void ShouldSayWhatTheWaitFoundInTheNodesLine()
    {
        var limit = TimeSpan.FromSeconds(5);
        var quietAtOnce = new QuietWait(true, TimeSpan.FromSeconds(0.4), 2, 0, 0.03, 0.02, "", 0, 0);
        var quietLater = new QuietWait(true, TimeSpan.FromSeconds(2.0), 10, 8, 0.02, 0.85, "dotnet", 18391, 0.84);
        var busy = new QuietWait(false, TimeSpan.FromSeconds(5.0), 25, 25, 1.02, 0.99, "testhost", 4242, 0.97);

        Assert.Equal("machine: quiet before measuring (other processes used 0.02 of a core over 0.4 s)", MachineQuiet.Describe(quietAtOnce, limit));
        Assert.Equal("machine: quiet after waiting 2.0 s for other processes (they used 0.85 of a core over the wait; the busiest: dotnet, pid 18391, 0.84 of a core); the floors and the run below come after it", MachineQuiet.Describe(quietLater, limit));
        Assert.Equal("machine: still busy after 5 s (other processes used 1.02 of a core in the last 0.2 s; the busiest: testhost, pid 4242, 0.97 of a core): the floors and every figure below share the cores with them", MachineQuiet.Describe(busy, limit));
        Assert.StartsWith("machine: other processes' load not read", MachineQuiet.Describe(null, limit), StringComparison.Ordinal);
    }

    [Fact]
    public void ShouldEndWithinItsBoundWithFiguresThatHoldTogether()
    {
        var limit = TimeSpan.FromSeconds(1);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();

        var wait = MachineQuiet.WaitUntilQuiet(limit);

        var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        if (!OperatingSystem.IsLinux())
        {
            Assert.Null(wait);
            return;
        }

        Assert.NotNull(wait);
        var w = wait.Value;
        Assert.True(elapsed < limit + TimeSpan.FromSeconds(2), $"took {elapsed.TotalSeconds:F1} s");
        Assert.InRange(w.Windows, 1, 1 + (int)(limit / MachineQuiet.Window));
        Assert.InRange(w.BusyWindows, 0, w.Windows - (w.Quiet ? MachineQuiet.QuietWindowsNeeded : 0));
        Assert.InRange(w.LastWindowCores, 0, Environment.ProcessorCount + 0.5);
        Assert.InRange(w.WholeWaitCores, 0, Environment.ProcessorCount + 0.5);
        // Quiet means the last windows were; busy means the bound was reached. Only a busy window names a busiest.
        Assert.True(w.Quiet ? w.LastWindowCores < MachineQuiet.QuietCores && w.Windows >= 2 : w.Waited >= limit, $"{w}");
        Assert.True(w.BusiestName.Length == 0 || (w.BusiestPid > 0 && w.BusiestCores > 0 && w.BusyWindows > 0), $"{w}");
    }
}
