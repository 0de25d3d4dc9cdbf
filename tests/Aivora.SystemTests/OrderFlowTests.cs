using Aivora.Client.Session;
using Aivora.Exchange;
using Aivora.Node.Configuration;

namespace Aivora.SystemTests;

/// <summary>Orders over the wire: the round trip, a cross between two clients, and every kind of execution report.</summary>
[Collection("node")]
public sealed class OrderFlowTests : IDisposable
{
    private readonly NodeUnderTest _node = new();
    private readonly ExchangeClient _maker, _taker, _feeder;
    private readonly ReportLog _makerLog = new(), _takerLog = new();

    public OrderFlowTests()
    {
        _feeder = _node.StartPriceFeeder();
        _node.Deposit(1, 1_000_000);
        _node.Deposit(1001, 100_000);
        _maker = _node.Client(1);
        _taker = _node.Client(1001);
        _node.LogOn(_maker, _makerLog);
        _node.LogOn(_taker, _takerLog);
        Assert.True(_node.PumpUntil(() => _node.Host.StateMachine.Pricing(1)!.LastIndex.State == Core.Pricing.IndexState.Healthy));
    }

    public void Dispose() => _node.Dispose();

    private static long Shown(long liquidationPrice) => liquidationPrice > 0 ? liquidationPrice : long.MinValue;

    [Fact]
    public void ShouldAcknowledgeAnOrderWithWhatIfFiguresAndTheFirstSequence()
    {
        // 20 BTC on a 100,000 USDT account: leveraged enough to have a liquidation price if it fills.
        Assert.True(_taker.SendNewOrder(_node.NowNs, 42, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 649_000, 20_000));
        Assert.True(_takerLog.Await(_node, _taker, r => r.Kind == ReportKind.Accepted));
        var ack = _takerLog.Of(ReportKind.Accepted).Single();
        Assert.Equal(42, ack.ClientOrderId);
        Assert.Equal(1001, ack.AccountId);
        Assert.Equal(649_000, ack.PriceTicks);
        Assert.Equal(20_000, ack.QtyLots);
        Assert.True(ack.OrderId > 0);
        Assert.Equal(1, ack.ResponseSequence);
        // Initial margin at 20x: 64,900 x 20 / 20 = 64,900 USDT, plus what risk reserves beside it (taker fee, loss against mark).
        Assert.InRange(ack.InitialMargin, 64_900 * DefaultConfiguration.UsdtUnit, 65_100 * DefaultConfiguration.UsdtUnit);
        Assert.Equal(_node.Host.StateMachine.Ledger.WhatIfLiquidationPrice(1001, 1, Core.Orders.Side.Buy, 649_000, 20_000), ack.LiquidationPrice);
        Assert.True(ack.LiquidationPrice > 600_000 && ack.LiquidationPrice < 649_000, $"liquidation price {ack.LiquidationPrice}");
        Assert.Equal(5, ack.AdlQuantile);   // the only long there would be: first in the ADL queue (the ranking is taken from the node's first second)
        Assert.True(_taker.OpenOrders.ContainsKey(42));
    }

    [Fact]
    public void ShouldAcknowledgeWithoutWhatIfsAnOrderThatAsksForNoneWithTheSameMargin()
    {
        // The same order twice from the same state (the first cancelled in between): the first carries the what-ifs, the
        // second (NoWhatIfs) only the margin figure.
        Assert.True(_taker.SendNewOrder(_node.NowNs, 42, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 649_000, 20_000));
        Assert.True(_takerLog.Await(_node, _taker, r => r.Kind == ReportKind.Accepted && r.ClientOrderId == 42));
        Assert.True(_taker.SendCancel(_node.NowNs, 50, 1, 42));
        Assert.True(_takerLog.Await(_node, _taker, r => r.Kind == ReportKind.Cancelled && r.ClientOrderId == 42));
        Assert.True(_taker.SendNewOrder(_node.NowNs, 43, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 649_000, 20_000, OrderFlags.NoWhatIfs));
        Assert.True(_takerLog.Await(_node, _taker, r => r.Kind == ReportKind.Accepted && r.ClientOrderId == 43));
        var withWhatIfs = _takerLog.Of(ReportKind.Accepted).Single(r => r.ClientOrderId == 42);
        var without = _takerLog.Of(ReportKind.Accepted).Single(r => r.ClientOrderId == 43);
        Assert.True(withWhatIfs.LiquidationPrice > 600_000, $"liquidation price {withWhatIfs.LiquidationPrice}");
        Assert.Equal(5, withWhatIfs.AdlQuantile);
        Assert.Equal(long.MinValue, without.LiquidationPrice);   // the null value: not computed
        Assert.Equal(0, without.AdlQuantile);
        Assert.Equal(withWhatIfs.InitialMargin, without.InitialMargin);
        Assert.Equal((649_000L, 20_000L), (without.PriceTicks, without.QtyLots));
        Assert.True(_taker.OpenOrders.ContainsKey(43));   // it rests as the first one does
    }

