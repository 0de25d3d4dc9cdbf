using Aivora.Exchange;

namespace Aivora.Codecs.Tests;

/// <summary>After warm-up, encoding and decoding allocate nothing.</summary>
public sealed class CodecAllocationTests
{
    private delegate SbeDecodeResult ValidateFrame(ReadOnlySpan<byte> buffer);

    /// <summary>
    /// Bytes one call of <paramref name="body"/> allocates in steady state. Tiered JIT promotes hot
    /// methods from a background timer, which can allocate once mid-measurement; so rounds of
    /// warm-up + measurement repeat (pausing for tier-up) until one allocates nothing. A real
    /// per-call allocation shows up in every round and is returned.
    /// </summary>
    private static long SteadyStateBytes(Action body, int iterations)
    {
        long bytes = 0;
        for (var round = 0; round < 5; round++)
        {
            for (var i = 0; i < iterations; i++)
            {
                body();
            }

            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < iterations; i++)
            {
                body();
            }

            bytes = GC.GetAllocatedBytesForCurrentThread() - before;
            if (bytes == 0)
            {
                return 0;
            }

            Thread.Sleep(150);
        }

        return bytes / iterations;
    }

    [Fact]
    public void ShouldEncodeAndValidateEveryExchangeMessageWithoutAllocating()
    {
        var random = new Random(1);
        var buffer = new byte[1 << 20];
        foreach (var dtoType in RandomMessages.MessageDtos(typeof(SbeSchema).Assembly, "Aivora.Exchange"))
        {
            var encoderType = dtoType.Assembly.GetType(dtoType.FullName![..^3] + "Encoder")!;
            var dto = RandomMessages.Fill(dtoType, encoderType, random);
            var encode = dtoType.GetMethod("EncodeInto")!.CreateDelegate<ExchangeSchemaRoundTripTests.Encode>(dto);
            var validate = dtoType.GetMethod("Validate")!.CreateDelegate<ValidateFrame>();
            var length = encode(buffer);
            Assert.Equal(SbeDecodeResult.Ok, validate(buffer.AsSpan(0, length)));

            var failures = 0;
            var perCall = SteadyStateBytes(() => failures += validate(buffer.AsSpan(0, encode(buffer))) == SbeDecodeResult.Ok ? 0 : 1, 2_000);

            Assert.True(perCall == 0, $"{dtoType.Name} allocates {perCall} bytes per encode + validate");
            Assert.Equal(0, failures);
        }
    }

    private static long EncodeAndDecodeHotMessages(byte[] buffer)
    {
        var order = NewOrderEncoder.Wrap(buffer);
        order.ClientOrderId(42);
        order.AccountId(7);
        order.InstrumentId(1);
        order.Side(Side.Buy);
        order.OrdType(OrdType.Limit);
        order.TimeInForce(TimeInForce.GTC);
        order.Flags(OrderFlags.PostOnly);
        order.Price(650_000);
        order.Quantity(10);
        order.SendingTimeNs(1);
        var ok = NewOrderDecoder.TryWrap(buffer.AsSpan(0, order.EncodedLength), out var o) == SbeDecodeResult.Ok;
        var sum = (long)o.ClientOrderId + o.AccountId + o.InstrumentId + (long)o.Side + o.Price + o.Quantity + (o.ExpireTimeNsIsNull ? 1 : 0);

        var updates = BookLevelUpdatesEncoder.Wrap(buffer);
        updates.Sequence(9);
        updates.InstrumentId(1);
        var levels = updates.Levels(3);
        for (var i = 0; i < 3; i++)
        {
            levels.Next();
            levels.Side(Side.Sell);
            levels.Price(650_000 + i);
            levels.Quantity(i + 1);
            levels.OrderCount(1);
        }

        ok &= BookLevelUpdatesDecoder.TryWrap(buffer.AsSpan(0, updates.EncodedLength), out var u) == SbeDecodeResult.Ok;
        var group = u.Levels();
        while (group.Next())
        {
            sum += group.Price + group.Quantity;
        }

        var reject = OrderRejectedEncoder.Wrap(buffer);
        reject.Reason(RejectReason.InsufficientMargin);
        reject.RequiredValue(1_000);
        reject.AvailableValue(900);
        reject.Text("insufficient margin");
        ok &= OrderRejectedDecoder.TryWrap(buffer.AsSpan(0, reject.EncodedLength), out var r) == SbeDecodeResult.Ok;
        return ok ? sum + r.RequiredValue + r.Text().Length : -1;
    }

    [Fact]
    public void ShouldEncodeAndDecodeEveryFieldOfHotMessagesWithoutAllocating()
    {
        var buffer = new byte[4_096];
        var failures = 0;

        var perCall = SteadyStateBytes(() => failures += EncodeAndDecodeHotMessages(buffer) > 0 ? 0 : 1, 20_000);

        Assert.Equal(0, perCall);
        Assert.Equal(0, failures);
    }
}
