using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Aivora.Core.Commands;
using Aivora.Core.Diagnostics;
using Aivora.Core.Events;
using Aivora.Core.Instruments;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Gateway.Sessions;
using Aivora.Node.Configuration;
using Aivora.Node.Engine;
using Aivora.Node.Load;
using HdrHistogram;

namespace Aivora.Node;

/// <summary>
/// The node's composition root, read top to bottom: options; the raw UDP floor; the node (invoker-mode
/// driver + gateway + state machine on the pinned engine thread); the operator's deposits; the
/// market-maker load over loopback UDP on the other core (SDK clients only); the run; then what each
/// user wants to see, and the checks that fail the run (books rebuilt from market data equal to the
/// engine's, money conserved, the replay of the recorded commands reaching the same state hashes).
/// </summary>
public static class Program
{
    /// <summary>
    /// What the JIT compiled on the engine thread from its start and on the load's thread from the end of its warm-up to the end
    /// of sending (null: the load did not see the end): each method a stall of the message that first took its path (and, on
    /// the load thread, of every client it serves).
    /// </summary>
    internal static string CompiledWhileTrading(ThreadCompilations engine, ThreadCompilations? load)
    {
        var line = $"JIT while running: {engine} on the engine thread (from its start), {load?.ToString() ?? "not measured"} on the load thread (after its warm-up)";
        return line + (engine.Methods == 0 && load?.Methods == 0 ? ": every path they took was compiled before"
            : load is null && engine.Methods == 0 ? "" : ": paths not compiled before trading (see Engine/CodePreparation.cs)");
    }

    /// <summary>
    /// What a market-data line adds when the client received fewer messages than the node sent and exactly the missing ones
    /// are numbered after the last it read: published after it stopped reading (the load stops before the node, and a clock
    /// tick's price updates can fall between). Anything else (a drop, a gap) is left to the figures as they are.
    /// </summary>
    internal static string UnreadTail(long sent, long lastSequenceSent, long received, long lastSequenceReceived) =>
        received < sent && lastSequenceReceived > 0 && sent - received == lastSequenceSent - lastSequenceReceived
            ? $", {sent - received:N0} published after the client stopped reading"
            : "";

    public static int Main(string[] args)
    {
        var options = NodeOptions.Parse(args, out var error);
        if (options is null)
        {
            var help = error == NodeOptions.Usage;
            (help ? Console.Out : Console.Error).WriteLine(error);
            return help ? 0 : 2;
        }

        // Compiled with the counts of a recorded run: this executable may start itself again with them (Engine/JitProfile.cs).
        if (JitProfile.RunWithProfile(typeof(Program).Assembly, args) is { } exitCode)
        {
            return exitCode;
        }

        var config = DefaultConfiguration.Engine;
        var gateway = DefaultConfiguration.Gateway;
        var fundingNs = (long)(options.FundingIntervalSeconds * 1_000_000_000);
        Console.WriteLine("Aivora.LowLatency node: the state machine behind SBE over Aeron UDP, with a market-maker load over loopback");
        Console.WriteLine($"instruments: {string.Join(", ", config.Instruments.Select(i => $"{i.Symbol} (id {i.Id})"))}; funding every {options.FundingIntervalSeconds:0.###} s on the epoch-aligned grid");
        Console.WriteLine($"order entry: {gateway.OrderChannel} stream {gateway.OrderStreamId}; market data: L2 {gateway.BookChannel} stream {gateway.BookStreamId}, trades stream {gateway.TradesStreamId}, L3 stream {gateway.OrdersStreamId}, status stream {gateway.StatusStreamId}, snapshots stream {gateway.SnapshotStreamId} every {gateway.SnapshotIntervalMs} ms");
        Console.WriteLine($"threads: engine{(options.DriverMode == Aivora.Transport.Driver.ThreadingMode.Invoker ? " + invoker-mode driver" : $" (driver: {options.DriverMode} threads of its own)")} on CPU {options.EngineCpu}; load ({options.Makers} makers x {config.Instruments.Count} instruments x 5 quotes a side, {options.Takers} takers at {options.TakerOrdersPerSecond:N0} IOC orders/s each, 1 price feeder, 1 market-data client) + its own driver on CPU {options.LoadCpu}; {(options.SharedCore ? $"one core for both ({(Environment.ProcessorCount == 1 ? "this machine has one" : "pinned together")}): each yields it when idle, so every round trip below includes switches between them" : "both busy-spin")}");

        // A floor measured while another process computes on these cores is that process's: first wait, bounded, until the
        // machine is quiet (right after `dotnet run` built the node, its own runtime recompiles the build's code for ~3 s).
        Console.WriteLine(MachineQuiet.Describe(MachineQuiet.WaitUntilQuiet(QuietWaitLimit), QuietWaitLimit));

        // The floor first, on the same two cores, before anything else spins.
        var floor = RawUdpFloor.Measure(20_000, options.LoadCpu, options.EngineCpu, options.SharedCore);
        // And what each core takes from a thread that never yields it: the floor under every tail figure below. Both cores at
        // once, as busy as trading keeps them (with one idle, this machine's own tasks run there and the probe misses them).
        var stalls = CoreStalls.MeasureTogether(options.SharedCore ? [options.EngineCpu] : [options.EngineCpu, options.LoadCpu], StallProbe);

        // Room for ~200,000 commands a second of the run (the demo load makes ~11,000), written through now.
        var recorder = new CommandRecorder((int)Math.Clamp(options.Seconds * 200_000, 1 << 18, 1 << 22), prefault: true);
        NodeHost node;
        try
        {
            node = new NodeHost(config, gateway, new KeyStore(DefaultConfiguration.DemoKeys), fundingNs, recorder, options.DriverMode);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"configuration: {ex.Message}");
            return 2;
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            // Most often another node on this machine holds the order entry port.
            Console.WriteLine($"FAILED: the node's channels could not open ({ex.Message}): is another node running here? (order entry {gateway.OrderChannel})");
            return 1;
        }