    [Fact]
    public void ShouldReportBothFillsWhenTwoClientsCross()
    {
        Assert.True(_maker.SendNewOrder(_node.NowNs, 1, 1, Side.Sell, OrdType.Limit, TimeInForce.GTC, 650_500, 10));
        Assert.True(_makerLog.Await(_node, _maker, r => r.Kind == ReportKind.Accepted));
        Assert.True(_taker.SendNewOrder(_node.NowNs, 7, 1, Side.Buy, OrdType.Limit, TimeInForce.IOC, 650_500, 4));
        Assert.True(_takerLog.Await(_node, _taker, r => r.Kind == ReportKind.Filled));
        Assert.True(_makerLog.Await(_node, _maker, r => r.Kind == ReportKind.Filled));

        var takerFill = _takerLog.Of(ReportKind.Filled).Single();
        var makerFill = _makerLog.Of(ReportKind.Filled).Single();
        Assert.Equal(takerFill.TradeId, makerFill.TradeId);
        Assert.Equal((650_500L, 4L), (takerFill.PriceTicks, takerFill.QtyLots));
        Assert.Equal((650_500L, 4L, 6L, 4L), (makerFill.PriceTicks, makerFill.QtyLots, makerFill.LeavesLots, makerFill.CumLots));
        Assert.Equal(Liquidity.Taker, takerFill.Liquidity);
        Assert.Equal(Liquidity.Maker, makerFill.Liquidity);
        Assert.Equal(7, takerFill.ClientOrderId);
        Assert.Equal(1, makerFill.ClientOrderId);
        // Notional 65,050 x 0.004 = 260.2 USDT: taker 0.04% = 0.10408 USDT, maker rebate 0.01% = 0.02602 USDT.
        Assert.Equal(104_080, takerFill.Fee);
        Assert.Equal(-26_020, makerFill.Fee);
        Assert.Equal(6, _maker.OpenOrders[1].LeavesLots);
        // Each side's report carries its own account's liquidation price after the fill (null: none).
        var ledger = _node.Host.StateMachine.Ledger;
        Assert.Equal(Shown(ledger.LiquidationPrice(1001, 1)), takerFill.LiquidationPrice);
        Assert.Equal(Shown(ledger.LiquidationPrice(1, 1)), makerFill.LiquidationPrice);
        Assert.True(makerFill.LiquidationPrice > 0 && takerFill.LiquidationPrice != makerFill.LiquidationPrice,   // the short maker has one, the taker's 100,000 USDT hold 4 lots with none
            $"taker {takerFill.LiquidationPrice}, maker {makerFill.LiquidationPrice}");

        // A second cross on the same maker: its report counts both fills.
        Assert.True(_taker.SendNewOrder(_node.NowNs, 8, 1, Side.Buy, OrdType.Limit, TimeInForce.IOC, 650_500, 3));
        Assert.True(_makerLog.Await(_node, _maker, r => r.Kind == ReportKind.Filled && r.TradeId != makerFill.TradeId));
        var second = _makerLog.Of(ReportKind.Filled).Single(r => r.TradeId != makerFill.TradeId);
        Assert.Equal((1L, 3L, 3L, 7L), (second.ClientOrderId, second.QtyLots, second.LeavesLots, second.CumLots));
    }

