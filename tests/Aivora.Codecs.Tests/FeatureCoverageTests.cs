using System.Buffers.Binary;
using Aivora.Test.Features;

namespace Aivora.Codecs.Tests;

/// <summary>Every generator feature, through our own schema (Vectors/features.xml).</summary>
public sealed class FeatureCoverageTests
{
    private static int EncodeAll(byte[] buffer, bool withNulls)
    {
        var m = AllTypesEncoder.Wrap(buffer);
        m.FChar((byte)'Z');
        m.FI8(-5);
        m.FU8(200);
        m.FI16(-30_000);
        m.FU16(60_000);
        m.FI32(-2_000_000_000);
        m.FU32(4_000_000_000);
        m.FI64(-9_000_000_000_000_000_000);
        m.FU64(18_000_000_000_000_000_000);
        m.FF32(1.5f);
        m.FF64(-2.25);
        if (!withNulls)
        {
            m.OptI8(-7);
            m.OptU32(123);
            m.Added(42);
            m.Outer.Opt(-9);
        }

        m.Vec(0, 1);
        m.Vec(1, -2);
        m.Vec(2, 3);
        m.Name("aivora");
        m.Kind(Kind.A);
        m.Big(Big.Y);
        m.Perms(Perms.Read | Perms.Admin);
        m.Outer.Amount.Mantissa(12_345);
        m.Outer.Amount.Currency(Currency.EUR);
        m.Outer.Flags(0xBEEF);
        m.Padded(77);
        var legs = m.Legs(2);
        legs.Next();
        legs.LegId(1);
        legs.Qty(10);
        var fees = legs.Fees(0);
        legs.Note(ReadOnlySpan<byte>.Empty);
        legs.Next();
        legs.LegId(2);
        legs.Qty(20);
        fees = legs.Fees(2);
        fees.Next();
        fees.Amount(-1);
        fees.Next();
        fees.Amount(-2);
        legs.Note("second"u8);
        var extra = m.Extra(1);
        extra.Next();
        extra.V(-3);
        m.Blob(new string('é', 300));
        m.Late("z"u8);
        return m.EncodedLength;
    }

    [Fact]
    public void ShouldRoundTripEveryKindOfFieldGroupAndVarData()
    {
        var buffer = new byte[2_048];
        buffer.AsSpan().Fill(0xCC);
        var length = EncodeAll(buffer, withNulls: false);

        Assert.Equal(SbeDecodeResult.Ok, AllTypesDecoder.TryWrap(buffer.AsSpan(0, length), out var m));
        Assert.Equal(((byte)'Z', (sbyte)-5, (byte)200, (short)-30_000, (ushort)60_000), (m.FChar, m.FI8, m.FU8, m.FI16, m.FU16));
        Assert.Equal((-2_000_000_000, 4_000_000_000u, -9_000_000_000_000_000_000L, 18_000_000_000_000_000_000UL), (m.FI32, m.FU32, m.FI64, m.FU64));
        Assert.Equal((1.5f, -2.25), (m.FF32, m.FF64));
        Assert.Equal(((sbyte)-7, 123u, 42L), (m.OptI8, m.OptU32, m.Added));
        Assert.False(m.OptI8IsNull || m.OptU32IsNull || m.AddedIsNull);
        Assert.Equal((1, -2, 3), (m.GetVec(0), m.GetVec(1), m.GetVec(2)));
        Assert.Equal("aivora", m.NameAsString());
        Assert.Equal((Kind.A, Big.Y, Perms.Read | Perms.Admin), (m.Kind, m.Big, m.Perms));
        Assert.Equal((12_345L, Currency.EUR, (ushort)0xBEEF, -9), (m.Outer.Amount.Mantissa, m.Outer.Amount.Currency, m.Outer.Flags, m.Outer.Opt));
        Assert.Equal(-2, MoneyDecoder.Exponent);
        Assert.Equal(Kind.B, AllTypesDecoder.ConstKind);
        Assert.Equal(3.5, AllTypesDecoder.Pi);
        Assert.Equal(77, m.Padded);
        Assert.Equal(100, AllTypesDecoder.PaddedOffset);
        var legs = m.Legs();
        Assert.Equal((2, 16), (legs.Count, legs.ActingBlockLength));
        Assert.True(legs.Next());
        Assert.Equal((1u, 10L), (legs.LegId, legs.Qty));
        Assert.Equal(0, legs.Fees().Count);
        Assert.True(legs.Note().IsEmpty);
        Assert.True(legs.Next());
        Assert.Equal((2u, 20L), (legs.LegId, legs.Qty));
        var fees = legs.Fees();
        Assert.True(fees.Next());
        Assert.Equal(-1, fees.Amount);
        Assert.True(fees.Next());
        Assert.Equal(-2, fees.Amount);
        Assert.Equal("second"u8.ToArray(), legs.Note().ToArray());
        Assert.False(legs.Next());
        var extra = m.Extra();
        Assert.True(extra.Next());
        Assert.Equal(-3, extra.V);
        Assert.Equal(new string('é', 300), System.Text.Encoding.UTF8.GetString(m.Blob()));
        Assert.Equal("z"u8.ToArray(), m.Late().ToArray());
        Assert.Equal(length, m.EncodedLength);
    }

