using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Instruments;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Core.Pricing;
using Aivora.Core.Reference;
using Aivora.Core.Risk;
using Aivora.Core.Tests.Flows;
using Aivora.Core.Exchange;
using Aivora.Core.Margin;

namespace Aivora.Core.Tests.Risk;

public sealed class PreTradeRiskTests
{
    private const long Usdt = 1_000_000;

    private static PerpStateMachine<RecordingSink> NewRisk(List<EngineEvent> events, int maxOpenOrders = 200, StaleIndexPolicy staleIndex = StaleIndexPolicy.CloseOnly, bool marks = true)
    {
        var ledger = new Ledger(
        [
            new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(2_000, 50_000) },
            new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 10, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(2_000, 50_000) },
        ], maxAccounts: 64);
        // The flow generator's instruments, with room for larger orders: these tests are about margin.
        var config = CommandFlowGenerator.Config(2_000, 400, 64) with
        {
            Instruments = [.. CommandFlowGenerator.Instruments.Select(i => i with { MaxQuantity = 1_000_000, MaxNotional = long.MaxValue })],
        };
        var risk = new PerpStateMachine<RecordingSink>(config, ledger, new RiskLimits { MaxOpenOrdersPerInstrument = maxOpenOrders, StaleIndex = staleIndex }, new RecordingSink(events));
        if (marks)
        {
            ledger.SetMark(1, 10_000);
            ledger.SetMark(2, 50_000);
        }

        return risk;
    }

    [Fact]
    public void ShouldValueAnotherInstrumentWithoutAMarkAtItsOwnReferencePriceNotAtTheIncomingOrdersPrice()
    {
        var events = new List<EngineEvent>();
        var risk = NewRisk(events, marks: false);
        risk.Ledger.Deposit(7, 1_000 * Usdt);

        // 100 lots resting on ETH (reference 50,000 ticks), then a BTC order at 10,000 ticks: before any mark, ETH's
        // open orders are margined at ETH's reference price (5 USDT at 10x), not at the BTC order's 10,000 (1 USDT).
        var eth = EngineCommand.Limit(1, 7, 2, 1, Side.Buy, 50_000, 100);
        risk.Process(in eth);
        events.Clear();
        var btc = EngineCommand.Limit(2, 7, 1, 2, Side.Buy, 10_000, 10);
        risk.Process(in btc);

        var assessed = Only(events, EventKind.OrderRiskAssessed);
        var ethMargin = risk.Ledger.ExposureMargin(7, 2, 100, 0, 50_000);
        Assert.Equal(5 * Usdt, ethMargin);
        var btcMargin = risk.Ledger.ExposureMargin(7, 1, 10, 0, 10_000);
        Assert.Equal(btcMargin, assessed.Required);
        Assert.Equal((1_000 * Usdt) - ethMargin - btcMargin - risk.Ledger.TakerFee(7, 1, 10_000, 10), assessed.Available);
    }

    private static EngineEvent Only(List<EngineEvent> events, EventKind kind) => Assert.Single(events, e => e.Kind == kind);

    [Fact]
    public void ShouldRejectWithRequiredAndAvailableMarginWhenEquityIsShort()
    {
        var events = new List<EngineEvent>();
        var risk = NewRisk(events);
        risk.Ledger.Deposit(7, 100 * Usdt);

        // 1,000 lots at 10,000 ticks = 1,000 USDT notional; 10x → 100 USDT margin; taker fee 0.5 USDT reserved.
        var order = EngineCommand.Limit(1, 7, 1, 1, Side.Buy, 10_000, 1_000);
        risk.Process(in order);

        var reject = Only(events, EventKind.OrderRejected);
        Assert.Equal(RejectReason.InsufficientMargin, (RejectReason)reject.Reason);
        Assert.Equal((100_500_000L, 100 * Usdt), (reject.Required, reject.Available));
        Assert.Empty(risk.Engine.RestingOrders(1, Side.Buy));

        events.Clear();
        var smaller = EngineCommand.Limit(2, 7, 1, 2, Side.Buy, 10_000, 990);
        risk.Process(in smaller);
        Assert.Single(events, e => e.Kind == EventKind.OrderAccepted);
    }

    [Fact]
    public void ShouldRefuseAnAmendThatAddsMoreExposureThanTheMarginCovers()
    {
        var events = new List<EngineEvent>();
        var risk = NewRisk(events);
        risk.Ledger.Deposit(7, 100 * Usdt);
        var bid = EngineCommand.Limit(1, 7, 1, 1, Side.Buy, 9_900, 400);   // 39.6 USDT of margin
        risk.Process(in bid);
        var orderId = Assert.Single(events, e => e.Kind == EventKind.OrderAccepted).OrderId;

        events.Clear();
        var tooMuch = EngineCommand.Amend(2, 7, orderId, 0, 1_100);
        risk.Process(in tooMuch);
        var reject = Only(events, EventKind.OrderRejected);
        Assert.Equal(RejectReason.InsufficientMargin, (RejectReason)reject.Reason);
        Assert.True(reject.Required > reject.Available);
        Assert.Equal(400, Assert.Single(risk.Engine.RestingOrders(1, Side.Buy)).QtyLots);   // untouched

        events.Clear();
        var more = EngineCommand.Amend(3, 7, orderId, 0, 900);
        risk.Process(in more);
        Assert.Single(events, e => e.Kind == EventKind.OrderAmended);

        events.Clear();
        var cut = EngineCommand.Amend(4, 7, orderId, 0, 100);
        risk.Process(in cut);
        Assert.Single(events, e => e.Kind == EventKind.OrderAmended);
    }

    [Fact]
    public void ShouldLetAnAccountShortOfMarginPullItsQuotesBackButNotPushThemForward()
    {
        var events = new List<EngineEvent>();
        var risk = NewRisk(events);
        risk.Ledger.Deposit(7, 100 * Usdt);
        var bid = EngineCommand.Limit(1, 7, 1, 1, Side.Buy, 9_900, 400);
        risk.Process(in bid);
        var ask = EngineCommand.Limit(2, 7, 1, 2, Side.Sell, 10_100, 400);
        risk.Process(in ask);
        var accepted = events.Where(e => e.Kind == EventKind.OrderAccepted).Select(e => e.OrderId).ToArray();
        Assert.Equal(2, accepted.Length);
        var (bidId, askId) = (accepted[0], accepted[1]);
        // No position, so the withdrawal may take the cash the quotes' margin (about 40 USDT, worst side 400 lots) needs.
        Assert.True(risk.Ledger.Withdraw(7, 90 * Usdt).IsOk);

        RejectReason? Send(EngineCommand c)
        {
            events.Clear();
            risk.Process(in c);
            if (events.Any(e => e.Kind == EventKind.OrderAmended))
            {
                return null;
            }

            return (RejectReason)Only(events, EventKind.OrderRejected).Reason;
        }

        long Price(Side side) => Assert.Single(risk.Engine.RestingOrders(1, side)).PriceTicks;

        // Away from the other side, no more quantity: nothing it can do adds risk, so no margin test.
        Assert.Null(Send(EngineCommand.Amend(3, 7, bidId, 9_800, 0)));
        Assert.Null(Send(EngineCommand.Amend(4, 7, askId, 10_200, 0)));
        Assert.Equal((9_800L, 10_200L), (Price(Side.Buy), Price(Side.Sell)));

        // Towards it, or away with more quantity: the margin test, which the account now fails.
        Assert.Equal(RejectReason.InsufficientMargin, Send(EngineCommand.Amend(5, 7, bidId, 9_850, 0)));
        Assert.Equal(RejectReason.InsufficientMargin, Send(EngineCommand.Amend(6, 7, askId, 10_150, 0)));
        Assert.Equal(RejectReason.InsufficientMargin, Send(EngineCommand.Amend(7, 7, bidId, 9_700, 500)));
        Assert.Equal((9_800L, 10_200L), (Price(Side.Buy), Price(Side.Sell)));

        // Away with less quantity; and with a stale index, away still, towards not.
        Assert.Null(Send(EngineCommand.Amend(8, 7, bidId, 9_700, 300)));
        risk.SetIndexState(1, IndexState.Stale);
        Assert.Null(Send(EngineCommand.Amend(9, 7, askId, 10_300, 0)));
        Assert.Equal(RejectReason.IndexStale, Send(EngineCommand.Amend(10, 7, bidId, 9_750, 0)));
        Assert.Equal((9_700L, 10_300L), (Price(Side.Buy), Price(Side.Sell)));
        Assert.Equal(300, risk.Engine.RestingOrders(1, Side.Buy)[0].QtyLots);
    }

    [Fact]
    public void ShouldTestAnAmendThatAddsNoLotsAtTheMarkOfNowNotTheMarkItsOrderWasPlacedAt()
    {
        var events = new List<EngineEvent>();
        var risk = NewRisk(events);
        // 1,000 lots bid at mark 10,000: 100 USDT of margin at 10x, 0.5 USDT of taker fee reserved; 110 USDT deposited.
        risk.Ledger.Deposit(7, 110 * Usdt);
        risk.Process(EngineCommand.Limit(1, 7, 1, 1, Side.Buy, 9_900, 1_000));
        var bidId = Only(events, EventKind.OrderAccepted).OrderId;
        RejectReason? Towards(long clientOrderId, long priceTicks)
        {
            events.Clear();
            risk.Process(EngineCommand.Amend(clientOrderId, 7, bidId, priceTicks, 0));
            return events.Any(e => e.Kind == EventKind.OrderAmended) ? null : (RejectReason)Only(events, EventKind.OrderRejected).Reason;
        }

        // The mark moves up: at 10,500 the same lots need 105 USDT, which 110 still covers with the fee.
        risk.Ledger.SetMark(1, 10_500);
        Assert.Null(Towards(2, 9_950));

        // At 11,000 they need 110 USDT, and with the fee that is more than the account has: the figure of the order's placing
        // (100 USDT) would have let it through.
        risk.Ledger.SetMark(1, 11_000);
        Assert.Equal(RejectReason.InsufficientMargin, Towards(3, 10_000));
        var reject = Only(events, EventKind.OrderRejected);
        Assert.Equal((110 * Usdt + 500_000, 110 * Usdt), (reject.Required, reject.Available));
        Assert.Equal(9_950, Assert.Single(risk.Engine.RestingOrders(1, Side.Buy)).PriceTicks);
    }

    [Fact]
    public void ShouldCountOpenOrdersWorstSideAndTheLossAgainstMark()
    {
        var events = new List<EngineEvent>();
        var risk = NewRisk(events);
        risk.Ledger.Deposit(7, 100 * Usdt);
        var resting = EngineCommand.Limit(1, 7, 1, 1, Side.Buy, 9_900, 500);   // 49.5 USDT margin
        risk.Process(in resting);
        events.Clear();

        // Another 500 buy on the same side: worst side is 1,000 lots → 100 USDT + fees > 100.
        var more = EngineCommand.Limit(2, 7, 1, 2, Side.Buy, 9_900, 500);
        risk.Process(in more);
        Assert.Equal(RejectReason.InsufficientMargin, (RejectReason)Only(events, EventKind.OrderRejected).Reason);

        // A sell of 500 does not add: the worst side stays the buys.
        events.Clear();
        var sell = EngineCommand.Limit(3, 7, 1, 3, Side.Sell, 10_100, 500);
        risk.Process(in sell);
        Assert.Single(events, e => e.Kind == EventKind.OrderAccepted);
    }

    [Fact]
    public void ShouldReportOnlyTheMarginAnOrderAddsToTheWorseSide()
    {
        var events = new List<EngineEvent>();
        var risk = NewRisk(events);
        risk.Ledger.Deposit(7, 1_000 * Usdt);
        risk.Ledger.Deposit(8, 1_000 * Usdt);
        long AddedBy(EngineCommand c)
        {
            events.Clear();
            risk.Process(in c);
            return Only(events, EventKind.OrderRiskAssessed).Required;
        }

        // At mark 10,000 a lot is 1 USDT of notional: 0.1 USDT of margin at the default 10x. Account 7 holds 200 lots long, then
        // bids 1,000 more: the worse side is 1,200 long, the order adds 1,000 lots' margin.
        risk.Process(EngineCommand.Limit(1, 8, 1, 1, Side.Sell, 10_000, 200));
        risk.Process(EngineCommand.Limit(2, 7, 1, 2, Side.Buy, 10_000, 200));
        Assert.Equal(200, risk.Ledger.PositionOf(7, 1).QtyLots);
        Assert.Equal(100 * Usdt, AddedBy(EngineCommand.Limit(3, 7, 1, 3, Side.Buy, 9_900, 1_000)));

        // Offers of 1,000 would leave it 800 short if they all filled: the bids' 1,200 long stays the worse side, nothing added.
        Assert.Equal(0, AddedBy(EngineCommand.Limit(4, 7, 1, 4, Side.Sell, 10_100, 1_000)));

        // 1,000 more: 1,800 short is worse than 1,200 long by 600 lots, and only those are added.
        Assert.Equal(60 * Usdt, AddedBy(EngineCommand.Limit(5, 7, 1, 5, Side.Sell, 10_100, 1_000)));
        Assert.Equal(180 * Usdt, risk.Ledger.ExposureMargin(7, 1, 1_000, 2_000, 10_000));
    }

    [Fact]
    public void ShouldPublishWhatIfLiquidationPriceAndMarginWithTheAcceptance()
    {
        var events = new List<EngineEvent>();
        var risk = NewRisk(events);
        risk.Ledger.Deposit(7, 200 * Usdt);

        var order = EngineCommand.Limit(1, 7, 1, 1, Side.Buy, 10_000, 1_000);
        risk.Process(in order);

        var assessed = Only(events, EventKind.OrderRiskAssessed);
        Assert.Equal(100 * Usdt, assessed.Required);                           // initial margin the order adds
        Assert.Equal(200 * Usdt - (100 * Usdt) - 500_000, assessed.Available); // after margin and reserved fee
        // Long 1,000 lots at 10,000 with 200 USDT less the 0.5 USDT taker fee the fill pays:
        // LP = (1,000 − 199.5) / (1,000 lots × 100 × (1 − 0.4%)) per tick = 8,037.2, rounded up.
        Assert.Equal(LiquidationMath.LiquidationPrice(1_000, 1_000 * Usdt, (200 * Usdt) - 500_000, MarginMathTests.DocTiers(), 100), assessed.PriceTicks);
        Assert.Equal(8_038, assessed.PriceTicks);
        Assert.True(events.IndexOf(assessed) < events.FindIndex(e => e.Kind == EventKind.OrderAccepted));
    }

    [Fact]
    public void ShouldSkipOnlyTheWhatIfsForAnOrderThatAsksForNoneAndReachTheSameState()
    {
        // The same commands twice, the second time every new order asking for no what-ifs: a resting buy, a sell that
        // trades against it, and one more buy on the position.
        (List<EngineEvent> Events, ulong Engine, ulong Ledger) Run(OrderFlags flags)
        {
            var events = new List<EngineEvent>();
            var risk = NewRisk(events);
            risk.Ledger.Deposit(7, 300 * Usdt);
            risk.Ledger.Deposit(8, 300 * Usdt);
            EngineCommand[] commands =
            [
                EngineCommand.Place(1, 7, 1, 1, Side.Buy, OrderType.Limit, TimeInForce.Gtc, 10_000, 1_000, flags),
                EngineCommand.Place(2, 8, 1, 2, Side.Sell, OrderType.Limit, TimeInForce.Ioc, 10_000, 600, flags),
                EngineCommand.Place(3, 7, 1, 3, Side.Buy, OrderType.Limit, TimeInForce.Gtc, 9_990, 200, flags),
            ];
            foreach (var c in commands)
            {
                risk.Process(in c);
            }

            return (events, risk.Engine.StateHash(), risk.Ledger.StateHash());
        }

        var with = Run(OrderFlags.None);
        var without = Run(OrderFlags.NoWhatIfs);
        Assert.Equal((with.Engine, with.Ledger), (without.Engine, without.Ledger));
        Assert.Equal(with.Events.Count, without.Events.Count);
        var assessments = 0;
        for (var i = 0; i < with.Events.Count; i++)
        {
            var (a, b) = (with.Events[i], without.Events[i]);
            if (a.Kind != EventKind.OrderRiskAssessed)
            {
                Assert.Equal(a, b);
                continue;
            }

            assessments++;
            Assert.Equal(EventKind.OrderRiskAssessed, b.Kind);
            Assert.True(a.PriceTicks > 0 && !a.Flag, $"with what-ifs: {a}");   // each order leaves a leveraged position if it fills
            Assert.Equal((0L, 0, true), (b.PriceTicks, b.Count, b.Flag));
            Assert.Equal((a.Required, a.Available, a.ClientOrderId), (b.Required, b.Available, b.ClientOrderId));
        }

        Assert.Equal(3, assessments);
    }

    [Fact]
    public void ShouldAcceptOnlyReduceOnlyOrdersWhileTheIndexIsStale()
    {
        var events = new List<EngineEvent>();
        var risk = NewRisk(events);
        risk.Ledger.Deposit(7, 1_000 * Usdt);
        risk.Ledger.Deposit(8, 1_000 * Usdt);
        var open = EngineCommand.Limit(1, 8, 1, 1, Side.Sell, 10_000, 100);
        risk.Process(in open);
        var buy = EngineCommand.Limit(2, 7, 1, 2, Side.Buy, 10_000, 100);
        risk.Process(in buy);
        Assert.Equal(100, risk.Ledger.PositionOf(7, 1).QtyLots);
        risk.SetIndexState(1, IndexState.Stale);
        events.Clear();

        var more = EngineCommand.Limit(3, 7, 1, 3, Side.Buy, 9_990, 10);
        risk.Process(in more);
        Assert.Equal(RejectReason.IndexStale, (RejectReason)Only(events, EventKind.OrderRejected).Reason);

        events.Clear();
        var close = EngineCommand.Place(4, 7, 1, 4, Side.Sell, OrderType.Limit, TimeInForce.Gtc, 10_010, 100, OrderFlags.ReduceOnly);
        risk.Process(in close);
        Assert.Single(events, e => e.Kind == EventKind.OrderAccepted);
    }

    [Fact]
    public void ShouldRefuseEvenReduceOnlyOrdersOnAStaleIndexWhenThePolicyIsHalt()
    {
        var events = new List<EngineEvent>();
        var risk = NewRisk(events, staleIndex: StaleIndexPolicy.Halt);
        risk.Ledger.Deposit(7, 1_000 * Usdt);
        risk.Ledger.Deposit(8, 1_000 * Usdt);
        var open = EngineCommand.Limit(1, 8, 1, 1, Side.Sell, 10_000, 100);
        risk.Process(in open);
        var buy = EngineCommand.Limit(2, 7, 1, 2, Side.Buy, 10_000, 100);
        risk.Process(in buy);
        risk.SetIndexState(1, IndexState.Stale);
        events.Clear();

        var close = EngineCommand.Place(3, 7, 1, 3, Side.Sell, OrderType.Limit, TimeInForce.Gtc, 10_010, 100, OrderFlags.ReduceOnly);
        risk.Process(in close);

        Assert.Equal(RejectReason.IndexStale, (RejectReason)Only(events, EventKind.OrderRejected).Reason);
    }

    [Fact]
    public void ShouldApplyChecksInTheSpecifiedOrderFirstFailureWins()
    {
        var events = new List<EngineEvent>();
        var risk = NewRisk(events, maxOpenOrders: 1);
        risk.Ledger.Deposit(7, 1 * Usdt);
        var first = EngineCommand.Limit(1, 7, 1, 1, Side.Sell, 10_050, 1);
        risk.Process(in first);                               // one open order: the limit is reached
        var halt = EngineCommand.SetState(1, 1, TradingState.Halted);
        risk.Process(in halt);
        risk.SetIndexState(1, IndexState.Stale);

        // Halted, stale, outside the band, at the open-order limit, and far beyond the margin.
        var bad = EngineCommand.Limit(2, 7, 1, 2, Side.Buy, 20_000, 400);
        RejectReason Send(EngineCommand c)
        {
            events.Clear();
            risk.Process(in c);
            return (RejectReason)Only(events, EventKind.OrderRejected).Reason;
        }

        Assert.Equal(RejectReason.InstrumentHalted, Send(bad));
        var open = EngineCommand.SetState(3, 1, TradingState.Open);
        risk.Process(in open);
        Assert.Equal(RejectReason.IndexStale, Send(bad));
        risk.SetIndexState(1, IndexState.Healthy);
        Assert.Equal(RejectReason.PriceOutsideBand, Send(bad));
        Assert.Equal(RejectReason.MaxOpenOrders, Send(bad with { PriceTicks = 10_000 }));
        Assert.Equal(RejectReason.InsufficientMargin, Send(bad with { PriceTicks = 10_000, TimeInForce = TimeInForce.Ioc }));
    }

    [Theory]
    [InlineData(31)]
    [InlineData(32)]
    public void ShouldNeverLeaveAnAcceptingAccountWithNegativeAvailableMargin(int seed)
    {
        var events = new List<EngineEvent>();
        var risk = NewRisk(events);
        var generator = new CommandFlowGenerator(seed);
        var random = new Random(seed);
        for (var account = 1; account <= 14; account++)
        {
            risk.Ledger.Deposit(account, random.Next(5, 60) * Usdt);   // thin accounts: margin binds often
        }

        long accepted = 0, marginRejects = 0, awayOrCut = 0;
        for (var i = 0; i < 60_000; i++)
        {
            var step = generator.Next();
            if (step.IsPositionAdjustment)
            {
                continue;
            }

            var command = step.Command;
            var availableBefore = command.AccountId > 0 ? Available(risk, command.AccountId) : 0;
            var amendAddsExposure = command.Kind == CommandKind.AmendOrder && AmendCanAddExposure(risk, command);
            events.Clear();
            risk.Process(in command);
            foreach (var e in events)
            {
                generator.Observe(in e);
                marginRejects += e.Kind == EventKind.OrderRejected && e.Reason == (byte)RejectReason.InsufficientMargin ? 1 : 0;
                if (e.Kind == EventKind.OrderAccepted && command.Kind == CommandKind.PlaceOrder && (command.Flags & OrderFlags.ReduceOnly) == 0)
                {
                    accepted++;
                }
            }

            var added = (command.Kind == CommandKind.PlaceOrder && events.Exists(e => e.Kind == EventKind.OrderAccepted) && (command.Flags & OrderFlags.ReduceOnly) == 0) ||
                        (amendAddsExposure && events.Exists(e => e.Kind == EventKind.OrderAmended));
            if (added)
            {
                Assert.True(Available(risk, command.AccountId) >= 0,
                    $"command {i} ({command.Kind} px={command.PriceTicks} qty={command.QtyLots}): account {command.AccountId} left with {Available(risk, command.AccountId)} available (before: {availableBefore}); events: {string.Join(" | ", events)}");
            }
            else if (command.Kind == CommandKind.AmendOrder && !events.Exists(e => e.Kind is EventKind.OrderRejected or EventKind.Trade))
            {
                // Amends without the margin test (cuts, moves away from the other side) may find an account already short, but
                // never make it shorter.
                Assert.True(Available(risk, command.AccountId) >= availableBefore,
                    $"command {i} (amend px={command.PriceTicks} qty={command.QtyLots}): account {command.AccountId} went from {availableBefore} to {Available(risk, command.AccountId)} available");
                awayOrCut++;
            }
        }

        Assert.True(accepted > 5_000 && marginRejects > 100 && awayOrCut > 100, $"accepted {accepted}, margin rejects {marginRejects}, amends without the test {awayOrCut}");
        Assert.Equal(risk.Ledger.TotalDeposits, risk.Ledger.MoneyInSystem());
    }

    /// <summary>A non-reduce-only order whose amend raises its remaining quantity or moves its price towards the other side (a
    /// buy higher, a sell lower): what the margin test sees. Other amends change no figure the test counts (checked above).</summary>
    private static bool AmendCanAddExposure(PerpStateMachine<RecordingSink> risk, EngineCommand amend)
    {
        var found = amend.OrderId != 0 ? risk.Engine.TryGetOrder(amend.OrderId, out var order) : risk.Engine.TryGetOrderByClientId(amend.AccountId, amend.ClientOrderId, out order);
        if (!found || order.AccountId != amend.AccountId || (order.Flags & OrderFlags.ReduceOnly) != 0)
        {
            return false;
        }

        var newQty = amend.QtyLots == 0 ? order.QtyLots : amend.QtyLots;
        var newPrice = amend.PriceTicks == 0 ? order.PriceTicks : amend.PriceTicks;
        var towards = order.Side == Side.Buy ? newPrice > order.PriceTicks : newPrice < order.PriceTicks;
        return newQty - order.FilledLots > order.RemainingLots || (towards && newQty > order.FilledLots);
    }

    private static long Available(PerpStateMachine<RecordingSink> risk, int accountId)
    {
        long margin = 0;
        foreach (var instrument in new[] { 1, 2 })
        {
            risk.Engine.OpenQuantity(accountId, instrument, out var buys, out var sells);
            margin += risk.Ledger.ExposureMargin(accountId, instrument, buys, sells, risk.Ledger.MarkOf(instrument));
        }

        return risk.Ledger.Equity(accountId) - margin;
    }
}

