using System.Runtime;

namespace Aivora.Node.Engine;

/// <summary>
/// What the JIT compiled on one thread, by the runtime's own per-thread count: methods, and the time spent compiling them. Take
/// one on the thread before a stretch of work and <see cref="Since"/> after it: each method compiled there is a stall of
/// that thread, as long as its compilation, for the work that first took its path (<see cref="CodePreparation"/>).
/// </summary>
public readonly record struct ThreadCompilations(long Methods, TimeSpan Time)
{
    /// <summary>The counts so far on the calling thread.</summary>
    public static ThreadCompilations OnThisThread() =>
        new(JitInfo.GetCompiledMethodCount(currentThread: true), JitInfo.GetCompilationTime(currentThread: true));

    /// <summary>What the calling thread compiled since <paramref name="start"/> (taken on the same thread).</summary>
    public static ThreadCompilations Since(ThreadCompilations start)
    {
        var now = OnThisThread();
        return new(now.Methods - start.Methods, now.Time - start.Time);
    }

    /// <summary>"nothing", or the methods and the stall they cost.</summary>
    public override string ToString() => Methods == 0 ? "nothing"
        : FormattableString.Invariant($"{Methods:N0} {(Methods == 1 ? "method" : "methods")} ({Time.TotalMilliseconds:N1} ms of stalls)");
}