    [Fact]
    public void ShouldWriteNullsForAbsentOptionalsAndZeroEveryPaddingByte()
    {
        var buffer = new byte[2_048];
        buffer.AsSpan().Fill(0xCC);
        var length = EncodeAll(buffer, withNulls: true);

        Assert.Equal(SbeDecodeResult.Ok, AllTypesDecoder.TryWrap(buffer.AsSpan(0, length), out var m));
        Assert.True(m.OptI8IsNull);
        Assert.True(m.OptU32IsNull);   // custom null value 0
        Assert.Equal(0u, m.OptU32);
        Assert.True(m.AddedIsNull);
        Assert.Equal(int.MinValue, m.Outer.Opt);
        var block = buffer.AsSpan(8, AllTypesEncoder.BlockLength);
        Assert.True(block.Slice(96, 4).IndexOfAnyExcept((byte)0) < 0, "gap before the explicit offset must be zero");
        Assert.True(block.Slice(112, 8).IndexOfAnyExcept((byte)0) < 0, "block padding must be zero");
        Assert.True(block.Slice(AllTypesEncoder.NameOffset + "aivora".Length, AllTypesEncoder.NameLength - "aivora".Length).IndexOfAnyExcept((byte)0) < 0, "unused string bytes must be zero");
    }

    [Fact]
    public void ShouldTreatFieldsGroupsAndDataAddedLaterAsAbsentInOlderMessages()
    {
        var buffer = new byte[2_048];
        var m = AllTypesEncoder.Wrap(buffer);
        m.Added(42);
        m.Legs(0);
        m.Blob("b");
        var length = m.EncodedLength;
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(6), 0);   // claim version 0: no 'added', 'extra' or 'late'

        Assert.Equal(SbeDecodeResult.Ok, AllTypesDecoder.TryWrap(buffer.AsSpan(0, length), out var old));
        Assert.False(old.AddedInActingVersion);
        Assert.True(old.AddedIsNull);
        Assert.Equal(0, old.Legs().Count);
        Assert.Equal(0, old.Extra().Count);
        Assert.Equal("b"u8.ToArray(), old.Blob().ToArray());
        Assert.True(old.Late().IsEmpty);
    }

    [Fact]
    public void ShouldReadACompositeAddedLaterAsNullInAnOlderMessage()
    {
        // A version-0 sender's frame: the header and the 8-byte block it knew, nothing after.
        var frame = new byte[8 + 8];
        var e = EvolvedEncoder.Wrap(new byte[64]);
        e.Key(5);
        BinaryPrimitives.WriteUInt16LittleEndian(frame, 8);                           // block length of version 0
        BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(2), EvolvedEncoder.TemplateId);
        BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(4), EvolvedEncoder.SchemaId);
        BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(6), 0);
        BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(8), 5);

        Assert.Equal(SbeDecodeResult.Ok, EvolvedDecoder.TryWrap(frame, out var old));
        Assert.Equal(5, old.Key);
        Assert.False(old.AmountInActingVersion);
        Assert.Equal(MoneyDecoder.MantissaNullValue, old.Amount.Mantissa);      // not a read past the frame, not garbage
        Assert.Equal(Currency.NullValue, old.Amount.Currency);

        // In a version-0 frame padded with junk (a longer buffer), the composite still reads as absent.
        var padded = new byte[64];
        frame.CopyTo(padded, 0);
        padded.AsSpan(16).Fill(0x5A);
        Assert.Equal(SbeDecodeResult.Ok, EvolvedDecoder.TryWrap(padded, out var junk));
        Assert.Equal(MoneyDecoder.MantissaNullValue, junk.Amount.Mantissa);
    }

    [Fact]
    public void ShouldRefuseToEncodeWhatTheSchemaCannotCarry()
    {
        var buffer = new byte[512];
        Assert.Throws<ArgumentException>(() => AllTypesEncoder.Wrap(new byte[10]));
        Assert.Throws<ArgumentException>(() => AllTypesEncoder.Wrap(buffer).Name("seventeen-chars!!"));
        Assert.Throws<ArgumentOutOfRangeException>(() => AllTypesEncoder.Wrap(buffer).Vec(3, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => AllTypesEncoder.Wrap(buffer).Legs(65_535));
        Assert.Throws<InvalidOperationException>(() =>
        {
            var legs = AllTypesEncoder.Wrap(buffer).Legs(0);
            legs.Next();
        });
    }
}

public sealed class BigEndianTests
{
    [Fact]
    public void ShouldWriteEveryMultiByteValueBigEndianIncludingHeaderAndPrefixes()
    {
        var buffer = new byte[128];
        var q = Aivora.Test.Bigendian.QuoteEncoder.Wrap(buffer);
        q.Price(0x0102030405060708);
        q.Qty(-2);
        q.Ratio(1.0f);
        var levels = q.Levels(1);
        levels.Next();
        levels.Px(9);
        q.Venue("X");

        Assert.Equal(new byte[] { 0x00, 0x18, 0x00, 0x03, 0x00, 0x07, 0x00, 0x00 }, buffer.AsSpan(0, 8).ToArray());
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, buffer.AsSpan(8, 8).ToArray());
        Assert.Equal(new byte[] { 0x3f, 0x80, 0, 0 }, buffer.AsSpan(20, 4).ToArray());
        Assert.Equal(new byte[] { 0, 8, 0, 1 }, buffer.AsSpan(32, 4).ToArray());
        Assert.Equal(new byte[] { 0, 1, (byte)'X' }, buffer.AsSpan(44, 3).ToArray());
        Assert.Equal(Aivora.Test.Bigendian.SbeDecodeResult.Ok, Aivora.Test.Bigendian.QuoteDecoder.TryWrap(buffer.AsSpan(0, q.EncodedLength), out var d));
        Assert.Equal((0x0102030405060708L, -2, 1.0f), (d.Price, d.Qty, d.Ratio));
        var l = d.Levels();
        Assert.True(l.Next());
        Assert.Equal(9, l.Px);
        Assert.Equal("X"u8.ToArray(), d.Venue().ToArray());
    }
}
