using System.Diagnostics;
using System.Globalization;
using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Diagnostics;
using Aivora.Core.Events;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Core.Risk;
using Aivora.Perf.Book;
using Aivora.Perf.Node;
using Aivora.Core.Exchange;
using Aivora.Core.Margin;

namespace Aivora.Perf.Risk;

/// <summary>
/// <c>risk</c>: (1) order entry through the full pre-trade gate and ledger against the bare book, on
/// the same exchange-core-style flow; (2) the cost of a mark update with N accounts holding
/// positions (few near liquidation), and how it scales from 10k to 1M positions; (3) the cost of a mark
/// move that liquidates k of N accounts through the whole path (cancel, slices into the book, fees),
/// which must grow with k, not N.
/// </summary>
public static class RiskBenchmark
{
    private const long Usdt = 1_000_000;

    public static int Run(string[] args)
    {
        var quick = args.Contains("--quick");
        // --case NAME runs one part (order-entry, resting, listed-instruments, mark-update, liquidation-scaling): for profiling one stage.
        // --seed N: the order-entry flow's seed (default 1; the JIT profile's training run uses another).
        var only = CommandLine.Value(args, "--case");
        // --profile-replays N (with --case order-entry): nothing but replays of the flow through the full gate, for a sampling profiler.
        string? error = CommandLine.Check("risk", args, ["--quick"], ["--case", "--seed", "--profile-replays"]);
        if (error is null && only is not (null or "order-entry" or "resting" or "listed-instruments" or "mark-update" or "liquidation-scaling"))
        {
            error = $"risk: --case takes order-entry, resting, listed-instruments, mark-update or liquidation-scaling, not {only}";
        }

        if (error is not null
            || !CommandLine.TryInt("risk", args, "--seed", 1, 0, int.MaxValue, out var seed, out error)
            || !CommandLine.TryInt("risk", args, "--profile-replays", 0, 1, 1_000, out var profileReplays, out error))
        {
            Console.Error.WriteLine(error);
            return 2;
        }

        if (profileReplays > 0)
        {
            if (only != "order-entry")
            {
                Console.Error.WriteLine("risk: --profile-replays replays the order-entry flow: name it with --case order-entry");
                return 2;
            }

            ProfileOrderEntry(quick ? 1_000_000 : 3_000_000, seed, profileReplays);
            return 0;
        }

        if (only is null or "order-entry") OrderEntry(quick ? 1_000_000 : 3_000_000, seed);
        if (only is null or "resting") RestingOrderScaling(quick);
        if (only is null or "listed-instruments") ListedInstrumentScaling(quick);
        if (only is null or "mark-update") MarkUpdates(quick);
        if (only is null or "liquidation-scaling") LiquidationScaling(quick);
        return 0;
    }

    private static MarginTierTable Tiers() => new(
    [
        new MarginTier(0, 400_000, 125),
        new MarginTier(50_000 * Usdt, 500_000, 100),
        new MarginTier(250_000 * Usdt, 1_000_000, 50),
        new MarginTier(1_000_000 * Usdt, 2_500_000, 20),
    ]);

    // Contracts for the replay instrument and the next instruments-1 ids after it (the listed-instruments case).
    private static Ledger NewLedger(int accounts, int instruments = 1) =>
        new([.. Enumerable.Range(BookTranslator.InstrumentId, instruments).Select(id => new ContractSpec { InstrumentId = id, MoneyPerTickLot = 1, Tiers = Tiers() })], accounts);

    /// <summary>The order-entry flow's engine: 65,536 live orders, 4,096 levels a side, 4,096 accounts (every order-entry timing and its test).</summary>
    public static EngineConfig OrderEntryConfig() => BookTranslator.Config(1 << 16, 4_096, 4_096);

    // The order-entry flow's full gate: the state machine over that ledger (a fresh one unless given), open orders capped at 1,000.
    private static PerpStateMachine<TSink> FullGate<TSink>(EngineConfig config, Ledger? ledger = null)
        where TSink : struct, IEngineEventSink =>
        new(config, ledger ?? FundedLedger(), new RiskLimits { MaxOpenOrdersPerInstrument = 1_000 });

    // The order-entry flow's ledger: the marks set and the flow's 1,001 accounts funded.
    private static Ledger FundedLedger(int instruments = 1)
    {
        var ledger = NewLedger(4_096, instruments);
        for (var id = BookTranslator.InstrumentId; id < BookTranslator.InstrumentId + instruments; id++)
        {
            ledger.SetMark(id, 1_000_000);
        }

        for (var account = 1; account <= 1_001; account++)
        {
            ledger.Deposit(account, 1_000_000 * Usdt);
        }

        return ledger;
    }

    /// <summary>
    /// The order-entry flow (<paramref name="operations"/> long) through the full gate, as a timer for <c>node-ab --flow order-entry</c>:
    /// each call builds a fresh funded machine, runs the prefill untimed and returns the rest's operations/s and the end state hash.
    /// Keep its signature: another build's copy is called through reflection.
    /// </summary>
    public static Func<(double OpsPerSec, ulong StateHash)> OrderEntryTimer(int operations)
    {
        var flow = ExchangeCoreWorkload.Generate(operations);
        var commands = BookTranslator.ToCommands(flow.Records);
        var config = OrderEntryConfig();
        (double, ulong) Pass()
        {
            var ledger = FundedLedger();
            var risk = FullGate<CountingSink>(config, ledger);
            for (var i = 0; i < flow.PrefillCount; i++)
            {
                risk.Process(in commands[i]);
            }

            InputPages.Touch(commands);
            var start = Stopwatch.GetTimestamp();
            for (var i = flow.PrefillCount; i < commands.Length; i++)
            {
                risk.Process(in commands[i]);
            }

            var elapsed = Stopwatch.GetElapsedTime(start);
            return ((commands.Length - flow.PrefillCount) / elapsed.TotalSeconds, risk.Engine.StateHash() ^ ledger.StateHash());
        }

        Pass();   // warm-up
        return Pass;
    }

    /// <summary>
    /// For a sampling profiler (<c>perf/scripts/hot-instructions.sh</c> with <c>order-entry</c>): the order-entry flow generated once,
    /// then nothing but replays of it through fresh funded state machines (no timer, no other build, no RESULT line), the first a
    /// warm-up; a line on standard error when they are done.
    /// </summary>
    private static void ProfileOrderEntry(int operations, int seed, int replays)
    {
        var flow = ExchangeCoreWorkload.Generate(operations, seed);
        var commands = BookTranslator.ToCommands(flow.Records);
        var config = OrderEntryConfig();
        for (var r = 0; r <= replays; r++)
        {
            var risk = FullGate<CountingSink>(config);
            InputPages.Touch(commands);   // as a timed pass does: the profile is of the replay, not of a cold input
            for (var i = 0; i < commands.Length; i++)
            {
                risk.Process(in commands[i]);
            }
        }

        Console.Error.WriteLine($"# risk: order-entry, {replays} replays of {commands.Length} commands done");
    }

