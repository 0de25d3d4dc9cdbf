using System.Buffers.Binary;
using Perp.Sbe;

namespace Aivora.Codecs.Tests;

/// <summary>Decoders meet hostile bytes: a result value every time, never an exception or a read out of range.</summary>
public sealed class BadInputTests
{
    private static byte[] Vector(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Vectors", name));

    /// <summary>Decodes fully (every field, group entry and var data) and returns the result; any exception fails the test.</summary>
    private static SbeDecodeResult DecodeAll(ReadOnlySpan<byte> bytes)
    {
        var result = NewOrderSingleDecoder.TryWrap(bytes, out var nos);
        if (result == SbeDecodeResult.Ok)
        {
            _ = (nos.ClOrdId, nos.Price.Mantissa, nos.Leverage, nos.SymbolAsString());
            var parties = nos.Parties();
            while (parties.Next())
            {
                _ = (parties.PartyId, parties.PartyRole);
            }

            _ = nos.ClientTag();
            return result;
        }

        var er = ExecutionReportDecoder.TryWrap(bytes, out var report);
        if (er == SbeDecodeResult.Ok)
        {
            var fills = report.Fills();
            while (fills.Next())
            {
                _ = fills.FillPx.Mantissa;
                var fees = fills.Fees();
                while (fees.Next())
                {
                    _ = fees.Amount;
                }
            }

            _ = report.Text();
        }

        return result;
    }

    [Theory]
    [InlineData("nos_v1.bin")]
    [InlineData("er_v1.bin")]
    [InlineData("nos_v0.bin")]
    public void ShouldReportTruncatedAtEveryByteBoundary(string vector)
    {
        var bytes = Vector(vector);
        for (var length = 0; length < bytes.Length; length++)
        {
            // An exact-size copy: any read past the end would throw.
            var cut = bytes.AsSpan(0, length).ToArray();
            var nos = NewOrderSingleDecoder.TryWrap(cut, out _);
            var er = ExecutionReportDecoder.TryWrap(cut, out _);
            Assert.True(nos != SbeDecodeResult.Ok && er != SbeDecodeResult.Ok, $"{vector} cut at {length} decoded as Ok");
            Assert.True(nos == SbeDecodeResult.Truncated || er == SbeDecodeResult.Truncated || length >= 8,
                $"{vector} cut at {length}: {nos}/{er}");
        }
    }

    [Fact]
    public void ShouldRejectWrongSchemaAndTemplateIds()
    {
        var bytes = Vector("nos_v1.bin");
        Assert.Equal(SbeDecodeResult.WrongTemplateId, ExecutionReportDecoder.TryWrap(bytes, out _));

        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(4), 43);
        Assert.Equal(SbeDecodeResult.WrongSchemaId, NewOrderSingleDecoder.TryWrap(bytes, out _));
    }

    [Fact]
    public void ShouldRejectBlockLengthShorterThanItsVersionNeeds()
    {
        var bytes = Vector("nos_v1.bin");
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, 61);   // version 1 needs 62

        Assert.Equal(SbeDecodeResult.BlockLengthTooShort, NewOrderSingleDecoder.TryWrap(bytes, out _));
    }

    [Fact]
    public void ShouldReportTruncatedWhenGroupCountIsAbsurd()
    {
        var bytes = Vector("nos_v1.bin");
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(0x46 + 2), 60_000);

        Assert.Equal(SbeDecodeResult.Truncated, NewOrderSingleDecoder.TryWrap(bytes, out _));
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(0x46 + 2), 65_535);   // above the schema's 65,534
        Assert.Equal(SbeDecodeResult.GroupCountInvalid, NewOrderSingleDecoder.TryWrap(bytes, out _));
    }

    [Fact]
    public void ShouldReportVarDataLengthBeyondFrameOrSchemaMaximum()
    {
        var bytes = Vector("nos_v1.bin");
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(0x5c), 6);
        Assert.Equal(SbeDecodeResult.Truncated, NewOrderSingleDecoder.TryWrap(bytes, out _));

        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(0x5c), 5_000);   // schema maximum is 4,096
        Assert.Equal(SbeDecodeResult.VarDataLengthInvalid, NewOrderSingleDecoder.TryWrap(bytes, out _));
    }

    [Fact]
    public void ShouldSurviveRandomBytesAndMutationsOfReferenceMessages()
    {
        var random = new Random(17);
        var seeds = new[] { Vector("nos_v1.bin"), Vector("er_v1.bin"), Vector("nos_v0.bin") };
        var ok = 0;
        for (var i = 0; i < 200_000; i++)
        {
            byte[] bytes;
            if (i % 4 == 0)
            {
                bytes = new byte[random.Next(0, 200)];
                random.NextBytes(bytes);
            }
            else
            {
                bytes = (byte[])seeds[random.Next(seeds.Length)].Clone();
                for (var m = random.Next(1, 6); m > 0; m--)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }

                if (random.Next(4) == 0)
                {
                    Array.Resize(ref bytes, random.Next(bytes.Length + 16));
                }
            }

            ok += DecodeAll(bytes) == SbeDecodeResult.Ok ? 1 : 0;
        }

        Assert.InRange(ok, 1, 200_000);   // some mutations stay valid (a changed price); most do not
    }
}
