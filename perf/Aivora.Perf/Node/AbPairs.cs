namespace Aivora.Perf.Node;

/// <summary>
/// What <c>node-ab</c> and <c>jit-profile-ab</c> share: their options (<c>--pairs</c>, <c>--commands</c>, <c>--flow node|order-entry</c>
/// (<c>node-ab</c> also <c>book:NAME</c>, a <c>perf book</c> shape through the book alone), and each one's own valued options), and the
/// ABBA pairs of timed runs with the median of their ratios.
/// </summary>
internal static class AbPairs
{
    /// <summary>The options both take.</summary>
    internal readonly record struct Options(string Flow, int Pairs, int Commands)
    {
        /// <summary>"commands" or, for the order-entry flow and the book's, "operations".</summary>
        public string Unit => Flow == "node" ? "commands" : "operations";

        /// <summary>The <c>perf book</c> shape a <c>book:NAME</c> flow names (null for the state machine's flows).</summary>
        public string? BookShape => Flow.StartsWith("book:", StringComparison.Ordinal) ? Flow["book:".Length..] : null;
    }

    /// <summary>
    /// Parses <paramref name="args"/>: <paramref name="ownValued"/> are the command's own options that take a value ("--against";
    /// read them with <see cref="CommandLine.Value"/>). Null with the message in <paramref name="error"/> on an unknown option, a missing value or one
    /// out of range.
    /// </summary>
    internal static Options? Parse(string command, string[] args, string[] ownValued, int pairs, int maxPairs, int commands, out string? error, bool bookFlows = false)
    {
        error = CommandLine.Check(command, args, [], ["--pairs", "--commands", "--flow", .. ownValued]);
        if (error is not null)
        {
            return null;
        }

        var flow = CommandLine.Value(args, "--flow") ?? "node";
        var shapes = Book.ExchangeCoreWorkload.Shape.All.Select(w => w.Name).ToArray();
        var isBook = bookFlows && flow.StartsWith("book:", StringComparison.Ordinal) && shapes.Contains(flow["book:".Length..]);
        if (flow is not ("node" or "order-entry") && !isBook)
        {
            error = $"{command}: --flow takes node (the node's flow through the state machine) or order-entry (perf risk's order-entry flow through the full gate)"
                + (bookFlows ? $", or book:NAME (a perf book shape through the book alone; NAME one of {string.Join(", ", shapes)})" : "") + $", not {flow}";
            return null;
        }

        if (!CommandLine.TryInt(command, args, "--pairs", pairs, 1, maxPairs, out pairs, out error)
            || !CommandLine.TryInt(command, args, "--commands", commands, 10_000, 10_000_000, out commands, out error))
        {
            return null;
        }

        return new Options(flow, pairs, commands);
    }

    /// <summary>The figures of <see cref="Run"/>: medians of each side's rates and of the pairs' ratios (B over A), the ratios'
    /// quartiles, and whether both sides' last runs ended in the same state.</summary>
    internal readonly record struct Outcome(double ARate, double BRate, double RatioMedian, double RatioP25, double RatioP75, bool SameState);

    /// <summary>
    /// <paramref name="pairs"/> pairs of one timed run of each side, back to back, in ABBA order (which side runs first alternates,
    /// so a drift within a pair weighs on both alike over the pairs), printing a line per pair. A side returns its rate and end
    /// state, or null when it could not run (then this returns null).
    /// </summary>
    internal static Outcome? Run(int pairs, string unit, string aName, Func<(double Rate, ulong StateHash)?> a, string bName, Func<(double Rate, ulong StateHash)?> b)
    {
        var ratios = new double[pairs];
        var aRates = new double[pairs];
        var bRates = new double[pairs];
        ulong aHash = 0, bHash = 0;
        for (var k = 0; k < pairs; k++)
        {
            (double Rate, ulong StateHash)? first = k % 2 == 0 ? a() : b();
            (double Rate, ulong StateHash)? second = first is null ? null : k % 2 == 0 ? b() : a();
            if (second is null)
            {
                return null;
            }

            var (ra, rb) = k % 2 == 0 ? (first!.Value, second.Value) : (second.Value, first!.Value);
            (aRates[k], aHash, bRates[k], bHash) = (ra.Rate, ra.StateHash, rb.Rate, rb.StateHash);
            ratios[k] = bRates[k] / aRates[k];
            Console.WriteLine(FormattableString.Invariant($"# pair {k + 1}: {aName} {aRates[k]:F0} {bName} {bRates[k]:F0} {unit}/s, ratio {ratios[k]:F3}"));
        }

        return new Outcome(NodeBenchmark.Median(aRates), NodeBenchmark.Median(bRates), NodeBenchmark.Median(ratios), NodeBenchmark.Quartile(ratios, 1), NodeBenchmark.Quartile(ratios, 3), aHash == bHash);
    }
}
