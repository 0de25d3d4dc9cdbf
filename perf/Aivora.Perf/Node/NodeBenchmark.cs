using System.Diagnostics;
using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Exchange;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Node.Configuration;
using HdrHistogram;

namespace Aivora.Perf.Node;

/// <summary>
/// <c>node</c>: the state machine alone (pre-trade risk, ledger, liquidation watch, pricing and funding,
/// matching) on the node's own flow (20 makers x 5 quotes a side re-quoting and amending, 200 takers,
/// three feeders, GTD expiries, mass cancels), with the embedded default configuration, one core, no
/// wire. The flow is recorded once (the generator reacts to events), then replayed: warm-up replays, then timed rounds
/// with no timer in the loop, each a replay through the state machine, one with a sink that wants no events (a journal
/// replay's), one with a sink that declines only the acknowledgements' what-ifs (what they cost) and the book alone on the
/// flow's order commands, back to back (medians count; ratios are taken within a round),
/// and a replay timing each command into a histogram after the first tenth. Machine and book are broken down by command
/// kind (mean cost per kind, machine over book) so a change names the kind it moved.
/// </summary>
public static class NodeBenchmark
{
    private struct FlowSink(MarketMakerFlow flow) : IEngineEventSink
    {
        public void OnEvent(in EngineEvent e) => flow.Observe(in e);
    }

    // The flow's simulated time runs ~1 us a command: funding settles every 5 s of it.
    private const long FundingIntervalNs = 5_000_000_000;

