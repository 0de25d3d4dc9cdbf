using Perp.Sbe;

namespace Aivora.Codecs.Tests;

/// <summary>Our codecs against bytes produced by the reference SBE tool (Java target).</summary>
public sealed class VectorTests
{
    private static byte[] Vector(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Vectors", name));

    [Fact]
    public void ShouldDecodeReferenceNewOrderSingleToDocumentedValues()
    {
        var bytes = Vector("nos_v1.bin");

        Assert.Equal(SbeDecodeResult.Ok, NewOrderSingleDecoder.TryWrap(bytes, out var nos));
        Assert.Equal(0x0102030405060708UL, nos.ClOrdId);
        Assert.Equal(7u, nos.AccountId);
        Assert.Equal(1001, nos.InstrumentId);
        Assert.Equal(6543210000000L, nos.Price.Mantissa);
        Assert.Equal(-8, Decimal64Decoder.Exponent);
        Assert.Equal(250000000L, nos.OrderQty);
        Assert.True(nos.StopPxIsNull);
        Assert.Equal(1700000000123456789UL, nos.TransactTime);
        Assert.Equal(Side.Buy, nos.Side);
        Assert.Equal(OrdType.Limit, nos.OrdType);
        Assert.Equal(TimeInForce.GTC, nos.TimeInForce);
        Assert.Equal(ExecInst.PostOnly, nos.ExecInst);
        Assert.Equal("BTCUSD", nos.SymbolAsString());
        Assert.Equal((ushort)20, nos.Leverage);
        var parties = nos.Parties();
        Assert.Equal(2, parties.Count);
        Assert.True(parties.Next());
        Assert.Equal((1001UL, (byte)3), (parties.PartyId, parties.PartyRole));
        Assert.True(parties.Next());
        Assert.Equal((2002UL, (byte)24), (parties.PartyId, parties.PartyRole));
        Assert.False(parties.Next());
        Assert.Equal("tag-1"u8.ToArray(), nos.ClientTag().ToArray());
        Assert.Equal(bytes.Length, nos.EncodedLength);
    }

    [Fact]
    public void ShouldReencodeReferenceNewOrderSingleToIdenticalBytes()
    {
        var expected = Vector("nos_v1.bin");
        var buffer = new byte[256];
        buffer.AsSpan().Fill(0xEE);   // dirty buffer: padding and unused bytes must still come out zero

        var nos = NewOrderSingleEncoder.Wrap(buffer);
        nos.ClOrdId(0x0102030405060708UL);
        nos.AccountId(7);
        nos.InstrumentId(1001);
        nos.Price.Mantissa(6543210000000L);
        nos.OrderQty(250000000L);
        nos.TransactTime(1700000000123456789UL);
        nos.Side(Side.Buy);
        nos.OrdType(OrdType.Limit);
        nos.TimeInForce(TimeInForce.GTC);
        nos.ExecInst(ExecInst.PostOnly);
        nos.Symbol("BTCUSD");
        nos.Leverage(20);
        var parties = nos.Parties(2);
        parties.Next();
        parties.PartyId(1001);
        parties.PartyRole(3);
        parties.Next();
        parties.PartyId(2002);
        parties.PartyRole(24);
        nos.ClientTag("tag-1");

        Assert.Equal(expected, buffer.AsSpan(0, nos.EncodedLength).ToArray());
    }
}

/// <summary>The nested-group vector and the cross-version checks of shared/sbe-vectors/README.md.</summary>
public sealed class ExecutionReportAndVersioningTests
{
    private static byte[] Vector(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Vectors", name));

    [Fact]
    public void ShouldDecodeReferenceExecutionReportWithNestedGroups()
    {
        var bytes = Vector("er_v1.bin");

        Assert.Equal(SbeDecodeResult.Ok, ExecutionReportDecoder.TryWrap(bytes, out var er));
        Assert.Equal((9000000001UL, 0x0102030405060708UL, 0L, 250000000L, 1001, Side.Buy), (er.OrderId, er.ClOrdId, er.LeavesQty, er.CumQty, er.InstrumentId, er.Side));
        var fills = er.Fills();
        Assert.Equal(2, fills.Count);
        Assert.True(fills.Next());
        Assert.Equal((1UL, 6543200000000L, 100000000L, Liquidity.Maker), (fills.FillId, fills.FillPx.Mantissa, fills.FillQty, fills.Liquidity));
        var fees = fills.Fees();
        Assert.True(fees.Next());
        Assert.Equal(((ushort)1, -1500L), (fees.Asset, fees.Amount));
        Assert.False(fees.Next());
        Assert.True(fills.Next());
        Assert.Equal((2UL, 6543210000000L, 150000000L, Liquidity.Taker), (fills.FillId, fills.FillPx.Mantissa, fills.FillQty, fills.Liquidity));
        fees = fills.Fees();
        Assert.Equal(2, fees.Count);
        Assert.True(fees.Next());
        Assert.Equal(((ushort)1, 3000L), (fees.Asset, fees.Amount));
        Assert.True(fees.Next());
        Assert.Equal(((ushort)2, 5L), (fees.Asset, fees.Amount));
        Assert.False(fills.Next());
        Assert.Equal("filled"u8.ToArray(), er.Text().ToArray());
        Assert.Equal(145, er.EncodedLength);
    }

    [Fact]
    public void ShouldReencodeReferenceExecutionReportToIdenticalBytes()
    {
        var buffer = new byte[512];
        buffer.AsSpan().Fill(0xA5);

        var er = ExecutionReportEncoder.Wrap(buffer);
        er.OrderId(9000000001UL);
        er.ClOrdId(0x0102030405060708UL);
        er.LeavesQty(0);
        er.CumQty(250000000);
        er.InstrumentId(1001);
        er.Side(Side.Buy);
        var fills = er.Fills(2);
        fills.Next();
        fills.FillId(1);
        fills.FillPx.Mantissa(6543200000000L);
        fills.FillQty(100000000);
        fills.Liquidity(Liquidity.Maker);
        var fees = fills.Fees(1);
        fees.Next();
        fees.Asset(1);
        fees.Amount(-1500);
        fills.Next();
        fills.FillId(2);
        fills.FillPx.Mantissa(6543210000000L);
        fills.FillQty(150000000);
        fills.Liquidity(Liquidity.Taker);
        fees = fills.Fees(2);
        fees.Next();
        fees.Asset(1);
        fees.Amount(3000);
        fees.Next();
        fees.Asset(2);
        fees.Amount(5);
        er.Text("filled");

        Assert.Equal(Vector("er_v1.bin"), buffer.AsSpan(0, er.EncodedLength).ToArray());
    }

    [Fact]
    public void ShouldDecodeAndReencodeVersionZeroVectorWithVersionZeroCodecs()
    {
        var bytes = Vector("nos_v0.bin");

        Assert.Equal(Perp.Sbe.V0.SbeDecodeResult.Ok, Perp.Sbe.V0.NewOrderSingleDecoder.TryWrap(bytes, out var nos));
        Assert.Equal((5UL, 7u, 1001, 100L, 1L, 1UL), (nos.ClOrdId, nos.AccountId, nos.InstrumentId, nos.Price.Mantissa, nos.OrderQty, nos.TransactTime));
        Assert.True(nos.StopPxIsNull);
        Assert.Equal((Perp.Sbe.V0.Side.Sell, Perp.Sbe.V0.OrdType.Market, Perp.Sbe.V0.TimeInForce.IOC, Perp.Sbe.V0.ExecInst.None), (nos.Side, nos.OrdType, nos.TimeInForce, nos.ExecInst));
        Assert.Equal("ETHUSD", nos.SymbolAsString());
        var parties = nos.Parties();
        Assert.True(parties.Next());
        Assert.Equal((9UL, (byte)1), (parties.PartyId, parties.PartyRole));
        Assert.False(parties.Next());
        Assert.Equal("v0"u8.ToArray(), nos.ClientTag().ToArray());

        var buffer = new byte[256];
        var enc = Perp.Sbe.V0.NewOrderSingleEncoder.Wrap(buffer);
        enc.ClOrdId(5);
        enc.AccountId(7);
        enc.InstrumentId(1001);
        enc.Price.Mantissa(100);
        enc.OrderQty(1);
        enc.TransactTime(1);
        enc.Side(Perp.Sbe.V0.Side.Sell);
        enc.OrdType(Perp.Sbe.V0.OrdType.Market);
        enc.TimeInForce(Perp.Sbe.V0.TimeInForce.IOC);
        enc.Symbol("ETHUSD");
        var p = enc.Parties(1);
        p.Next();
        p.PartyId(9);
        p.PartyRole(1);
        enc.ClientTag("v0");
        Assert.Equal(bytes, buffer.AsSpan(0, enc.EncodedLength).ToArray());
    }

    [Fact]
    public void ShouldSkipUnknownTrailingBytesWhenOldDecoderReadsNewerMessage()
    {
        var bytes = Vector("nos_v1.bin");   // blockLength 62; the v0 block is 60

        Assert.Equal(Perp.Sbe.V0.SbeDecodeResult.Ok, Perp.Sbe.V0.NewOrderSingleDecoder.TryWrap(bytes, out var nos));
        Assert.Equal((1, 62), (nos.ActingVersion, nos.ActingBlockLength));
        Assert.Equal(0x0102030405060708UL, nos.ClOrdId);
        Assert.Equal("BTCUSD", nos.SymbolAsString());
        var parties = nos.Parties();
        Assert.Equal(2, parties.Count);
        Assert.True(parties.Next());
        Assert.Equal(1001UL, parties.PartyId);
        Assert.True(parties.Next());
        Assert.Equal(2002UL, parties.PartyId);
        Assert.Equal("tag-1"u8.ToArray(), nos.ClientTag().ToArray());
    }

    [Fact]
    public void ShouldReadNullForFieldsAddedLaterWhenNewDecoderReadsOlderMessage()
    {
        var bytes = Vector("nos_v0.bin");

        Assert.Equal(SbeDecodeResult.Ok, NewOrderSingleDecoder.TryWrap(bytes, out var nos));
        Assert.False(nos.LeverageInActingVersion);
        Assert.Equal((ushort)65535, nos.Leverage);
        Assert.True(nos.LeverageIsNull);
        Assert.Equal(5UL, nos.ClOrdId);
        var parties = nos.Parties();
        Assert.True(parties.Next());
        Assert.Equal(9UL, parties.PartyId);
        Assert.Equal("v0"u8.ToArray(), nos.ClientTag().ToArray());
    }
}
