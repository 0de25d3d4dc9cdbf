using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Orders;
using static Aivora.Core.Tests.EngineHarness;

namespace Aivora.Core.Tests;

/// <summary>Every kind of bad input gets its own reject reason and changes nothing in the book.</summary>
public sealed class BadInputTests
{
    public static TheoryData<string, RejectReason> Cases => new()
    {
        { "unknown instrument", RejectReason.UnknownInstrument },
        { "zero quantity", RejectReason.InvalidQuantity },
        { "negative quantity", RejectReason.InvalidQuantity },
        { "quantity off lot grid", RejectReason.QuantityOffLotGrid },
        { "quantity below minimum", RejectReason.QuantityBelowMinimum },
        { "quantity above maximum", RejectReason.QuantityAboveMaximum },
        { "notional above maximum", RejectReason.NotionalAboveMaximum },
        { "zero price", RejectReason.InvalidPrice },
        { "price off tick grid", RejectReason.PriceOffTickGrid },
        { "price above band", RejectReason.PriceOutsideBand },
        { "price below band", RejectReason.PriceOutsideBand },
        { "account zero", RejectReason.InvalidAccount },
        { "side out of range", RejectReason.InvalidSide },
        { "order type out of range", RejectReason.InvalidOrderType },
        { "unknown order flag", RejectReason.InvalidOrderType },
        { "time in force out of range", RejectReason.InvalidTimeInForce },
        { "post-only IOC", RejectReason.InvalidTimeInForce },
        { "stp mode out of range", RejectReason.InvalidSelfTradePrevention },
        { "GTD expiry in the past", RejectReason.InvalidExpiry },
        { "expiry on a GTC order", RejectReason.InvalidExpiry },
        { "cancel of unknown order", RejectReason.UnknownOrder },
        { "amend of unknown order", RejectReason.UnknownOrder },
        { "amend of filled order", RejectReason.OrderNotActive },
        { "amend to off-grid price", RejectReason.PriceOffTickGrid },
        { "amend with no change", RejectReason.AmendNoChange },
        { "unknown command", RejectReason.UnknownCommand },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ShouldRejectWithSpecificReasonAndChangeNothingWhenInputIsBad(string name, RejectReason expected)
    {
        var h = new EngineHarness(spec: DefaultSpec with { MinQuantity = 4 });
        var resting = h.Rest(1, Side.Buy, 9_990, 4);
        var filled = h.Rest(1, Side.Sell, 10_010, 4);
        h.Limit(2, Side.Buy, 10_010, 4);
        var hash = h.Engine.StateHash();
        var bids = h.Bids;

        var now = h.NowNs;
        var good = EngineCommand.Place(now, 3, Btc, 0, Side.Buy, OrderType.Limit, TimeInForce.Gtc, 9_980, 4);
        var command = name switch
        {
            "unknown instrument" => good with { InstrumentId = 42 },
            "zero quantity" => good with { QtyLots = 0 },
            "negative quantity" => good with { QtyLots = -4 },
            "quantity off lot grid" => good with { QtyLots = 3 },
            "quantity below minimum" => good with { QtyLots = 2 },
            "quantity above maximum" => good with { QtyLots = 1_002 },
            "notional above maximum" => good with { QtyLots = 1_000, PriceTicks = 10_400 },
            "zero price" => good with { PriceTicks = 0 },
            "price off tick grid" => good with { PriceTicks = 9_981 },
            "price above band" => good with { PriceTicks = 10_505 },
            "price below band" => good with { PriceTicks = 9_495 },
            "account zero" => good with { AccountId = 0 },
            "side out of range" => good with { Side = (Side)2 },
            "order type out of range" => good with { Type = (OrderType)9 },
            "unknown order flag" => good with { Flags = (OrderFlags)16 },
            "time in force out of range" => good with { TimeInForce = (TimeInForce)4 },
            "post-only IOC" => good with { TimeInForce = TimeInForce.Ioc, Flags = OrderFlags.PostOnly },
            "stp mode out of range" => good with { Stp = (SelfTradePrevention)6 },
            "GTD expiry in the past" => good with { TimeInForce = TimeInForce.Gtd, ExpiryNs = now },
            "expiry on a GTC order" => good with { ExpiryNs = now + 1_000 },
            "cancel of unknown order" => EngineCommand.Cancel(now, 1, 9_999),
            "amend of unknown order" => EngineCommand.Amend(now, 1, 9_999, 9_990, 4),
            "amend of filled order" => EngineCommand.Amend(now, 1, filled, 10_010, 4),
            "amend to off-grid price" => EngineCommand.Amend(now, 1, resting, 9_991, 4),
            "amend with no change" => EngineCommand.Amend(now, 1, resting, 9_990, 4),
            "unknown command" => good with { Kind = (CommandKind)200 },
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };

        var events = h.Send(command);

        var reject = Assert.Single(events);
        Assert.Equal(EventKind.OrderRejected, reject.Kind);
        Assert.Equal(expected, (RejectReason)reject.Reason);
        Assert.Equal((byte)command.Kind, reject.Reason2);
        Assert.Equal(hash, h.Engine.StateHash());
        Assert.Equal(bids, h.Bids);
    }
}
