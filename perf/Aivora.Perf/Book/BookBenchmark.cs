using System.Diagnostics;
using System.Globalization;
using Aivora.Core.Commands;
using Aivora.Core.Diagnostics;
using Aivora.Core.Events;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Core.Reference;
using Aivora.Node.Load;

namespace Aivora.Perf.Book;

/// <summary>
/// <c>book</c>: replays a flow (built-in or from a file) through the engine and the reference book.
/// Per implementation: a warm-up replay; throughput passes with no timer in the loop (median
/// reported); a separate pass timing every operation into a histogram. Prints one RESULT line each.
/// </summary>
public static class BookBenchmark
{
    // The built-in flows keep ~1,000 orders from 1,000 accounts: tables sized like a real single-instrument deployment
    // (orders by default, --max-orders changes it; price levels a side; accounts). ReplayTimer sizes them the same.
    private const int BuiltInMaxOrders = 65_536;
    private const int BuiltInLevelsPerSide = 16_384;
    private const int BuiltInMaxAccounts = 4_096;

    // P999Fills: the mean number of fills (trades) of the slowest 0.1 % of operations: what the tail is made of.
    private sealed record Measurement(long Ops, double OpsPerSec, long P50, long P99, long P999, double AllocPerOp, Summary Summary, double P999Fills, double P999Repeat, long P999Lesser,
        SchedulingSample? TimedPassWaits = null);

    private sealed record Summary(long Trades, long FilledQty, long Rejected, int RestingBids, int RestingAsks, long BestBid, long BestAsk);

    public static int Run(string[] args)
    {
        var quick = args.Contains("--quick");
        var file = CommandLine.Value(args, "--file");
        var write = CommandLine.Value(args, "--write");
        // The built-in flows' tables as above; a file may hold anything: large tables by default.
        if (!CommandLine.TryInt("book", args, "--ops", quick ? 3_000_000 : 5_000_000, 1_000, 100_000_000, out var engineOps, out var error)
            || !CommandLine.TryInt("book", args, "--reference-ops", file is not null ? int.MaxValue : quick ? 300_000 : 1_000_000, 1, int.MaxValue, out var referenceOps, out error)
            || !CommandLine.TryInt("book", args, "--max-orders", file is null ? BuiltInMaxOrders : 1_048_576, 16, 1 << 24, out var maxOrders, out error)
            || !CommandLine.TryInt("book", args, "--profile-replays", 0, 1, 1_000, out var profileReplays, out error))
        {
            Console.Error.WriteLine(error);
            return 2;
        }

        // Every option is checked, and the file read, before anything is measured; an option the chosen mode would not use is an error.
        var wanted = CommandLine.Value(args, "--workload");
        if (file is not null && (wanted ?? write ?? CommandLine.Value(args, "--ops") ?? CommandLine.Value(args, "--profile-replays")) is not null)
        {
            Console.Error.WriteLine("book: --file replays every record of the file: --workload, --write, --ops and --profile-replays are for the built-in flows");
            return 2;
        }

        var maxAccounts = file is null ? BuiltInMaxAccounts : 1 << 20;
        if (file is not null)
        {
            BookRecord[] records;
            try
            {
                records = BookRecord.ReadFile(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                Console.Error.WriteLine($"book: --file {file}: {e.Message}");
                return 2;
            }

            if (records.Length == 0)
            {
                Console.Error.WriteLine($"book: --file {file}: no records (nothing to replay)");
                return 2;
            }

            TimingFloor();
            referenceOps = Math.Min(records.Length, referenceOps);
            RunOne(file, records, 0, records.Length, referenceOps, BookTranslator.Config(maxOrders, 1 << 16, maxAccounts), quick, detail: true, shape: null);
            return 0;
        }

        // Built-in flows: every named shape by default, or the one --workload names.
        var shapes = ExchangeCoreWorkload.Shape.All.Where(w => (wanted ?? "all") == "all" || w.Name == wanted).ToArray();
        if (shapes.Length == 0)
        {
            Console.Error.WriteLine($"book: unknown workload '{wanted}' (dense, sparse-wide, deep-sweep, far-prices, drifted, all)");
            return 2;
        }

        if (profileReplays > 0 && (shapes.Length > 1 || write is not null || CommandLine.Value(args, "--reference-ops") is not null))
        {
            Console.Error.WriteLine("book: --profile-replays replays one built-in flow through the engine alone: name it with --workload, without --write or --reference-ops");
            return 2;
        }

        if (profileReplays > 0)
        {
            ProfileReplays(shapes[0], engineOps, maxOrders, profileReplays);
            return 0;
        }

        if (write is not null && shapes.Length > 1)
        {
            Console.Error.WriteLine("book: --write saves one flow: name it with --workload (dense, sparse-wide, deep-sweep, far-prices, drifted)");
            return 2;
        }

        if (shapes.Length > 1 && CommandLine.Value(args, "--ops") is null)
        {
            engineOps = quick ? 1_000_000 : 3_000_000;       // five shapes: each smaller, the whole within a minute when quick
            referenceOps = Math.Min(referenceOps, quick ? 100_000 : 300_000);
        }

        // --write (one flow) saves the file before anything is measured: a path that cannot be written is an error, not a crash.
        var written = write is null ? null : ExchangeCoreWorkload.Generate(engineOps, shapes[0]);
        if (written is not null)
        {
            try
            {
                BookRecord.WriteFile(write!, written.Records);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"book: --write {write}: {e.Message}");
                return 2;
            }

            Console.WriteLine($"# wrote {written.Records.Length} records to {write}");
        }

        TimingFloor();
        foreach (var shape in shapes)
        {
            var flow = written ?? ExchangeCoreWorkload.Generate(engineOps, shape);
            RunOne(shape.Name, flow.Records, flow.PrefillCount, engineOps, referenceOps, BookTranslator.Config(maxOrders, BuiltInLevelsPerSide, maxAccounts), quick, detail: false, shape: flow);
        }

        if (shapes.Contains(ExchangeCoreWorkload.Shape.DeepSweep))
        {
            SweepAnatomy.Run(BookTranslator.Config(maxOrders, BuiltInLevelsPerSide, maxAccounts), quick ? 20_000 : 50_000);   // what deep-sweep's tail is made of
        }

        return 0;
    }

