using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Instruments;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using BenchmarkDotNet.Attributes;

namespace Aivora.Benchmarks;

/// <summary>
/// Single operations on a book pre-filled with 1,000 resting orders (500 a side over 50 levels).
/// Each benchmark leaves the book as it found it, so every invocation sees the same state:
/// an add is paired with a cancel, an amend alternates between two prices, a sweep is followed by
/// the refill of what it took. Results are per operation (OperationsPerInvoke).
/// Run: <c>dotnet run -c Release --project perf/Aivora.Benchmarks -- --filter '*Book*'</c>.
/// </summary>
[MemoryDiagnoser]
public class BookBenchmarks
{
    internal const int Instrument = 1;
    internal const long Mid = 100_000;

    private MatchingEngine<CountingSink, NoPositions> _engine = null!;
    private long _nowNs;

    internal static MatchingEngine<CountingSink, NoPositions> NewPrefilledEngine(ref long nowNs)
    {
        var spec = new InstrumentSpec { Id = Instrument, Symbol = "BENCH", Band = PriceBand.InTicks(0), MaxQuantity = 1_000_000 };
        var engine = new MatchingEngine<CountingSink, NoPositions>(new EngineConfig
        {
            Instruments = [spec],
            MaxRestingOrders = 1 << 14,
            MaxPriceLevelsPerSide = 1 << 10,
            MaxAccounts = 1 << 10,
        });

        for (var i = 0; i < 500; i++)
        {
            var level = 100 + (i % 50);   // deep levels, away from what the benchmarks touch
            var bid = EngineCommand.Limit(++nowNs, 1 + (i % 100), Instrument, 0, Side.Buy, Mid - level, 10);
            var ask = EngineCommand.Limit(++nowNs, 1 + (i % 100), Instrument, 0, Side.Sell, Mid + level, 10);
            engine.Process(in bid);
            engine.Process(in ask);
        }

        return engine;
    }
    private long _amendOrderId;
    private bool _amendFlip;

    [GlobalSetup]
    public void Setup()
    {
        _engine = NewPrefilledEngine(ref _nowNs);
        _amendOrderId = _engine.NextOrderId;
        Send(EngineCommand.Limit(++_nowNs, 500, Instrument, 0, Side.Buy, Mid - 20, 10));
    }

    private void Send(EngineCommand command) => _engine.Process(in command);

    [Benchmark(OperationsPerInvoke = 2, Description = "add passive GTC + cancel it")]
    public long AddThenCancel()
    {
        var id = _engine.NextOrderId;
        Send(EngineCommand.Limit(++_nowNs, 7, Instrument, 0, Side.Buy, Mid - 30, 5));
        Send(EngineCommand.Cancel(++_nowNs, 7, id));
        return id;
    }

    [Benchmark(Description = "amend price (re-queue, no cross)")]
    public bool AmendPrice()
    {
        _amendFlip = !_amendFlip;
        Send(EngineCommand.Amend(++_nowNs, 500, _amendOrderId, _amendFlip ? Mid - 21 : Mid - 20, 0));
        return _amendFlip;
    }

    [Benchmark(OperationsPerInvoke = 2, Description = "amend quantity down (keeps priority) then up")]
    public long AmendQuantity()
    {
        Send(EngineCommand.Amend(++_nowNs, 500, _amendOrderId, 0, 6));
        Send(EngineCommand.Amend(++_nowNs, 500, _amendOrderId, 0, 10));
        return _nowNs;
    }
}
