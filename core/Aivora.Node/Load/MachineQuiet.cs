using System.Globalization;

namespace Aivora.Node.Load;

/// <summary>
/// Waits, bounded, until this machine's other processes leave its cores alone, before the node measures its floors (the raw
/// UDP round trip, the cores' stalls) and trades: a floor measured while another process computes on the same cores is that
/// process's, not the machine's. Found with <c>perf sched</c> on 2026-12-05: right after <c>dotnet run</c> built and started
/// the node, the CLI's own runtime recompiled its build's hot methods on a background thread (its tiered compilation worker)
/// at ~95 % of a core for the node's first ~3 s: the stall probe read 14-46 % of the engine core's time waited for it, and the
/// raw UDP floor's p99.9 4 ms.
/// <code>
///   every 200 ms:  /proc/stat "cpu" line    user nice system idle iowait irq softirq steal ...   (clock ticks, all cores)
///                  /proc/self/stat          ... (comm) state ... utime stime ...                  (this process's own ticks)
///   others' busy = (busy ticks of all cores − this process's ticks) / the window's ticks  →  cores' worth, e.g. 0.95
///   quiet: under <see cref="QuietCores"/> of a core in two windows in a row; the busiest other process named from /proc/[pid]/stat
/// </code>
/// Cold: before anything spins, on the main thread, a few small files a window.
/// </summary>
public static class MachineQuiet
{
    /// <summary>Other processes using less than this much of one core in a window is quiet (the kernel's own threads and a
    /// sandbox's agent use a few percent).</summary>
    public const double QuietCores = 0.10;

    /// <summary>The kernel's clock ticks a second in <c>/proc</c>'s figures (<c>USER_HZ</c>: 100 on Linux).</summary>
    private const double TicksPerSecond = 100;

    /// <summary>Quiet windows in a row that end the wait: one alone can fall in a lull of a process that is not done (a
    /// runtime's background JIT pauses between batches).</summary>
    public const int QuietWindowsNeeded = 2;

    /// <summary>One window of the wait.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Reads the machine in windows of <see cref="Window"/> until <see cref="QuietWindowsNeeded"/> in a row are quiet or
    /// <paramref name="max"/> has passed; null where there is no <c>/proc/stat</c> (not Linux): nothing to wait for that can
    /// be seen.
    /// </summary>
    public static QuietWait? WaitUntilQuiet(TimeSpan max)
    {
        if (!TryReadTicks(out var start) || !TryReadProcesses(out var listed))
        {
            return null;
        }

        // Each process's ticks are summed window by window, so one that used a core and ended during the wait (as the
        // process that kept the machine busy usually has, by the time it is quiet) is still named.
        var used = new Dictionary<int, (string Name, long Ticks)>();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var previous = start;
        var (windows, busyWindows, quietInARow) = (0, 0, 0);
        while (true)
        {
            Thread.Sleep(Window);
            if (!TryReadTicks(out var now))
            {
                return null;
            }

            windows++;
            var others = OthersCores(previous, now);
            var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(started);
            quietInARow = others < QuietCores ? quietInARow + 1 : 0;
            if (others >= QuietCores)
            {
                busyWindows++;
                if (TryReadProcesses(out var relisted))
                {
                    Accumulate(used, listed, relisted);
                    listed = relisted;
                }
            }

            if (quietInARow >= QuietWindowsNeeded || elapsed >= max)
            {
                var (name, pid, cores) = Busiest(used, elapsed);
                return new QuietWait(quietInARow >= QuietWindowsNeeded, elapsed, windows, busyWindows, others, OthersCores(start, now), name, pid, cores);
            }

            previous = now;
        }
    }

    /// <summary>What a wait found (null: nothing to read it from), for the line printed before measuring.</summary>
    public static string Describe(QuietWait? wait, TimeSpan limit)
    {
        if (wait is not { } w)
        {
            return "machine: other processes' load not read (no /proc/stat here): the floors below may share the cores with them";
        }

        var busiest = w.BusiestName.Length == 0 ? "" : FormattableString.Invariant($"; the busiest: {w.BusiestName}, pid {w.BusiestPid}, {w.BusiestCores:0.00} of a core");
        return w.Quiet && w.BusyWindows == 0
            ? FormattableString.Invariant($"machine: quiet before measuring (other processes used {w.WholeWaitCores:0.00} of a core over {w.Waited.TotalSeconds:0.0} s)")
            : w.Quiet
                ? FormattableString.Invariant($"machine: quiet after waiting {w.Waited.TotalSeconds:0.0} s for other processes (they used {w.WholeWaitCores:0.00} of a core over the wait{busiest}); the floors and the run below come after it")
                : FormattableString.Invariant($"machine: still busy after {limit.TotalSeconds:0} s (other processes used {w.LastWindowCores:0.00} of a core in the last {Window.TotalSeconds:0.0} s{busiest}): the floors and every figure below share the cores with them");
    }

    /// <summary>The ticks of every core and of this process at one moment (clock ticks: <c>USER_HZ</c>, 100 a second), and how
    /// many cores the machine has (its <c>cpuN</c> lines: all of them, whatever this process's affinity).</summary>
    internal readonly record struct Ticks(long Busy, long Total, long Own, int Cores);