    /// <summary>
    /// What timing one operation at a time reads on this machine with no book at all: a fixed piece of work (40 loads from a
    /// 32 KiB table, ~50 ns with the clock reads) timed a million times as the operations are. Its p99.9 is the floor the operations' p99.9 stands on:
    /// interrupts and a stalled vCPU land on whatever runs; on this VM a probe of the same loop read p99.9 150-450 ns and p99.99
    /// 0.5-10 us over five rounds of a million.
    /// </summary>
    private static void TimingFloor()
    {
        var table = new long[4096];
        var histogram = new LatencyHistogram();
        long sum = 0;
        for (var i = 0; i < 1_100_000; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            for (var j = 0; j < 40; j++)
            {
                sum += table[((i * 7) + (j * 61)) & 4095];
            }

            var elapsed = Stopwatch.GetTimestamp() - t0;
            if (i >= 100_000)
            {
                histogram.Record(elapsed);   // after a warm-up
            }
        }

        _timingFloorSum = sum;   // the loads' result goes somewhere, so the JIT keeps them
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=book case=timing-floor ops=1000000 p50_ns={Ticks(histogram.Percentile(50))} p99_ns={Ticks(histogram.Percentile(99))} p999_ns={Ticks(histogram.Percentile(99.9))} p9999_ns={Ticks(histogram.Percentile(99.99))}"));
    }

    private static long _timingFloorSum;

    private static void RunOne(string name, BookRecord[] records, int prefill, int engineOps, int referenceOps, EngineConfig config, bool quick, bool detail, ExchangeCoreWorkload.Flow? shape)
    {
        var commands = BookTranslator.ToCommands(records);
        Console.WriteLine($"# book: {name}, {records.Length} records, prefill {prefill}, engine ops {commands.Length - prefill}, reference ops {Math.Min(referenceOps, commands.Length - prefill)}");
        var fillsPerOp = new int[commands.Length];   // the engine's trades per operation; the reference's are the same (the differential tests)
        var engine = MeasureEngine(commands, prefill, config, quick, fillsPerOp);
        var reference = MeasureReference(commands, prefill, Math.Min(referenceOps, commands.Length - prefill), config, fillsPerOp);
        var tag = shape is null ? "" : FormattableString.Invariant(
            $" workload={name} levels_per_side={shape.LevelsPerSide:F0} new_level_share={shape.NewLevelShare:F2} mean_new_level_depth={shape.MeanNewLevelDepth:F0}");
        Print("engine", engine, detail, tag);
        Print("reference", reference, detail, tag);
        Console.WriteLine(FormattableString.Invariant($"RESULT bench=book{(shape is null ? "" : $" workload={name}")} ratio_engine_over_reference={engine.OpsPerSec / reference.OpsPerSec:F1}"));
    }