    private static void OrderEntry(int operations, int seed)
    {
        var flow = ExchangeCoreWorkload.Generate(operations, seed);
        var commands = BookTranslator.ToCommands(flow.Records);
        var config = OrderEntryConfig();

        // The same flow through five builds, each adding one stage: the book alone; the book with the ledger booking its fills
        // (no liquidation re-index: the deferred re-keys are never flushed); the same with the re-index flushed after every
        // command as the state machine does; the full gate with a sink that declines the ack's what-if event (the checks
        // alone: the what-ifs are not computed); the full gate.
        Func<Action<int>>[] builds =
        [
            BookAlone(commands, config),
            () =>
            {
                var ledger = FundedLedger();
                ledger.DeferReindex = true;
                var engine = new MatchingEngine<CountingSink, LedgerPositions>(config, default, new LedgerPositions(ledger));
                return i => engine.Process(in commands[i]);
            },
            LedgerBooking(commands, config),
            GateWithoutWhatIfs(commands, config),
            FullGateOn(commands, config),
        ];
        const int Book = 0, Fills = 1, Reindexed = 2, Checks = 3, Full = 4;

        // One timed pass: a fresh build, the prefill untimed, then the flow with no timer in the loop.
        (double NsPerOp, double AllocPerOp) TimedPass(Func<Action<int>> build)
        {
            var run = build();
            for (var i = 0; i < flow.PrefillCount; i++)
            {
                run(i);
            }

            InputPages.Touch(commands);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var start = Stopwatch.GetTimestamp();
            for (var i = flow.PrefillCount; i < commands.Length; i++)
            {
                run(i);
            }

            var elapsed = Stopwatch.GetElapsedTime(start);
            return (elapsed.TotalNanoseconds / (commands.Length - flow.PrefillCount), (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / (commands.Length - flow.PrefillCount));
        }

        long P99(Func<Action<int>> build)
        {
            var timed = build();
            var histogram = new LatencyHistogram();
            InputPages.Touch(commands);
            for (var i = 0; i < commands.Length; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                timed(i);
                if (i >= flow.PrefillCount)
                {
                    histogram.Record((long)((Stopwatch.GetTimestamp() - t0) * (1e9 / Stopwatch.Frequency)));
                }
            }

            return histogram.Percentile(99);
        }

        foreach (var build in builds)
        {
            var warm = build();
            for (var i = 0; i < commands.Length; i++)
            {
                warm(i);
            }
        }

        // Timed in rounds, the five builds back to back in each: this machine's host slows one vCPU at a time for minutes, so
        // runs minutes apart do not compare. Every figure below is the median over the rounds of what one round measured.
        var rounds = 7;   // short passes (a quarter second each, quick): many rounds, so a noisy one or two do not set the median
        var ns = new double[builds.Length][];
        var alloc = new double[builds.Length];
        for (var v = 0; v < builds.Length; v++)
        {
            ns[v] = new double[rounds];
        }

        for (var r = 0; r < rounds; r++)
        {
            for (var v = 0; v < builds.Length; v++)
            {
                (ns[v][r], var allocated) = TimedPass(builds[v]);
                alloc[v] = Math.Max(alloc[v], allocated);
            }
        }

        double Median(Func<int, double> perRound) => Enumerable.Range(0, rounds).Select(perRound).Order().ElementAt(rounds / 2);

        Print("order-entry-with-risk", (Median(r => ns[Full][r]), P99(builds[Full]), alloc[Full]));
        Print("order-entry-book-only", (Median(r => ns[Book][r]), P99(builds[Book]), alloc[Book]));
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=risk case=order-entry-stages book_ns={Median(r => ns[Book][r]):F1} fill_booking_ns={Median(r => ns[Fills][r] - ns[Book][r]):F1} liquidation_reindex_ns={Median(r => ns[Reindexed][r] - ns[Fills][r]):F1} checks_ns={Median(r => ns[Checks][r] - ns[Reindexed][r]):F1} ack_what_ifs_ns={Median(r => ns[Full][r] - ns[Checks][r]):F1} checks_and_what_ifs_ns={Median(r => ns[Full][r] - ns[Reindexed][r]):F1} total_ns={Median(r => ns[Full][r]):F1} ratio_total_over_book={Median(r => ns[Full][r] / ns[Book][r]):F2}"));
        Console.WriteLine(FormattableString.Invariant(
            $"# rounds (ns per op: book, fills booked, re-indexed, checks, full; full over book): {string.Join("; ", Enumerable.Range(0, rounds).Select(r => $"{ns[Book][r]:F0}, {ns[Fills][r]:F0}, {ns[Reindexed][r]:F0}, {ns[Checks][r]:F0}, {ns[Full][r]:F0}; {ns[Full][r] / ns[Book][r]:F2}"))}"));
        Console.WriteLine("# stages are differences between builds within a round (medians): a small stage can read negative; pricing is the mark-update case below");
        Console.WriteLine(OrderEntryPairsLine(() => TimedPass(builds[Book]).NsPerOp, () => TimedPass(builds[Full]).NsPerOp, pairs: 20));

        ByKind(commands, flow.PrefillCount, config);
        PullBacksAlone(commands, flow.PrefillCount, config, 200_000);
    }

    /// <summary>
    /// The goal's ratio again, from adjacent passes: the full gate and the book alone in pairs, which of the two runs first
    /// alternating (ABBA), each ratio taken within its pair. In a round of the stages the two stand three passes apart, and
    /// this machine's host can slow a vCPU between them (the rounds' ratios have read 1.57 and 2.79 in one run); the quartiles
    /// say how far the pairs spread. The pairs come after the rounds, so a slow spell can fall on them alone: the line carries
    /// the book alone's own median over its passes here (<c>book_ns_median</c>), to set beside the rounds' book.
    /// </summary>
    public static string OrderEntryPairsLine(Func<double> bookPassNs, Func<double> fullPassNs, int pairs)
    {
        var pairRatios = new double[pairs];
        var bookNs = new double[pairs];
        for (var k = 0; k < pairs; k++)
        {
            var bookFirst = k % 2 == 0;
            var first = bookFirst ? bookPassNs() : fullPassNs();
            var second = bookFirst ? fullPassNs() : bookPassNs();
            bookNs[k] = bookFirst ? first : second;
            pairRatios[k] = bookFirst ? second / first : first / second;
        }

        Array.Sort(pairRatios);
        Array.Sort(bookNs);
        return FormattableString.Invariant(
            $"RESULT bench=risk case=order-entry-pairs pairs={pairs} ratio_total_over_book_median={pairRatios[pairs / 2]:F2} ratio_p25={pairRatios[pairs / 4]:F2} ratio_p75={pairRatios[3 * pairs / 4]:F2} ratio_min={pairRatios[0]:F2} ratio_max={pairRatios[^1]:F2} book_ns_median={bookNs[pairs / 2]:F1}");
    }

    /// <summary>The by-kind lines alone, on an order-entry flow of <paramref name="operations"/> (tests: a short flow).</summary>
    public static void OrderEntryByKind(int operations, int seed)
    {
        var flow = ExchangeCoreWorkload.Generate(operations, seed);
        var commands = BookTranslator.ToCommands(flow.Records);
        var config = OrderEntryConfig();
        ByKind(commands, flow.PrefillCount, config);
    }

    /// <summary>The pull-backs-alone line alone, after the prefill of an order-entry flow of <paramref name="operations"/> (tests).</summary>
    public static void OrderEntryPullBacksAlone(int operations, int seed, int amends)
    {
        var flow = ExchangeCoreWorkload.Generate(operations, seed);
        PullBacksAlone(BookTranslator.ToCommands(flow.Records), flow.PrefillCount, OrderEntryConfig(), amends);
    }

    /// <summary>
    /// The flow <see cref="PullBacksAlone"/> times: the order-entry flow's first <paramref name="prefill"/> commands, then
    /// <paramref name="amends"/> amends by exchange order id, each moving a random one of the orders resting after the prefill a
    /// tick away from the touch (a buy lower, a sell higher), its quantity unchanged: none takes the margin test.
    /// </summary>
    public static EngineCommand[] PullBackFlow(EngineCommand[] flowCommands, int prefill, EngineConfig config, int amends)
    {
        var probe = new MatchingEngine<CountingSink, NoPositions>(config);
        for (var i = 0; i < prefill; i++)
        {
            probe.Process(in flowCommands[i]);
        }

        var resting = probe.RestingOrders(BookTranslator.InstrumentId, Side.Buy).Concat(probe.RestingOrders(BookTranslator.InstrumentId, Side.Sell)).ToArray();
        if (resting.Length == 0)
        {
            throw new ArgumentException($"pull-backs alone: no order rests after the flow's first {prefill} commands, so there is none to pull back");
        }

        var price = resting.Select(o => o.PriceTicks).ToArray();
        var commands = new EngineCommand[prefill + amends];
        Array.Copy(flowCommands, commands, prefill);
        var now = flowCommands[prefill - 1].NowNs;
        var random = new Random(5);
        for (var k = 0; k < amends; k++)
        {
            var r = random.Next(resting.Length);
            price[r] += resting[r].Side == Side.Buy ? -1 : 1;   // away from the touch
            commands[prefill + k] = EngineCommand.Amend(++now, resting[r].AccountId, resting[r].OrderId, price[r], 0);
        }

        return commands;
    }

    /// <summary>
    /// What an amend that only pulls its order back costs the gate over the book on its own path, with no other kind of command
    /// between (the by-kind lines time the same kind inside the flow): the flow's prefill, then <paramref name="amends"/> amends,
    /// each moving a resting order (chosen at random, by its exchange id) a tick away from the touch, its quantity unchanged, so
    /// none takes the margin test (<see cref="AmendMarginTest"/>). The book alone and the full gate each replay it twice, in ABBA
    /// order, the loop timed whole (no clock per command). On 2026-12-05 these read 5-6 ns over the book where the by-kind
    /// line read 15-28 inside the flow: the difference is what the flow's mix costs the pull-back (there, the branch on
    /// whether an amend takes the test mispredicts for it; perf/HISTORY.md).
    /// </summary>
    private static void PullBacksAlone(EngineCommand[] flowCommands, int prefill, EngineConfig config, int amends)
    {
        var commands = PullBackFlow(flowCommands, prefill, config, amends);

        // One pass: a fresh build, the prefill untimed, then the amends timed whole; and how many of them the build refused
        // (a refused amend takes a cheaper path than a pull-back: the line says so).
        (double Ns, long Rejected) Pass(Action<int> run, Func<long> rejected)
        {
            for (var i = 0; i < prefill; i++)
            {
                run(i);
            }

            var rejectedBefore = rejected();
            InputPages.Touch(commands);
            var start = Stopwatch.GetTimestamp();
            for (var i = prefill; i < commands.Length; i++)
            {
                run(i);
            }

            return (Stopwatch.GetElapsedTime(start).TotalNanoseconds / amends, rejected() - rejectedBefore);
        }

        double bookNs = 0, fullNs = 0;
        long refused = 0;
        foreach (var isFull in new[] { false, true, true, false })
        {
            double ns;
            long rejected;
            if (isFull)
            {
                var gate = FullGate<CountingSink>(config);
                (ns, rejected) = Pass(i => gate.Process(in commands[i]), () => gate.Engine.Sink.Rejected);
                fullNs += ns / 2;
            }
            else
            {
                var book = new MatchingEngine<CountingSink, NoPositions>(config);
                (ns, rejected) = Pass(i => book.Process(in commands[i]), () => book.Sink.Rejected);
                bookNs += ns / 2;
            }

            refused += rejected;
        }

        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=risk case=order-entry-pull-backs-alone amends={amends} book_ns={bookNs:F1} full_ns={fullNs:F1} excess_ns={fullNs - bookNs:F1} rejected={refused}"));
    }

    // The stages between the two ends: the book with the ledger booking its fills and flushing the re-keys after every command,
    // as the state machine does; and the full gate with a sink that declines the ack's what-if event (the checks alone).
    private static Func<Action<int>> LedgerBooking(EngineCommand[] commands, EngineConfig config) => () =>
    {
        var ledger = FundedLedger();
        ledger.DeferReindex = true;
        var engine = new MatchingEngine<CountingSink, LedgerPositions>(config, default, new LedgerPositions(ledger));
        return i =>
        {
            engine.Process(in commands[i]);
            ledger.FlushReindex();
        };
    };

    private static Func<Action<int>> GateWithoutWhatIfs(EngineCommand[] commands, EngineConfig config) => () =>
    {
        var risk = FullGate<NoWhatIfSink>(config);
        return i => risk.Process(in commands[i]);
    };

    // The order-entry flow's two ends, each a fresh build a call: the book alone, and the full gate.
    private static Func<Action<int>> BookAlone(EngineCommand[] commands, EngineConfig config) => () =>
    {
        var engine = new MatchingEngine<CountingSink, NoPositions>(config);
        return i => engine.Process(in commands[i]);
    };

    private static Func<Action<int>> FullGateOn(EngineCommand[] commands, EngineConfig config) => () =>
    {
        var risk = FullGate<CountingSink>(config);
        return i => risk.Process(in commands[i]);
    };

    /// <summary>Whether the gate puts this amend through the margin test (<see cref="AmendMarginTest"/>), by its order as the book
    /// alone has it before the amend (an amend of an order that is not there counts as "amend": refused as unknown, before any test).</summary>
    private static bool TakesMarginTest(MatchingEngine<CountingSink, NoPositions> book, in EngineCommand amend)
    {
        var found = amend.OrderId != 0 ? book.TryGetOrder(amend.OrderId, out var order) : book.TryGetOrderByClientId(amend.AccountId, amend.ClientOrderId, out order);
        return !found || AmendMarginTest.Applies(order.Side, order.Flags, order.PriceTicks, order.QtyLots, order.FilledLots, amend.PriceTicks, amend.QtyLots);
    }

    /// <summary>
    /// Where the full gate's time over the book goes, by kind of command (the stages say by part of the machine): each command
    /// after the prefill timed alone through the book, the book with the ledger (fills booked, re-keys flushed), the gate
    /// without the what-ifs and the full gate, three rounds, the mean per kind (so a kind's excess can be told apart by
    /// stage: the ledger's, the checks', the what-ifs'). A command's kind is what it is (an amend that skips the margin test,
    /// most of them pulling their order back or cutting it, is "amend-back") and, from a replay through the book alone,
    /// whether it traded ("-filled"). Each figure holds the timer's two clock reads, the same in every build, so the excess per
    /// kind is the gate's own; weighted by the kind's share it adds up to the flow's mean excess, timed command by command.
    /// </summary>
    private static void ByKind(EngineCommand[] commands, int prefill, EngineConfig config)
    {
        var kinds = new string[commands.Length];
        var traded = new MatchingEngine<CountingSink, NoPositions>(config);
        for (var i = 0; i < commands.Length; i++)
        {
            ref readonly var c = ref commands[i];
            var kind = c.Kind switch
            {
                CommandKind.PlaceOrder => c.TimeInForce.CanRest() ? "place" : "ioc",
                CommandKind.AmendOrder => TakesMarginTest(traded, in c) ? "amend" : "amend-back",
                CommandKind.ReduceOrder => "reduce",
                CommandKind.CancelOrder => "cancel",
                _ => c.Kind.ToString().ToLowerInvariant(),
            };
            var before = traded.Sink.Trades;
            traded.Process(in commands[i]);
            kinds[i] = traded.Sink.Trades != before ? kind + "-filled" : kind;
        }

        const int Rounds = 3;
        var names = kinds.Skip(prefill).Distinct().Order(StringComparer.Ordinal).ToArray();
        var index = names.Select((name, k) => (name, k)).ToDictionary(e => e.name, e => e.k);
        var counts = new long[names.Length];
        for (var i = prefill; i < commands.Length; i++)
        {
            counts[index[kinds[i]]]++;
        }

        // [book, ledger, checks, full] nanoseconds per kind, summed over the rounds: the book alone, the book with the ledger
        // booking fills (and its re-keys), the gate without the what-ifs, the full gate.
        Func<Action<int>>[] builds = [BookAlone(commands, config), LedgerBooking(commands, config), GateWithoutWhatIfs(commands, config), FullGateOn(commands, config)];
        var totals = new double[builds.Length, names.Length];
        var times = new long[commands.Length];
        for (var r = 0; r < Rounds; r++)
        {
            for (var b = 0; b < builds.Length; b++)
            {
                var run = builds[b]();
                for (var i = 0; i < prefill; i++)
                {
                    run(i);
                }

                InputPages.Touch(commands);
                InputPages.TouchForWrite(times);
                for (var i = prefill; i < commands.Length; i++)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    run(i);
                    times[i] = Stopwatch.GetTimestamp() - t0;
                }

                for (var i = prefill; i < commands.Length; i++)
                {
                    totals[b, index[kinds[i]]] += times[i] * (1e9 / Stopwatch.Frequency);
                }
            }
        }

        var timed = commands.Length - prefill;
        double excessPerCommand = 0;
        for (var k = 0; k < names.Length; k++)
        {
            var bookNs = totals[0, k] / Rounds / counts[k];
            var fullNs = totals[3, k] / Rounds / counts[k];
            var contribution = (fullNs - bookNs) * counts[k] / timed;   // ns a command of the flow, from this kind
            excessPerCommand += contribution;
            Console.WriteLine(FormattableString.Invariant(
                $"RESULT bench=risk case=order-entry-by-kind kind={names[k]} commands={counts[k]} share={(double)counts[k] / timed:F3} book_ns={bookNs:F1} ledger_ns={totals[1, k] / Rounds / counts[k]:F1} checks_ns={totals[2, k] / Rounds / counts[k]:F1} full_ns={fullNs:F1} excess_ns={fullNs - bookNs:F1} excess_ns_per_command={contribution:F1}"));
        }

        Console.WriteLine(FormattableString.Invariant(
            $"# by kind: each command timed alone (both builds carry the timer's two clock reads); the kinds' excess_ns_per_command add up to {excessPerCommand:F1} ns, the full gate's mean excess over the book timed this way"));
    }

