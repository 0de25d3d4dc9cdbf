using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Orders;
using Aivora.Core.Reference;
using Aivora.Core.Risk;
using Aivora.Core.Tests.Flows;
using Aivora.Core.Exchange;

namespace Aivora.Core.Tests.Risk;

public sealed class StopOrderTests
{
    private const long Usdt = 1_000_000;

    /// <summary>One instrument marked at 10,000, nine funded accounts, a recording sink (also the filled makers' release tests').</summary>
    internal sealed class Venue
    {
        public readonly List<EngineEvent> Events = [];
        public readonly PerpStateMachine<RecordingSink> Risk;
        private long _nowNs = 1_000;

        public Venue(int maxResting = 1_000)
        {
            var ledger = new Ledger([new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) }], 64);
            var config = CommandFlowGenerator.Config(maxResting, 200, 64) with
            {
                Instruments = [CommandFlowGenerator.Instruments[0] with { MaxQuantity = 1_000_000, MaxNotional = long.MaxValue }],
            };
            Risk = new PerpStateMachine<RecordingSink>(config, ledger, new RiskLimits(), new RecordingSink(Events));
            for (var a = 1; a <= 9; a++)
            {
                ledger.Deposit(a, 10_000 * Usdt);
            }

            Send(EngineCommand.Mark(0, 1, 10_000));
        }

        public List<EngineEvent> Send(EngineCommand c)
        {
            Events.Clear();
            Risk.Process(in c);
            return [.. Events];
        }

        public long Now => ++_nowNs;

        public void Rest(int account, Side side, long price, long qty) =>
            Assert.Contains(Send(EngineCommand.Limit(Now, account, 1, 0, side, price, qty)), e => e.Kind == EventKind.BookOrderAdded);
    }

    private static List<EngineEvent> OfKind(List<EngineEvent> events, EventKind kind) => [.. events.Where(e => e.Kind == kind)];

    [Fact]
    public void ShouldFireSellStopMarketWhenMarkFallsToTriggerAndSellIntoTheBids()
    {
        var v = new Venue();
        v.Rest(2, Side.Buy, 9_900, 50);
        var held = v.Send(EngineCommand.Triggered(v.Now, 1, 1, 77, Side.Sell, OrderType.StopMarket, triggerPriceTicks: 9_950, qtyLots: 20));
        Assert.Single(held, e => e.Kind == EventKind.StopAccepted);
        Assert.Empty(OfKind(held, EventKind.OrderAccepted));

        Assert.Empty(OfKind(v.Send(EngineCommand.Mark(v.Now, 1, 9_960)), EventKind.OrderTriggered));
        var fired = v.Send(EngineCommand.Mark(v.Now, 1, 9_950));

        var triggered = Assert.Single(fired, e => e.Kind == EventKind.OrderTriggered);
        Assert.Equal((77L, 9_950L, 9_950L), (triggered.ClientOrderId, triggered.Required, triggered.Available));
        Assert.Equal(20, OfKind(fired, EventKind.Trade).Sum(t => t.QtyLots));
        Assert.Equal(-20, v.Risk.Ledger.PositionOf(1, 1).QtyLots);
        Assert.Equal(0, v.Risk.Stops.Count);
    }

    [Fact]
    public void ShouldFireBuyStopLimitOnTheLastTradePrice()
    {
        var v = new Venue();
        v.Rest(3, Side.Sell, 10_020, 100);
        v.Send(EngineCommand.Triggered(v.Now, 1, 1, 5, Side.Buy, OrderType.StopLimit, triggerPriceTicks: 10_020, qtyLots: 10, limitPriceTicks: 10_030, source: TriggerSource.Last));

        var trade = v.Send(EngineCommand.Place(v.Now, 2, 1, 0, Side.Buy, OrderType.Limit, TimeInForce.Ioc, 10_020, 5));

        Assert.Single(trade, e => e.Kind == EventKind.OrderTriggered);
        Assert.Equal([2, 1], OfKind(trade, EventKind.Trade).Select(t => t.AccountId));
        Assert.Equal(10, v.Risk.Ledger.PositionOf(1, 1).QtyLots);
    }

    [Fact]
    public void ShouldFireALastPriceStopInTheSameCommandWhenAnAmendTradesThroughIt()
    {
        // An amend names its order, not its instrument (the command carries instrument 0): the last-price stops to check after
        // its trades are those of the order's instrument.
        var v = new Venue();
        v.Rest(3, Side.Sell, 10_020, 100);
        v.Send(EngineCommand.Triggered(v.Now, 1, 1, 5, Side.Buy, OrderType.StopLimit, triggerPriceTicks: 10_020, qtyLots: 10, limitPriceTicks: 10_030, source: TriggerSource.Last));
        var resting = Assert.Single(v.Send(EngineCommand.Limit(v.Now, 2, 1, 0, Side.Buy, 10_000, 5)), e => e.Kind == EventKind.BookOrderAdded);

        var amended = v.Send(EngineCommand.Amend(v.Now, 2, resting.OrderId, 10_020, 0));

        Assert.Equal(5, OfKind(amended, EventKind.Trade).Where(t => t.AccountId == 2).Sum(t => t.QtyLots));
        Assert.Single(amended, e => e.Kind == EventKind.OrderTriggered);
        Assert.Equal(10, v.Risk.Ledger.PositionOf(1, 1).QtyLots);
        Assert.Equal(0, v.Risk.Stops.Count);
    }

    [Fact]
    public void ShouldFindATriggeredOrderThatRestsByItsClientOrderIdWhenAnotherKeyFiredIt()
    {
        // The order that fires the stop has a client order id of its own: the triggered order is checked and indexed under
        // its own id in the same command (the engine keeps the home of the key the command's prefetch hashed, and must not
        // take it for another key's), so a cancel by that id finds it afterwards.
        var v = new Venue();
        v.Rest(3, Side.Sell, 10_020, 100);
        v.Send(EngineCommand.Triggered(v.Now, 1, 1, 5, Side.Buy, OrderType.StopLimit, triggerPriceTicks: 10_020, qtyLots: 10, limitPriceTicks: 10_010, source: TriggerSource.Last));

        var fired = v.Send(EngineCommand.Place(v.Now, 2, 1, 42, Side.Buy, OrderType.Limit, TimeInForce.Ioc, 10_020, 1));

        Assert.Single(fired, e => e.Kind == EventKind.OrderTriggered);
        var rested = Assert.Single(fired, e => e.Kind == EventKind.BookOrderAdded);
        Assert.Equal(10_010, rested.PriceTicks);
        Assert.Null(v.Risk.Engine.ValidateInvariants());

        var duplicate = v.Send(EngineCommand.Limit(v.Now, 1, 1, 5, Side.Buy, 9_990, 1));
        Assert.Equal(RejectReason.DuplicateClientOrderId, (RejectReason)Assert.Single(duplicate, e => e.Kind == EventKind.OrderRejected).Reason);

        var cancelled = v.Send(EngineCommand.Cancel(v.Now, 1, 0, clientOrderId: 5));
        Assert.Equal(rested.OrderId, Assert.Single(cancelled, e => e.Kind == EventKind.OrderCancelled).OrderId);
        Assert.Null(v.Risk.Engine.ValidateInvariants());
    }

    [Fact]
    public void ShouldFireSellTakeProfitWhenMarkRises()
    {
        var v = new Venue();
        v.Rest(2, Side.Buy, 10_040, 50);
        v.Send(EngineCommand.Triggered(v.Now, 1, 1, 9, Side.Sell, OrderType.TakeProfitMarket, triggerPriceTicks: 10_050, qtyLots: 10));

        Assert.Empty(OfKind(v.Send(EngineCommand.Mark(v.Now, 1, 9_000)), EventKind.OrderTriggered));
        Assert.Single(v.Send(EngineCommand.Mark(v.Now, 1, 10_060)), e => e.Kind == EventKind.OrderTriggered);
    }

    [Fact]
    public void ShouldPutTheTriggeredOrderThroughPreTradeRisk()
    {
        var v = new Venue();
        v.Risk.Ledger.Deposit(2, 1_000_000 * Usdt);
        v.Rest(2, Side.Buy, 9_900, 1_000_000);
        v.Send(EngineCommand.Triggered(v.Now, 1, 1, 3, Side.Sell, OrderType.StopMarket, triggerPriceTicks: 9_950, qtyLots: 900_000));   // ~895,000 USDT notional: needs ~89,500 of margin, the account has 10,000

        var fired = v.Send(EngineCommand.Mark(v.Now, 1, 9_950));

        Assert.Single(fired, e => e.Kind == EventKind.OrderTriggered);
        var reject = Assert.Single(fired, e => e.Kind == EventKind.OrderRejected);
        Assert.Equal(RejectReason.InsufficientMargin, (RejectReason)reject.Reason);
        Assert.True(reject.Required > reject.Available);
        Assert.Empty(OfKind(fired, EventKind.Trade));
    }

    [Fact]
    public void ShouldCancelHeldStopsByClientIdAndByMassCancel()
    {
        var v = new Venue();
        v.Send(EngineCommand.Triggered(v.Now, 1, 1, 11, Side.Sell, OrderType.StopMarket, 9_000, 10));
        v.Send(EngineCommand.Triggered(v.Now, 1, 1, 12, Side.Buy, OrderType.StopMarket, 11_000, 10));
        v.Send(EngineCommand.Triggered(v.Now, 2, 1, 13, Side.Buy, OrderType.StopMarket, 11_000, 10));

        var cancel = v.Send(EngineCommand.Cancel(v.Now, 1, 0, 11));
        Assert.Equal(11, Assert.Single(cancel, e => e.Kind == EventKind.StopCancelled).ClientOrderId);
        Assert.Equal(RejectReason.DuplicateClientOrderId, (RejectReason)Assert.Single(v.Send(EngineCommand.Triggered(v.Now, 1, 1, 12, Side.Buy, OrderType.StopMarket, 11_500, 1))).Reason);

        var mass = v.Send(EngineCommand.MassCancel(v.Now, 1, 0, SideFilter.Both));
        Assert.Equal([12L], OfKind(mass, EventKind.StopCancelled).Select(e => e.ClientOrderId));
        Assert.Equal(1, v.Risk.Stops.Count);
        Assert.Empty(OfKind(v.Send(EngineCommand.Mark(v.Now, 1, 8_000)), EventKind.OrderTriggered));
    }

    [Fact]
    public void ShouldMassCancelHeldStopsInTheOrderTheyWerePlacedWhateverSlotsTheyReused()
    {
        var v = new Venue();
        for (var id = 21; id <= 24; id++)
        {
            v.Send(EngineCommand.Triggered(v.Now, 1, 1, id, Side.Sell, OrderType.StopMarket, 9_000 - id, 10));
        }

        v.Send(EngineCommand.Triggered(v.Now, 2, 1, 31, Side.Sell, OrderType.StopMarket, 9_000, 10));
        v.Send(EngineCommand.Cancel(v.Now, 1, 0, 21));
        v.Send(EngineCommand.Cancel(v.Now, 1, 0, 23));
        v.Send(EngineCommand.Triggered(v.Now, 1, 1, 25, Side.Sell, OrderType.StopMarket, 8_900, 10));   // reuses a freed slot
        v.Send(EngineCommand.Triggered(v.Now, 1, 1, 26, Side.Sell, OrderType.StopMarket, 8_900, 10));   // and the other

        var mass = v.Send(EngineCommand.MassCancel(v.Now, 1, 1, SideFilter.Both));
        Assert.Equal([22L, 24L, 25L, 26L], OfKind(mass, EventKind.StopCancelled).Select(e => e.ClientOrderId));
        Assert.All(OfKind(mass, EventKind.StopCancelled), e => Assert.Equal(CancelReason.MassCancel, (CancelReason)e.Reason));
        Assert.Equal(1, v.Risk.Stops.Count);   // account 2's stop stays
        Assert.Equal(31, v.Risk.Stops[v.Risk.Stops.LiveSlots[0]].ClientOrderId);
    }

    [Fact]
    public void ShouldCascadeThroughTheLastPriceAndFireSameTriggerStopsInTimeOrder()
    {
        var v = new Venue();
        v.Rest(2, Side.Buy, 9_990, 10);
        v.Rest(2, Side.Buy, 9_980, 10);
        v.Rest(2, Side.Buy, 9_970, 10);
        v.Send(EngineCommand.Triggered(v.Now, 3, 1, 1, Side.Sell, OrderType.StopMarket, 9_990, 10, source: TriggerSource.Last));
        v.Send(EngineCommand.Triggered(v.Now, 4, 1, 1, Side.Sell, OrderType.StopMarket, 9_980, 10, source: TriggerSource.Last));
        v.Send(EngineCommand.Triggered(v.Now, 5, 1, 1, Side.Sell, OrderType.StopMarket, 9_980, 5, source: TriggerSource.Last));

        // A sale at 9,990 fires account 3's stop, whose sale at 9,980 fires 4's and then 5's.
        var events = v.Send(EngineCommand.Place(v.Now, 6, 1, 0, Side.Sell, OrderType.Limit, TimeInForce.Ioc, 9_990, 5));

        Assert.Equal([3, 4, 5], OfKind(events, EventKind.OrderTriggered).Select(e => e.AccountId));
        Assert.Equal(30, OfKind(events, EventKind.Trade).Sum(t => t.QtyLots));
    }

    [Fact]
    public void ShouldRefuseStopsWithoutAUsableTrigger()
    {
        var v = new Venue();
        RejectReason Reject(EngineCommand c) => (RejectReason)Assert.Single(v.Send(c)).Reason;

        Assert.Equal(RejectReason.InvalidTrigger, Reject(EngineCommand.Triggered(v.Now, 1, 1, 1, Side.Sell, OrderType.StopMarket, 0, 10)));
        Assert.Equal(RejectReason.InvalidTrigger, Reject(EngineCommand.Triggered(v.Now, 1, 1, 0, Side.Sell, OrderType.StopMarket, 9_000, 10)));
        Assert.Equal(RejectReason.InvalidTrigger, Reject(EngineCommand.Triggered(v.Now, 1, 1, 1, Side.Sell, OrderType.StopLimit, 9_000, 10)));
        Assert.Equal(RejectReason.InvalidTrigger, Reject(EngineCommand.Triggered(v.Now, 1, 1, 1, Side.Sell, OrderType.StopMarket, 9_000, 10, source: TriggerSource.Index)));   // no index configured here
        Assert.Equal(RejectReason.InvalidQuantity, Reject(EngineCommand.Triggered(v.Now, 1, 1, 1, Side.Sell, OrderType.StopMarket, 9_000, 0)));
        Assert.Equal(RejectReason.UnknownInstrument, Reject(EngineCommand.Triggered(v.Now, 1, 9, 1, Side.Sell, OrderType.StopMarket, 9_000, 10)));
    }
}