    public static int Run(string[] args)
    {
        var quick = args.Contains("--quick");
        string? error = CommandLine.Check("node", args, ["--quick"], ["--profile-replays", "--commands", "--seed"]);
        if (error is not null
            || !CommandLine.TryInt("node", args, "--profile-replays", 0, 1, 1_000, out var profileReplays, out error)
            || !CommandLine.TryInt("node", args, "--commands", quick ? 1_000_000 : 3_000_000, 10_000, 10_000_000, out var count, out error)
            || !CommandLine.TryInt("node", args, "--seed", FlowSeed, 0, int.MaxValue, out var seed, out error))
        {
            Console.Error.WriteLine(error);
            return 2;
        }

        var commands = RecordFlow(count, seed);
        Replay(commands, FundingIntervalNs, out _);                                  // warm-up: tier-1 code
        if (profileReplays > 0)
        {
            // For a sampling profiler: nothing but replays of the flow (no histogram, no book-only pass).
            for (var r = 0; r < profileReplays; r++) Replay(commands, FundingIntervalNs, out _);
            return 0;
        }

        // Timed in rounds: each round replays the flow through the state machine (counting sink), through the state machine
        // with a sink that wants no events, with one that declines only the acknowledgements' what-ifs, with the makers' quotes
        // asking for none (as the main command's makers send them), and runs the book
        // alone on the flow's order commands, back to back. This machine's host slows one vCPU at a time for minutes, so
        // figures taken minutes apart do not compare: each ratio is taken within a round, and the median of the rounds'
        // ratios is reported (throughputs: the median of their rounds). The state-only and no-what-if replays check the state
        // too: neither computes the acknowledgements' what-ifs (the state-only sink builds no event at all), and each must
        // leave the same state hash.
        var bookCommands = commands.Where(c => c.Kind is CommandKind.PlaceOrder or CommandKind.CancelOrder or CommandKind.AmendOrder or CommandKind.MassCancel).ToArray();
        var quotesAskingNone = QuotesAskingNoWhatIfs(commands);
        Replay(new StateOnlySink(), commands, FundingIntervalNs, out _);            // warm-up: the state-only instantiation
        Replay(new NoWhatIfSink(), commands, FundingIntervalNs, out _);             // warm-up: the no-what-if instantiation
        BookPass(bookCommands);                                                     // warm-up: the bare book's instantiation
        var rounds = quick ? 3 : 5;
        var replays = new TimeSpan[rounds];
        var stateOnly = new TimeSpan[rounds];
        var bookPasses = new double[rounds];
        var costOverBook = new double[rounds];
        var countingOverStateOnly = new double[rounds];
        var withoutWhatIfs = new TimeSpan[rounds];
        var countingOverNoWhatIf = new double[rounds];
        var quotesWithout = new TimeSpan[rounds];
        var countingOverQuotesWithout = new double[rounds];
        var hash = 0UL;
        for (var r = 0; r < rounds; r++)
        {
            replays[r] = Replay(commands, FundingIntervalNs, out var replayHash);
            if (r > 0 && replayHash != hash) throw new InvalidOperationException("a replay of the same flow ended in another state");
            hash = replayHash;
            stateOnly[r] = Replay(new StateOnlySink(), commands, FundingIntervalNs, out var stateOnlyHash);
            if (stateOnlyHash != hash) throw new InvalidOperationException("the state-only replay ended in another state");
            withoutWhatIfs[r] = Replay(new NoWhatIfSink(), commands, FundingIntervalNs, out var noWhatIfHash);
            if (noWhatIfHash != hash) throw new InvalidOperationException("the replay without the acknowledgements' what-ifs ended in another state");
            quotesWithout[r] = Replay(quotesAskingNone, FundingIntervalNs, out var quotesHash);
            if (quotesHash != hash) throw new InvalidOperationException("the replay with the quotes asking for no what-ifs ended in another state");
            bookPasses[r] = BookPass(bookCommands);
            costOverBook[r] = bookPasses[r] / (count / replays[r].TotalSeconds);
            countingOverStateOnly[r] = replays[r].TotalSeconds / stateOnly[r].TotalSeconds;
            countingOverNoWhatIf[r] = replays[r].TotalSeconds / withoutWhatIfs[r].TotalSeconds;
            countingOverQuotesWithout[r] = replays[r].TotalSeconds / quotesWithout[r].TotalSeconds;
        }

        var elapsed = Median(replays);
        var stateOnlyElapsed = Median(stateOnly);
        var bookOnly = Median(bookPasses);
        var histogram = new LongHistogram(1_000_000_000, 3);
        var timed = NewMachine(new CountingSink(), FundingIntervalNs);
        var nsPerTick = 1e9 / Stopwatch.Frequency;
        var byKind = new KindCosts();
        var latencies = new long[commands.Length];
        InputPages.Touch(commands);
        InputPages.TouchForWrite(latencies);
        for (var i = 0; i < commands.Length; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            timed.Process(in commands[i]);
            var dt = Stopwatch.GetTimestamp() - t0;
            latencies[i] = dt;
            if (i >= commands.Length / 10)
            {
                histogram.RecordValue((long)(dt * nsPerTick));
                byKind.Add(in commands[i], dt * nsPerTick, machine: true);
            }
        }

        // The same commands timed again on a fresh machine: which of the slowest are slow again (p999_repeat, as perf book's).
        var again = new long[commands.Length];
        var retimed = NewMachine(new CountingSink(), FundingIntervalNs);
        InputPages.Touch(commands);
        InputPages.TouchForWrite(again);
        for (var i = 0; i < commands.Length; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            retimed.Process(in commands[i]);
            again[i] = Stopwatch.GetTimestamp() - t0;
        }

        var repeat = Book.BookBenchmark.SlowestRepeat(latencies, again, commands.Length / 10, commands.Length);

        // Each order command timed alone on the book (after the same first tenth), for the per-kind breakdown.
        var timedBook = new MatchingEngine<CountingSink, NoPositions>(DefaultConfiguration.Engine);
        InputPages.Touch(bookCommands);
        for (var i = 0; i < bookCommands.Length; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            timedBook.Process(in bookCommands[i]);
            var dt = Stopwatch.GetTimestamp() - t0;
            if (i >= bookCommands.Length / 10) byKind.Add(in bookCommands[i], dt * nsPerTick, machine: false);
        }

        ref var counted = ref timed.Engine.Sink;
        Console.WriteLine(FormattableString.Invariant(
            $"# node flow: {count:N0} commands, seed {seed} ({bookCommands.Length:N0} order commands), state hash 0x{hash:x16}; trades {counted.Trades:N0}, rejects {counted.Rejected:N0}, liquidation steps {counted.LiquidationSteps:N0}"));
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=node commands_per_sec={count / elapsed.TotalSeconds:F0} p50_ns={histogram.GetValueAtPercentile(50)} p99_ns={histogram.GetValueAtPercentile(99)} p999_ns={histogram.GetValueAtPercentile(99.9)} book_only_ops_per_sec={bookOnly:F0} cost_over_book={Median(costOverBook):F2} p999_repeat={repeat:F2}"));
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=node case=state-only-sink commands_per_sec={count / stateOnlyElapsed.TotalSeconds:F0} ratio_over_counting_sink={Median(countingOverStateOnly):F2}"));
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=node case=without-ack-what-ifs commands_per_sec={count / Median(withoutWhatIfs).TotalSeconds:F0} ratio_over_counting_sink={Median(countingOverNoWhatIf):F2}"));
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=node case=quotes-without-what-ifs commands_per_sec={count / Median(quotesWithout).TotalSeconds:F0} ratio_over_counting_sink={Median(countingOverQuotesWithout):F2} quotes_asking_none={quotesAskingNone.Count(c => (c.Flags & OrderFlags.NoWhatIfs) != 0)}"));
        Console.WriteLine(FormattableString.Invariant(
            $"# rounds (machine M/s, state-only M/s, without the ack's what-ifs M/s, quotes without them M/s, book M ops/s, cost over book): {string.Join("; ", Enumerable.Range(0, rounds).Select(r => $"{count / replays[r].TotalSeconds / 1e6:F2}, {count / stateOnly[r].TotalSeconds / 1e6:F2}, {count / withoutWhatIfs[r].TotalSeconds / 1e6:F2}, {count / quotesWithout[r].TotalSeconds / 1e6:F2}, {bookPasses[r] / 1e6:F2}, {costOverBook[r]:F2}"))}"));
        byKind.Print();
        return 0;
    }

