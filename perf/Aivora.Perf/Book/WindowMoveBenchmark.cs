using System.Diagnostics;
using Aivora.Core.Collections;
using Aivora.Core.Diagnostics;

namespace Aivora.Perf.Book;

/// <summary>
/// <c>ladder</c>: what the price ladder's window costs when the market moves away from the levels it holds, per
/// operation. A side holds N levels spread over ±30,000 ticks of where its window centred; then the busy levels
/// (±900 ticks) are 200,000 ticks away, long enough for the window to follow them; then back where they started. Every
/// operation (add or remove of a level) is timed, and the levels it carried across the window's edge counted. The most
/// levels one operation carried is exact (no clock in it): it is the scaling line's figure, at the largest N over the
/// smallest, so a move whose cost grows with the levels held shows there whatever the machine does. The times beside it
/// are medians over rounds: ns per operation, p99.9 and the round's worst operation (which a pause of the machine's
/// own, 2-25 us on this VM on any operation, often sets).
/// <code>
///   RESULT bench=ladder case=window-move levels=N ops= levels_moved= most_carried_by_one_op= ns_per_op= p999_ns= worst_op_ns=
///   RESULT bench=ladder case=window-move-scaling ratio_most_carried_4000_over_400=
/// </code>
/// </summary>
public static class WindowMoveBenchmark
{
    private const long Centre = 1_000_000;
    private const long Away = 200_000;
    private const int Spread = 30_000;
    private const int Busy = 900;

    public static int Run(string[] args)
    {
        var quick = args.Contains("--quick");
        var rounds = quick ? 7 : 21;
        int[] sizes = [400, 4_000];
        var mostCarried = new long[sizes.Length];
        for (var s = 0; s < sizes.Length; s++)
        {
            Round(sizes[s], seed: 99);   // warm-up: every path compiled
            var worsts = new List<long>();
            var p999s = new List<long>();
            var nsPerOp = new List<double>();
            long ops = 0, moved = 0, carried = 0;
            for (var r = 0; r < rounds; r++)
            {
                var result = Round(sizes[s], seed: r + 1);
                worsts.Add(result.Histogram.MaxNs);
                p999s.Add(result.Histogram.Percentile(99.9));
                nsPerOp.Add(result.TimedNs / (double)result.Histogram.Count);
                (ops, moved, carried) = (result.Histogram.Count, result.LevelsMoved, Math.Max(carried, result.MostCarried));
            }

            mostCarried[s] = carried;
            Console.WriteLine(FormattableString.Invariant(
                $"RESULT bench=ladder case=window-move levels={sizes[s]} ops={ops} levels_moved={moved} most_carried_by_one_op={carried} ns_per_op={BookBenchmark.Median(nsPerOp):F1} p999_ns={BookBenchmark.Median(p999s)} worst_op_ns={BookBenchmark.Median(worsts)}"));
        }

        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=ladder case=window-move-scaling ratio_most_carried_{sizes[^1]}_over_{sizes[0]}={mostCarried[^1] / (double)Math.Max(1, mostCarried[0]):F2}"));
        Console.WriteLine($"# medians over {rounds} rounds; a round: {sizes[0]:N0} or {sizes[^1]:N0} levels placed, then the busy levels {Away:N0} ticks away, swept, and back; each operation timed (two clock reads, ~20 ns, included)");
        return 0;
    }

    private sealed record Result(LatencyHistogram Histogram, long TimedNs, long LevelsMoved, long MostCarried);

    private static Result Round(int levels, int seed)
    {
        var random = new Random(seed);
        var ladder = new PriceLadder(16_384);
        var held = new HashSet<long>();
        ladder.Add(Centre, 0);   // the window centres on the first level
        held.Add(Centre);
        while (held.Count < levels)
        {
            var key = Centre + random.Next(-Spread, Spread + 1);
            if (held.Add(key))
            {
                ladder.Add(key, held.Count);
            }
        }

        var histogram = new LatencyHistogram();
        var movedBefore = ladder.LevelsMoved;
        long timedNs = 0, mostCarried = 0;
        // Away, then back: each phase long enough for the window to follow (operations outside it outnumber the levels). The
        // away phase ends with its levels taken, best first (a sweep), and the window, left empty, goes back with the next add.
        foreach (var busyCentre in (ReadOnlySpan<long>)[Centre + Away, Centre])
        {
            for (var k = 0; k < (levels * 3) + 6_000; k++)
            {
                var key = busyCentre + random.Next(-Busy, Busy + 1);
                Time(ladder, held, key, k, histogram, ref timedNs, ref mostCarried);
            }

            for (var key = busyCentre + Busy; key >= busyCentre - Busy && busyCentre != Centre; key--)
            {
                if (held.Contains(key))
                {
                    Time(ladder, held, key, 0, histogram, ref timedNs, ref mostCarried);
                }
            }
        }

        if (ladder.Count != held.Count)
        {
            throw new InvalidOperationException($"ladder holds {ladder.Count} levels, expected {held.Count}");
        }

        return new Result(histogram, timedNs, ladder.LevelsMoved - movedBefore, mostCarried);
    }

    // One add (the key is not held) or removal (it is), timed, and the levels it carried counted.
    private static void Time(PriceLadder ladder, HashSet<long> held, long key, int level, LatencyHistogram histogram, ref long timedNs, ref long mostCarried)
    {
        var remove = held.Contains(key);
        var movedBefore = ladder.LevelsMoved;
        var t0 = Stopwatch.GetTimestamp();
        if (remove)
        {
            ladder.Remove(key);
        }
        else
        {
            ladder.Add(key, level);
        }

        var ns = BookBenchmark.Ticks(Stopwatch.GetTimestamp() - t0);
        histogram.Record(ns);
        timedNs += ns;
        mostCarried = Math.Max(mostCarried, ladder.LevelsMoved - movedBefore);
        if (remove)
        {
            held.Remove(key);
        }
        else
        {
            held.Add(key);
        }
    }
}
