using Aivora.Perf.Codec;
using BenchmarkDotNet.Attributes;

namespace Aivora.Benchmarks;

/// <summary>
/// Encode and decode of the hot-path messages through the generated flyweights, using the same
/// cases as <c>Aivora.Perf codec</c>. Decode benchmarks validate the frame and read every field.
/// Run: <c>dotnet run -c Release --project perf/Aivora.Benchmarks -- --filter '*Codec*'</c>.
/// </summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private readonly byte[] _buffer = new byte[4_096];
    private byte[] _newOrder = [];
    private byte[] _filled = [];

    [GlobalSetup]
    public void Setup()
    {
        _newOrder = _buffer.AsSpan(0, EncodeNewOrder()).ToArray();
        _filled = _buffer.AsSpan(0, EncodeOrderFilled()).ToArray();
    }

    [Benchmark]
    public int EncodeNewOrder() => default(NewOrderCase).Encode(_buffer);

    [Benchmark]
    public long DecodeNewOrder() => default(NewOrderCase).Decode(_newOrder);

    [Benchmark]
    public int EncodeOrderFilled() => default(OrderFilledCase).Encode(_buffer);

    [Benchmark]
    public long DecodeOrderFilled() => default(OrderFilledCase).Decode(_filled);
}
