using System.Runtime.InteropServices;

namespace Aivora.Transport.Native;

/// <summary>
/// Pins the calling thread to one CPU (Linux <c>sched_setaffinity</c> on thread id 0 = the caller).
/// The mask is sized for the CPU index, so machines with more than 64 CPUs work too.
/// </summary>
public static partial class ThreadAffinity
{
    public static bool TryPinCurrentThread(int cpu, out string? error)
    {
        if (!OperatingSystem.IsLinux())
        {
            error = "thread pinning is implemented for Linux only";
            return false;
        }

        if (cpu < 0)
        {
            error = $"cpu {cpu} is not a CPU index";
            return false;
        }

        var words = (cpu / 64) + 1;
        Span<ulong> mask = stackalloc ulong[words];
        mask[cpu / 64] = 1UL << (cpu % 64);
        int rc;
        unsafe
        {
            fixed (ulong* bits = mask)
            {
                rc = Interop.SchedSetAffinity(0, (nuint)(words * sizeof(ulong)), bits);
            }
        }

        error = rc == 0 ? null : $"sched_setaffinity(cpu {cpu}) failed with errno {Marshal.GetLastPInvokeError()}";
        return rc == 0;
    }

    /// <summary>The CPU the caller runs on now, or -1 where unknown.</summary>
    public static int CurrentCpu() => OperatingSystem.IsLinux() ? Interop.SchedGetCpu() : -1;

    private static unsafe partial class Interop
    {
        [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
        internal static partial int SchedSetAffinity(int pid, nuint cpuSetSizeBytes, ulong* mask);

        [LibraryImport("libc", EntryPoint = "sched_getcpu")]
        internal static partial int SchedGetCpu();
    }
}