    /// <summary>
    /// Order entry for an account that already has N orders resting (a market maker's quotes): one
    /// new limit order through the full gate, then its cancel, timed per pair. The margin check reads
    /// the account's open exposure, so this shows whether entry cost grows with the account's orders.
    /// The book alone is timed beside it on the same resting orders, so that what grows can be told apart: the book's share
    /// (`book_ratio_10k_over_10`) or the gate's own work over the book (`gate_excess_ratio_10k_over_10`, the full gate less
    /// the book, 10,000 over 10). The four builds are made first and timed in alternating rounds (10 then 10,000, then
    /// 10,000 then 10, ...): a phase of this VM that slows the core for a while falls on all of them, and each ratio is the
    /// median of the rounds' own ratios.
    /// <para>
    /// The probes take <see cref="ProbeClientIds"/> client order ids in turn. With one fixed id (1,000,000,000, until
    /// 2026-12-04), the book alone's ratio timed one neighbourhood of the engine's client-id table: whether the resting
    /// orders' keys happened to sit just after that id's home, where its lookups walk and its removal shifts. Account 1's
    /// ids 1-10,000 filled the two cells after it, and the book alone read 1.07-1.12 in twelve runs. Eight books timed in
    /// turn in one process: one resting 10,000 orders with ids 5,000,001-5,010,000 (nothing near that home) 71.4 ns a pair,
    /// two of 10 orders 71.0 and 74.0, five resting ids 1-10,000 (account 1's or another's, at 10,000 prices or one)
    /// 75.6-76.9. Over 256 ids the book alone reads 1.01-1.09 (1.03-1.04 in four of six runs) and the whole gate 1.05-1.07,
    /// as before: what a client-id table 15 % full costs on average, the figure no longer one key's luck.
    /// </para>
    /// </summary>
    private static void RestingOrderScaling(bool quick)
    {
        var counts = new[] { 10, 10_000 };
        var gates = counts.Select(BuildResting).ToArray();
        var books = counts.Select(BuildRestingBook).ToArray();
        // Each probe joins the best level (no ladder work, so what grows is the account side), with the next of the probes' ids.
        var probes = new EngineCommand[ProbeClientIds];
        var cancels = new EngineCommand[ProbeClientIds];
        for (var k = 0; k < ProbeClientIds; k++)
        {
            probes[k] = EngineCommand.Limit(1, 1, BookTranslator.InstrumentId, 1_000_000_000 + k, Side.Buy, 990_000, 1);
            cancels[k] = EngineCommand.Cancel(1, 1, 0, 1_000_000_000 + k);
        }

        for (var m = 0; m < counts.Length; m++)
        {
            TimePairs(gates[m], probes, cancels, 20_000);   // warm-up
            TimePairs(books[m], probes, cancels, 20_000);
        }

        var rounds = quick ? 20 : 50;
        var pairsPerRound = 10_000;
        var gateNs = new double[counts.Length][];
        var bookNs = new double[counts.Length][];
        for (var m = 0; m < counts.Length; m++)
        {
            gateNs[m] = new double[rounds];
            bookNs[m] = new double[rounds];
        }

        var ratios = new double[rounds];
        var bookRatios = new double[rounds];
        var excessRatios = new double[rounds];
        for (var r = 0; r < rounds; r++)
        {
            for (var k = 0; k < counts.Length; k++)
            {
                var m = r % 2 == 0 ? k : counts.Length - 1 - k;
                gateNs[m][r] = TimePairs(gates[m], probes, cancels, pairsPerRound);
                bookNs[m][r] = TimePairs(books[m], probes, cancels, pairsPerRound);
            }

            ratios[r] = gateNs[1][r] / gateNs[0][r];
            bookRatios[r] = bookNs[1][r] / bookNs[0][r];
            excessRatios[r] = (gateNs[1][r] - bookNs[1][r]) / (gateNs[0][r] - bookNs[0][r]);
        }

        for (var m = 0; m < counts.Length; m++)
        {
            Console.WriteLine(FormattableString.Invariant(
                $"RESULT bench=risk case=order-entry-resting resting_orders={counts[m]} ns_per_place_and_cancel={NodeBenchmark.Median(gateNs[m]):F1} book_ns_per_place_and_cancel={NodeBenchmark.Median(bookNs[m]):F1}"));
        }

        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=risk case=order-entry-resting-scaling ratio_10k_over_10={NodeBenchmark.Median(ratios):F2} rounds={rounds} probe_client_ids={probes.Select(p => p.ClientOrderId).Distinct().Count()} ratio_p25={NodeBenchmark.Quartile(ratios, 1):F2} ratio_p75={NodeBenchmark.Quartile(ratios, 3):F2} book_ratio_10k_over_10={NodeBenchmark.Median(bookRatios):F2} gate_excess_ratio_10k_over_10={NodeBenchmark.Median(excessRatios):F2} gate_excess_p25={NodeBenchmark.Quartile(excessRatios, 1):F2} gate_excess_p75={NodeBenchmark.Quartile(excessRatios, 3):F2}"));
        Console.WriteLine("# resting: the gate's excess is a difference of two timings, so it spreads more than the ratios; a margin check that walked the account's 10,000 orders again would read it in the hundreds");
    }

