namespace Aivora.Core.Collections;

/// <summary>
/// Writes every page of a freshly allocated table once, at construction. The OS hands out zero
/// pages lazily and faults on first write; without this the first order to land in a new page of
/// a large table pays a page fault (microseconds) on the hot path.
/// </summary>
public static class Prefault
{
    public static void Touch<T>(T[] array)
        where T : struct
    {
        // Clearing already-zero memory is still a write to every page.
        Array.Clear(array);
    }
}