    /// <summary>
    /// Mean cost per command kind, in the state machine and on the book alone, each command timed on its own (the timer's
    /// own ~20-40 ns is in both): where a change in the machine's cost comes from. Kinds: a resting order (GTC/GTD/post-only),
    /// an immediate one (IOC/FOK/market), an amend, a cancel (one order or mass), and the rest (index feeds: no book work).
    /// </summary>
    private sealed class KindCosts
    {
        private static readonly string[] Names = ["place-resting", "place-immediate", "amend", "cancel", "feed"];
        private readonly double[] _machineNs = new double[Names.Length];
        private readonly long[] _machineCount = new long[Names.Length];
        private readonly double[] _bookNs = new double[Names.Length];
        private readonly long[] _bookCount = new long[Names.Length];

        public void Add(in EngineCommand c, double ns, bool machine)
        {
            var k = c.Kind switch
            {
                CommandKind.PlaceOrder => c.TimeInForce.CanRest() ? 0 : 1,
                CommandKind.AmendOrder => 2,
                CommandKind.CancelOrder or CommandKind.MassCancel => 3,
                _ => 4,
            };
            (machine ? _machineNs : _bookNs)[k] += ns;
            (machine ? _machineCount : _bookCount)[k]++;
        }

        public void Print()
        {
            var total = _machineCount.Sum();
            for (var k = 0; k < Names.Length; k++)
            {
                if (_machineCount[k] == 0) continue;
                var machineMean = _machineNs[k] / _machineCount[k];
                var bookMean = _bookCount[k] == 0 ? 0 : _bookNs[k] / _bookCount[k];
                Console.WriteLine(FormattableString.Invariant(
                    $"RESULT bench=node case=by-kind kind={Names[k]} share={(double)_machineCount[k] / total:F3} machine_mean_ns={machineMean:F0} book_mean_ns={bookMean:F0} machine_over_book={(bookMean > 0 ? machineMean / bookMean : 0):F2} share_of_machine_time={_machineNs[k] / _machineNs.Sum():F3}"));
            }
        }
    }

