using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Exchange;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Core.Reference;
using Aivora.Core.Risk;
using Aivora.Core.Tests.Flows;
using Aivora.Core.Tests.Risk;
using static Aivora.Core.Tests.EngineHarness;

namespace Aivora.Core.Tests.Matching;

/// <summary>
/// A maker the matching loop fills is released (its ids, its account's list, its slot back to the pool) only when a way into
/// the engine reads what the release changes (<c>MatchingEngine.ReleaseFilledMakers</c>). These drive the engine without the harness's
/// invariant check between commands (which releases them too), so each way in must release by itself: the next command,
/// a step later in the same command (the state machine's stops and cancels come after fills), and the queries.
/// </summary>
public sealed class FilledMakerReleaseTests
{
    private const long Usdt = 1_000_000;

    private static (MatchingEngine<RecordingSink, TrackedPositions> Engine, List<EngineEvent> Events) Engine(int maxResting = 16)
    {
        var events = new List<EngineEvent>();
        var engine = new MatchingEngine<RecordingSink, TrackedPositions>(
            new EngineConfig { Instruments = [DefaultSpec], MaxRestingOrders = maxResting, MaxPriceLevelsPerSide = 100, MaxAccounts = 16 },
            new RecordingSink(events),
            new TrackedPositions(new PositionTracker()));
        return (engine, events);
    }

    private static long Accepted(List<EngineEvent> events, long clientOrderId) =>
        Assert.Single(events, e => e.Kind == EventKind.OrderAccepted && e.ClientOrderId == clientOrderId).OrderId;

    /// <summary>Two asks of account 3 at 10,010 (client ids 31 and 32) and one at 10,050 (33), then account 2 buys both at
    /// 10,010 with an IOC: the sweep fills 31 and 32, and nothing has asked the engine anything since.</summary>
    private static (long Filled1, long Filled2, long Resting) SweepTwoMakers(MatchingEngine<RecordingSink, TrackedPositions> engine, List<EngineEvent> events)
    {
        engine.Process(EngineCommand.Limit(1_000, 3, Btc, 31, Side.Sell, 10_010, 4));
        engine.Process(EngineCommand.Limit(1_001, 3, Btc, 32, Side.Sell, 10_010, 4));
        engine.Process(EngineCommand.Limit(1_002, 3, Btc, 33, Side.Sell, 10_050, 4));
        var ids = (Accepted(events, 31), Accepted(events, 32), Accepted(events, 33));
        events.Clear();
        engine.Process(EngineCommand.Limit(1_003, 2, Btc, 21, Side.Buy, 10_010, 8, TimeInForce.Ioc));
        // Both makers off the book: each trade says its maker has nothing left (no BookOrderRemoved follows a fill).
        Assert.Equal([(ids.Item1, 0L), (ids.Item2, 0L)], events.Where(e => e.Kind == EventKind.Trade).Select(e => (e.OtherOrderId, e.OtherRemainingLots)));
        Assert.DoesNotContain(events, e => e.Kind is EventKind.BookOrderRemoved or EventKind.BookOrderChanged);
        events.Clear();
        return ids;
    }

    [Fact]
    public void ShouldHoldEveryInvariantRightAfterTheSweep()
    {
        var (engine, events) = Engine();
        SweepTwoMakers(engine, events);

        Assert.Null(engine.ValidateInvariants());
    }

    [Fact]
    public void ShouldForgetAFilledGtdMakersExpiryAtItsFill()
    {
        // The node reads the next expiry between commands to know when to tick; the filled maker's must not be it, and must not
        // expire a slot the pool has given out since.
        var (engine, events) = Engine();
        engine.Process(EngineCommand.Place(1_000, 3, Btc, 31, Side.Sell, OrderType.Limit, TimeInForce.Gtd, 10_010, 4, expiryNs: 5_000));
        engine.Process(EngineCommand.Place(1_001, 3, Btc, 32, Side.Sell, OrderType.Limit, TimeInForce.Gtd, 10_050, 4, expiryNs: 9_000));
        Assert.Equal(5_000, engine.NextExpiryNs);

        engine.Process(EngineCommand.Limit(1_002, 2, Btc, 21, Side.Buy, 10_010, 4, TimeInForce.Ioc));

        Assert.Equal(9_000, engine.NextExpiryNs);
        engine.Process(EngineCommand.Limit(1_003, 4, Btc, 41, Side.Buy, 9_990, 4));   // takes the filled maker's slot
        events.Clear();
        engine.Process(EngineCommand.Tick(6_000));
        Assert.Empty(events);
        Assert.Null(engine.ValidateInvariants());
    }

