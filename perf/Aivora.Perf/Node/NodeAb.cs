using System.Globalization;
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
/// <c>--flow order-entry</c> times <c>perf risk</c>'s order-entry flow through the full gate instead (operations/s).
/// </summary>
public static class NodeAb
{
    public static int Run(string[] args)
    {
        string[] valued = ["--against", "--pairs", "--commands", "--flow"];
        var unknown = args.Where((a, k) => !valued.Contains(a) && !(k > 0 && valued.Contains(args[k - 1]))).FirstOrDefault();
        if (unknown is not null)
        {
            Console.Error.WriteLine($"node-ab: unknown option {unknown} (options: --against PATH, --pairs N, --commands N, --flow node|order-entry)");
            return 2;
        }

        if (valued.FirstOrDefault(name => Array.IndexOf(args, name) == args.Length - 1) is { } bare)
        {
            Console.Error.WriteLine($"node-ab: {bare} takes a value");
            return 2;
        }

        var flow = Value(args, "--flow") ?? "node";
        if (flow is not ("node" or "order-entry"))
        {
            Console.Error.WriteLine($"node-ab: --flow takes node (the node's flow through the state machine) or order-entry (perf risk's order-entry flow through the full gate), not {flow}");
            return 2;
        }

        var against = Value(args, "--against");
        if (against is null || !File.Exists(against))
        {
            Console.Error.WriteLine($"node-ab: --against takes the path of another build's Aivora.Perf.dll ({(against is null ? "missing" : "not found: " + against)})");
            return 2;
        }

        var pairs = 20;
        if (Value(args, "--pairs") is { } p && !(int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out pairs) && pairs is >= 1 and <= 1_000))
        {
            Console.Error.WriteLine("node-ab: --pairs takes a count from 1 to 1,000");
            return 2;
        }

        var commands = 200_000;
        if (Value(args, "--commands") is { } c && !(int.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out commands) && commands is >= 10_000 and <= 10_000_000))
        {
            Console.Error.WriteLine("node-ab: --commands takes a count from 10,000 to 10,000,000");
            return 2;
        }

        Func<(double CommandsPerSec, ulong StateHash)> theirs;
        try
        {
            theirs = LoadTimer(Path.GetFullPath(against), flow, commands);
        }
        catch (Exception e) when (e is BadImageFormatException or FileLoadException or MissingMethodException or TargetInvocationException or InvalidCastException)
        {
            Console.Error.WriteLine($"node-ab: {against} offers no replay timer this build can call ({e.GetType().Name}: {e.Message})");
            return 2;
        }

        var ours = flow == "node" ? NodeBenchmark.ReplayTimer(commands) : Risk.RiskBenchmark.OrderEntryTimer(commands);
        var ratios = new double[pairs];
        var oursRate = new double[pairs];
        var theirsRate = new double[pairs];
        ulong ourHash = 0, theirHash = 0;
        for (var k = 0; k < pairs; k++)
        {
            // ABBA: which build runs first alternates, so a drift within a pair weighs on both alike over the pairs.
            (double, ulong) a, b;
            if (k % 2 == 0)
            {
                b = theirs();
                a = ours();
            }
            else
            {
                a = ours();
                b = theirs();
            }

            (oursRate[k], ourHash) = a;
            (theirsRate[k], theirHash) = b;
            ratios[k] = oursRate[k] / theirsRate[k];
            Console.WriteLine(FormattableString.Invariant($"# pair {k + 1}: against {theirsRate[k]:F0} this {oursRate[k]:F0} {(flow == "node" ? "commands" : "operations")}/s, ratio {ratios[k]:F3}"));
        }

        Array.Sort(ratios);
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=node-ab flow={flow} commands={commands} pairs={pairs} against_commands_per_sec={NodeBenchmark.Median(theirsRate):F0} this_commands_per_sec={NodeBenchmark.Median(oursRate):F0} ratio_median={NodeBenchmark.Median(ratios):F3} ratio_p25={ratios[pairs / 4]:F3} ratio_p75={ratios[3 * pairs / 4]:F3} same_state={(ourHash == theirHash ? "true" : "false")}"));
        return 0;
    }

    private static string? Value(string[] args, string name)
    {
        var k = Array.IndexOf(args, name);
        return k >= 0 && k + 1 < args.Length ? args[k + 1] : null;
    }

    // The other build's NodeBenchmark.ReplayTimer, called through reflection: its types live in its own load context, and
    // only framework types (the delegate, the tuple) cross over.
    private static Func<(double, ulong)> LoadTimer(string path, string flow, int commands)
    {
        var context = new BuildLoadContext(path);
        var assembly = context.LoadFromAssemblyPath(path);
        var (type, name) = flow == "node"
            ? ("Aivora.Perf.Node.NodeBenchmark", nameof(NodeBenchmark.ReplayTimer))
            : ("Aivora.Perf.Risk.RiskBenchmark", nameof(Risk.RiskBenchmark.OrderEntryTimer));
        var method = assembly.GetType(type)?.GetMethod(name, BindingFlags.Public | BindingFlags.Static) ?? throw new MissingMethodException(type, name);
        return (Func<(double, ulong)>)method.Invoke(null, [commands])!;
    }

    // Resolves the other build's own assemblies from its directory (framework assemblies come from the default context).
    private sealed class BuildLoadContext(string mainAssemblyPath) : AssemblyLoadContext("node-ab-against")
    {
        private readonly AssemblyDependencyResolver _resolver = new(mainAssemblyPath);

        protected override Assembly? Load(AssemblyName assemblyName) =>
            _resolver.ResolveAssemblyToPath(assemblyName) is { } path ? LoadFromAssemblyPath(path) : null;
    }
}
