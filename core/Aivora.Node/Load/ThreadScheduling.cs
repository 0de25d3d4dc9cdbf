using Microsoft.Win32.SafeHandles;

namespace Aivora.Node.Load;

/// <summary>
/// What the guest's own scheduler did to one thread, from the kernel's per-thread <c>schedstat</c>: how long it ran, how long
/// it waited on its run queue while another task of this machine had its core (a kernel thread, another process, one of ours),
/// and how many times it was put on a core. A thread pinned to a core that it never yields (the engine's, the load's, a stall
/// probe's) waits there only when something else of this machine is given its core: the part of its lost time an operator can
/// take back by isolating the core. The rest of what <see cref="CoreStalls"/> sees the scheduler does not count: the host's
/// time (the guest cannot see it) and interrupts' work on the core.
/// <code>
///   /proc/thread-self/schedstat (opened by the thread itself; the handle keeps naming it, read from any thread):
///   "&lt;ran ns&gt; &lt;waited on the run queue ns&gt; &lt;times put on a core&gt;\n"     e.g. "4012345678 21604221 10\n"
/// </code>
/// On this VM (2026-12-05): with both cores busy, the kernel's DAMON thread (<c>kdamond.0</c>, its 0.5 s sampling) took one of
/// them for 1.8-3.4 ms about twice a second; a single busy core lost nothing to it (it ran on the idle one). Each read is one
/// <c>pread</c> into a buffer held for it: nothing allocated.
/// </summary>
public sealed class ThreadScheduling : IDisposable
{
    private readonly SafeFileHandle _file;
    private readonly byte[] _text = new byte[128];

    private ThreadScheduling(SafeFileHandle file) => _file = file;

    /// <summary>
    /// The calling thread's figures, to read now and later from any thread; null where the kernel keeps none (not Linux, or
    /// built without scheduler statistics) or they cannot be read: the callers then say they were not seen.
    /// </summary>
    public static ThreadScheduling? OpenForCurrentThread()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        SafeFileHandle file;
        try
        {
            file = File.OpenHandle("/proc/thread-self/schedstat", FileMode.Open, FileAccess.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var scheduling = new ThreadScheduling(file);
        if (scheduling.Read() is not null)
        {
            return scheduling;
        }

        scheduling.Dispose();
        return null;
    }

    /// <summary>The thread's figures now; null when they could not be read (the thread has ended, or the text was not the kernel's).</summary>
    public SchedulingSample? Read()
    {
        int length;
        try
        {
            length = RandomAccess.Read(_file, _text, fileOffset: 0);
        }
        catch (IOException)
        {
            return null;
        }

        return TryParse(_text.AsSpan(0, length), out var sample) ? sample : null;
    }

    /// <summary>Three unsigned decimal numbers separated by single spaces, then a newline or the end: anything else is not a sample.</summary>
    internal static bool TryParse(ReadOnlySpan<byte> text, out SchedulingSample sample)
    {
        sample = default;
        Span<long> values = stackalloc long[3];
        var at = 0;
        for (var v = 0; v < 3; v++)
        {
            var start = at;
            long value = 0;
            while (at < text.Length && text[at] is >= (byte)'0' and <= (byte)'9')
            {
                var digit = text[at] - '0';
                if (value > (long.MaxValue - digit) / 10)
                {
                    return false;   // past a long: not the kernel's
                }

                value = (value * 10) + digit;
                at++;
            }

            if (at == start)
            {
                return false;
            }

            values[v] = value;
            var last = v == 2;
            if (at < text.Length && text[at] == (last ? (byte)'\n' : (byte)' '))
            {
                at++;
            }
            else if (!last || at < text.Length)
            {
                return false;
            }
        }

        if (at != text.Length)
        {
            return false;
        }

        sample = new SchedulingSample(values[0], values[1], values[2]);
        return true;
    }

    public void Dispose() => _file.Dispose();
}

/// <summary>
/// One reading of a thread's <c>schedstat</c> (<see cref="ThreadScheduling"/>): nanoseconds it ran, nanoseconds it waited on a run
/// queue (ready, while another task had the core), and the times it was put on a core. Two readings' difference is what
/// happened between them (<see cref="Since"/>, or <see cref="Between"/> for readings that may not have been seen).
/// </summary>
public readonly record struct SchedulingSample(long RanNs, long WaitedNs, long TimesRun)
{
    public SchedulingSample Since(SchedulingSample earlier) =>
        new(RanNs - earlier.RanNs, WaitedNs - earlier.WaitedNs, TimesRun - earlier.TimesRun);

    /// <summary>What happened between two readings (<see cref="ThreadScheduling.Read"/>); null when either was not seen.</summary>
    public static SchedulingSample? Between(SchedulingSample? earlier, SchedulingSample? later) =>
        earlier is { } e && later is { } l ? l.Since(e) : null;
}
