using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using BenchmarkDotNet.Attributes;

namespace Aivora.Benchmarks;

/// <summary>
/// Aggressive matching across N levels: N single-order ask levels are placed just above the
/// touch, then one IOC buy takes them all. Reported per invocation (N places + 1 sweep producing
/// N trades); divide by N + 1 for the per-command cost.
/// </summary>
[MemoryDiagnoser]
public class BookSweepBenchmarks
{
    private MatchingEngine<CountingSink, NoPositions> _engine = null!;
    private long _nowNs;

    [Params(1, 10, 50)]
    public int Levels { get; set; }

    [GlobalSetup]
    public void Setup() => _engine = BookBenchmarks.NewPrefilledEngine(ref _nowNs);

    [Benchmark(Description = "refill N levels + IOC sweep of N levels")]
    public long RefillThenSweep()
    {
        for (var i = 0; i < Levels; i++)
        {
            var ask = EngineCommand.Limit(++_nowNs, 9, BookBenchmarks.Instrument, 0, Side.Sell, BookBenchmarks.Mid + 1 + i, 10);
            _engine.Process(in ask);
        }

        var sweep = EngineCommand.Limit(++_nowNs, 8, BookBenchmarks.Instrument, 0, Side.Buy, BookBenchmarks.Mid + Levels, 10L * Levels, TimeInForce.Ioc);
        _engine.Process(in sweep);
        return _engine.Sink.Trades;
    }
}