    /// <summary>The book alone (no risk, no ledger, no pricing) on the flow's order commands, from an empty book: ops/s.</summary>
    private static double BookPass(EngineCommand[] bookCommands)
    {
        var engine = new MatchingEngine<CountingSink, NoPositions>(DefaultConfiguration.Engine);
        InputPages.Touch(bookCommands);
        var start = Stopwatch.GetTimestamp();
        foreach (ref readonly var c in bookCommands.AsSpan()) engine.Process(in c);
        return bookCommands.Length / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private static TimeSpan Median(TimeSpan[] values) => values.Order().ElementAt(values.Length / 2);

    internal static double Median(double[] values) => Quartile(values, 2);

    /// <summary>The value <paramref name="quarter"/> quarters of the way up the sorted values (1: p25, 2: the median, 3: p75), at
    /// index quarter × n ÷ 4: how the harnesses read every set of ratios' quartiles.</summary>
    internal static double Quartile(double[] values, int quarter) => values.Order().ElementAt(quarter * values.Length / 4);

    /// <summary>
    /// Records the flow (<paramref name="commands"/> long), warms the state machine on it, and returns a timer: each call replays
    /// the flow through a fresh machine (counting sink, no timer in the loop) and returns its commands/s and end state hash.
    /// <c>node-ab</c> calls it on two builds (keep its signature: another build's copy is called through reflection).
    /// </summary>
    public static Func<(double CommandsPerSec, ulong StateHash)> ReplayTimer(int commands)
    {
        var recorded = RecordFlow(commands, FlowSeed);
        Replay(recorded, FundingIntervalNs, out _);   // warm-up
        return () =>
        {
            var elapsed = Replay(recorded, FundingIntervalNs, out var hash);
            return (commands / elapsed.TotalSeconds, hash);
        };
    }

    /// <summary>
    /// The flow as the main command's market makers send it: their quotes (the makers' post-only orders) ask for no what-ifs
    /// (<see cref="OrderFlags.NoWhatIfs"/>); every other order is acknowledged with them. The same state: the flag changes
    /// only what the acknowledgement carries.
    /// </summary>
    private static EngineCommand[] QuotesAskingNoWhatIfs(EngineCommand[] commands)
    {
        var flagged = (EngineCommand[])commands.Clone();
        foreach (ref var c in flagged.AsSpan())
        {
            if (c.Kind == CommandKind.PlaceOrder && c.AccountId <= MarketMakerFlow.Makers && (c.Flags & OrderFlags.PostOnly) != 0)
            {
                c.Flags |= OrderFlags.NoWhatIfs;
            }
        }

        return flagged;
    }

    /// <summary>The measured flow's seed (another one records the JIT profile: perf/scripts/record-jit-profile.sh).</summary>
    private const int FlowSeed = 42;

    /// <summary>Records the flow, <paramref name="count"/> commands long from <paramref name="seed"/>, through a machine (the generator must see the events to know its quotes).</summary>
    private static EngineCommand[] RecordFlow(int count, int seed)
    {
        var flow = new MarketMakerFlow(seed, DefaultConfiguration.Engine.Instruments);
        var recording = NewMachine(new FlowSink(flow), FundingIntervalNs);
        var commands = new EngineCommand[count];
        for (var i = 0; i < count; i++)
        {
            commands[i] = flow.Next();
            recording.Process(in commands[i]);
        }

        return commands;
    }

    private static TimeSpan Replay(EngineCommand[] commands, long fundingIntervalNs, out ulong hash) =>
        Replay(new CountingSink(), commands, fundingIntervalNs, out hash);

    private static TimeSpan Replay<TSink>(TSink sink, EngineCommand[] commands, long fundingIntervalNs, out ulong hash)
        where TSink : struct, IEngineEventSink
    {
        var machine = NewMachine(sink, fundingIntervalNs);
        InputPages.Touch(commands);
        var start = Stopwatch.GetTimestamp();
        foreach (ref readonly var c in commands.AsSpan()) machine.Process(in c);
        var elapsed = Stopwatch.GetElapsedTime(start);
        hash = machine.Engine.StateHash() ^ machine.Ledger.StateHash();
        return elapsed;
    }

    private static PerpStateMachine<TSink> NewMachine<TSink>(TSink sink, long fundingIntervalNs) where TSink : struct, IEngineEventSink
    {
        var ledger = new Ledger(DefaultConfiguration.Contracts, DefaultConfiguration.Engine.MaxAccounts);
        for (var maker = 1; maker <= MarketMakerFlow.Makers; maker++) ledger.Deposit(maker, 2_000_000 * DefaultConfiguration.UsdtUnit);
        for (var taker = MarketMakerFlow.FirstTakerAccount; taker < MarketMakerFlow.FirstTakerAccount + MarketMakerFlow.Takers; taker++) ledger.Deposit(taker, 20_000 * DefaultConfiguration.UsdtUnit);
        return new PerpStateMachine<TSink>(DefaultConfiguration.Engine, ledger, DefaultConfiguration.Limits, sink,
            [.. DefaultConfiguration.Engine.Instruments.Select(i => DefaultConfiguration.Pricing(i.Id, fundingIntervalNs))]);
    }
}