public sealed class PreTradeRiskAllocationTests
{
    [Fact]
    public void ShouldEnterOrdersThroughFullPreTradeRiskWithoutAllocating()
    {
        var ledger = new Ledger(
        [
            new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers() },
            new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 10, Tiers = MarginMathTests.DocTiers() },
        ], maxAccounts: 64);
        var config = CommandFlowGenerator.Config(4_000, 400, 64);
        var risk = new PerpStateMachine<CountingSink>(config, ledger, new RiskLimits());
        ledger.SetMark(1, 10_000);
        ledger.SetMark(2, 50_000);
        for (var account = 1; account <= 14; account++)
        {
            ledger.Deposit(account, 1_000_000_000);
        }

        // A generated flow (fed back by a scratch engine), replayed through the gate.
        var commands = new List<EngineCommand>();
        var scratchEvents = new List<EngineEvent>();
        var scratch = new MatchingEngine<RecordingSink, TrackedPositions>(config, new RecordingSink(scratchEvents), new TrackedPositions(new PositionTracker()));
        var generator = new CommandFlowGenerator(seed: 5);
        while (commands.Count < 300_000)
        {
            var step = generator.Next();
            if (step.IsPositionAdjustment)
            {
                continue;
            }

            var command = step.Command;
            scratchEvents.Clear();
            scratch.Process(in command);
            foreach (var e in scratchEvents)
            {
                generator.Observe(in e);
            }

            commands.Add(command);
        }

        var array = commands.ToArray();
        for (var i = 0; i < 100_000; i++)
        {
            risk.Process(in array[i]);
        }

        Thread.Sleep(200);   // let tiered JIT finish promoting the hot path before measuring
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 100_000; i < array.Length; i++)
        {
            risk.Process(in array[i]);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(risk.Engine.Sink.Trades > 1_000 && risk.Engine.Sink.Accepted > 10_000, "the flow should trade through the gate");
    }
}
