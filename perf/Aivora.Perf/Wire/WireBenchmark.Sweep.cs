using System.Diagnostics;
using Aivora.Client.Session;
using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Exchange;
using Aivora.Exchange;
using Aivora.Node.Configuration;
using Aivora.Node.Engine;
using Aivora.Transport.Driver;
using HdrHistogram;
using static Aivora.Core.Orders.SideExtensions;
using CoreSide = Aivora.Core.Orders.Side;
using CoreTif = Aivora.Core.Orders.TimeInForce;

namespace Aivora.Perf.Wire;

/// <summary>
/// Sweeps through the whole node: a maker (its own session) rests <c>fills</c> post-only orders of one lot on as many
/// consecutive price levels, then the measured client takes them all with one IOC order, and waits until both sides have
/// every fill report; the next sweep goes the other way (positions stay small). Timed for the sweep's message alone: the
/// node's processing (decode to the end of the gateway pass that ran it: risk, matching, every execution report and market
/// data message written) and its time in the node (to its first reply sent), and at the client, from the send to its last
/// fill report. Beside them, the same sweeps through the state machine alone (no gateway, a counting sink), in the same
/// run: what the node adds to a sweep's fills, per fill (the slope between one fill and <c>fills</c>). Sweeps are paced to the
/// maker key's rate limit (45,000 of its orders a second), so the engine thread idles between them, as between real sweeps.
/// The state machine alone runs its sweeps twice: back to back (warm), and each right after one receive attempt on an empty
/// socket (the kernel entry the node's own receive makes just before it runs a message; on this VM every kernel entry
/// flushes the TLB: page-table isolation without PCID), so the node's figure has a baseline that starts where it starts.
/// </summary>
public static partial class WireBenchmark
{
    private const int SweepMaker = DefaultConfiguration.FirstMakerAccount;
    private const long SweepBestAsk = 650_100, SweepBestBid = 649_900, SweepStep = 5;

    /// <summary>Fills in the many-fill sweep: about the slowest 0.1 % of `book --workload deep-sweep` (40-44 fills).</summary>
    private const int SweepFills = 40;

    /// <summary>The maker's price on a level of a sweep (0: the best): asks up from the best ask, bids down from the best bid.</summary>
    private static long SweepPrice(bool makerSells, int level) => makerSells ? SweepBestAsk + (level * SweepStep) : SweepBestBid - (level * SweepStep);