    /// <summary>The full gate or the book alone, as the resting-orders case drives them (a struct: the timing loop is compiled for each).</summary>
    private interface IOrderEntry
    {
        void Process(in EngineCommand command);

        long Accepted { get; }
    }

    private readonly struct Gate(PerpStateMachine<CountingSink> machine) : IOrderEntry
    {
        public void Process(in EngineCommand command) => machine.Process(in command);

        public long Accepted => machine.Engine.Sink.Accepted;
    }

    private readonly struct BookAloneEntry(MatchingEngine<CountingSink, NoPositions> engine) : IOrderEntry
    {
        public void Process(in EngineCommand command) => engine.Process(in command);

        public long Accepted => engine.Sink.Accepted;
    }

    /// <summary>A full gate whose one account (funded, at a mark) rests <paramref name="resting"/> one-lot bids below the best.</summary>
    private static Gate BuildResting(int resting)
    {
        var config = RestingConfig();
        var ledger = NewLedger(64);
        ledger.SetMark(BookTranslator.InstrumentId, 1_000_000);
        ledger.Deposit(1, 10_000_000 * Usdt);
        var gate = new Gate(new PerpStateMachine<CountingSink>(config, ledger, new RiskLimits { MaxOpenOrdersPerInstrument = 20_000 }));
        RestBids(gate, resting);
        return gate;
    }