    [Theory]
    [InlineData("by order id")]
    [InlineData("by client order id")]
    [InlineData("live client order id")]
    [InlineData("account's orders")]
    public void ShouldFindNoFilledMakerInAQueryRightAfterTheSweep(string query)
    {
        // Each query first, on an engine of its own: none may lean on another having released the makers.
        var (engine, events) = Engine();
        var (filled1, _, resting) = SweepTwoMakers(engine, events);
        var orders = new OrderView[8];

        switch (query)
        {
            case "by order id":
                Assert.False(engine.TryGetOrder(filled1, out _));
                break;
            case "by client order id":
                Assert.False(engine.TryGetOrderByClientId(3, 32, out _));
                break;
            case "live client order id":
                Assert.False(engine.HasLiveClientOrderId(3, 31));
                break;
            default:
                Assert.Equal([resting], orders.AsSpan(0, engine.AccountOrders(3, orders)).ToArray().Select(o => o.OrderId));
                break;
        }
    }

    [Fact]
    public void ShouldIndexATakerThatRestsInTheCellOfAMakerItFilledAndRemoveTheMakerFromTheDisplacedTable()
    {
        // Five slots make a ring of 16 cells in the order-id index. The maker (id 1) rests while 15 more ids are issued; the
        // taker, id 17, sweeps it and rests in the same command, in the cell id 1 still holds: the maker, not yet released,
        // moves to the displaced table, and its release afterwards must take it from there, not clear the taker's cell.
        var (engine, events) = Engine(maxResting: 4);
        engine.Process(EngineCommand.Limit(1_000, 3, Btc, 0, Side.Sell, 10_010, 4));
        Assert.Equal(1, Accepted(events, 0));
        for (var k = 0; k < 15; k++)
        {
            events.Clear();
            engine.Process(EngineCommand.Limit(1_001 + k, 4, Btc, 0, Side.Buy, 9_900, 2));
            engine.Process(EngineCommand.Cancel(1_001 + k, 4, Accepted(events, 0)));
        }

        events.Clear();
        engine.Process(EngineCommand.Limit(2_000, 2, Btc, 0, Side.Buy, 10_010, 6));
        var taker = Accepted(events, 0);
        Assert.Equal(17, taker);
        Assert.Single(events, e => e.Kind == EventKind.BookOrderAdded && e.OrderId == taker);

        Assert.True(engine.TryGetOrder(taker, out var rested));
        Assert.Equal(2, rested.RemainingLots);
        Assert.False(engine.TryGetOrder(1, out _));
        Assert.Null(engine.ValidateInvariants());
        events.Clear();
        engine.Process(EngineCommand.Cancel(2_001, 2, taker));
        Assert.Single(events, e => e.Kind == EventKind.OrderCancelled && e.OrderId == taker);
        Assert.Null(engine.ValidateInvariants());
    }

    [Fact]
    public void ShouldRejectTheNextCommandsNamingAFilledMakerAndTakeItsClientOrderIdAgain()
    {
        var (engine, events) = Engine();
        var (filled1, _, _) = SweepTwoMakers(engine, events);

        engine.Process(EngineCommand.Cancel(2_000, 3, filled1));
        Assert.Equal(RejectReason.OrderNotActive, RejectOf(events));
        events.Clear();
        engine.Process(EngineCommand.Amend(2_001, 3, 0, 10_020, 4, clientOrderId: 32));
        Assert.Equal(RejectReason.UnknownOrder, RejectOf(events));
        events.Clear();
        engine.Process(EngineCommand.Limit(2_002, 3, Btc, 31, Side.Sell, 10_030, 4));
        var again = Accepted(events, 31);
        Assert.Single(events, e => e.Kind == EventKind.BookOrderAdded && e.OrderId == again);
        Assert.Null(engine.ValidateInvariants());
    }

