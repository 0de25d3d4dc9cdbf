using System.Diagnostics;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Matching;
using Aivora.Core.Orders;

namespace Aivora.Perf.Book;

/// <summary>
/// Where a sweep's time goes, in the book alone: one IOC aggressor taking every maker of a prepared ask side, timed by itself
/// (its makers are placed untimed just before it, on the built-in flows' tables beside 1,000 resting bids from 1,000
/// accounts), in shapes that separate the costs:
/// <code>
///   sweep (fills F, levels L)              what it isolates
///   40 fills,  1 a level (40 levels)       per level: 40 − 1 emptied levels more than ↓
///   40 fills, 40 a level ( 1 level)        per fill:  30 fills more than ↓
///   10 fills, 10 a level ( 1 level)        fixed: the aggressor's entry and end, one level
///   40 fills,  5 a level ( 8 levels)       the events' share (CountingSink against StateOnlySink, which builds none)
///                                          and the cold one (3,000 unrelated orders placed and cancelled before each sweep)
/// </code>
/// Each is the median of its sweeps after a warm-up. The fit T(F, L) = fixed + F · per_fill + L · per_level comes from the
/// first three. The deep-sweep flow's p99.9 operations are sweeps of some 40-50 fills over some 10 levels, colder than these
/// (the flow runs other commands between them): this says which part of them a change could move. Every sweep must take
/// all its makers (checked: they all rest before it, on the levels their shape says, and the ask side is empty after it), or
/// the run stops with a message; with an order budget (--max-orders) too small for them it is not run, and says so.
/// </summary>
public static class SweepAnatomy
{
    private const int Instrument = BookTranslator.InstrumentId;
    private const int Accounts = 1_000;
    private const long AskTicks = 1_000_000;
    private const int ColdOrders = 3_000;

    /// <param name="sweeps">Timed sweeps a shape (after a fifth as many untimed); the cold one a tenth as many.</param>
    public static void Run(EngineConfig config, int sweeps)
    {
        const int Needed = Accounts + 40 + 2;   // the bids, the most makers a sweep takes, its aggressor, a cold order
        if (config.MaxRestingOrders < Needed)
        {
            Console.Error.WriteLine(FormattableString.Invariant(
                $"book: the sweep anatomy needs room for {Needed:N0} resting orders and --max-orders gives {config.MaxRestingOrders:N0}: not run"));
            return;
        }

        var perLevelShape = Measure<CountingSink>(config, 40, 1, sweeps, cold: false);
        var perFillShape = Measure<CountingSink>(config, 40, 40, sweeps, cold: false);
        var fixedShape = Measure<CountingSink>(config, 10, 10, sweeps, cold: false);
        var mixed = Measure<CountingSink>(config, 40, 5, sweeps, cold: false);
        var mixedNoEvents = Measure<StateOnlySink>(config, 40, 5, sweeps, cold: false);
        var mixedCold = Measure<CountingSink>(config, 40, 5, sweeps / 10, cold: true);

        var perLevel = (perLevelShape - perFillShape) / 39.0;
        var perFill = (perFillShape - fixedShape) / 30.0;
        var fixedNs = fixedShape - (10 * perFill) - perLevel;
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=book case=sweep-anatomy per_fill_ns={perFill:F1} per_level_ns={perLevel:F1} fixed_ns={fixedNs:F0} events_share={1 - (mixedNoEvents / mixed):F2} cold_over_warm={mixedCold / mixed:F2}"));
    }

    /// <summary>The median nanoseconds of a sweep of <paramref name="fills"/> makers resting <paramref name="perLevel"/> a level; prints its line.</summary>
    private static double Measure<TSink>(EngineConfig config, int fills, int perLevel, int sweeps, bool cold)
        where TSink : struct, IEngineEventSink
    {
        var engine = new MatchingEngine<TSink, NoPositions>(config);
        var random = new Random(7);
        long clientOrderId = 1;
        for (var i = 0; i < Accounts; i++)
        {
            var bid = EngineCommand.Place(0, 1 + i, Instrument, clientOrderId++, Side.Buy, OrderType.Limit, TimeInForce.Gtc, (AskTicks / 2) - random.Next(50), 5, stp: SelfTradePrevention.None);
            engine.Process(in bid);
        }

        var askLevels = new LevelView[64];
        var warmUp = sweeps / 5;
        var latencies = new long[sweeps];
        for (var s = 0; s < warmUp + sweeps; s++)
        {
            for (var k = 0; k < fills; k++)
            {
                var maker = EngineCommand.Place(0, 1 + random.Next(Accounts), Instrument, clientOrderId++, Side.Sell, OrderType.Limit, TimeInForce.Gtc, AskTicks + (k / perLevel), 1, stp: SelfTradePrevention.None);
                engine.Process(in maker);
            }

            for (var k = 0; cold && k < ColdOrders; k++)
            {
                // Elsewhere in the book and the tables: what the flow does between two sweeps, pushing the makers' lines out.
                var account = 1 + random.Next(Accounts);
                var id = clientOrderId++;
                var place = EngineCommand.Place(0, account, Instrument, id, Side.Buy, OrderType.Limit, TimeInForce.Gtc, (AskTicks / 2) - random.Next(2_000), 1, stp: SelfTradePrevention.None);
                engine.Process(in place);
                var cancel = EngineCommand.Cancel(0, account, 0, id);
                engine.Process(in cancel);
            }

            var resting = engine.GetLevels(Instrument, Side.Sell, askLevels);
            var makers = 0;
            for (var l = 0; l < resting; l++)
            {
                makers += askLevels[l].OrderCount;
            }

            if (makers != fills || resting != (fills + perLevel - 1) / perLevel)
            {
                throw new InvalidOperationException($"sweep-anatomy: {makers} makers on {resting} levels where {fills} were placed (the flow is wrong, not the timing)");
            }

            var taker = EngineCommand.Place(0, 1 + random.Next(Accounts), Instrument, clientOrderId++, Side.Buy, OrderType.Limit, TimeInForce.Ioc, AskTicks + fills, fills, stp: SelfTradePrevention.None);
            var t0 = Stopwatch.GetTimestamp();
            engine.Process(in taker);
            var elapsed = Stopwatch.GetTimestamp() - t0;
            if (engine.LevelCount(Instrument, Side.Sell) != 0)
            {
                throw new InvalidOperationException($"sweep-anatomy: a sweep of {fills} left makers resting (the flow is wrong, not the timing)");
            }

            if (s >= warmUp)
            {
                latencies[s - warmUp] = elapsed;
            }
        }

        Array.Sort(latencies);
        var p50 = BookBenchmark.Ticks(latencies[latencies.Length / 2]);
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=book case=sweep-anatomy fills={fills} orders_per_level={perLevel} sink={(typeof(TSink) == typeof(StateOnlySink) ? "state-only" : "counting")} cold={(cold ? 1 : 0)} sweeps={sweeps} p50_ns={p50} p99_ns={BookBenchmark.Ticks(latencies[(int)(latencies.Length * 0.99)])} ns_per_fill={(double)p50 / fills:F1}"));
        return p50;
    }
}
