using Aivora.Exchange;
using BenchmarkDotNet.Attributes;

namespace Aivora.Benchmarks;

/// <summary>
/// Encode and decode of the hot-path messages through the generated flyweights. Decode benchmarks
/// validate the frame and read every field. Run:
/// <c>dotnet run -c Release --project perf/Aivora.Benchmarks -- --filter '*Codec*'</c>.
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
    public int EncodeNewOrder()
    {
        var e = NewOrderEncoder.Wrap(_buffer);
        e.ClientOrderId(1_234_567);
        e.AccountId(42);
        e.InstrumentId(1);
        e.Side(Side.Buy);
        e.OrdType(OrdType.Limit);
        e.TimeInForce(TimeInForce.GTC);
        e.Flags(OrderFlags.PostOnly);
        e.Price(650_000);
        e.Quantity(25);
        e.SendingTimeNs(1_700_000_000_000_000_000);
        return e.EncodedLength;
    }

    [Benchmark]
    public long DecodeNewOrder()
    {
        if (NewOrderDecoder.TryWrap(_newOrder, out var d) != SbeDecodeResult.Ok)
        {
            return -1;
        }

        return (long)d.ClientOrderId + d.AccountId + d.InstrumentId + (long)d.Side + (long)d.OrdType + (long)d.TimeInForce + (long)d.Flags +
            (long)d.StpMode + d.Price + d.Quantity + d.TriggerPrice + (long)d.ExpireTimeNs + (long)d.SendingTimeNs;
    }

    [Benchmark]
    public int EncodeOrderFilled()
    {
        var e = OrderFilledEncoder.Wrap(_buffer);
        e.OrderId(99);
        e.ClientOrderId(7);
        e.AccountId(42);
        e.InstrumentId(1);
        e.Side(Side.Sell);
        e.Liquidity(Liquidity.Maker);
        e.TradeId(123_456);
        e.Price(650_000);
        e.Quantity(5);
        e.LeavesQuantity(20);
        e.CumQuantity(5);
        e.Fee(-12);
        e.TransactTimeNs(1);
        return e.EncodedLength;
    }

    [Benchmark]
    public long DecodeOrderFilled() =>
        OrderFilledDecoder.TryWrap(_filled, out var d) != SbeDecodeResult.Ok ? -1
            : (long)d.OrderId + (long)d.ClientOrderId + d.AccountId + d.InstrumentId + (long)d.Side + (long)d.TradeId + d.Price + d.Quantity +
              d.LeavesQuantity + d.CumQuantity + d.Fee + d.RealizedPnl + (long)d.TransactTimeNs;
}