    /// <summary>The book alone, its one account resting the same bids as <see cref="BuildResting"/>'s.</summary>
    private static BookAloneEntry BuildRestingBook(int resting)
    {
        var book = new BookAloneEntry(new MatchingEngine<CountingSink, NoPositions>(RestingConfig()));
        RestBids(book, resting);
        return book;
    }

    /// <summary>The resting-orders case's engine, the same for the gate and the book alone: 32,768 live orders, 16,384 levels a side, 64 accounts.</summary>
    private static EngineConfig RestingConfig() => BookTranslator.Config(1 << 15, 16_384, 64);

    /// <summary>Account 1's <paramref name="resting"/> one-lot bids, a tick apart below the best (990,000).</summary>
    private static void RestBids<T>(T entry, int resting)
        where T : struct, IOrderEntry
    {
        for (var k = 0; k < resting; k++)
        {
            var place = EngineCommand.Limit(1, 1, BookTranslator.InstrumentId, k + 1, Side.Buy, 990_000 - k, 1);
            entry.Process(in place);
        }
    }

    /// <summary>Client order ids the resting-orders case's probes take in turn (a power of two): see <see cref="RestingOrderScaling"/>.</summary>
    private const int ProbeClientIds = 256;

    /// <summary>Nanoseconds a place-and-cancel pair, over <paramref name="pairs"/> of them, the probes taken in turn; says so on
    /// standard error if a probe was not accepted.</summary>
    private static double TimePairs<T>(T entry, EngineCommand[] probes, EngineCommand[] cancels, int pairs)
        where T : struct, IOrderEntry
    {
        var accepted = entry.Accepted;
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < pairs; i++)
        {
            var k = i & (probes.Length - 1);   // a power of two: every probe in turn
            entry.Process(in probes[k]);
            entry.Process(in cancels[k]);
        }

        var ns = Stopwatch.GetElapsedTime(start).TotalNanoseconds / pairs;
        if (entry.Accepted - accepted != pairs)
        {
            Console.Error.WriteLine($"risk: {pairs - (entry.Accepted - accepted)} probe orders were not accepted ({(typeof(T) == typeof(Gate) ? "the full gate" : "the book alone")})");
        }

