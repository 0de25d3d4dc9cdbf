using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Aivora.Perf;

/// <summary>
/// Reads one byte of every 4 KiB page of a replay's input just before the replay is timed, so the timing is of the replay and
/// not of the memory under its input.
/// <para>
/// Why: this machine is a Firecracker guest whose balloon reports free pages to the host (virtio-balloon feature bit 5), and
/// the host taking reported pages back also drops its mappings of pages around them. A live array that nobody freed then
/// comes back cold: the next touch of each of its 4 KiB pages costs ~4 us (a C probe: 140 MB read in 0.4 ms, then in 139 ms
/// right after the same process unmapped 8 MB elsewhere; no page fault in the guest, so `minflt` does not see it). A harness
/// that builds a fresh machine for each pass lets the collector free the machines of the passes before: in `perf node
/// --quick`, 2 of 15 passes found their 140 MB of commands cold (131-144 ms to read, against ~1 ms), and `perf risk`'s
/// full-gate p99 read 4.6-5.0 us in half the runs instead of ~0.7 us: every 29th command (one page of commands) paid ~4.5 us.
/// </para>
/// A page can still go cold while a pass runs (the host's reclaim is not ours to time); this takes out the cold input that
/// building the pass's machine leaves, which is the common case.
/// </summary>
internal static class InputPages
{
    private const int PageBytes = 4096;

    private static long _sink;   // the reads' result goes somewhere, so the JIT keeps them

    /// <summary>Touches every page of <paramref name="input"/> (a read of one byte a page).</summary>
    public static void Touch<T>(T[] input) where T : struct
    {
        var bytes = MemoryMarshal.AsBytes(input.AsSpan());
        long sum = 0;
        for (var i = 0; i < bytes.Length; i += PageBytes)
        {
            sum += bytes[i];
        }

        Volatile.Write(ref _sink, _sink + sum);
    }

    /// <summary>
    /// Writes every page of a fresh output array a timed loop will fill (its per-operation latencies, fills): a read would map the
    /// shared zero page and leave the fault to the loop's first write. Writes the default value: only for an array not written yet.
    /// </summary>
    public static void TouchForWrite<T>(T[] output) where T : struct
    {
        var step = Math.Max(1, PageBytes / Unsafe.SizeOf<T>());
        for (var i = 0; i < output.Length; i += step)
        {
            output[i] = default;
        }
    }
}