    [Fact]
    public void ShouldNotResolveAFilledMakerInALaterStepOfTheSameCommand()
    {
        // The state machine resolves an amend's order after its pricing clock ran, whose liquidations may have filled makers in
        // the same command; so does anything it calls after fills. Here the step after the sweep, without a command between.
        var (engine, events) = Engine();
        var (filled1, _, _) = SweepTwoMakers(engine, events);

        Assert.Equal(-1, engine.ResolveOrder(EngineCommand.Cancel(1_003, 3, filled1), out var byOrderId));
        Assert.Equal(RejectReason.OrderNotActive, byOrderId);
        Assert.Equal(-1, engine.ResolveOrder(EngineCommand.Cancel(1_003, 3, 0, clientOrderId: 32), out var byClientId));
        Assert.Equal(RejectReason.UnknownOrder, byClientId);
        Assert.Null(engine.ValidateInvariants());
    }

    [Fact]
    public void ShouldMassCancelOnlyTheRestingOrdersInALaterStepOfTheSameCommand()
    {
        // The liquidation path cancels an account's orders after fills in the same command: its list must not hold the makers
        // the fills emptied by then.
        var (engine, events) = Engine();
        var (_, _, resting) = SweepTwoMakers(engine, events);

        engine.ProcessAtTime(EngineCommand.MassCancel(1_003, 3, Btc, SideFilter.Both));

        Assert.Equal([resting], events.Where(e => e.Kind == EventKind.OrderCancelled).Select(e => e.OrderId));
        Assert.Equal(1, Single(events, EventKind.MassCancelDone).Count);
        Assert.Null(engine.ValidateInvariants());
    }

    [Theory]
    [InlineData(61)]
    [InlineData(62)]
    public void ShouldSendTheSameEventsAndReachTheSameStateAsAMachineThatReleasesAfterEveryCommand(int seed)
    {
        // The release changes nothing an event, a hash or a query shows: the generated flow (places of every kind, GTD and
        // reduce-only among them, amends and cancels by either id, mass cancels) with feeder prices walking and funding,
        // through a state machine left to release when it is next read, and through one made to release after every command.
        // Half the commands that fill a maker are followed by its account racing the fill: a cancel by its order id, an amend
        // by its client order id, or a new order taking that client order id again.
        var (lazy, lazyEvents) = FullStack();
        var (eager, eagerEvents) = FullStack();
        var generator = new CommandFlowGenerator(seed);
        var random = new Random(seed);
        long[] index = [10_000, 50_000];
        long now = 0, trades = 0, races = 0;
        EngineEvent? filled = null;
        for (var i = 0; i < 60_000; i++)
        {
            EngineCommand command;
            if (filled is { } f && random.Next(2) == 0)
            {
                races++;
                command = random.Next(3) switch
                {
                    0 => EngineCommand.Cancel(now, f.OtherAccountId, f.OtherOrderId),
                    1 => EngineCommand.Amend(now, f.OtherAccountId, 0, f.PriceTicks, f.QtyLots, f.OtherClientOrderId),
                    _ => EngineCommand.Limit(now, f.OtherAccountId, f.InstrumentId, f.OtherClientOrderId, f.Side, f.PriceTicks, f.QtyLots),
                };
            }
            else
            {
                var step = generator.Next();
                now = Math.Max(now, step.Command.NowNs);
                command = !step.IsPositionAdjustment ? step.Command
                    : random.Next(4) == 0 ? EngineCommand.Tick(now)
                    : EngineCommand.Feed(now, step.InstrumentId, random.Next(1, 4), index[step.InstrumentId - 1] += random.Next(-20, 21) * (step.InstrumentId == 1 ? 1 : 5));
            }

            lazyEvents.Clear();
            eagerEvents.Clear();
            lazy.Process(in command);
            eager.Process(in command);
            eager.ReleaseFilledMakers();

            Assert.Equal(eagerEvents, lazyEvents);
            filled = null;
            foreach (var e in lazyEvents)
            {
                generator.Observe(in e);
                trades += e.Kind == EventKind.Trade ? 1 : 0;
                if (e.Kind == EventKind.Trade && e.OtherRemainingLots == 0 && e.OtherClientOrderId != 0)
                {
                    filled = e;
                }
            }
        }

        Assert.True(trades > 2_000 && races > 1_000, $"trades {trades}, races {races}");
        Assert.Equal(eager.Engine.StateHash(), lazy.Engine.StateHash());
        Assert.Equal(eager.Ledger.StateHash(), lazy.Ledger.StateHash());
        Assert.Null(lazy.Engine.ValidateInvariants());
    }

