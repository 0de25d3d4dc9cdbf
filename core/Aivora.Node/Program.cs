using System.Diagnostics;
using System.Globalization;
using Aivora.Core.Diagnostics;
using Aivora.Core.Events;
using Aivora.Core.Accounts;
using Aivora.Core.Instruments;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Core.Risk;
using Aivora.Node.Configuration;
using Aivora.Node.Simulation;
using Aivora.Transport.Native;

namespace Aivora.Node;

/// <summary>
/// The node's composition root. Until the transport and codecs are wired in, the node runs the
/// state machine (pre-trade risk, ledger, index/mark/funding, matching engine) on its own pinned
/// thread against an in-process market-maker load for a bounded time, reports what happened, and
/// proves determinism by replaying the same flow into a fresh state machine.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var seconds = double.Parse(Option(args, "--seconds") ?? "5", CultureInfo.InvariantCulture);
        var seed = int.Parse(Option(args, "--seed") ?? "42", CultureInfo.InvariantCulture);
        var maxCommands = long.Parse(Option(args, "--max-commands") ?? "50000000", CultureInfo.InvariantCulture);
        var cpu = int.Parse(Option(args, "--cpu") ?? (Environment.ProcessorCount - 1).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        var fundingSeconds = double.Parse(Option(args, "--funding-interval-s") ?? "5", CultureInfo.InvariantCulture);
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

        Console.WriteLine($"risk: cross margin, tiers 0.4/0.5/1/2.5% MMR, 20x default leverage, maker -0.01% / taker 0.04%; funding every {fundingSeconds:0.#} s of engine time (the demo shortens the 8 h default: --funding-interval-s)");
        var flow = new MarketMakerFlow(seed, config.Instruments);
        var risk = NewStateMachine(flow, config, fundingSeconds);
        var engine = risk.Engine;
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
                risk.Process(in command);
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
        var conserved = ReportRisk(risk, config.Instruments);

        var invariant = engine.ValidateInvariants();
        var hash = (Book: engine.StateHash(), Ledger: risk.Ledger.StateHash());
        var replay = Replay(seed, commands, config, fundingSeconds);
        Console.WriteLine($"final state hash: book 0x{hash.Book:x16}, ledger 0x{hash.Ledger:x16}");
        Console.WriteLine(replay == hash
            ? $"replay: a fresh state machine fed the same {commands:N0} commands reached the same book and ledger hashes (deterministic)"
            : $"replay: MISMATCH, fresh state machine reached book 0x{replay.Book:x16}, ledger 0x{replay.Ledger:x16}");
        Console.WriteLine(invariant is null ? "internal invariants: ok" : $"internal invariants: BROKEN: {invariant}");
        return replay == hash && invariant is null && conserved ? 0 : 1;
    }

    /// <summary>Ledger (makers and takers funded), pre-trade risk and pricing around the matching engine.</summary>
    private static PreTradeRisk<NodeSink> NewStateMachine(MarketMakerFlow flow, EngineConfig config, double fundingSeconds)
    {
        var ledger = new Ledger(DefaultConfiguration.Contracts, config.MaxAccounts);
        for (var maker = 1; maker <= MarketMakerFlow.Makers; maker++)
        {
            ledger.Deposit(maker, 2_000_000 * DefaultConfiguration.UsdtUnit);
        }

        for (var taker = MarketMakerFlow.FirstTakerAccount; taker < MarketMakerFlow.FirstTakerAccount + MarketMakerFlow.Takers; taker++)
        {
            ledger.Deposit(taker, 20_000 * DefaultConfiguration.UsdtUnit);
        }

        var interval = (long)(fundingSeconds * 1_000_000_000);
        return new PreTradeRisk<NodeSink>(config, ledger, DefaultConfiguration.Limits, new NodeSink(flow),
            [.. config.Instruments.Select(i => DefaultConfiguration.Pricing(i.Id, interval))]);
    }

    private static (ulong Book, ulong Ledger) Replay(int seed, long commands, EngineConfig config, double fundingSeconds)
    {
        var flow = new MarketMakerFlow(seed, config.Instruments);
        var risk = NewStateMachine(flow, config, fundingSeconds);
        for (long i = 0; i < commands; i++)
        {
            var command = flow.Next();
            risk.Process(in command);
        }

        return (risk.Engine.StateHash(), risk.Ledger.StateHash());
    }

    /// <summary>Funding, marks and the money checks; false when money or open interest does not balance.</summary>
    private static bool ReportRisk(PreTradeRisk<NodeSink> risk, IReadOnlyList<InstrumentSpec> instruments)
    {
        ref var sink = ref risk.Engine.Sink;
        var ledger = risk.Ledger;
        Console.WriteLine($"risk: {sink.MarkUpdates:N0} mark updates, {sink.PositionsFlaggedForLiquidation:N0} position checks at or past liquidation price; {sink.FundingSettlements:N0} funding settlements, {Scaled(sink.FundingPaid, 6)} USDT paid; fee account {Scaled(ledger.FeeAccount, 6)} USDT");
        var ok = true;
        foreach (var spec in instruments)
        {
            var pricing = risk.Pricing(spec.Id)!;
            var (longs, shorts) = ledger.OpenInterest(spec.Id);
            ok &= longs == shorts;
            Console.WriteLine($"  {spec.Symbol,-9} index {Price(spec, pricing.LastIndex.PriceTicks)} ({pricing.LastIndex.State}, {pricing.LastIndex.ValidSources}/{pricing.LastIndex.ConfiguredSources} sources)  mark {Price(spec, pricing.MarkTicks)}  predicted funding {pricing.PredictedRate / 1e6:0.####}%  open interest {Qty(spec, longs)} long / {Qty(spec, shorts)} short");
        }

        var money = ledger.MoneyInSystem();
        var expected = ledger.TotalDeposits - ledger.TotalWithdrawals;
        ok &= money == expected;
        Console.WriteLine(money == expected
            ? $"money: balances - open costs + fees + funding residue = {Scaled(money, 6)} USDT = deposits - withdrawals (conserved to the unit)"
            : $"money: NOT CONSERVED: {money} vs {expected}");
        return ok;
    }

    private static void Report(MatchingEngine<NodeSink, LedgerPositions> engine, IReadOnlyList<InstrumentSpec> instruments, long commands, double wallSeconds, long busyTicks, LatencyHistogram latency, MarketMakerFlow flow)
    {
        ref var c = ref engine.Sink.Counters;
        var busySeconds = (double)busyTicks / Stopwatch.Frequency;
        Console.WriteLine($"commands {commands:N0} in {wallSeconds:0.00} s: accepted {c.Accepted:N0}, rejected {c.Rejected:N0}, amended {c.Amended:N0}, cancelled {c.Cancelled:N0}, expired {c.Expired:N0}, self-trades prevented {c.SelfTradesPrevented:N0}");
        var rejects = new List<(RejectReason Reason, long Count)>();
        for (var r = 0; r < 128; r++)
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