    [Fact]
    public void ShouldSendEveryReportKindWithItsFigures()
    {
        var now = _node.NowNs;
        // Rejected, with the band figures: limit = band edge, actual = the price.
        Assert.True(_maker.SendNewOrder(now, 100, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 800_000, 1));
        Assert.True(_makerLog.Await(_node, _maker, r => r.Kind == ReportKind.Rejected && r.ClientOrderId == 100));
        var band = _makerLog.Of(ReportKind.Rejected).Single(r => r.ClientOrderId == 100);
        Assert.Equal(RejectReason.PriceOutsideBand, band.RejectReason);
        Assert.Equal(CommandType.NewOrder, band.RejectedCommand);
        var reference = _node.Engine.ReferencePrice(1);
        Assert.Equal(reference + _node.Engine.Band(1).WidthTicks(reference), band.LimitValue);   // the band's upper edge: reference + 5%
        Assert.InRange(band.LimitValue, 682_000, 683_000);
        Assert.Equal(800_000, band.ActualValue);

        // Quantity above the maximum: limit = max, actual = the quantity.
        Assert.True(_maker.SendNewOrder(now, 101, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 649_000, 100_001));
        Assert.True(_makerLog.Await(_node, _maker, r => r.ClientOrderId == 101 && r.Kind == ReportKind.Rejected));
        var size = _makerLog.Reports.Single(r => r.ClientOrderId == 101);
        Assert.Equal((RejectReason.QuantityAboveMaximum, 100_000L, 100_001L), (size.RejectReason, size.LimitValue, size.ActualValue));

        // Margin: required and available money.
        Assert.True(_taker.SendNewOrder(now, 102, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 649_000, 90_000));
        Assert.True(_takerLog.Await(_node, _taker, r => r.ClientOrderId == 102 && r.Kind == ReportKind.Rejected));
        var margin = _takerLog.Reports.Single(r => r.ClientOrderId == 102);
        Assert.Equal(RejectReason.InsufficientMargin, margin.RejectReason);
        Assert.True(margin.RequiredValue > margin.AvailableValue && margin.AvailableValue > 0);

        // Accepted, amended, cancelled.
        Assert.True(_maker.SendNewOrder(now, 103, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 649_000, 10));
        Assert.True(_makerLog.Await(_node, _maker, r => r.ClientOrderId == 103 && r.Kind == ReportKind.Accepted));
        Assert.True(_maker.SendAmend(_node.NowNs, 104, 1, 103, 0, 6));
        Assert.True(_makerLog.Await(_node, _maker, r => r.ClientOrderId == 103 && r.Kind == ReportKind.Amended));
        var amended = _makerLog.Reports.Single(r => r.ClientOrderId == 103 && r.Kind == ReportKind.Amended);
        Assert.True(amended.KeptPriority);
        Assert.Equal(6, amended.LeavesLots);
        Assert.True(_maker.SendCancel(_node.NowNs, 105, 1, 103));
        Assert.True(_makerLog.Await(_node, _maker, r => r.ClientOrderId == 103 && r.Kind == ReportKind.Cancelled));
        Assert.Equal(CancelReason.User, _makerLog.Reports.Single(r => r.ClientOrderId == 103 && r.Kind == ReportKind.Cancelled).CancelReason);
        Assert.False(_maker.OpenOrders.ContainsKey(103));

        // Expired: a GTD order 110 ms out, no order after it. The node ticks when its state machine has work due with no order
        // to carry it (the expiry here), not only after 100 ms without a command (which would expire it ~90 ms late).
        var expiry = _node.NowNs + 110_000_000;
        Assert.True(_maker.SendNewOrder(_node.NowNs, 106, 1, Side.Buy, OrdType.Limit, TimeInForce.GTD, 648_000, 1, expireTimeNs: expiry));
        Assert.True(_makerLog.Await(_node, _maker, r => r.ClientOrderId == 106 && r.Kind == ReportKind.Expired, 3_000));
        Assert.InRange(_makerLog.Reports.Single(r => r.ClientOrderId == 106 && r.Kind == ReportKind.Expired).TransactTimeNs - expiry, 0, 50_000_000);

        // Mass cancel ack with the count.
        Assert.True(_maker.SendNewOrder(_node.NowNs, 107, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 648_000, 1));
        Assert.True(_maker.SendNewOrder(_node.NowNs, 108, 2, Side.Sell, OrdType.Limit, TimeInForce.GTC, 351_000, 1));
        Assert.True(_makerLog.Await(_node, _maker, r => r.ClientOrderId == 108 && r.Kind == ReportKind.Accepted));
        Assert.True(_maker.SendMassCancel(_node.NowNs, 109, 0));
        Assert.True(_makerLog.Await(_node, _maker, r => r.Kind == ReportKind.MassCancelAck));
        var ack = _makerLog.Of(ReportKind.MassCancelAck).Single();
        Assert.Equal((109L, 2), (ack.ClientOrderId, ack.CancelledCount));
        Assert.Empty(_maker.OpenOrders);

        // A stop that fires on the last price: accepted (held), then triggered by a trade through it.
        Assert.True(_maker.SendNewOrder(_node.NowNs, 110, 2, Side.Buy, OrdType.StopMarket, TimeInForce.IOC, 0, 1, triggerPriceTicks: 350_100, triggerSource: TriggerSource.Last));
        Assert.True(_makerLog.Await(_node, _maker, r => r.ClientOrderId == 110 && r.Kind == ReportKind.Accepted));
        Assert.True(_maker.SendNewOrder(_node.NowNs, 111, 2, Side.Sell, OrdType.Limit, TimeInForce.GTC, 350_200, 5));
        Assert.True(_makerLog.Await(_node, _maker, r => r.ClientOrderId == 111 && r.Kind == ReportKind.Accepted));   // two sessions: wait, or the buy may arrive first
        Assert.True(_taker.SendNewOrder(_node.NowNs, 112, 2, Side.Buy, OrdType.Limit, TimeInForce.IOC, 350_200, 1));
        Assert.True(_makerLog.Await(_node, _maker, r => r.ClientOrderId == 110 && r.Kind == ReportKind.Triggered),
            string.Join("; ", _makerLog.Reports.Concat(_takerLog.Reports).Where(r => r.ClientOrderId >= 110).Select(r => $"{r.Kind} {r.ClientOrderId} {r.RejectReason} {r.PriceTicks}")));

        // Every report of the session came in sequence.
        Assert.Equal(0, _maker.SequenceGaps);
        Assert.Equal(0, _taker.SequenceGaps);
    }

