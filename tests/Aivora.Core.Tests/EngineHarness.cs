using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Instruments;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Core.Reference;

namespace Aivora.Core.Tests;

/// <summary>An engine with recorded events and tracked positions, plus terse command helpers.</summary>
internal sealed class EngineHarness
{
    public const int Btc = 1;

    private readonly List<EngineEvent> _events = [];
    private long _nowNs = 1_000;

    public EngineHarness(int maxResting = 1_000, int maxLevels = 100, int maxAccounts = 100, InstrumentSpec? spec = null)
    {
        Spec = spec ?? DefaultSpec;
        Positions = new PositionTracker();
        Engine = new MatchingEngine<RecordingSink, TrackedPositions>(
            new EngineConfig { Instruments = [Spec], MaxRestingOrders = maxResting, MaxPriceLevelsPerSide = maxLevels, MaxAccounts = maxAccounts },
            new RecordingSink(_events),
            new TrackedPositions(Positions));
    }

    public static InstrumentSpec DefaultSpec { get; } = new()
    {
        Id = Btc,
        Symbol = "BTC-PERP",
        TickSize = 5,
        LotSize = 2,
        MinQuantity = 2,
        MaxQuantity = 1_000,
        MaxNotional = 10_000_000,
        Band = PriceBand.InBasisPoints(500),
        ReferencePriceTicks = 10_000,
    };

    public InstrumentSpec Spec { get; }

    public MatchingEngine<RecordingSink, TrackedPositions> Engine { get; }

    public PositionTracker Positions { get; }

    public long NowNs => _nowNs;

    /// <summary>Runs one command and returns exactly the events it produced.</summary>
    public List<EngineEvent> Send(EngineCommand command)
    {
        _events.Clear();
        Engine.Process(in command);
        var invariant = Engine.ValidateInvariants();
        Assert.True(invariant is null, invariant);
        return [.. _events];
    }

    public List<EngineEvent> Limit(int account, Side side, long price, long qty, TimeInForce tif = TimeInForce.Gtc, long clientOrderId = 0,
        OrderFlags flags = OrderFlags.None, SelfTradePrevention stp = SelfTradePrevention.Default, long stpGroup = 0, long expiryNs = 0) =>
        Send(EngineCommand.Place(_nowNs, account, Btc, clientOrderId, side, OrderType.Limit, tif, price, qty, flags, stp, stpGroup, expiryNs));

    public List<EngineEvent> Market(int account, Side side, long qty, TimeInForce tif = TimeInForce.Ioc, OrderFlags flags = OrderFlags.None) =>
        Send(EngineCommand.Place(_nowNs, account, Btc, 0, side, OrderType.Market, tif, 0, qty, flags));

    /// <summary>Places a resting limit order and returns its exchange order id.</summary>
    public long Rest(int account, Side side, long price, long qty, long clientOrderId = 0, OrderFlags flags = OrderFlags.None, long stpGroup = 0)
    {
        var events = Limit(account, side, price, qty, clientOrderId: clientOrderId, flags: flags, stpGroup: stpGroup);
        var accepted = Assert.Single(events, e => e.Kind == EventKind.OrderAccepted);
        Assert.Contains(events, e => e.Kind == EventKind.BookOrderAdded && e.OrderId == accepted.OrderId);
        return accepted.OrderId;
    }

    public List<EngineEvent> Cancel(int account, long orderId) => Send(EngineCommand.Cancel(_nowNs, account, orderId));

    public List<EngineEvent> Amend(int account, long orderId, long price, long qty) => Send(EngineCommand.Amend(_nowNs, account, orderId, price, qty));

    public void AdvanceTo(long nowNs) => _nowNs = nowNs;

    public List<OrderView> Bids => Engine.RestingOrders(Btc, Side.Buy);

    public List<OrderView> Asks => Engine.RestingOrders(Btc, Side.Sell);

    public static List<EngineEvent> OfKind(List<EngineEvent> events, EventKind kind) => [.. events.Where(e => e.Kind == kind)];

    public static EngineEvent Single(List<EngineEvent> events, EventKind kind) => Assert.Single(events, e => e.Kind == kind);

    public static RejectReason RejectOf(List<EngineEvent> events) => (RejectReason)Single(events, EventKind.OrderRejected).Reason;
}