        return ns;
    }

    /// <summary>
    /// Order entry on an exchange that lists 2 or 64 instruments, for accounts trading 2 of them: the order-entry flow on
    /// instrument 1 interleaved with a copy of it on instrument 2 (client order ids shifted, so the copies are distinct
    /// orders), the other instruments listed, marked and untraded. Margin, equity, liquidation prices and re-keying read an
    /// account's positions and open orders: their cost must follow the instruments the account is in, not how many are listed.
    /// </summary>
    private static void ListedInstrumentScaling(bool quick)
    {
        const int Traded = 2;
        int[] listed = [Traded, 64];
        var flow = ExchangeCoreWorkload.Generate(quick ? 200_000 : 600_000, 1);
        var one = BookTranslator.ToCommands(flow.Records);
        var commands = new EngineCommand[one.Length * Traded];
        for (var k = 0; k < one.Length; k++)
        {
            commands[k * Traded] = one[k];
            ref var copy = ref commands[(k * Traded) + 1];
            copy = one[k];
            copy.ClientOrderId += 1L << 40;
            if (copy.Kind == CommandKind.PlaceOrder)
            {
                copy.InstrumentId = BookTranslator.InstrumentId + 1;
            }
        }

        var prefill = flow.PrefillCount * Traded;
        PerpStateMachine<CountingSink> Build(int instruments)
        {
            var config = BookTranslator.Config(1 << 17, 4_096, 4_096) with
            {
                Instruments = [.. Enumerable.Range(BookTranslator.InstrumentId, instruments).Select(id => BookTranslator.Instrument with { Id = id, Symbol = $"REPLAY{id}" })],
            };
            var risk = FullGate<CountingSink>(config, FundedLedger(instruments));
            for (var i = 0; i < prefill; i++)
            {
                risk.Process(in commands[i]);
            }

            return risk;
        }

        // Alternating rounds, each a fresh machine per listing (this machine's phases: see the order-entry case); medians.
        var rounds = quick ? 5 : 9;
        var ns = listed.ToDictionary(n => n, _ => new List<double>());
        (long, long, long, long, long)? outcomes = null;
        var sameOutcome = true;
        for (var r = 0; r < rounds + 1; r++)
        {
            foreach (var n in r % 2 == 0 ? listed : listed.Reverse())
            {
                var risk = Build(n);
                InputPages.Touch(commands);
                var start = Stopwatch.GetTimestamp();
                for (var i = prefill; i < commands.Length; i++)
                {
                    risk.Process(in commands[i]);
                }

                var elapsed = Stopwatch.GetElapsedTime(start);
                if (r > 0)
                {
                    ns[n].Add(elapsed.TotalNanoseconds / (commands.Length - prefill));   // round 0 warms up
                }

                // The state hashes cover every listed instrument, so the listings compare by what the flow did.
                ref var sink = ref risk.Engine.Sink;
                var outcome = (sink.Accepted, sink.Rejected, sink.Trades, sink.FilledLots, sink.Cancelled);
                sameOutcome &= outcomes is null || outcomes == outcome;
                outcomes ??= outcome;
            }
        }

        double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        foreach (var n in listed)
        {
            Console.WriteLine(FormattableString.Invariant($"RESULT bench=risk case=listed-instruments listed={n} traded={Traded} ns_per_op={Median(ns[n]):F1}"));
        }

        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=risk case=listed-instruments-scaling ratio_64_over_2={Median(ns[64]) / Median(ns[Traded]):F2} same_outcome={(sameOutcome ? "true" : "false")}"));
    }

    private static void Print(string name, (double NsPerOp, long P99, double AllocPerOp) m) =>
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=risk case={name} ns_per_op={m.NsPerOp:F1} p99_ns={m.P99} alloc_bytes_per_op={(m.AllocPerOp == 0 ? "0" : m.AllocPerOp.ToString("F3", CultureInfo.InvariantCulture))}"));

    private static void MarkUpdates(bool quick)
    {
        var results = new Dictionary<int, double>();
        var flagged = new int[256];
        foreach (var accounts in new[] { 10_000, 100_000, 1_000_000 })
        {
            var ledger = NewLedger(accounts + 2, instruments: 2);
            const long mark = 1_000_000;
            ledger.SetMark(BookTranslator.InstrumentId, mark);
            ledger.SetMark(BookTranslator.InstrumentId + 1, mark);

            // Pairs of accounts take opposite positions of 100 lots (100 USDT) at the mark. Most hold
            // 50-60 USDT (liquidation ~50% away; a thousand different amounts, so the ADL ranking below has as many
            // different scores to rank); the same few (10 pairs, whatever N) hold 1 USDT (~0.6% away).
            for (var a = 1; a + 1 <= accounts; a += 2)
            {
                var deposit = a <= 20 ? 1 * Usdt : (50 * Usdt) + (a % 1_000 * 10_000);
                ledger.Deposit(a, deposit);
                ledger.Deposit(a + 1, deposit);
                ledger.ApplyFill(a, BookTranslator.InstrumentId, Side.Buy, mark, 100, isMaker: false);
                ledger.ApplyFill(a + 1, BookTranslator.InstrumentId, Side.Sell, mark, 100, isMaker: true);
            }

            var updates = quick ? 200_000 : 1_000_000;
            long touched = 0;
            for (var i = 0; i < 10_000; i++)
            {
                touched += ledger.MarkUpdate(BookTranslator.InstrumentId, mark + ((i % 200) - 100) * 100, flagged);
            }

            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < updates; i++)
            {
                // The mark wanders ±1% around entry: the thin positions come in and out of range.
                touched += ledger.MarkUpdate(BookTranslator.InstrumentId, mark + ((i % 200) - 100) * 100, flagged);
            }

            var ns = Stopwatch.GetElapsedTime(start).TotalNanoseconds / updates;
            results[accounts] = ns;
            Console.WriteLine(FormattableString.Invariant($"RESULT bench=risk case=mark-update accounts={accounts} ns_per_update={ns:F1}"));
            Console.WriteLine(FormattableString.Invariant($"# accounts={accounts}: {touched / (double)(updates + 10_000):F1} positions at or past liquidation per update on average"));

            // The ADL ranking, which the state machine takes every second of engine time (what an order's what-if ADL quantile
            // is read against): one pass over the positions, ranked per instrument and side. In one call (SnapshotAdlRanking):
            // the first timed alone (its code compiled, its tables allocated), then the mean of the next five.
            var snapshotStart = Stopwatch.GetTimestamp();
            ledger.SnapshotAdlRanking();
            var firstSnapshotUs = Stopwatch.GetElapsedTime(snapshotStart).TotalMicroseconds;
            snapshotStart = Stopwatch.GetTimestamp();
            for (var k = 0; k < 5; k++)
            {
                ledger.SnapshotAdlRanking();
            }

            var snapshotUs = Stopwatch.GetElapsedTime(snapshotStart).TotalMicroseconds / 5;

            // The same pass as the state machine runs it, a slice of 64 positions a command: how many slices, and the 99th and
            // 99.9th percentiles and the longest of their times. Five passes, the median of each figure. The longest is this
            // VM's: a few slices a pass, scoring and ranking alike, take 20-60 us (the host's interruptions), more of them the
            // more slices there are.
            var sliceUs = new List<double>();
            var ranking = SliceFigures(_ => ledger.StartAdlRanking(), startIsASlice: false, () => ledger.ContinueAdlRanking(64), sliceUs);
            Console.WriteLine(FormattableString.Invariant($"RESULT bench=risk case=adl-ranking accounts={accounts} positions={accounts} one_call_us={snapshotUs:F0} ns_per_position={snapshotUs * 1_000 / accounts:F1} first_us={firstSnapshotUs:F0} {ranking}"));

            // The concentration check's largest holders (five): before 2026-12-04 a pass of their own over the holders in one
            // command each second (Ledger.TopHolders, the mean of five after one untimed); now kept by the ranking pass as it
            // scores (its slices with them, beside the figures above without).
            var (topAccounts, topLots) = (new int[5], new long[5]);
            ledger.TopHolders(BookTranslator.InstrumentId, topAccounts, topLots);
            var topStart = Stopwatch.GetTimestamp();
            for (var k = 0; k < 5; k++)
            {
                ledger.TopHolders(BookTranslator.InstrumentId, topAccounts, topLots);
            }

            var topUs = Stopwatch.GetElapsedTime(topStart).TotalMicroseconds / 5;
            var keeping = SliceFigures(_ => ledger.StartAdlRanking(topHolders: 5), startIsASlice: false, () => ledger.ContinueAdlRanking(64), sliceUs);
            Console.WriteLine(FormattableString.Invariant($"RESULT bench=risk case=concentration-holders accounts={accounts} holders={accounts} top=5 one_call_us={topUs:F0} ranking_pass_keeping_them: {keeping}"));

            // A funding settlement pays every holder and re-keys the liquidation price of those it must: one stall of the engine
            // thread a funding time, as long as the holders make it (here every account holds a position). Rates of ±0.01 %.
            // The first settlement is timed alone (first_us: its code compiled and its scratch touched for the first time, as
            // a node's first funding time finds them), then the mean of the next five.
            const int settlements = 5;
            var firstStart = Stopwatch.GetTimestamp();
            long paid = ledger.SettleFunding(BookTranslator.InstrumentId, -10_000);
            var firstUs = Stopwatch.GetElapsedTime(firstStart).TotalMicroseconds;
            var settleStart = Stopwatch.GetTimestamp();
            for (var k = 0; k < settlements; k++)
            {
                paid += ledger.SettleFunding(BookTranslator.InstrumentId, k % 2 == 0 ? 10_000 : -10_000);
            }

            var us = Stopwatch.GetElapsedTime(settleStart).TotalMicroseconds / settlements;
            var sliced = SlicedSettlements(ledger, BookTranslator.InstrumentId, sliceUs);
            Console.WriteLine(FormattableString.Invariant($"RESULT bench=risk case=funding-settlement accounts={accounts} holders={accounts} us_per_settlement={us:F0} ns_per_holder={us * 1_000 / accounts:F1} first_us={firstUs:F0} paid={paid} {sliced}"));

            // A second instrument that 10,000 of the same accounts hold (pairs spread evenly over them): its settlement visits
            // its holders, not the ledger's accounts, so the work is 10,000 holders' at every size (the time still grows a
            // little with the accounts: the same holders spread over more memory).
            const int fewHolders = 10_000;
            var stride = accounts / fewHolders * 2;
            for (var a = 1; a + 1 <= accounts; a += stride)
            {
                ledger.ApplyFill(a, BookTranslator.InstrumentId + 1, Side.Buy, mark, 10, isMaker: false);
                ledger.ApplyFill(a + 1, BookTranslator.InstrumentId + 1, Side.Sell, mark, 10, isMaker: true);
            }

            firstStart = Stopwatch.GetTimestamp();
            paid = ledger.SettleFunding(BookTranslator.InstrumentId + 1, -10_000);
            firstUs = Stopwatch.GetElapsedTime(firstStart).TotalMicroseconds;
            settleStart = Stopwatch.GetTimestamp();
            for (var k = 0; k < settlements; k++)
            {
                paid += ledger.SettleFunding(BookTranslator.InstrumentId + 1, k % 2 == 0 ? 10_000 : -10_000);
            }

            us = Stopwatch.GetElapsedTime(settleStart).TotalMicroseconds / settlements;
            sliced = SlicedSettlements(ledger, BookTranslator.InstrumentId + 1, sliceUs);
            Console.WriteLine(FormattableString.Invariant($"RESULT bench=risk case=funding-settlement accounts={accounts} holders={fewHolders} us_per_settlement={us:F0} ns_per_holder={us * 1_000 / fewHolders:F1} first_us={firstUs:F0} paid={paid} {sliced}"));

            // A contract change (RiskParameter.MarginTiers, TakerFeeRate) on each instrument, the one every account holds and the
            // one 10,000 hold: in one call, and a tier change as the state machine applies it, its holders re-keyed by a pass.
            ContractChanges(ledger, accounts, BookTranslator.InstrumentId, accounts, sliceUs);
            ContractChanges(ledger, accounts, BookTranslator.InstrumentId + 1, fewHolders, sliceUs);
        }

        Console.WriteLine(FormattableString.Invariant($"RESULT bench=risk case=mark-update-scaling ratio_1m_over_10k={results[1_000_000] / results[10_000]:F2}"));
    }

    /// <summary>
    /// A contract's margin tiers changed to a table with a higher maintenance rate in every tier and back, and its taker fee
    /// changed and back, each in one call, every holder re-keyed in it: the first alone, then the mean of the next four, in
    /// microseconds. Then the tier change as the state machine applies it (<c>change=tiers-spread</c>): the change, then its
    /// holders re-keyed by a pass of 128 a command (Ledger.RekeyPass.cs), as <see cref="SliceFigures"/> times a funding pass
    /// (the change itself, which ORs the holders into the pass's bitmap, counts as a slice).
    /// </summary>
    private static void ContractChanges(Ledger ledger, int accounts, int instrumentId, int holders, List<double> sliceUs)
    {
        MarginTierTable[] tables = [HigherMaintenance(), Tiers()];
        var fee = ledger.Contract(instrumentId).Fees.TakerRate;
        long[] fees = [fee + 100, fee];
        foreach (var (change, apply) in new (string, Action<int>)[]
        {
            ("tiers", k => ledger.UpdateContract(instrumentId, spec => spec with { Tiers = tables[k % 2] })),
            ("taker-fee", k => ledger.UpdateContract(instrumentId, spec => spec with { Fees = spec.Fees with { TakerRate = fees[k % 2] } })),
        })
        {
            var start = Stopwatch.GetTimestamp();
            apply(0);
            var firstUs = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            start = Stopwatch.GetTimestamp();
            for (var k = 1; k <= 4; k++)
            {
                apply(k);
            }

            var us = Stopwatch.GetElapsedTime(start).TotalMicroseconds / 4;
            Console.WriteLine(FormattableString.Invariant($"RESULT bench=risk case=contract-change accounts={accounts} holders={holders} change={change} us_per_change={us:F0} first_us={firstUs:F0}"));
        }

        var spread = SliceFigures(
            k => ledger.UpdateContract(instrumentId, spec => spec with { Tiers = tables[(k + 1) % 2] }, rekeyHoldersLater: true), startIsASlice: true,
            () =>
            {
                ledger.ContinueRekey(128);
                return !ledger.RekeyUnderWay;
            },
            sliceUs);
        Console.WriteLine(FormattableString.Invariant($"RESULT bench=risk case=contract-change accounts={accounts} holders={holders} change=tiers-spread {spread}"));
    }

    // Tiers() with every maintenance rate half as high again: the same initial margins (leverage caps), higher liquidation prices.
    private static MarginTierTable HigherMaintenance()
    {
        var tiers = Tiers();
        return new([.. Enumerable.Range(0, tiers.Count).Select(k => tiers[k] with { MaintenanceRate = tiers[k].MaintenanceRate * 3 / 2 })]);
    }

    /// <summary>
    /// Settlements as the state machine runs them (Ledger.Funding): started, then 128 holders a command. Five of them at
    /// rates of ±0.01 %; the start, which copies the holders' bitmap, counts as a slice.
    /// </summary>
    private static string SlicedSettlements(Ledger ledger, int instrumentId, List<double> sliceUs) =>
        SliceFigures(k => ledger.StartFunding(instrumentId, k % 2 == 0 ? 10_000 : -10_000), startIsASlice: true, () => ledger.ContinueFunding(128, out _, out _), sliceUs);

    /// <summary>
    /// A pass as the state machine runs it, a slice a command, five times (<paramref name="start"/> gets the pass's number;
    /// timed as a slice when <paramref name="startIsASlice"/>): how many slices, and the median, the 99th and 99.9th percentiles
    /// and the longest of their times, the median of each figure over the five. The longest is this VM's: a few slices a pass
    /// take 20-60 us (the host's interruptions), more of them the more slices there are; of a pass of 80 slices the 99th
    /// percentile is the longest, so the median says what a slice costs.
    /// </summary>
    private static string SliceFigures(Action<int> start, bool startIsASlice, Func<bool> slice, List<double> sliceUs)
    {
        var runs = new (int Slices, double P50Us, double P99Us, double P999Us, double MaxUs)[5];
        for (var k = 0; k < runs.Length; k++)
        {
            sliceUs.Clear();
            var startedAt = Stopwatch.GetTimestamp();
            start(k);
            if (startIsASlice)
            {
                sliceUs.Add(Stopwatch.GetElapsedTime(startedAt).TotalMicroseconds);
            }

            bool done;
            do
            {
                var sliceStart = Stopwatch.GetTimestamp();
                done = slice();
                sliceUs.Add(Stopwatch.GetElapsedTime(sliceStart).TotalMicroseconds);
            }
            while (!done);

            sliceUs.Sort();
            runs[k] = (sliceUs.Count, sliceUs[sliceUs.Count / 2], sliceUs[(int)(sliceUs.Count * 0.99)], sliceUs[(int)(sliceUs.Count * 0.999)], sliceUs[^1]);
        }

        double MedianOf(Func<(int Slices, double P50Us, double P99Us, double P999Us, double MaxUs), double> figure) => runs.Select(figure).Order().ElementAt(runs.Length / 2);
        return FormattableString.Invariant($"slices={runs[0].Slices} slice_p50_us={MedianOf(x => x.P50Us):F1} slice_p99_us={MedianOf(x => x.P99Us):F1} slice_p999_us={MedianOf(x => x.P999Us):F1} slice_max_us={MedianOf(x => x.MaxUs):F1}");
    }

    /// <summary>
    /// N accounts in long/short pairs hold positions far from liquidation; k thin longs (1 USDT behind 100 USDT,
    /// liquidation ~0.6% below entry) and a market maker bidding between their bankruptcy price and the shocked mark.
    /// Each repetition opens the k positions (not timed), then times the one mark command that liquidates all k:
    /// trigger, slice into the maker's bid, clearance fee, completion. Median over the repetitions.
    /// </summary>
    private static void LiquidationScaling(bool quick)
    {
        const long entry = 1_000_000;
        const long shocked = 992_000;   // liquidation ≈ 993,976, bankruptcy ≈ 990,500 after the taker fee
        const int maker = 1;
        var reps = quick ? 200 : 1_000;
        foreach (var k in new[] { 1, 4, 16 })
        {
            var results = new Dictionary<int, double>();
            foreach (var accounts in new[] { 10_000, 1_000_000 })
            {
                var instrument = new Aivora.Core.Instruments.InstrumentSpec
                {
                    Id = BookTranslator.InstrumentId, Symbol = "LIQ", TickSize = 1, LotSize = 1, MinQuantity = 1,
                    Band = Aivora.Core.Instruments.PriceBand.InBasisPoints(1_000), ReferencePriceTicks = entry,
                };
                var config = new EngineConfig { Instruments = [instrument], MaxRestingOrders = 1_024, MaxPriceLevelsPerSide = 256, MaxAccounts = accounts + k + 8 };
                var ledger = NewLedger(accounts + k + 8);
                var machine = new PerpStateMachine<CountingSink>(config, ledger, new RiskLimits { Liquidation = new() { InsuranceFundAccountId = 2 } });
                long now = 1;
                var mark = Aivora.Core.Commands.EngineCommand.Mark(now, BookTranslator.InstrumentId, entry);
                machine.Process(in mark);
                ledger.Deposit(maker, 1_000_000_000 * Usdt);
                for (var a = 10; a < 10 + accounts; a += 2)
                {
                    ledger.Deposit(a, 50 * Usdt);
                    ledger.Deposit(a + 1, 50 * Usdt);
                    ledger.ApplyFill(a, BookTranslator.InstrumentId, Side.Buy, entry, 100, isMaker: false);
                    ledger.ApplyFill(a + 1, BookTranslator.InstrumentId, Side.Sell, entry, 100, isMaker: true);
                }

                var thin = Enumerable.Range(10 + accounts, k).ToArray();
                var samples = new double[reps];
                long steps = 0;
                // Warm-up until the JIT has settled (tier-0 code is promoted after a quiet 100 ms): 1 s, at least 200 repetitions.
                var warmUntil = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
                for (var r = -200; r < reps; r++)
                {
                    if (r == -1 && Stopwatch.GetTimestamp() < warmUntil)
                    {
                        r = -2;   // keep warming
                    }

                    mark = Aivora.Core.Commands.EngineCommand.Mark(++now, BookTranslator.InstrumentId, entry);
                    machine.Process(in mark);
                    foreach (var t in thin)
                    {
                        var topUp = (1 * Usdt) - ledger.Balance(t);
                        if (topUp > 0)
                        {
                            ledger.Deposit(t, topUp);
                        }

                        ledger.ApplyFill(t, BookTranslator.InstrumentId, Side.Buy, entry, 100, isMaker: false);
                        ledger.ApplyFill(maker, BookTranslator.InstrumentId, Side.Sell, entry, 100, isMaker: true);
                    }

                    var bid = Aivora.Core.Commands.EngineCommand.Limit(++now, maker, BookTranslator.InstrumentId, r + 10, Side.Buy, 991_000, 100 * k);
                    machine.Process(in bid);
                    var before = machine.Engine.Sink.LiquidationSteps;
                    var shock = Aivora.Core.Commands.EngineCommand.Mark(++now, BookTranslator.InstrumentId, shocked);
                    var start = Stopwatch.GetTimestamp();
                    machine.Process(in shock);
                    // In the clock's own ticks: a TimeSpan counts 100 ns ticks, which made every figure a multiple of 100 ns.
                    var elapsed = (Stopwatch.GetTimestamp() - start) * 1e9 / Stopwatch.Frequency;
                    if (thin.Any(t => ledger.PositionOf(t, BookTranslator.InstrumentId).QtyLots != 0))
                    {
                        throw new InvalidOperationException("the shock must liquidate every thin account");
                    }

                    if (r >= 0)
                    {
                        samples[r] = elapsed;
                        steps += machine.Engine.Sink.LiquidationSteps - before;
                    }
                }

                Array.Sort(samples);
                var median = samples[reps / 2];
                results[accounts] = median;
                Console.WriteLine(FormattableString.Invariant(
                    $"RESULT bench=risk case=liquidation-mark k={k} accounts={accounts} ns_per_mark={median:F0} ns_per_liquidation={median / k:F0} steps_per_mark={steps / (double)reps:F1}"));
            }

            Console.WriteLine(FormattableString.Invariant($"RESULT bench=risk case=liquidation-scaling k={k} ratio_1m_over_10k={results[1_000_000] / results[10_000]:F2}"));
        }
    }
}