    /// <summary>Runs <paramref name="sweeps"/> sweeps of <paramref name="fills"/> fills each (after as many unrecorded ones) and keeps their RESULT line for the end of the run; false (having said why) if an order was rejected or an answer did not come within a second. The turnaround recorder's histograms are reset: the ping-pong's figures were read before.</summary>
    private static bool Sweeps(MediaDriver driver, MediaDriver makerDriver, NodeHost node, ExchangeClient taker, ExchangeClient maker, int fills, int sweeps)
    {
        var processing = node.Gateway.Turnaround.Processing;
        var inNode = node.Gateway.Turnaround.InNode;
        var roundTrip = new LongHistogram(10_000_000_000, 3);
        var takerReports = new Acks();
        var makerReports = new Acks();
        // The maker's key allows 50,000 orders in each second's window: sweeps are paced to 45,000 of its orders a second.
        var sweepTicks = (long)(fills * (double)Stopwatch.Frequency / 45_000);
        var nextSweep = Stopwatch.GetTimestamp();
        for (var pass = 0; pass < 2; pass++)
        {
            var recorded = pass == 1;
            processing.Reset();
            inNode.Reset();
            for (var s = 0; s < sweeps; s++)
            {
                while (Stopwatch.GetTimestamp() < nextSweep)
                {
                    driver.DoWork();
                    makerDriver.DoWork();
                }

                nextSweep = Stopwatch.GetTimestamp() + sweepTicks;
                KeepFeeding(node.Clock.NowNs);
                var makerSells = (s & 1) == 0;
                var accepted = makerReports.Accepted;
                for (var level = 0; level < fills; level++)
                {
                    while (!maker.SendNewOrder(0, s_clientOrderId++, 1, makerSells ? Side.Sell : Side.Buy, OrdType.Limit, TimeInForce.GTC, SweepPrice(makerSells, level), 1, OrderFlags.PostOnly | OrderFlags.NoWhatIfs)) makerDriver.DoWork();
                }

                var timeout = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
                while (makerReports.Accepted + makerReports.Rejected < accepted + fills)
                {
                    makerDriver.DoWork();
                    maker.Poll(0, ref makerReports);
                    if (Stopwatch.GetTimestamp() > timeout || makerReports.Rejected > 0) return Failed($"sweep {s} of {fills} fills: the maker's orders", makerReports);
                }

                var (takerFilled, makerFilled) = (takerReports.Filled, makerReports.Filled);
                node.Gateway.Turnaround.StartRecording(recorded ? node.Clock.NowNs : long.MaxValue);   // this sweep's message alone
                node.Gateway.Turnaround.StopRecording(long.MaxValue);
                var t0 = Stopwatch.GetTimestamp();
                while (!taker.SendNewOrder(0, s_clientOrderId++, 1, makerSells ? Side.Buy : Side.Sell, OrdType.Limit, TimeInForce.IOC, SweepPrice(makerSells, fills - 1), fills)) driver.DoWork();
                timeout = t0 + Stopwatch.Frequency;
                while (takerReports.Filled < takerFilled + fills)
                {
                    driver.DoWork();
                    taker.Poll(0, ref takerReports);
                    if (Stopwatch.GetTimestamp() > timeout || takerReports.Rejected > 0) return Failed($"sweep {s} of {fills} fills: the sweep's fills", takerReports);
                }

                var t1 = Stopwatch.GetTimestamp();
                while (makerReports.Filled < makerFilled + fills)
                {
                    makerDriver.DoWork();
                    maker.Poll(0, ref makerReports);
                    if (Stopwatch.GetTimestamp() > timeout) return Failed($"sweep {s} of {fills} fills: the maker's fills", makerReports);
                }

                node.Gateway.Turnaround.StopRecording(node.Clock.NowNs);
                if (recorded) roundTrip.RecordValue((long)((t1 - t0) * (1e9 / Stopwatch.Frequency)));
            }
        }

        var (engine, afterPoll) = EngineAloneSweeps(fills, sweeps);
        s_sweepLines.Add(FormattableString.Invariant(
            $"RESULT bench=wire case=sweep fills={fills} sweeps={processing.Count} processing_p50_ns={processing.Percentile(50)} processing_p99_ns={processing.Percentile(99)} in_node_p50_ns={inNode.Percentile(50)} round_trip_p50_ns={roundTrip.GetValueAtPercentile(50)} round_trip_p99_ns={roundTrip.GetValueAtPercentile(99)} engine_alone_p50_ns={engine.GetValueAtPercentile(50)} engine_after_poll_p50_ns={afterPoll.GetValueAtPercentile(50)} processing_over_engine={(double)processing.Percentile(50) / Math.Max(1, engine.GetValueAtPercentile(50)):F2} processing_over_engine_after_poll={(double)processing.Percentile(50) / Math.Max(1, afterPoll.GetValueAtPercentile(50)):F2}"));
        s_sweepProcessingP50[fills == 1 ? 0 : 1] = processing.Percentile(50);
        s_sweepEngineP50[fills == 1 ? 0 : 1] = engine.GetValueAtPercentile(50);
        return true;
    }

    private static bool Failed(string what, in Acks reports)
    {
        Console.Error.WriteLine(reports.Rejected > 0 ? $"wire: {what}: rejected ({reports.LastReject})" : $"wire: {what}: no answer within a second");
        return false;
    }

    private static readonly long[] s_sweepProcessingP50 = new long[2], s_sweepEngineP50 = new long[2];
    private static readonly List<string> s_sweepLines = [];

