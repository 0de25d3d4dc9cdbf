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
/// Each is the median of its sweeps after a warm-up; the shapes take turns, a tenth of their sweeps at a time, so a slow
/// phase of the machine falls on all of them. The fit T(F, L) = fixed + F · per_fill + L · per_level comes from the
/// first three. A sweep's filled makers are released after it, when the engine is next asked (their id-table entries,
/// account lists and slots: <c>MatchingEngine.ReleaseFilledMakers</c>); each line times that release apart too
/// (<c>release_p50_ns</c>), right after the sweep. The deep-sweep flow's p99.9 operations are sweeps of some 35-50 fills through about five orders a level, colder than these
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

    /// <summary>Rounds the shapes take turns in: a phase of this VM (minutes of a slower vCPU) falls on all of them alike.</summary>
    private const int Rounds = 10;

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

        SweepShape[] shapes =
        [
            new SweepShape<CountingSink>(config, 40, 1, sweeps, cold: false),
            new SweepShape<CountingSink>(config, 40, 40, sweeps, cold: false),
            new SweepShape<CountingSink>(config, 10, 10, sweeps, cold: false),
            new SweepShape<CountingSink>(config, 40, 5, sweeps, cold: false),
            new SweepShape<StateOnlySink>(config, 40, 5, sweeps, cold: false),
            new SweepShape<CountingSink>(config, 40, 5, Math.Max(Rounds, sweeps / 10), cold: true),
        ];
        foreach (var shape in shapes)
        {
            shape.Sweep(shape.Sweeps / 5, timed: false);   // warm-up
        }

        for (var round = 0; round < Rounds; round++)
        {
            foreach (var shape in shapes)
            {
                shape.Sweep((shape.Sweeps / Rounds) + (round < shape.Sweeps % Rounds ? 1 : 0), timed: true);
            }
        }

        var p50 = shapes.Select(s => s.Print()).ToArray();
        double perLevelShape = p50[0], perFillShape = p50[1], fixedShape = p50[2], mixed = p50[3], mixedNoEvents = p50[4], mixedCold = p50[5];
        var perLevel = (perLevelShape - perFillShape) / 39.0;
        var perFill = (perFillShape - fixedShape) / 30.0;
        var fixedNs = fixedShape - (10 * perFill) - perLevel;
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=book case=sweep-anatomy per_fill_ns={perFill:F1} per_level_ns={perLevel:F1} fixed_ns={fixedNs:F0} events_share={1 - (mixedNoEvents / mixed):F2} cold_over_warm={mixedCold / mixed:F2}"));
    }

    private abstract class SweepShape(int sweeps)
    {
        public int Sweeps { get; } = sweeps;

        /// <summary>Runs <paramref name="count"/> sweeps, each timed alone; with <paramref name="timed"/> their times are kept.</summary>
        public abstract void Sweep(int count, bool timed);

        /// <summary>Prints the shape's line; returns its median sweep in nanoseconds.</summary>
        public abstract double Print();
    }

    /// <summary>One shape on its own engine: sweeps of <see cref="_fills"/> makers resting <see cref="_perLevel"/> a level.</summary>
    private sealed class SweepShape<TSink> : SweepShape
        where TSink : struct, IEngineEventSink
    {
        private readonly MatchingEngine<TSink, NoPositions> _engine;
        private readonly int _fills;
        private readonly int _perLevel;
        private readonly bool _cold;
        private readonly long[] _latencies;

        // The filled makers' release, which the engine leaves until it is next asked (MatchingEngine.ReleaseFilledMakers), timed
        // apart right after each sweep: the sweep's own figure is what its aggressor waits for, this is the work that follows.
        private readonly long[] _releases;
        private readonly LevelView[] _askLevels = new LevelView[64];
        private readonly Random _random = new(7);
        private int _timed;
        private long _clientOrderId = 1;

        public SweepShape(EngineConfig config, int fills, int perLevel, int sweeps, bool cold)
            : base(sweeps)
        {
            (_fills, _perLevel, _cold) = (fills, perLevel, cold);
            _latencies = new long[sweeps];
            _releases = new long[sweeps];
            _engine = new MatchingEngine<TSink, NoPositions>(config);
            for (var i = 0; i < Accounts; i++)
            {
                var bid = EngineCommand.Place(0, 1 + i, Instrument, _clientOrderId++, Side.Buy, OrderType.Limit, TimeInForce.Gtc, (AskTicks / 2) - _random.Next(50), 5, stp: SelfTradePrevention.None);
                _engine.Process(in bid);
            }
        }

        public override void Sweep(int count, bool timed)
        {
            for (var s = 0; s < count; s++)
            {
                var (elapsed, release) = SweepOnce();
                if (timed)
                {
                    _releases[_timed] = release;
                    _latencies[_timed++] = elapsed;
                }
            }
        }

        private (long Sweep, long Release) SweepOnce()
        {
            for (var k = 0; k < _fills; k++)
            {
                var maker = EngineCommand.Place(0, 1 + _random.Next(Accounts), Instrument, _clientOrderId++, Side.Sell, OrderType.Limit, TimeInForce.Gtc, AskTicks + (k / _perLevel), 1, stp: SelfTradePrevention.None);
                _engine.Process(in maker);
            }

            for (var k = 0; _cold && k < ColdOrders; k++)
            {
                // Elsewhere in the book and the tables: what the flow does between two sweeps, pushing the makers' lines out.
                var account = 1 + _random.Next(Accounts);
                var id = _clientOrderId++;
                var place = EngineCommand.Place(0, account, Instrument, id, Side.Buy, OrderType.Limit, TimeInForce.Gtc, (AskTicks / 2) - _random.Next(2_000), 1, stp: SelfTradePrevention.None);
                _engine.Process(in place);
                var cancel = EngineCommand.Cancel(0, account, 0, id);
                _engine.Process(in cancel);
            }

            var resting = _engine.GetLevels(Instrument, Side.Sell, _askLevels);
            var makers = 0;
            for (var l = 0; l < resting; l++)
            {
                makers += _askLevels[l].OrderCount;
            }

            if (makers != _fills || resting != (_fills + _perLevel - 1) / _perLevel)
            {
                throw new InvalidOperationException($"sweep-anatomy: {makers} makers on {resting} levels where {_fills} were placed (the flow is wrong, not the timing)");
            }

            var taker = EngineCommand.Place(0, 1 + _random.Next(Accounts), Instrument, _clientOrderId++, Side.Buy, OrderType.Limit, TimeInForce.Ioc, AskTicks + _fills, _fills, stp: SelfTradePrevention.None);
            var t0 = Stopwatch.GetTimestamp();
            _engine.Process(in taker);
            var t1 = Stopwatch.GetTimestamp();
            _engine.ReleaseFilledMakers();
            var t2 = Stopwatch.GetTimestamp();
            if (_engine.LevelCount(Instrument, Side.Sell) != 0)
            {
                throw new InvalidOperationException($"sweep-anatomy: a sweep of {_fills} left makers resting (the flow is wrong, not the timing)");
            }

            return (t1 - t0, t2 - t1);
        }

        public override double Print()
        {
            Array.Sort(_latencies);
            Array.Sort(_releases);
            var p50 = BookBenchmark.Ticks(_latencies[_latencies.Length / 2]);
            var releaseP50 = BookBenchmark.Ticks(_releases[_releases.Length / 2]);
            Console.WriteLine(FormattableString.Invariant(
                $"RESULT bench=book case=sweep-anatomy fills={_fills} orders_per_level={_perLevel} sink={(typeof(TSink) == typeof(StateOnlySink) ? "state-only" : "counting")} cold={(_cold ? 1 : 0)} sweeps={_latencies.Length} p50_ns={p50} p99_ns={BookBenchmark.Ticks(_latencies[(int)(_latencies.Length * 0.99)])} ns_per_fill={(double)p50 / _fills:F1} release_p50_ns={releaseP50} release_ns_per_fill={(double)releaseP50 / _fills:F1}"));
            return p50;
        }
    }
}