        using var _ = node;
        for (var m = 0; m < options.Makers; m++) node.Deposit(DefaultConfiguration.FirstMakerAccount + m, 2_000_000 * DefaultConfiguration.UsdtUnit);
        for (var t = 0; t < options.Takers; t++) node.Deposit(DefaultConfiguration.FirstTakerAccount + t, 50_000 * DefaultConfiguration.UsdtUnit);
        node.Deposit(DefaultConfiguration.InsuranceFundAccount, DefaultConfiguration.InsuranceFundSeedUsdt * DefaultConfiguration.UsdtUnit);

        if (options.ShockBps > 0) SeedLeveragedLong(node, options);

        // Compiled before it trades: without tiered compilation a path's first call would compile on the engine thread.
        // Each session's reply publication's log allocated and written before trading: a logon takes one from the driver's pool
        // instead of writing 3 MiB of fresh pages on the engine thread (~9 ms here).
        var reserving = Stopwatch.GetTimestamp();
        var (sessionLogs, sessionTermLength) = node.Gateway.ReserveSessionLogs();
        var reserved = Stopwatch.GetElapsedTime(reserving);
        var prepared = CodePreparation.PrepareEngineCode();
        var preparedLoad = CodePreparation.PrepareLoadCode();
        Console.WriteLine($"code: {prepared.Methods:N0} methods of the engine's assemblies and {prepared.Reached:N0} their code reaches (the runtime's libraries', generic ones closed over the engine's types, native calls' stubs), then {preparedLoad.Methods:N0} of the load's (client library, load loop, configuration) and {preparedLoad.Reached:N0} they reach, compiled before trading in {(prepared.Elapsed + preparedLoad.Elapsed).TotalMilliseconds:N0} ms ({prepared.Skipped + preparedLoad.Skipped:N0} left to their first call: abstract, runtime-implemented, or generic over types the node does not use); {(JitProfile.Tiered ? "tiered compilation ON (DOTNET_TieredCompilation=1): the background JIT recompiles methods as they warm, preempting the pinned threads" : "tiered compilation off, so no background JIT thread preempts the pinned threads")}");
        Console.WriteLine(JitProfile.Describe(typeof(Program).Assembly));
        Console.WriteLine(FormattableString.Invariant($"session logs: {sessionLogs} of 3 x {sessionTermLength >> 20} MiB (the reply publication of each of {sessionLogs} sessions) allocated and written before trading in {reserved.TotalMilliseconds:N0} ms: a logon takes one from the driver's pool instead of writing it on the engine thread"));

        var engineThread = new Thread(() => node.RunEngine(options.EngineCpu, options.SharedCore)) { Name = "engine", IsBackground = true };
        engineThread.Start();
        using var load = new WireLoad(config.Instruments, options.Makers, options.Takers, options.TakerOrdersPerSecond, options.Seed)
        {
            ShockAfter = TimeSpan.FromSeconds(options.Seconds * 0.6),
            ShockBps = options.ShockBps,
            WarmUp = TimeSpan.FromSeconds(Math.Min(1, options.Seconds / 5)),   // a short run still measures its last four fifths
            YieldWhenIdle = options.SharedCore,
        };
        if (!load.LogOn(() => node.Clock.NowNs, TimeSpan.FromSeconds(15), out var problem))
        {
            Console.WriteLine($"FAILED: {problem}");
            node.Stop();
            engineThread.Join();
            return 1;
        }