    private static Measurement MeasureEngine(EngineCommand[] commands, int prefill, EngineConfig config, bool quick, int[] fillsPerOp)
    {
        Replay(New(config), commands, 0, commands.Length);   // warm-up: every path JIT-compiled at tier 1

        var rates = new List<double>();
        MatchingEngine<CountingSink, NoPositions>? last = null;
        double allocPerOp = 0;
        var ops = commands.Length - prefill;
        for (var pass = 0; pass < (quick ? 3 : 5); pass++)
        {
            var engine = New(config);
            Replay(engine, commands, 0, prefill);
            InputPages.Touch(commands);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var start = Stopwatch.GetTimestamp();
            Replay(engine, commands, prefill, commands.Length);
            var elapsed = Stopwatch.GetElapsedTime(start);
            allocPerOp = (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / ops;
            rates.Add(ops / elapsed.TotalSeconds);
            last = engine;
        }

        var histogram = new LatencyHistogram();
        var latencies = new long[commands.Length];
        var timed = New(config);
        Replay(timed, commands, 0, prefill);
        InputPages.Touch(commands);
        InputPages.TouchForWrite(latencies);
        InputPages.TouchForWrite(fillsPerOp);   // not written before this loop
        // This thread's run-queue wait over the timed pass (the kernel's count): a p99.9 spell that came with one was this
        // machine's other tasks on the core; one without, the host's or the code's (p999_repeat tells those apart).
        using var scheduling = ThreadScheduling.OpenForCurrentThread();
        var before = scheduling?.Read();
        for (var i = prefill; i < commands.Length; i++)
        {
            var trades = timed.Sink.Trades;
            var t0 = Stopwatch.GetTimestamp();
            timed.Process(in commands[i]);
            latencies[i] = Stopwatch.GetTimestamp() - t0;
            histogram.Record(latencies[i]);
            fillsPerOp[i] = (int)(timed.Sink.Trades - trades);
        }

        var timedPassWaits = SchedulingSample.Between(before, scheduling?.Read());

        // The same operations timed again on a fresh book: which of the slowest are slow again (p999_repeat).
        var again = new long[commands.Length];
        var retimed = New(config);
        Replay(retimed, commands, 0, prefill);
        InputPages.Touch(commands);
        InputPages.TouchForWrite(again);
        for (var i = prefill; i < commands.Length; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            retimed.Process(in commands[i]);
            again[i] = Stopwatch.GetTimestamp() - t0;
        }

        ref var sink = ref last!.Sink;
        var summary = new Summary(sink.Trades, sink.FilledLots, sink.Rejected,
            last.RestingOrders(BookTranslator.InstrumentId, Side.Buy).Count, last.RestingOrders(BookTranslator.InstrumentId, Side.Sell).Count,
            last.BestPrice(BookTranslator.InstrumentId, Side.Buy), last.BestPrice(BookTranslator.InstrumentId, Side.Sell));
        return new Measurement(ops, Median(rates), Ticks(histogram.Percentile(50)), Ticks(histogram.Percentile(99)), Ticks(histogram.Percentile(99.9)), allocPerOp, summary,
            SlowestFills(latencies, fillsPerOp, prefill, commands.Length), SlowestRepeat(latencies, again, prefill, commands.Length), P999OfLesser(latencies, again, prefill, commands.Length),
            timedPassWaits);
    }

    private static MatchingEngine<CountingSink, NoPositions> New(EngineConfig config) => new(config);

    /// <summary>
    /// For a sampling profiler (<c>perf/scripts/hot-instructions.sh</c> with <c>book:NAME</c>): the shape's flow generated once,
    /// then nothing but replays of it through fresh engines (no timer, no reference book, no RESULT line), the first one a
    /// warm-up; a line on standard error when they are done.
    /// </summary>
    private static void ProfileReplays(ExchangeCoreWorkload.Shape shape, int ops, int maxOrders, int replays)
    {
        var flow = ExchangeCoreWorkload.Generate(ops, shape);
        var commands = BookTranslator.ToCommands(flow.Records);
        var config = BookTranslator.Config(maxOrders, BuiltInLevelsPerSide, BuiltInMaxAccounts);
        for (var r = 0; r <= replays; r++)
        {
            var engine = New(config);
            InputPages.Touch(commands);   // as a timed replay does: the profile is of the replay, not of a cold input
            Replay(engine, commands, 0, commands.Length);
        }

        Console.Error.WriteLine($"# book: {shape.Name}, {replays} replays of {commands.Length} commands done");
    }

    /// <summary>
    /// For <c>node-ab --flow book:NAME</c>: the named shape's built-in flow, <paramref name="ops"/> operations after its prefill,
    /// generated and replayed once (warm-up) here; each call replays it through a fresh engine (the prefill untimed) and returns
    /// the operations per second, or with <paramref name="tail"/> 10^9 over the p99.9 of the operations timed one by one (so a
    /// ratio of two builds is the other's p99.9 over this one's), and the engine's state hash at the end.
    /// </summary>
    public static Func<(double Rate, ulong StateHash)> ReplayTimer(int ops, string workload, bool tail)
    {
        var shape = ExchangeCoreWorkload.Shape.All.Single(w => w.Name == workload);
        var flow = ExchangeCoreWorkload.Generate(ops, shape);
        var commands = BookTranslator.ToCommands(flow.Records);
        var config = BookTranslator.Config(BuiltInMaxOrders, BuiltInLevelsPerSide, BuiltInMaxAccounts);
        var prefill = flow.PrefillCount;
        Replay(New(config), commands, 0, commands.Length);   // warm-up
        return () =>
        {
            var engine = New(config);
            Replay(engine, commands, 0, prefill);
            InputPages.Touch(commands);
            double rate;
            if (!tail)
            {
                var start = Stopwatch.GetTimestamp();
                Replay(engine, commands, prefill, commands.Length);
                rate = (commands.Length - prefill) / Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
            else
            {
                var histogram = new LatencyHistogram();
                for (var i = prefill; i < commands.Length; i++)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    engine.Process(in commands[i]);
                    histogram.Record(Stopwatch.GetTimestamp() - t0);
                }

                rate = 1e9 / Math.Max(1, Ticks(histogram.Percentile(99.9)));
            }

            return (rate, engine.StateHash());
        };
    }

    private static void Replay(MatchingEngine<CountingSink, NoPositions> engine, EngineCommand[] commands, int from, int to)
    {
        for (var i = from; i < to; i++)
        {
            engine.Process(in commands[i]);
        }
    }

    private sealed class ReferenceCounters
    {
        public long Trades;
        public long Filled;
        public long Rejected;

        public void On(EngineEvent e)
        {
            if (e.Kind == EventKind.Trade)
            {
                Trades++;
                Filled += e.QtyLots;
            }
            else if (e.Kind == EventKind.OrderRejected)
            {
                Rejected++;
            }
        }
    }

    private static Measurement MeasureReference(EngineCommand[] commands, int prefill, int ops, EngineConfig config, int[] fillsPerOp)
    {
        var end = prefill + ops;
        var warm = new ReferenceBook(config, new PositionTracker(), _ => { });
        for (var i = 0; i < Math.Min(end, prefill + 100_000); i++)
        {
            warm.Process(commands[i]);
        }

        var counters = new ReferenceCounters();
        var book = new ReferenceBook(config, new PositionTracker(), counters.On);
        for (var i = 0; i < prefill; i++)
        {
            book.Process(commands[i]);
        }

        InputPages.Touch(commands);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var start = Stopwatch.GetTimestamp();
        for (var i = prefill; i < end; i++)
        {
            book.Process(commands[i]);
        }

        var elapsed = Stopwatch.GetElapsedTime(start);
        var allocPerOp = (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / ops;

        var histogram = new LatencyHistogram();
        var timed = new ReferenceBook(config, new PositionTracker(), _ => { });
        for (var i = 0; i < prefill; i++)
        {
            timed.Process(commands[i]);
        }

        var latencies = new long[end];
        InputPages.Touch(commands);
        InputPages.TouchForWrite(latencies);
        for (var i = prefill; i < end; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            timed.Process(commands[i]);
            latencies[i] = Stopwatch.GetTimestamp() - t0;
            histogram.Record(latencies[i]);
        }

        var again = new long[end];
        var retimed = new ReferenceBook(config, new PositionTracker(), _ => { });
        for (var i = 0; i < prefill; i++)
        {
            retimed.Process(commands[i]);
        }

        InputPages.Touch(commands);
        InputPages.TouchForWrite(again);
        for (var i = prefill; i < end; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            retimed.Process(commands[i]);
            again[i] = Stopwatch.GetTimestamp() - t0;
        }

        var id = BookTranslator.InstrumentId;
        var summary = new Summary(counters.Trades, counters.Filled, counters.Rejected, book.RestingOrders(id, Side.Buy), book.RestingOrders(id, Side.Sell),
            book.BestPrice(id, Side.Buy), book.BestPrice(id, Side.Sell));
        return new Measurement(ops, ops / elapsed.TotalSeconds, Ticks(histogram.Percentile(50)), Ticks(histogram.Percentile(99)), Ticks(histogram.Percentile(99.9)), allocPerOp, summary,
            SlowestFills(latencies, fillsPerOp, prefill, end), SlowestRepeat(latencies, again, prefill, end), P999OfLesser(latencies, again, prefill, end));
    }

    /// <summary>The mean fills of the slowest 0.1 % of the operations in [from, to) (those at or past the 99.9th percentile of their
    /// own latencies, exactly: the histogram's value is its bucket's upper edge).</summary>
    private static double SlowestFills(long[] latencies, int[] fillsPerOp, int from, int to)
    {
        if (to <= from)
        {
            return 0;
        }

        var threshold = SlowestThreshold(latencies, from, to);
        long fills = 0, count = 0;
        for (var i = from; i < to; i++)
        {
            if (latencies[i] >= threshold)
            {
                fills += fillsPerOp[i];
                count++;
            }
        }

        return (double)fills / count;
    }

    /// <summary>
    /// The p99.9 (ns, as <c>p999_ns</c> reads it: the histogram's) of each operation's lesser timing of the two, the timed replay's and
    /// its second replay's on a fresh book: a stall of the host lands on one timing of an operation and seldom on both, so this is the
    /// tail the operations carry themselves (the deep sweeps' stays; far-prices' spells of stalls go). Beside <c>p999_ns</c>, never
    /// instead of it: the goal reads <c>p999_ns</c>.
    /// </summary>
    public static long P999OfLesser(long[] first, long[] second, int from, int to)
    {
        var histogram = new LatencyHistogram();
        for (var i = from; i < to; i++)
        {
            histogram.Record(Math.Min(first[i], second[i]));
        }

        return Ticks(histogram.Percentile(99.9));
    }

    /// <summary>
    /// Of the slowest 0.1 % of the operations in [from, to) in one timed replay, the share that are among the slowest 0.1 % of a
    /// second replay of the same operations on a fresh book (or machine): near 1 when the tail is the operations' own work (the deep sweeps),
    /// near 0 when it is the machine's (an interrupt or a stalled vCPU lands on different operations each time).
    /// </summary>
    internal static double SlowestRepeat(long[] first, long[] second, int from, int to)
    {
        if (to <= from)
        {
            return 0;
        }

        long firstThreshold = SlowestThreshold(first, from, to), secondThreshold = SlowestThreshold(second, from, to), slow = 0, repeated = 0;
        for (var i = from; i < to; i++)
        {
            if (first[i] >= firstThreshold)
            {
                slow++;
                repeated += second[i] >= secondThreshold ? 1 : 0;
            }
        }

        return (double)repeated / slow;
    }

    /// <summary>The latency at or past which the slowest 0.1 % of the operations in [from, to) lie (at least one operation).</summary>
    private static long SlowestThreshold(long[] latencies, int from, int to)
    {
        var sorted = latencies[from..to];
        Array.Sort(sorted);
        return sorted[sorted.Length - Math.Max(1, sorted.Length / 1_000)];
    }

    private static void Print(string impl, Measurement m, bool detail, string tag)
    {
        var line = FormattableString.Invariant(
            $"RESULT bench=book impl={impl}{tag} ops={m.Ops} ops_per_sec={m.OpsPerSec:F0} ns_per_op={1e9 / m.OpsPerSec:F1} p50_ns={m.P50} p99_ns={m.P99} p999_ns={m.P999} alloc_bytes_per_op={FormatAlloc(m.AllocPerOp)} p999_fills={m.P999Fills:F1} p999_repeat={m.P999Repeat:F2} p999_lesser_of_two_ns={m.P999Lesser}{(impl == "engine" ? $" timed_pass_waited_us={KernelFigures.OrUnseen(m.TimedPassWaits?.WaitedNs / 1000)} timed_pass_switched_out={KernelFigures.OrUnseen(m.TimedPassWaits?.TimesRun)}" : "")}");
        if (detail)
        {
            var s = m.Summary;
            line += FormattableString.Invariant(
                $" trades={s.Trades} filled_qty={s.FilledQty} rejected={s.Rejected} resting_bid_orders={s.RestingBids} resting_ask_orders={s.RestingAsks} best_bid={s.BestBid} best_ask={s.BestAsk}");
        }

        Console.WriteLine(line);
    }

    private static string FormatAlloc(double bytesPerOp) => bytesPerOp == 0 ? "0" : bytesPerOp.ToString("F3", CultureInfo.InvariantCulture);

    /// <summary>Stopwatch ticks to nanoseconds (ticks are 1 ns on Linux, but do not assume it).</summary>
    internal static long Ticks(long ticks) => (long)(ticks * (1e9 / Stopwatch.Frequency));

    /// <summary>The middle value (the upper of the two middle ones for an even count); sorts the list.</summary>
    internal static T Median<T>(List<T> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }

}