    [Fact]
    public void ShouldHoldATrailingStopThatFollowsTheMarkAndFireItWhenTheMarkFallsTheCallback()
    {
        var feeder = _feeder;
        Assert.True(_maker.SendNewOrder(_node.NowNs, 1, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 640_000, 10));
        Assert.True(_makerLog.Await(_node, _maker, r => r.Kind == ReportKind.Accepted));

        // A sell trailing 500 ticks (50 USDT) under the best mark; the mark rises 1,000 ticks, then falls 600.
        Assert.True(_taker.SendTrailingStop(_node.NowNs, 21, 1, Side.Sell, 2, callbackTicks: 500));
        Assert.True(_takerLog.Await(_node, _taker, r => r.ClientOrderId == 21 && r.Kind == ReportKind.Accepted),
            string.Join("; ", _takerLog.Reports.Select(r => $"{r.Kind} {r.RejectReason}")));
        for (var source = 1; source <= 3; source++) Assert.True(feeder.SendPriceFeed(_node.NowNs, source, 1, 651_000));
        Assert.True(_node.PumpUntil(() => _node.Host.StateMachine.Pricing(1)!.MarkTicks >= 650_900));
        Assert.Empty(_takerLog.Of(ReportKind.Triggered));
        var high = _node.Host.StateMachine.Pricing(1)!.MarkTicks;
        for (var source = 1; source <= 3; source++) Assert.True(feeder.SendPriceFeed(_node.NowNs, source, 1, 650_400));
        Assert.True(_takerLog.Await(_node, _taker, r => r.ClientOrderId == 21 && r.Kind == ReportKind.Triggered),
            $"mark {_node.Host.StateMachine.Pricing(1)!.MarkTicks} after a high of {high}");
        Assert.True(_takerLog.Await(_node, _taker, r => r.ClientOrderId == 21 && r.Kind == ReportKind.Filled && r.PriceTicks == 640_000));
    }

    [Fact]
    public void ShouldRejectAnOrderForAnotherAccountAtTheGateway()
    {
        var before = _node.Recorder.Count;
        Span<byte> frame = stackalloc byte[SbeSchema.HeaderSize + NewOrderEncoder.BlockLength];
        var m = NewOrderEncoder.Wrap(frame);
        m.ClientOrderId(5);
        m.AccountId(2);   // the session is account 1's
        m.InstrumentId(1);
        m.Quantity(1);
        m.Price(649_000);
        Assert.True(_maker.SendRaw(frame) > 0);
        Assert.True(_makerLog.Await(_node, _maker, r => r.Kind == ReportKind.Rejected));
        var reject = _makerLog.Of(ReportKind.Rejected).Single();
        Assert.Equal((RejectReason.AccountMismatch, 1L, 2L), (reject.RejectReason, reject.LimitValue, reject.ActualValue));
        Assert.DoesNotContain(_node.Recorder.Commands[before..].ToArray(), c => c.Kind == Core.Commands.CommandKind.PlaceOrder);
    }
}