        var logons = node.Gateway.Counters;   // written by the engine thread: the logons are over (the load waited for their acks)
        var images = node.Gateway.OrderEntryCounters;
        Console.WriteLine(FormattableString.Invariant($"sessions: {load.LoggedOn} of {load.Sessions} logged on (HMAC-SHA256 keys; accounts {string.Join(", ", load.Clients.Select(c => c.AccountId))}; each logon message held the engine thread {logons.LogonNs / 1e3 / Math.Max(1, logons.LogonsHandled):N0} us on average, {logons.LongestLogonNs / 1e3:N0} us at most, and each client's order stream joining (its image: {images.ImagesAvailable:N0}) {(node.Driver.ThreadingMode == Aivora.Transport.Driver.ThreadingMode.Invoker ? "" : "the driver's receiver thread ")}{images.ImageCreationNs / 1e3 / Math.Max(1, images.ImagesAvailable):N0} us on average, {images.LongestImageCreationNs / 1e3:N0} us at most, its log's pages mapped after it a page per idle pass); market data synced from snapshots"));
        var loadThread = new Thread(() => load.Run(() => node.Clock.NowNs, options.LoadCpu)) { Name = "load", IsBackground = true };
        var gcBefore = (GC.CollectionCount(0), GC.GetTotalAllocatedBytes(precise: true));
        var started = Stopwatch.GetTimestamp();
        var commandsBefore = node.Gateway.Counters.CommandsRun;
        // From here SIGINT (Ctrl+C) and SIGTERM end the run early the way its end does: the load stops sending, everything in
        // flight drains, and the report and its checks follow. Any number of them asks for the one stop (a terminal's Ctrl+C
        // reaches this process twice: directly and through the process that started it with the JIT profile).
        using var stopRequested = new ManualResetEventSlim();
        string? stoppedBy = null;
        void RequestStop(PosixSignalContext signal)
        {
            signal.Cancel = true;
            Interlocked.CompareExchange(ref stoppedBy, signal.Signal.ToString(), null);
            stopRequested.Set();
        }

        using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, RequestStop);
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, RequestStop);
        if (InheritedSignals.IsIgnored(InheritedSignals.SigInt))
        {
            Console.WriteLine("signals: SIGINT is ignored in this process (set by what started it, as a shell does for a background job), so Ctrl+C and kill -INT will not stop it; SIGTERM ends the run early the way its end does");
        }

        loadThread.Start();
        // The steady state, for the gc line: from the load's first pass after its warm-up to its first pass after quiesce. Code
        // compiled on its first call (the load's, as it starts) allocates under the JIT profile: the runtime's profile reader
        // builds managed objects as it matches each method (the whole run allocates nothing with AIVORA_JIT_PROFILE=off).
        var run = TimeSpan.FromSeconds(options.Seconds);
        load.WaitUntilTradingStarted(run - Stopwatch.GetElapsedTime(started), stopRequested);
        // The pinned threads' run queues over the same window (read outside the gc line's: first here, last at its end).
        var waitsAtTrading = ReadWaits(node, load);
        var gcTrading = (GC.CollectionCount(0), GC.GetTotalAllocatedBytes(precise: true), Stopwatch.GetTimestamp(), load.TradingStarted);
        node.Gateway.Turnaround.StartRecording(node.Clock.NowNs);   // the node's share of the round trip, from the load's warm-up's end
        var left = run - Stopwatch.GetElapsedTime(started);
        if (left > TimeSpan.Zero) stopRequested.Wait(left);
        var sending = Stopwatch.GetElapsedTime(started).TotalSeconds;
        load.Quiesce();
        load.WaitUntilQuietSeen(TimeSpan.FromSeconds(2));
        var gcQuiet = (GC.CollectionCount(0), GC.GetTotalAllocatedBytes(precise: true), Stopwatch.GetTimestamp(), load.QuietSeen);
        var waitsAtQuiet = ReadWaits(node, load);
        Thread.Sleep(500);   // reports and market data in flight arrive
        load.Stop();
        loadThread.Join();
        node.Stop();
        engineThread.Join();
        var wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (stoppedBy is { } signalName)
        {
            Console.WriteLine(FormattableString.Invariant($"stopped: {signalName} after {sending:F1} s of the {options.Seconds:0.###} s run; the load stopped sending and what was in flight drained, as at a run's end"));
        }

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - gcBefore.Item2;
        var whole = $"{GC.CollectionCount(0) - gcBefore.Item1} gen0 collections, {allocated / 1024:N0} KiB ({load.AllocatedBytes / 1024:N0} KiB of it on the load's thread)";
        if (gcTrading.Item4 && gcQuiet.Item4)
        {
            var steady = gcQuiet.Item2 - gcTrading.Item2;
            Console.WriteLine(FormattableString.Invariant($"gc while trading (after the load's warm-up until it stopped sending, {Stopwatch.GetElapsedTime(gcTrading.Item3, gcQuiet.Item3).TotalSeconds:F1} s): {gcQuiet.Item1 - gcTrading.Item1} gen0 collections, {steady / 1024:N0} KiB allocated by the whole process ({load.TradingAllocatedBytes / 1024:N0} KiB of it on the load's thread: its clients, market-data client and driver; {Math.Max(0, steady - load.TradingAllocatedBytes) / 1024:N0} KiB on the node's threads and the runtime's); with the load's start and the shutdown: {whole}"));
        }
        else
        {
            Console.WriteLine($"gc during the run: {whole} (the load {(gcTrading.Item4 ? "did not see its quiesce in 2 s" : "never finished its warm-up")}: no steady-state window to report)");
        }

        var waits = RunQueueLine(
            SchedulingSample.Between(waitsAtTrading.Engine, waitsAtQuiet.Engine),
            SchedulingSample.Between(waitsAtTrading.Load, waitsAtQuiet.Load),
            gcTrading.Item4 && gcQuiet.Item4 ? (long)Stopwatch.GetElapsedTime(gcTrading.Item3, gcQuiet.Item3).TotalNanoseconds : 0,
            node.PinnedCpu, load.PinnedCpu);
        var ok = Report(node, load, recorder, floor, stalls, waits, wall, node.Gateway.Counters.CommandsRun - commandsBefore, fundingNs, stoppedEarly: stoppedBy is not null);
        Console.WriteLine(ok ? "result: ok" : "result: FAILED (see above)");
        return ok ? 0 : 1;
    }

    /// <summary>
    /// Before the load: account 2,002 buys 0.1 BTC at 65,000 on 70 USDT at 100x from account 2,001 (operator commands,
    /// recorded and replayed like any): liquidation price ~64,584, bankruptcy ~64,326. The load's feeders later move
    /// BTC's index down by the shock, and the node liquidates it on the wire, in the makers' bids.
    /// </summary>
    private static void SeedLeveragedLong(NodeHost node, NodeOptions options)
    {
        const int longAccount = DefaultConfiguration.ShockLongAccount, seller = DefaultConfiguration.ShockCounterpartyAccount;
        var price = DefaultConfiguration.BtcPerp.ReferencePriceTicks;
        for (var source = 1; source <= 3; source++)
        {
            // The index must be valid before anyone may take a position: the feeders' first prices, run here.
            node.Gateway.Run(EngineCommand.Feed(node.Clock.NowNs, DefaultConfiguration.BtcPerp.Id, source, price));
        }

        node.Deposit(longAccount, 70 * DefaultConfiguration.UsdtUnit);
        node.Deposit(seller, 100_000 * DefaultConfiguration.UsdtUnit);
        node.Gateway.Run(EngineCommand.Account(CommandKind.SetLeverage, node.Clock.NowNs, longAccount, 100, DefaultConfiguration.BtcPerp.Id));
        node.Gateway.Run(EngineCommand.Limit(node.Clock.NowNs, seller, DefaultConfiguration.BtcPerp.Id, 1, Side.Sell, price, 100));
        node.Gateway.Run(EngineCommand.Limit(node.Clock.NowNs, longAccount, DefaultConfiguration.BtcPerp.Id, 1, Side.Buy, price, 100, TimeInForce.Ioc));
        var ledger = node.StateMachine.Ledger;
        Console.WriteLine(ledger.PositionOf(longAccount, DefaultConfiguration.BtcPerp.Id).QtyLots == 100
            ? $"shock: account {longAccount} holds 0.100 BTC long at 65,000.0 on 70 USDT (100x; liquidation price {ledger.LiquidationPrice(longAccount, DefaultConfiguration.BtcPerp.Id) / 10.0:N1}); at {options.Seconds * 0.6:0.#} s the feeders move BTC's index down {options.ShockBps} bps"
            : $"shock: the seeded long did not fill (position {ledger.PositionOf(longAccount, DefaultConfiguration.BtcPerp.Id).QtyLots} lots)");
    }

    private static bool Report(NodeHost node, WireLoad load, CommandRecorder recorder, FloorMeasurement floorRun, StallMeasurement[] stalls, string runQueueLine, double wall, long commands, long fundingNs, bool stoppedEarly)
    {
        var ok = true;
        var floor = floorRun.RoundTrips;
        var g = node.Gateway;
        ref var c = ref node.StateMachine.Engine.Sink.Router.Counters;
        var engine = node.StateMachine.Engine;
        var instruments = node.Config.Instruments;

        Console.WriteLine($"engine thread: {(node.PinnedCpu >= 0 ? $"pinned to CPU {node.PinnedCpu}" : $"not pinned ({node.PinError})")}; load thread: {(load.PinnedCpu >= 0 ? $"pinned to CPU {load.PinnedCpu}" : $"not pinned ({load.PinError ?? "--load-cpu -1"})")}; {CompiledWhileTrading(node.CompiledWhileRunning, load.CompiledWhileTrading)}");
        Console.WriteLine($"in: {g.Counters.MessagesIn:N0} messages from clients in {wall:0.0} s; {commands:N0} commands run ({commands / wall:N0}/s: orders, cancels, amends, mass cancels, price feeds, {g.Counters.Ticks:N0} clock ticks, {g.Counters.WorkDueTicks:N0} of them for work due); {g.Counters.Heartbeats:N0} heartbeats; malformed {g.Counters.Malformed}, not logged on {g.Counters.NotLoggedOn}, gateway rejects {g.Counters.GatewayRejects}");
        Console.WriteLine($"engine: accepted {c.Accepted:N0}, rejected {c.Rejected:N0}, amended {c.Amended:N0}, cancelled {c.Cancelled:N0}, expired {c.Expired:N0}; trades {c.Trades:N0} ({c.FilledLots:N0} lots)");
        var rejects = new List<string>();
        for (var r = 0; r < 128; r++) if (c.RejectsByReason[r] > 0) rejects.Add($"{(RejectReason)r} {c.RejectsByReason[r]:N0}");
        Console.WriteLine($"rejects by reason: {(rejects.Count == 0 ? "none" : string.Join(", ", rejects))}");
        Console.WriteLine($"out: {g.ReportsSent:N0} execution reports sent ({g.ReportsDropped:N0} dropped for back-pressure); clients received {load.ReportsReceived - load.LogonAcksReceived:N0} (and {load.LogonAcksReceived:N0} logon acknowledgements), response-sequence gaps {load.SequenceGaps:N0}; makers sent {load.MakerOrdersSent:N0} orders ({load.MakerRejects:N0} rejected), takers {load.TakerOrdersSent:N0} IOC orders ({load.TakerFills:N0} fills)");

        var md = g.MarketData;
        var client = load.MarketData;
        Console.WriteLine($"market data (node sent / client received, gaps seen): L2 {md.Book.Messages:N0} / {client.Book.Messages:N0} ({client.Book.Gaps} gaps{UnreadTail(md.Book.Messages, md.Book.Sequence, client.Book.Messages, client.Book.LastSequence)}), trades {md.Trades.Messages:N0} / {client.Trades.Messages:N0} ({client.Trades.Gaps} gaps{UnreadTail(md.Trades.Messages, md.Trades.Sequence, client.Trades.Messages, client.Trades.LastSequence)}), L3 {md.Orders.Messages:N0} (no subscriber here), status {md.Status.Messages:N0} / {client.Status.Messages:N0} ({client.Status.Gaps} gaps{UnreadTail(md.Status.Messages, md.Status.Sequence, client.Status.Messages, client.Status.LastSequence)}), snapshots {md.Snapshots.Messages:N0} / {client.Snapshots.Messages:N0}; books recovered from snapshots {client.Recoveries}");

        Span<LevelView> depth = new LevelView[node.Config.MaxPriceLevelsPerSide];
        foreach (var spec in instruments)
        {
            var book = client.BookOf(spec.Id);
            var same = book.Synced;
            foreach (var side in new[] { Side.Buy, Side.Sell })
            {
                var n = engine.GetLevels(spec.Id, side, depth);
                var levels = side == Side.Buy ? book.Bids : book.Asks;
                same &= levels.Length == n;
                for (var i = 0; same && i < n; i++)
                {
                    same &= levels[i].PriceTicks == depth[i].PriceTicks && levels[i].QtyLots == depth[i].TotalLots && levels[i].OrderCount == depth[i].OrderCount;
                }
            }

            ok &= same;
            var bid = engine.GetLevels(spec.Id, Side.Buy, depth) > 0 ? $"{Price(spec, depth[0].PriceTicks)} x {Qty(spec, depth[0].TotalLots)}" : "-";
            var ask = engine.GetLevels(spec.Id, Side.Sell, depth) > 0 ? $"{Price(spec, depth[0].PriceTicks)} x {Qty(spec, depth[0].TotalLots)}" : "-";
            var pricing = node.StateMachine.Pricing(spec.Id)!;
            var (longs, shorts) = node.StateMachine.Ledger.OpenInterest(spec.Id);
            ok &= longs == shorts;
            Console.WriteLine($"  {spec.Symbol,-9} bid {bid} / ask {ask} ({engine.LevelCount(spec.Id, Side.Buy)} x {engine.LevelCount(spec.Id, Side.Sell)} levels); index {Price(spec, pricing.LastIndex.PriceTicks)} ({pricing.LastIndex.State}), mark {Price(spec, pricing.MarkTicks)}, predicted funding {pricing.PredictedRate / 1e6:0.####}%, open interest {Qty(spec, longs)} long / {Qty(spec, shorts)} short");
            Console.WriteLine(same
                ? $"  {spec.Symbol,-9} book rebuilt by the client from market data: equal to the engine's, level by level ({book.BidCount} bids, {book.AskCount} asks)"
                : $"  {spec.Symbol,-9} book rebuilt by the client from market data: DIFFERS from the engine's (synced {book.Synced}, {book.BidCount} bids / {book.AskCount} asks against {engine.LevelCount(spec.Id, Side.Buy)} / {engine.LevelCount(spec.Id, Side.Sell)})");
        }

        var ledger = node.StateMachine.Ledger;
        var router = node.StateMachine.Engine.Sink.Router;
        Console.WriteLine($"funding: {router.FundingSettlements:N0} settlements, {Scaled(router.FundingPaid, 6)} USDT paid by the paying sides (zero-sum; residue carried {Scaled(ledger.FundingResidue, 6)} USDT); next funding {DateTime.UnixEpoch.AddTicks(node.StateMachine.Pricing(instruments[0].Id)!.NextFundingNs / 100):yyyy-MM-dd HH:mm:ss} UTC");
        var fund = DefaultConfiguration.InsuranceFundAccount;
        Console.WriteLine($"liquidation: {c.LiquidationSteps:N0} steps ({client.Liquidations:N0} {(client.Liquidations == 1 ? "liquidation" : "liquidations")} and {client.LiquidationEvents:N0} {(client.LiquidationEvents == 1 ? "step" : "steps")} seen on the public status stream), {node.StateMachine.WaitingLiquidations} paths waiting for a slice; insurance fund (account {fund}) {Scaled(ledger.InsuranceFund, 6)} USDT cash, equity {Scaled(ledger.Equity(fund), 6)} USDT");
        if (load.ShockBps > 0)
        {
            var left = ledger.PositionOf(DefaultConfiguration.ShockLongAccount, DefaultConfiguration.BtcPerp.Id).QtyLots;
            // A run stopped by a signal may end before the shock, or before its liquidation played out: said, not failed.
            ok &= stoppedEarly || (load.ShockFedNs > 0 && left == 0 && c.LiquidationSteps > 0);
            Console.WriteLine(load.ShockFedNs == 0
                ? stoppedEarly ? "shock: not fed (the run was stopped before 60 % of it)" : "shock: NOT FED (the run ended first)"
                : left == 0 && c.LiquidationSteps > 0
                    ? $"shock: fed; account {DefaultConfiguration.ShockLongAccount} liquidated on the wire (position 0, balance {Scaled(ledger.Balance(DefaultConfiguration.ShockLongAccount), 6)} USDT)"
                    : stoppedEarly
                        ? $"shock: fed, and the run was stopped before account {DefaultConfiguration.ShockLongAccount} was liquidated (it holds {left} lots; {c.LiquidationSteps} liquidation steps ran)"
                        : $"shock: fed, but account {DefaultConfiguration.ShockLongAccount} holds {left} lots and {c.LiquidationSteps} liquidation steps ran: NOT LIQUIDATED (mark {Price(instruments[0], node.StateMachine.Pricing(instruments[0].Id)!.MarkTicks)}, liquidation price {Price(instruments[0], ledger.LiquidationPrice(DefaultConfiguration.ShockLongAccount, instruments[0].Id))})");
        }

        var money = ledger.MoneyInSystem();
        var expected = ledger.TotalDeposits - ledger.TotalWithdrawals;
        ok &= money == expected;
        Console.WriteLine(money == expected
            ? $"money: balances (the insurance fund's among them) - open costs + fees + funding residue = {Scaled(money, 6)} USDT = deposits - withdrawals (conserved to the unit); fee account {Scaled(ledger.FeeAccount, 6)} USDT"
            : $"money: NOT CONSERVED: {money} in the system against {expected} deposited");

        var invariant = engine.ValidateInvariants();
        ok &= invariant is null;
        var hash = (Book: engine.StateHash(), Ledger: ledger.StateHash());
        if (recorder.Overflowed)
        {
            Console.WriteLine($"replay: skipped, more commands than the recorder holds ({recorder.Count:N0})");
        }
        else
        {
            var replay = NodeHost.NewStateMachine(node.Config, fundingNs, new StateOnlySink(), node.Limits);   // the hashes only: no events built
            foreach (ref readonly var command in recorder.Commands) replay.Process(in command);
            var replayed = (Book: replay.Engine.StateHash(), Ledger: replay.Ledger.StateHash());
            ok &= replayed == hash;
            Console.WriteLine(replayed == hash
                ? $"replay: the {recorder.Count:N0} recorded commands fed to a fresh state machine reach the same hashes (book 0x{hash.Book:x16}, ledger 0x{hash.Ledger:x16})"
                : $"replay: MISMATCH: book 0x{replayed.Book:x16} / ledger 0x{replayed.Ledger:x16} against 0x{hash.Book:x16} / 0x{hash.Ledger:x16}");
        }

        Console.WriteLine(invariant is null ? "internal invariants: ok" : $"internal invariants: BROKEN: {invariant}");
        var rt = load.RoundTrip;
        Console.WriteLine(rt.TotalCount > 0
            ? $"round trip, order -> acknowledgement at the client (risk on, {rt.TotalCount:N0} orders after a {load.WarmUp.TotalSeconds:0.##} s warm-up): p50 {Us(rt, 50)}, p90 {Us(rt, 90)}, p99 {Us(rt, 99)}, p99.9 {Us(rt, 99.9)}, max {rt.GetMaxValue() / 1000.0:0.0} us"
            : $"round trip, order -> acknowledgement at the client: no order acknowledged after the {load.WarmUp.TotalSeconds:0.##} s warm-up (nothing to measure)");
        var inNode = g.Turnaround.InNode;
        var processing = g.Turnaround.Processing;
        Console.WriteLine(inNode.Count > 0
            ? $"  in the node, from decode to its reply {(node.Driver.ThreadingMode == Aivora.Transport.Driver.ThreadingMode.Invoker ? "sent" : "written for the driver's own threads (their send is not seen here)")} ({inNode.Count:N0} order-entry messages after the warm-up): p50 {Us(inNode, 50)}, p90 {Us(inNode, 90)}, p99 {Us(inNode, 99)}, p99.9 {Us(inNode, 99.9)}, max {inNode.MaxNs / 1000.0:0.0} us; of it decode to reports written (risk, matching, encoding, with the messages before it in the same poll): p50 {Us(processing, 50)}, p99 {Us(processing, 99)}; the rest the driver's next pass up to the sessions' sends. Outside the node: the client's side and the kernel's"
            : "  in the node: no order-entry message after the warm-up (nothing to measure)");
        Console.WriteLine($"raw UDP floor, same run, same cores (32-byte ping-pong, libc, {floor.TotalCount:N0} round trips{(floorRun.Lost > 0 ? $", {floorRun.Lost:N0} lost: no echo within {RawUdpFloor.EchoTimeoutNs / 1_000_000_000} s, not counted" : "")}): p50 {Us(floor, 50)}, p90 {Us(floor, 90)}, p99 {Us(floor, 99)}, p99.9 {Us(floor, 99.9)}");
        Console.WriteLine(StallsLine(stalls));
        Console.WriteLine(runQueueLine);
        Console.WriteLine(FormattableString.Invariant(
            $"loops: engine duty cycle {node.EngineSeconds * 1e9 / Math.Max(1, node.DutyCycles):F0} ns on average ({node.DutyCycles:N0} cycles); load loop {load.LoopNs / (double)Math.Max(1, load.LoopPasses) / 1000:F1} us a pass ({load.SubscriptionsPolled} subscriptions polled), longest {load.LongestPassNs / 1e6:F1} ms, {load.PassesOver1Ms} {(load.PassesOver1Ms == 1 ? "pass" : "passes")} over 1 ms"));
        if (rt.TotalCount > 0 && floor.TotalCount > 0)
        {
            Console.WriteLine(FormattableString.Invariant($"round trip / floor: p50 {(double)rt.GetValueAtPercentile(50) / floor.GetValueAtPercentile(50):0.00}x, p99 {(double)rt.GetValueAtPercentile(99) / floor.GetValueAtPercentile(99):0.00}x (a loaded round trip: the takers' orders and the makers' quotes queue behind each other in the node's passes and at the client; the in-node line above is the node's share; `perf wire` measures one order at a time)"));
        }

        return ok;
    }

    /// <summary>How long the node waits for this machine's other processes to leave its cores before measuring (<see cref="MachineQuiet"/>).</summary>
    private static readonly TimeSpan QuietWaitLimit = TimeSpan.FromSeconds(5);

    /// <summary>How long each core's stall probe ran (<see cref="CoreStalls"/>), before trading.</summary>
    private static readonly TimeSpan StallProbe = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The cores' stalls, as measured before trading: the engine's core first, then the load's (one entry when they share a
    /// core). What a thread that never yields the core lost there, in stalls a second, long ones, its share of the time and
    /// the longest: every latency on the same cores stands on them.
    /// </summary>
    internal static string StallsLine(IReadOnlyList<StallMeasurement> stalls)
    {
        string Core(StallMeasurement m, string role) => FormattableString.Invariant(
            $"CPU {m.Cpu} ({role}{(m.Pinned ? "" : ", not pinned")}) {m.StallsPerSecond:N0} a second ({m.LongStallsPerSecond:N0} over {CoreStalls.LongStallNs / 1000} us), {m.StolenShare * 100:0.0} % of its time ({(m.WaitedNs < 0 ? "this machine's share not seen" : $"{m.WaitedShare * 100:0.00} % waiting for this machine's other tasks, switched out {m.SwitchedOut:N0} {(m.SwitchedOut == 1 ? "time" : "times")}")}), the longest {m.LongestNs / 1000.0:N0} us");
        var cores = stalls.Count == 1 ? Core(stalls[0], "engine and load") : $"{Core(stalls[0], "engine")}; {Core(stalls[1], "load")}";
        return FormattableString.Invariant(
            $"cores' stalls, same run, before trading (a pinned thread on each core reading the clock in a tight loop, both at once, {StallProbe.TotalSeconds:0.##} s; a gap over {CoreStalls.StallNs / 1000} us is time it did not run; the part spent waiting while another task of this machine had the core is the kernel's count; the rest it does not see: the host's, and interrupts' work on the core): {cores}: every timing on these cores stands on them");
    }

    /// <summary>The engine's and the load's threads' run-queue figures now (null for a thread whose figures are not kept or not
    /// yet open).</summary>
    private static (SchedulingSample? Engine, SchedulingSample? Load) ReadWaits(NodeHost node, WireLoad load) =>
        (node.Scheduling?.Read(), load.Scheduling?.Read());

    /// <summary>
    /// How long the engine's and the load's threads waited on their run queues over the trading window (<paramref name="windowNs"/>,
    /// 0: no window): a thread pinned to a core it never yields waits there only while another task of this machine has that
    /// core (a kernel thread, another process, the runtime's own threads). On this VM (2026-12-05, `perf sched` over a run):
    /// the engine's ~50 ms in 4 s were the kernel's DAMON thread (about ten turns of ~2 ms), the softirq thread of its core
    /// (~500 short turns, all RCU callbacks: multicast datagrams looped back on this machine raise them, unicast ones do not),
    /// this sandbox's own agent, RCU's thread and the runtime's finalizer. A thread whose figures were not seen (null) says so.
    /// </summary>
    internal static string RunQueueLine(SchedulingSample? engine, SchedulingSample? load, long windowNs, int engineCpu, int loadCpu)
    {
        if (windowNs <= 0)
        {
            return "run queue while trading: no trading window to measure (the load never finished its warm-up or never quiesced)";
        }

        string Thread(SchedulingSample? s, string role, int cpu) => s is not { } w
            ? $"{role} thread: not seen (no scheduler statistics for it here)"
            : FormattableString.Invariant($"{role} thread{(cpu >= 0 ? $" (CPU {cpu})" : " (not pinned)")} switched out {w.TimesRun:N0} {(w.TimesRun == 1 ? "time" : "times")}, {w.WaitedNs / 1e6:0.0} ms waiting ({w.WaitedNs * 100.0 / windowNs:0.00} % of the window)");
        return FormattableString.Invariant(
            $"run queue while trading ({windowNs / 1e9:0.0} s, the gc line's window; from the kernel's figures for each thread): {Thread(engine, "engine", engineCpu)}; {Thread(load, "load", loadCpu)}: time another task of this machine had a pinned thread's core (kernel threads, other processes, this runtime's own threads), which an operator reduces by isolating the cores (isolcpus, nohz_full, kernel threads and interrupts moved off them){(engineCpu >= 0 && engineCpu == loadCpu ? "; here the two threads share one core, so each also waits while the other has it" : "")}");
    }

    private static string Us(LatencyHistogram h, double percentile) =>
        (h.Percentile(percentile) / 1000.0).ToString("0.0", CultureInfo.InvariantCulture) + " us";

    private static string Us(LongHistogram h, double percentile) =>
        h.TotalCount == 0 ? "none measured" : (h.GetValueAtPercentile(percentile) / 1000.0).ToString("0.0", CultureInfo.InvariantCulture) + " us";

    private static string Price(InstrumentSpec spec, long ticks) => Scaled(ticks, spec.PriceScale);

    private static string Qty(InstrumentSpec spec, long lots) => Scaled(lots, spec.QuantityScale);

    private static string Scaled(long units, int scale) =>
        (units / (decimal)Math.Pow(10, scale)).ToString("N" + scale.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