    /// <summary>Per fill, from the two sweep lines (one fill and many): what a fill costs the node's processing and the state machine alone.</summary>
    private static void AddSweepSlope(int fills)
    {
        var node = (s_sweepProcessingP50[1] - s_sweepProcessingP50[0]) / (double)(fills - 1);
        var engine = (s_sweepEngineP50[1] - s_sweepEngineP50[0]) / (double)(fills - 1);
        s_sweepLines.Add(FormattableString.Invariant(
            $"RESULT bench=wire case=sweep-per-fill processing_ns_per_fill={node:F0} engine_alone_ns_per_fill={engine:F0} node_over_engine={node / Math.Max(1, engine):F2}"));
    }

    /// <summary>
    /// The same sweeps through the state machine alone (the node's configuration, a counting sink), each sweep timed on its own
    /// after as many untimed: once back to back (warm), once each right after one duty cycle of an invoker-mode driver whose
    /// one subscription's socket nothing sends to (a receive call that finds it empty, as the node's engine thread makes
    /// between messages and just before each).
    /// </summary>
    private static (LongHistogram Warm, LongHistogram AfterPoll) EngineAloneSweeps(int fills, int sweeps)
    {
        var ledger = new Ledger(DefaultConfiguration.Contracts, DefaultConfiguration.Engine.MaxAccounts);
        ledger.Deposit(SweepMaker, 1_000_000 * DefaultConfiguration.UsdtUnit);
        ledger.Deposit(Account, 1_000_000 * DefaultConfiguration.UsdtUnit);
        var machine = new PerpStateMachine<CountingSink>(DefaultConfiguration.Engine, ledger, DefaultConfiguration.Limits, default,
            [.. DefaultConfiguration.Engine.Instruments.Select(i => DefaultConfiguration.Pricing(i.Id, 8 * 3_600_000_000_000L))]);
        var now = 1_000_000_000L;
        var warm = new LongHistogram(10_000_000_000, 3);
        var afterPoll = new LongHistogram(10_000_000_000, 3);
        using var idleDriver = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker });
        idleDriver.AddSubscription("aeron:udp?endpoint=127.0.0.1:0", 1);   // an ephemeral loopback port: nothing arrives
        long clientOrderId = 1;
        for (var pass = 0; pass < 3; pass++)   // unrecorded, warm, after a poll
        {
            for (var s = 0; s < sweeps; s++)
            {
                for (var source = 1; source <= 3; source++)
                {
                    var feed = EngineCommand.Feed(now += 1_000, 1, source, 650_000);
                    machine.Process(in feed);
                }

                var makerSells = (s & 1) == 0;
                var makerSide = makerSells ? CoreSide.Sell : CoreSide.Buy;
                for (var level = 0; level < fills; level++)
                {
                    var quote = EngineCommand.Place(now += 1_000, SweepMaker, 1, clientOrderId++, makerSide, Core.Orders.OrderType.Limit, CoreTif.Gtc, SweepPrice(makerSells, level), 1,
                        Core.Orders.OrderFlags.PostOnly | Core.Orders.OrderFlags.NoWhatIfs);
                    machine.Process(in quote);
                }

                var sweep = EngineCommand.Place(now += 1_000, Account, 1, clientOrderId++, makerSide.Opposite(),
                    Core.Orders.OrderType.Limit, CoreTif.Ioc, SweepPrice(makerSells, fills - 1), fills);
                var trades = machine.Engine.Sink.Trades;
                if (pass == 2) idleDriver.DoWork();
                var t0 = Stopwatch.GetTimestamp();
                machine.Process(in sweep);
                var t1 = Stopwatch.GetTimestamp();
                if (machine.Engine.Sink.Trades != trades + fills) throw new InvalidOperationException($"the engine-alone sweep filled {machine.Engine.Sink.Trades - trades} of {fills}");
                if (pass > 0) (pass == 1 ? warm : afterPoll).RecordValue((long)((t1 - t0) * (1e9 / Stopwatch.Frequency)));
            }
        }

        return (warm, afterPoll);
    }
}
