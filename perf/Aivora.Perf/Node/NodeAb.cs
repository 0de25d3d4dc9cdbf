using System.Reflection;
using System.Runtime.Loader;

namespace Aivora.Perf.Node;

/// <summary>
/// <c>node-ab --against PATH</c>: is this build's state machine faster than another build's, on the node flow? Both run in this
/// one process, pinned wherever it is pinned: the other build's harness (its <c>Aivora.Perf.dll</c>, with its own
/// <c>Aivora.Core</c> and everything else beside it) loads into an assembly load context of its own, so each side runs its own
/// JIT-compiled engine. They replay the same flow (each records it with its own generator, from the same seed) in pairs of
/// passes back to back, in ABBA order, and each pair gives a ratio. This machine's host slows one vCPU at a time, and a phase
/// can change within seconds: passes a fraction of a second apart share it, where separate runs of <c>perf node</c> did not.
/// The median of the pairs' ratios is the answer; the pairs a phase change split sit at the ends and the median drops them.
/// Also says whether the two builds end the flow in the same state (a refactor that should change nothing must say so).
/// <c>--flow order-entry</c> times <c>perf risk</c>'s order-entry flow through the full gate instead (operations/s); <c>--flow book:NAME</c>
/// one of <c>perf book</c>'s shapes through the book alone (operations/s), and with <c>--metric p999</c> its p99.9 instead: each side's
/// figure is then 10^9 over its p99.9 in ns, so the ratio is the other build's p99.9 over this one's (above 1: this tail is shorter).
/// </summary>
public static class NodeAb
{
    public static int Run(string[] args)
    {
        if (AbPairs.Parse("node-ab", args, ["--against", "--metric"], pairs: 20, maxPairs: 1_000, commands: 200_000, out var error, bookFlows: true) is not { } options)
        {
            Console.Error.WriteLine(error);
            return 2;
        }

        var metric = CommandLine.Value(args, "--metric") ?? "throughput";
        if (metric is not ("throughput" or "p999") || (metric == "p999" && options.BookShape is null))
        {
            Console.Error.WriteLine($"node-ab: --metric takes throughput, or p999 with a book:NAME flow, not {metric}{(options.BookShape is null ? $" with --flow {options.Flow}" : "")}");
            return 2;
        }

        var tail = metric == "p999";

        var against = CommandLine.Value(args, "--against");
        if (against is null || !File.Exists(against))
        {
            Console.Error.WriteLine($"node-ab: --against takes the path of another build's Aivora.Perf.dll ({(against is null ? "missing" : "not found: " + against)})");
            return 2;
        }

        Func<(double CommandsPerSec, ulong StateHash)> theirs;
        try
        {
            theirs = LoadTimer(Path.GetFullPath(against), options, tail);
        }
        catch (Exception e) when (e is BadImageFormatException or FileLoadException or MissingMethodException or TargetInvocationException or InvalidCastException or TargetParameterCountException or ArgumentException)
        {
            Console.Error.WriteLine($"node-ab: {against} offers no replay timer this build can call ({e.GetType().Name}: {e.Message})");
            return 2;
        }

        var ours = options.BookShape is { } shape ? Book.BookBenchmark.ReplayTimer(options.Commands, shape, tail)
            : options.Flow == "node" ? NodeBenchmark.ReplayTimer(options.Commands) : Risk.RiskBenchmark.OrderEntryTimer(options.Commands);
        var outcome = AbPairs.Run(options.Pairs, tail ? "operations (at the p99.9 operation's pace)" : options.Unit, "against", () => theirs(), "this", () => ours())!.Value;
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=node-ab flow={options.Flow}{(tail ? " metric=p999" : "")} commands={options.Commands} pairs={options.Pairs} against_commands_per_sec={outcome.ARate:F0} this_commands_per_sec={outcome.BRate:F0}{(tail ? $" against_p999_ns={1e9 / outcome.ARate:F0} this_p999_ns={1e9 / outcome.BRate:F0}" : "")} ratio_median={outcome.RatioMedian:F3} ratio_p25={outcome.RatioP25:F3} ratio_p75={outcome.RatioP75:F3} same_state={(outcome.SameState ? "true" : "false")}"));
        return 0;
    }

    // The other build's NodeBenchmark.ReplayTimer, called through reflection: its types live in its own load context, and
    // only framework types (the delegate, the tuple) cross over.
    private static Func<(double, ulong)> LoadTimer(string path, AbPairs.Options options, bool tail)
    {
        var context = new BuildLoadContext(path);
        var assembly = context.LoadFromAssemblyPath(path);
        var (type, name) = options.BookShape is not null ? ("Aivora.Perf.Book.BookBenchmark", nameof(Book.BookBenchmark.ReplayTimer))
            : options.Flow == "node" ? ("Aivora.Perf.Node.NodeBenchmark", nameof(NodeBenchmark.ReplayTimer))
            : ("Aivora.Perf.Risk.RiskBenchmark", nameof(Risk.RiskBenchmark.OrderEntryTimer));
        var method = assembly.GetType(type)?.GetMethod(name, BindingFlags.Public | BindingFlags.Static) ?? throw new MissingMethodException(type, name);
        object[] arguments = options.BookShape is { } shape ? [options.Commands, shape, tail] : [options.Commands];
        return (Func<(double, ulong)>)method.Invoke(null, arguments)!;
    }

    // Resolves the other build's own assemblies from its directory (framework assemblies come from the default context).
    private sealed class BuildLoadContext(string mainAssemblyPath) : AssemblyLoadContext("node-ab-against")
    {
        private readonly AssemblyDependencyResolver _resolver = new(mainAssemblyPath);

        protected override Assembly? Load(AssemblyName assemblyName) =>
            _resolver.ResolveAssemblyToPath(assemblyName) is { } path ? LoadFromAssemblyPath(path) : null;
    }
}
