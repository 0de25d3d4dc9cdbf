using System.Diagnostics;
using System.Globalization;
using Aivora.Core.Diagnostics;
using Aivora.Core.Events;
using Aivora.Core.Instruments;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Node.Configuration;
using Aivora.Node.Simulation;
using Aivora.Node.Threading;

namespace Aivora.Node;

/// <summary>
/// The node's composition root. Until the transport and codecs are wired in, the node runs the
/// engine on its own pinned thread against an in-process market-maker load for a bounded time,
/// reports what happened, and proves determinism by replaying the same flow into a fresh engine.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var seconds = double.Parse(Option(args, "--seconds") ?? "5", CultureInfo.InvariantCulture);
        var seed = int.Parse(Option(args, "--seed") ?? "42", CultureInfo.InvariantCulture);
        var maxCommands = long.Parse(Option(args, "--max-commands") ?? "50000000", CultureInfo.InvariantCulture);
        var cpu = int.Parse(Option(args, "--cpu") ?? (Environment.ProcessorCount - 1).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        if (seconds <= 0 || seconds > 3_600 || maxCommands <= 0)
        {
            Console.Error.WriteLine("--seconds must be in (0, 3600] and --max-commands positive");
            return 2;
        }

        var config = DefaultConfiguration.Engine;
        Console.WriteLine("Aivora.LowLatency node: in-process market-maker simulation (the network front end is not wired in yet)");
        Console.WriteLine($"instruments: {string.Join(", ", config.Instruments.Select(i => $"{i.Symbol} (id {i.Id})"))}; makers {MarketMakerFlow.Makers} x {MarketMakerFlow.QuoteLevels} quotes a side; takers {MarketMakerFlow.Takers}; seed {seed}; up to {seconds:0.#} s");
        Console.WriteLine(ThreadAffinity.TryPinCurrentThread(cpu, out var pinError)
            ? $"engine thread pinned to CPU {cpu} (now on CPU {ThreadAffinity.CurrentCpu()})"
            : $"engine thread not pinned: {pinError}");

        var flow = new MarketMakerFlow(seed, config.Instruments);
        var engine = new MatchingEngine<NodeSink, NoPositions>(config, new NodeSink(flow));
        var latency = new LatencyHistogram();
        long commands = 0, busyTicks = 0;
        var start = Stopwatch.GetTimestamp();
        var deadline = start + (long)(seconds * Stopwatch.Frequency);
        while (commands < maxCommands)
        {
            // Check the clock once per batch, as an agent's duty cycle would.
            for (var k = 0; k < 1_024; k++)
            {
                var command = flow.Next();
                var t0 = Stopwatch.GetTimestamp();
                engine.Process(in command);
                var dt = Stopwatch.GetTimestamp() - t0;
                latency.Record(TicksToNs(dt));
                busyTicks += dt;
            }

            commands += 1_024;
            if (Stopwatch.GetTimestamp() >= deadline)
            {
                break;
            }
        }

        var wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
        Report(engine, config.Instruments, commands, wall, busyTicks, latency, flow);

        var invariant = engine.ValidateInvariants();
        var hash = engine.StateHash();
        var replayHash = Replay(seed, commands, config);
        Console.WriteLine($"final state hash: 0x{hash:x16}");
        Console.WriteLine(replayHash == hash
            ? $"replay: a fresh engine fed the same {commands:N0} commands reached the same state hash (deterministic)"
            : $"replay: MISMATCH, fresh engine reached 0x{replayHash:x16}");
        Console.WriteLine(invariant is null ? "internal invariants: ok" : $"internal invariants: BROKEN: {invariant}");
        return replayHash == hash && invariant is null ? 0 : 1;
    }

    private static ulong Replay(int seed, long commands, EngineConfig config)
    {
        var flow = new MarketMakerFlow(seed, config.Instruments);
        var engine = new MatchingEngine<NodeSink, NoPositions>(config, new NodeSink(flow));
        for (long i = 0; i < commands; i++)
        {
            var command = flow.Next();
            engine.Process(in command);
        }

        return engine.StateHash();
    }

    private static void Report(MatchingEngine<NodeSink, NoPositions> engine, IReadOnlyList<InstrumentSpec> instruments, long commands, double wallSeconds, long busyTicks, LatencyHistogram latency, MarketMakerFlow flow)
    {
        ref var c = ref engine.Sink.Counters;
        var busySeconds = (double)busyTicks / Stopwatch.Frequency;
        Console.WriteLine($"commands {commands:N0} in {wallSeconds:0.00} s: accepted {c.Accepted:N0}, rejected {c.Rejected:N0}, amended {c.Amended:N0}, cancelled {c.Cancelled:N0}, expired {c.Expired:N0}, self-trades prevented {c.SelfTradesPrevented:N0}");
        var rejects = new List<(RejectReason Reason, long Count)>();
        for (var r = 0; r < 64; r++)
        {
            if (c.RejectsByReason[r] > 0)
            {
                rejects.Add(((RejectReason)r, c.RejectsByReason[r]));
            }
        }

        Console.WriteLine($"rejects by reason: {string.Join(", ", rejects.OrderByDescending(x => x.Count).Select(x => $"{x.Reason} {x.Count:N0}"))}");
        Console.WriteLine($"trades {c.Trades:N0}, filled {c.FilledLots:N0} lots; resting orders {engine.RestingOrderCount:N0} (maker quotes live {flow.LiveQuotes:N0})");
        Span<LevelView> bid = stackalloc LevelView[1];
        Span<LevelView> ask = stackalloc LevelView[1];
        foreach (var spec in instruments)
        {
            var hasBid = engine.GetLevels(spec.Id, Side.Buy, bid) == 1;
            var hasAsk = engine.GetLevels(spec.Id, Side.Sell, ask) == 1;
            Console.WriteLine($"  {spec.Symbol,-9} bid {(hasBid ? $"{Price(spec, bid[0].PriceTicks)} x {Qty(spec, bid[0].TotalLots)}" : "-")}  /  ask {(hasAsk ? $"{Price(spec, ask[0].PriceTicks)} x {Qty(spec, ask[0].TotalLots)}" : "-")}  ({engine.LevelCount(spec.Id, Side.Buy)} bid levels, {engine.LevelCount(spec.Id, Side.Sell)} ask levels, {engine.GetTradingState(spec.Id)})");
        }

        Console.WriteLine($"throughput: {commands / wallSeconds:N0} commands/s end to end (load generation included); engine alone {commands / busySeconds:N0} commands/s");
        Console.WriteLine($"engine latency per command (timer included): p50 {latency.Percentile(50)} ns, p90 {latency.Percentile(90)} ns, p99 {latency.Percentile(99)} ns, p99.9 {latency.Percentile(99.9)} ns, p99.99 {latency.Percentile(99.99)} ns, max {latency.MaxNs:N0} ns");
    }

    private static string Price(InstrumentSpec spec, long ticks) => Scaled(ticks, spec.PriceScale);

    private static string Qty(InstrumentSpec spec, long lots) => Scaled(lots, spec.QuantityScale);

    private static string Scaled(long units, int scale) =>
        (units / (decimal)Math.Pow(10, scale)).ToString("N" + scale.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static long TicksToNs(long ticks) => Stopwatch.Frequency == 1_000_000_000 ? ticks : (long)(ticks * (1e9 / Stopwatch.Frequency));

    private static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