    /// <summary>Two contracts on the generated flow's instruments, their pricing from feeders, 14 funded accounts.</summary>
    private static (PerpStateMachine<RecordingSink> Machine, List<EngineEvent> Events) FullStack()
    {
        var events = new List<EngineEvent>();
        var ledger = new Ledger(
        [
            new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(-200, 500) },
            new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 10, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(100, 400) },
        ], 64);
        var machine = new PerpStateMachine<RecordingSink>(CommandFlowGenerator.Config(2_000, 400, 64), ledger, new RiskLimits(),
            new RecordingSink(events), [CommandFlowGenerator.Pricing(1), CommandFlowGenerator.Pricing(2)]);
        for (var account = 1; account <= 14; account++)
        {
            ledger.Deposit(account, (20 + (account * 137 % 1_980)) * 1_000_000L);
        }

        return (machine, events);
    }

    [Fact]
    public void ShouldPlaceTwoFiredStopsThatRestWhenTheSweepThatFiredThemLeftThePoolOnlyTheMakersItFilled()
    {
        // Four resting orders fill the book's four places (five slots: one for the aggressor in flight). An IOC takes both asks
        // and sets the last price both stops watch; each fired stop rests, in the same command. Their two slots are the
        // filled makers': without them released first, the second placement finds the pool empty.
        var v = new StopOrderTests.Venue(maxResting: 4);
        v.Rest(3, Side.Sell, 10_020, 5);
        v.Rest(4, Side.Sell, 10_020, 5);
        v.Rest(5, Side.Buy, 9_900, 5);
        v.Rest(6, Side.Buy, 9_890, 5);
        v.Send(EngineCommand.Triggered(v.Now, 1, 1, 71, Side.Buy, OrderType.StopLimit, triggerPriceTicks: 10_020, qtyLots: 1, limitPriceTicks: 9_950, source: TriggerSource.Last));
        v.Send(EngineCommand.Triggered(v.Now, 7, 1, 72, Side.Buy, OrderType.StopLimit, triggerPriceTicks: 10_020, qtyLots: 1, limitPriceTicks: 9_940, source: TriggerSource.Last));
        Assert.Equal(4, v.Risk.Engine.RestingOrderCount);
        Assert.Equal(2, v.Risk.Stops.Count);

        var events = v.Send(EngineCommand.Place(v.Now, 2, 1, 0, Side.Buy, OrderType.Limit, TimeInForce.Ioc, 10_020, 10));

        Assert.Equal(10, events.Where(e => e.Kind == EventKind.Trade).Sum(e => e.QtyLots));
        Assert.Equal(2, events.Count(e => e.Kind == EventKind.OrderTriggered));
        Assert.Equal([Accepted(events, 71), Accepted(events, 72)], events.Where(e => e.Kind == EventKind.BookOrderAdded).Select(e => e.OrderId));
        Assert.Equal(4, v.Risk.Engine.RestingOrderCount);
        Assert.Null(v.Risk.Engine.ValidateInvariants());
    }
}
