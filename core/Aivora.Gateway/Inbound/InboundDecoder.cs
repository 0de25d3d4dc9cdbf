using Aivora.Core.Commands;
using Aivora.Exchange;
using CoreOrders = Aivora.Core.Orders;
using RejectReason = Aivora.Core.Events.RejectReason;

namespace Aivora.Gateway.Inbound;

/// <summary>
/// Order-entry messages → engine commands, read through the generated flyweights (no copy, no
/// allocation). Wire enums carry the engine's values, so they pass through as they are and the engine
/// rejects values it does not know with its own reasons; here only what cannot be represented in the
/// engine's types is refused (an id or time above the signed 64-bit range: FieldOutOfRange, with the
/// bound and the value).
/// </summary>
internal static class InboundDecoder
{
    public static RejectReason NewOrder(in NewOrderDecoder d, long nowNs, int accountId, out EngineCommand c, out long limit, out long actual)
    {
        c = default;
        (limit, actual) = (0, 0);
        if (!FitsLong(d.ClientOrderId, ref limit, ref actual) || (!d.ExpireTimeNsIsNull && !FitsLong(d.ExpireTimeNs, ref limit, ref actual)))
        {
            return RejectReason.FieldOutOfRange;
        }

        c = EngineCommand.Place(nowNs, accountId, d.InstrumentId, (long)d.ClientOrderId, (CoreOrders.Side)d.Side, (CoreOrders.OrderType)d.OrdType,
            (CoreOrders.TimeInForce)d.TimeInForce, d.PriceIsNull ? 0 : d.Price, d.Quantity, (CoreOrders.OrderFlags)(byte)d.Flags,
            (CoreOrders.SelfTradePrevention)d.StpMode, d.StpGroupIsNull ? 0 : d.StpGroup, d.ExpireTimeNsIsNull ? 0 : (long)d.ExpireTimeNs);
        if ((byte)d.Flags > (byte)CoreOrders.OrderFlagsExtensions.Defined)   // the defined flags are the low bits, as the schema's choice set
        {
            (limit, actual) = ((byte)CoreOrders.OrderFlagsExtensions.Defined, (byte)d.Flags);
            return RejectReason.FieldOutOfRange;
        }

        if (CoreOrders.OrderTypeExtensions.IsTriggered(c.Type))
        {
            c.TriggerPriceTicks = d.TriggerPriceIsNull ? 0 : d.TriggerPrice;
            c.TriggerSource = (CoreOrders.TriggerSource)d.TriggerSource;
            c.CallbackTicks = d.CallbackTicksIsNull ? 0 : d.CallbackTicks;
            c.CallbackBps = d.CallbackBpsIsNull ? 0 : d.CallbackBps;
        }

        return RejectReason.None;
    }

    public static RejectReason Cancel(in CancelOrderDecoder d, long nowNs, int accountId, out EngineCommand c, out long limit, out long actual)
    {
        c = default;
        (limit, actual) = (0, 0);
        if ((!d.OrderIdIsNull && !FitsLong(d.OrderId, ref limit, ref actual)) || (!d.OrigClientOrderIdIsNull && !FitsLong(d.OrigClientOrderId, ref limit, ref actual)))
        {
            return RejectReason.FieldOutOfRange;
        }

        c = EngineCommand.Cancel(nowNs, accountId, d.OrderIdIsNull ? 0 : (long)d.OrderId, d.OrigClientOrderIdIsNull ? 0 : (long)d.OrigClientOrderId);
        c.InstrumentId = d.InstrumentId;
        return RejectReason.None;
    }

    public static RejectReason Amend(in AmendOrderDecoder d, long nowNs, int accountId, out EngineCommand c, out long limit, out long actual)
    {
        c = default;
        (limit, actual) = (0, 0);
        if ((!d.OrderIdIsNull && !FitsLong(d.OrderId, ref limit, ref actual)) || (!d.OrigClientOrderIdIsNull && !FitsLong(d.OrigClientOrderId, ref limit, ref actual)))
        {
            return RejectReason.FieldOutOfRange;
        }

        c = EngineCommand.Amend(nowNs, accountId, d.OrderIdIsNull ? 0 : (long)d.OrderId, d.NewPriceIsNull ? 0 : d.NewPrice,
            d.NewQuantityIsNull ? 0 : d.NewQuantity, d.OrigClientOrderIdIsNull ? 0 : (long)d.OrigClientOrderId);
        c.InstrumentId = d.InstrumentId;
        return RejectReason.None;
    }

    public static RejectReason MassCancel(in MassCancelDecoder d, long nowNs, int accountId, out EngineCommand c, out long limit, out long actual)
    {
        (limit, actual) = (0, 0);
        c = EngineCommand.MassCancel(nowNs, accountId, d.InstrumentIdIsNull ? 0 : d.InstrumentId, (Core.Commands.SideFilter)d.Sides);
        c.ClientOrderId = FitsLong(d.ClientOrderId, ref limit, ref actual) ? (long)d.ClientOrderId : 0;
        return RejectReason.None;
    }

    public static RejectReason PriceFeed(in PriceFeedDecoder d, long nowNs, out EngineCommand c, out long limit, out long actual)
    {
        (limit, actual) = (0, 0);
        c = default;
        if (d.SourceId > int.MaxValue)
        {
            (limit, actual) = (int.MaxValue, d.SourceId);
            return RejectReason.FieldOutOfRange;
        }

        c = EngineCommand.Feed(nowNs, d.InstrumentId, (int)d.SourceId, d.Price);
        return RejectReason.None;
    }

    private static bool FitsLong(ulong value, ref long limit, ref long actual)
    {
        if (value <= long.MaxValue)
        {
            return true;
        }

        (limit, actual) = (long.MaxValue, unchecked((long)value));
        return false;
    }
}
