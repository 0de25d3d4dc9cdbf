using Aivora.Exchange;

namespace Aivora.Perf.Codec;

/// <summary>One message's encode and full decode through the flyweights, as the hot path uses them.</summary>
public interface ICodecCase
{
    string Name { get; }

    int Encode(Span<byte> buffer);

    /// <summary>Decodes every field (summed, so nothing is optimised away); -1 when the bytes are invalid.</summary>
    long Decode(ReadOnlySpan<byte> buffer);
}

public readonly struct NewOrderCase : ICodecCase
{
    public string Name => "NewOrder";

    public int Encode(Span<byte> buffer)
    {
        var e = NewOrderEncoder.Wrap(buffer);
        e.ClientOrderId(1_234_567);
        e.AccountId(42);
        e.InstrumentId(1);
        e.Side(Side.Buy);
        e.OrdType(OrdType.Limit);
        e.TimeInForce(TimeInForce.GTC);
        e.Flags(OrderFlags.PostOnly);
        e.StpMode(StpMode.Default);
        e.TriggerSource(TriggerSource.Mark);
        e.Price(650_000);
        e.Quantity(25);
        e.SendingTimeNs(1_700_000_000_000_000_000);
        return e.EncodedLength;
    }

    public long Decode(ReadOnlySpan<byte> buffer)
    {
        if (NewOrderDecoder.TryWrap(buffer, out var d) != SbeDecodeResult.Ok)
        {
            return -1;
        }

        return (long)d.ClientOrderId + d.AccountId + d.InstrumentId + (long)d.Side + (long)d.OrdType + (long)d.TimeInForce + (long)d.Flags +
            (long)d.StpMode + (long)d.TriggerSource + d.Price + d.Quantity + d.TriggerPrice + d.StpGroup + (long)d.ExpireTimeNs + (long)d.SendingTimeNs;
    }
}

public readonly struct CancelOrderCase : ICodecCase
{
    public string Name => "CancelOrder";

    public int Encode(Span<byte> buffer)
    {
        var e = CancelOrderEncoder.Wrap(buffer);
        e.ClientOrderId(7);
        e.AccountId(42);
        e.InstrumentId(1);
        e.OrderId(99);
        e.SendingTimeNs(1);
        return e.EncodedLength;
    }

    public long Decode(ReadOnlySpan<byte> buffer) =>
        CancelOrderDecoder.TryWrap(buffer, out var d) != SbeDecodeResult.Ok ? -1
            : (long)d.ClientOrderId + d.AccountId + d.InstrumentId + (long)d.OrderId + (long)d.OrigClientOrderId + (long)d.SendingTimeNs;
}

public readonly struct OrderFilledCase : ICodecCase
{
    public string Name => "OrderFilled";

    public int Encode(Span<byte> buffer)
    {
        var e = OrderFilledEncoder.Wrap(buffer);
        e.OrderId(99);
        e.ClientOrderId(7);
        e.AccountId(42);
        e.InstrumentId(1);
        e.Side(Side.Sell);
        e.Liquidity(Liquidity.Maker);
        e.FeeAsset(1);
        e.TradeId(123_456);
        e.Price(650_000);
        e.Quantity(5);
        e.LeavesQuantity(20);
        e.CumQuantity(5);
        e.Fee(-12);
        e.LiquidationPrice(600_000);
        e.MarginUsed(3_250_000);
        e.TransactTimeNs(1);
        return e.EncodedLength;
    }

    public long Decode(ReadOnlySpan<byte> buffer) =>
        OrderFilledDecoder.TryWrap(buffer, out var d) != SbeDecodeResult.Ok ? -1
            : (long)d.OrderId + (long)d.ClientOrderId + d.AccountId + d.InstrumentId + (long)d.Side + (long)d.Liquidity + d.FeeAsset + (long)d.TradeId +
              d.Price + d.Quantity + d.LeavesQuantity + d.CumQuantity + d.Fee + d.RealizedPnl + d.LiquidationPrice + d.MarginUsed + (long)d.TransactTimeNs;
}

public readonly struct BookLevelUpdatesCase : ICodecCase
{
    public string Name => "BookLevelUpdates";

    public int Encode(Span<byte> buffer)
    {
        var e = BookLevelUpdatesEncoder.Wrap(buffer);
        e.Sequence(1_000);
        e.InstrumentId(1);
        e.TransactTimeNs(1);
        var levels = e.Levels(10);
        for (var i = 0; i < 10; i++)
        {
            levels.Next();
            levels.Side(i < 5 ? Side.Buy : Side.Sell);
            levels.Price(650_000 + i);
            levels.Quantity(10 + i);
            levels.OrderCount(3);
        }

        return e.EncodedLength;
    }

    public long Decode(ReadOnlySpan<byte> buffer)
    {
        if (BookLevelUpdatesDecoder.TryWrap(buffer, out var d) != SbeDecodeResult.Ok)
        {
            return -1;
        }

        var sum = (long)d.Sequence + d.InstrumentId + (long)d.TransactTimeNs;
        var levels = d.Levels();
        while (levels.Next())
        {
            sum += (long)levels.Side + levels.Price + levels.Quantity + levels.OrderCount;
        }

        return sum;
    }
}
