using System.Reflection;

namespace Aivora.Codecs.Tests;

/// <summary>Every message of the exchange schema (and of the feature schema) survives encode → decode with random values.</summary>
public sealed class ExchangeSchemaRoundTripTests
{
    internal delegate int Encode(Span<byte> buffer);

    internal delegate TResult Decode<TDto, TResult>(ReadOnlySpan<byte> buffer, out TDto? dto);

    public static TheoryData<string> ExchangeMessages => [.. RandomMessages.MessageDtos(typeof(Aivora.Exchange.SbeSchema).Assembly, "Aivora.Exchange").Select(t => t.Name)];

    [Fact]
    public void ShouldCoverEveryMessageTheMissionNeeds()
    {
        var names = RandomMessages.MessageDtos(typeof(Aivora.Exchange.SbeSchema).Assembly, "Aivora.Exchange").Select(t => t.Name).ToHashSet();
        foreach (var required in new[]
        {
            "LogonDto", "LogonAckDto", "LogonRejectDto", "HeartbeatDto", "LogoutDto", "DeadManSwitchDto", "NewOrderDto", "CancelOrderDto",
            "AmendOrderDto", "MassCancelDto", "OrderAcceptedDto", "OrderRejectedDto", "OrderFilledDto", "OrderCancelledDto", "OrderAmendedDto",
            "OrderExpiredDto", "OrderTriggeredDto", "BookLevelUpdatesDto", "BookOrderEventsDto", "TradesDto", "BookSnapshotDto",
            "InstrumentStatusDto", "PriceUpdateDto", "FundingSettledDto", "LiquidationEventDto", "PriceFeedDto", "SetTradingStateDto",
            "SetParameterDto", "KillSwitchDto", "BalanceAdjustmentDto",
        })
        {
            Assert.Contains(required, names);
        }
    }

    [Theory]
    [MemberData(nameof(ExchangeMessages))]
    public void ShouldRoundTripRandomValuesOfEveryExchangeMessage(string dtoName) =>
        Run(typeof(Aivora.Exchange.SbeSchema).Assembly, "Aivora.Exchange", dtoName, typeof(Aivora.Exchange.SbeDecodeResult));

    [Fact]
    public void ShouldRoundTripRandomValuesOfTheFeatureSchema() =>
        Run(typeof(ExchangeSchemaRoundTripTests).Assembly, "Aivora.Test.Features", "AllTypesDto", typeof(Aivora.Test.Features.SbeDecodeResult));

    private static void Run(Assembly assembly, string ns, string dtoName, Type resultType)
    {
        var dtoType = assembly.GetType($"{ns}.{dtoName}")!;
        var encoderType = assembly.GetType($"{ns}.{dtoName[..^3]}Encoder")!;
        typeof(ExchangeSchemaRoundTripTests).GetMethod(nameof(RoundTrip), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(dtoType, resultType)
            .Invoke(null, [encoderType, dtoName.Length]);
    }

    private static void RoundTrip<TDto, TResult>(Type encoderType, int seed)
        where TDto : class
        where TResult : struct, Enum
    {
        var decode = typeof(TDto).GetMethod("TryDecode")!.CreateDelegate<Decode<TDto, TResult>>();
        var random = new Random(seed);
        var buffer = new byte[1 << 20];
        var hostileRuns = 0;
        for (var i = 0; i < 200; i++)
        {
            var original = (TDto)RandomMessages.Fill(typeof(TDto), encoderType, random);
            var encode = typeof(TDto).GetMethod("EncodeInto")!.CreateDelegate<Encode>(original);
            buffer.AsSpan().Fill((byte)random.Next(256));   // dirty buffer: nothing may depend on prior contents

            var length = encode(buffer);
            var result = decode(buffer.AsSpan(0, length), out var decoded);

            Assert.Equal(default, result);
            var difference = RandomMessages.Difference(original, decoded);
            Assert.True(difference is null, $"{typeof(TDto).Name} #{i}: {difference}");

            // Encoding the decoded copy reproduces the bytes exactly.
            var again = new byte[length];
            Assert.Equal(length, typeof(TDto).GetMethod("EncodeInto")!.CreateDelegate<Encode>(decoded!)(again));
            Assert.True(buffer.AsSpan(0, length).SequenceEqual(again), $"{typeof(TDto).Name} #{i}: re-encoding differs");

            // One byte short of the frame is always detected.
            Assert.NotEqual(default, decode(buffer.AsSpan(0, length - 1), out _));

            if (hostileRuns < 3 && length <= 2_048)
            {
                HostileVariants<TDto, TResult>(buffer.AsSpan(0, length).ToArray(), decode, random);
                hostileRuns++;
            }
        }

        Assert.True(hostileRuns > 0, $"{typeof(TDto).Name}: no frame small enough for the truncation checks");
    }

    /// <summary>The message cut at every byte boundary (exact-size copies, so a read past the end
    /// would throw), then randomly mutated: a result value every time, never an exception.</summary>
    private static void HostileVariants<TDto, TResult>(byte[] frame, Decode<TDto, TResult> decode, Random random)
        where TDto : class
        where TResult : struct, Enum
    {
        for (var cut = 0; cut < frame.Length; cut++)
        {
            Assert.NotEqual(default, decode(frame.AsSpan(0, cut).ToArray(), out _));
        }

        for (var m = 0; m < 2_000; m++)
        {
            var mutated = (byte[])frame.Clone();
            for (var k = random.Next(1, 4); k > 0; k--)
            {
                mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
            }

            _ = decode(mutated, out _);   // any result is fine; an exception fails the test
        }
    }
}
