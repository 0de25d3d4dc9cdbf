using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Aivora.Core.Collections;

/// <summary>
/// A hint to start loading the cache line that holds a location, for a lookup the command will make later: the
/// order-id tables are sized for the configured live-order budget (megabytes), so the slot a key hashes to is
/// rarely in cache, and the load would otherwise stall the lookup. Only a hint: it reads nothing, changes no
/// state, cannot fault (a stale address after the GC moved the array is merely a wasted prefetch), and is a no-op
/// where the instruction set has none.
/// </summary>
internal static class CachePrefetch
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Line<T>(ref T location)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref location));
        }
    }
}
