using System.Globalization;

namespace Aivora.Node.Engine;

/// <summary>
/// Signals this process was started with set to be ignored. A shell without job control starts a background job
/// (<c>node &amp;</c> in a script, <c>( node &amp; )</c>) with SIGINT and SIGQUIT ignored, the setting passes to every process it
/// starts, and the runtime keeps it: such a node never sees Ctrl+C or <c>kill -INT</c>, and its registration for SIGINT
/// silently does nothing. The node says so at start instead of leaving an operator's stop unanswered.
/// </summary>
internal static class InheritedSignals
{
    public const int SigInt = 2;

    /// <summary>
    /// Whether <paramref name="signal"/> is ignored in this process (Linux: the <c>SigIgn</c> mask of <c>/proc/self/status</c>,
    /// bit signal - 1). False where that cannot be read.
    /// </summary>
    public static bool IsIgnored(int signal)
    {
        if (!OperatingSystem.IsLinux() || signal is < 1 or > 64)
        {
            return false;
        }

        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("SigIgn:", StringComparison.Ordinal))
                {
                    return ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var mask)
                        && (mask & (1UL << (signal - 1))) != 0;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return false;
    }
}
