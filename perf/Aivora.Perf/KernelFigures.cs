using System.Globalization;

namespace Aivora.Perf;

/// <summary>
/// The kernel's per-thread scheduling figures on a RESULT line (run-queue waits, switches out: <c>Aivora.Node.Load.ThreadScheduling</c>):
/// the figure, or <c>unseen</c> where the kernel keeps none for the thread (not Linux, no schedstat), so a missing figure is
/// never printed as a zero.
/// </summary>
internal static class KernelFigures
{
    internal static string OrUnseen(long? figure) => figure?.ToString(CultureInfo.InvariantCulture) ?? "unseen";

    internal static string OrUnseen(double? figure, string format) => figure?.ToString(format, CultureInfo.InvariantCulture) ?? "unseen";
}