    /// <summary>What other processes used between two readings, in cores' worth (0: none; 1: one core all the time).</summary>
    internal static double OthersCores(Ticks earlier, Ticks later)
    {
        // Total sums every core's ticks: over a window of W ticks a core, total = cores × W, and others' cores' worth is
        // others / W = others × cores / total.
        var total = later.Total - earlier.Total;
        if (total <= 0)
        {
            return 0;
        }

        var others = Math.Max(0, (later.Busy - earlier.Busy) - (later.Own - earlier.Own));
        return others * (double)later.Cores / total;
    }

    private static bool TryReadTicks(out Ticks ticks)
    {
        ticks = default;
        try
        {
            var lines = File.ReadAllLines("/proc/stat");
            var self = File.ReadAllText("/proc/self/stat");
            var cores = lines.Count(l => l.Length > 3 && l.StartsWith("cpu", StringComparison.Ordinal) && char.IsAsciiDigit(l[3]));
            if (lines.Length == 0 || cores == 0 || !TryParseCpuLine(lines[0], out var busy, out var total) || !TryParseProcessTicks(self, out _, out var own))
            {
                return false;
            }

            ticks = new Ticks(busy, total, own, cores);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// The aggregate line of <c>/proc/stat</c>: "cpu  user nice system idle iowait irq softirq steal guest guest_nice" in clock
    /// ticks. Busy is all but idle and iowait (guest time is already inside user and nice); total is all of the first eight.
    /// </summary>
    internal static bool TryParseCpuLine(string line, out long busy, out long total)
    {
        busy = total = 0;
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 9 || fields[0] != "cpu")
        {
            return false;
        }

        for (var k = 1; k <= 8; k++)
        {
            if (!long.TryParse(fields[k], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return false;
            }

            total += value;
            busy += k is 4 or 5 ? 0 : value;   // idle, iowait
        }

        return true;
    }

    /// <summary>
    /// A process's name and its user and system ticks from its <c>/proc/[pid]/stat</c> line: "pid (comm) state ppid ... utime
    /// stime ..." where comm may hold spaces and parentheses, so the fields are counted from its last ')': utime is the 12th
    /// after it, stime the 13th.
    /// </summary>
    internal static bool TryParseProcessTicks(string line, out string name, out long ticks)
    {
        name = "";
        ticks = 0;
        var open = line.IndexOf('(');
        var close = line.LastIndexOf(')');
        if (open < 0 || close < open)
        {
            return false;
        }

        var rest = line[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length < 13
            || !long.TryParse(rest[11], NumberStyles.None, CultureInfo.InvariantCulture, out var user)
            || !long.TryParse(rest[12], NumberStyles.None, CultureInfo.InvariantCulture, out var system))
        {
            return false;
        }

        name = line[(open + 1)..close];
        ticks = user + system;
        return true;
    }

    private static bool TryReadProcesses(out Dictionary<int, (string Name, long Ticks)> processes)
    {
        processes = [];
        string[] entries;
        try
        {
            entries = Directory.GetDirectories("/proc");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        var self = Environment.ProcessId;
        foreach (var entry in entries)
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == self)
            {
                continue;
            }

            try
            {
                if (TryParseProcessTicks(File.ReadAllText(Path.Combine(entry, "stat")), out var name, out var ticks))
                {
                    processes[pid] = (name, ticks);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // It ended between the listing and the read: not the busiest.
            }
        }

        return true;
    }

    /// <summary>Adds what each process used between two listings to <paramref name="used"/> (a pid whose name changed is a new
    /// process: all its ticks are new).</summary>
    internal static void Accumulate(Dictionary<int, (string Name, long Ticks)> used,
        IReadOnlyDictionary<int, (string Name, long Ticks)> before, IReadOnlyDictionary<int, (string Name, long Ticks)> after)
    {
        foreach (var (pid, now) in after)
        {
            var delta = now.Ticks - (before.TryGetValue(pid, out var then) && then.Name == now.Name ? then.Ticks : 0);
            if (delta > 0)
            {
                used[pid] = (now.Name, (used.TryGetValue(pid, out var sum) && sum.Name == now.Name ? sum.Ticks : 0) + delta);
            }
        }
    }

    /// <summary>The process that used the most (<see cref="Accumulate"/>), in cores' worth over <paramref name="elapsed"/>;
    /// empty when none used any.</summary>
    internal static (string Name, int Pid, double Cores) Busiest(IReadOnlyDictionary<int, (string Name, long Ticks)> used, TimeSpan elapsed)
    {
        var (name, pid, most) = ("", 0, 0L);
        foreach (var (p, sum) in used)
        {
            if (sum.Ticks > most || (sum.Ticks == most && most > 0 && p < pid))
            {
                (name, pid, most) = (sum.Name, p, sum.Ticks);
            }
        }

        return (name, pid, elapsed > TimeSpan.Zero ? most / (elapsed.TotalSeconds * TicksPerSecond) : 0);
    }
}

/// <summary>
/// How <see cref="MachineQuiet.WaitUntilQuiet"/> went: whether enough windows in a row were quiet before the bound, how long
/// it waited, in how many windows and how many of them busy, what other processes used in the last window and over the whole
/// wait (cores' worth), and the busiest other process in the busy windows (its name and pid, and its cores' worth over the
/// wait; empty when none was busy).
/// </summary>
public readonly record struct QuietWait(bool Quiet, TimeSpan Waited, int Windows, int BusyWindows, double LastWindowCores, double WholeWaitCores, string BusiestName, int BusiestPid, double BusiestCores);
