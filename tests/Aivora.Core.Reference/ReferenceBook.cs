using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Hashing;
using Aivora.Core.Instruments;
using Aivora.Core.Matching;
using Aivora.Core.Orders;

namespace Aivora.Core.Reference;

/// <summary>
/// The obviously-correct book: sorted dictionaries of lists, a dictionary per index, LINQ where it
/// reads best, no pooling, no cleverness. It implements the same rules as the matching engine
/// from their description, so a differential test can compare event streams and state hashes.
/// Slow on purpose; never used outside tests and the benchmark baseline.
/// </summary>
public sealed class ReferenceBook
{
    private sealed class Order
    {
        public long OrderId;
        public long ClientOrderId;
        public int AccountId;
        public Instrument Instrument = null!;
        public Side Side;
        public long Price;
        public long Qty;
        public long Filled;
        public TimeInForce Tif;
        public OrderFlags Flags;
        public SelfTradePrevention Stp;
        public long StpGroup;
        public long Expiry;

        public long Remaining => Qty - Filled;

        public bool ReduceOnly => Flags.HasFlag(OrderFlags.ReduceOnly);

        public bool PostOnly => (Flags & (OrderFlags.PostOnly | OrderFlags.PostOnlySlide)) != 0;
    }

    private sealed class Instrument
    {
        public InstrumentSpec Spec = null!;
        public TradingState State;
        public long ReferencePrice;

        // Best first on both sides.
        public SortedDictionary<long, List<Order>> Bids = new(Comparer<long>.Create((a, b) => b.CompareTo(a)));
        public SortedDictionary<long, List<Order>> Asks = new();

        public SortedDictionary<long, List<Order>> SideOf(Side side) => side == Side.Buy ? Bids : Asks;
    }

    private readonly List<Instrument> _instruments = [];
    private readonly Dictionary<long, Order> _byId = [];
    private readonly Dictionary<(int, long), Order> _byClientId = [];
    private readonly HashSet<int> _accounts = [];
    private readonly SortedSet<(long Expiry, long OrderId)> _expiries = [];
    private readonly HashSet<long> _restingReduceOnly = [];
    private readonly int _maxResting;
    private readonly int _maxLevels;
    private readonly int _maxAccounts;
    private readonly IReferencePositions _positions;
    private readonly Action<EngineEvent> _emit;
    private long _nextOrderId = 1;
    private long _nextTradeId = 1;
    private long _now;

    public ReferenceBook(EngineConfig config, IReferencePositions positions, Action<EngineEvent> emit)
    {
        config.Validate();
        foreach (var spec in config.Instruments)
        {
            _instruments.Add(new Instrument { Spec = spec, State = spec.InitialState, ReferencePrice = spec.ReferencePriceTicks });
        }

        _maxResting = config.MaxRestingOrders;
        _maxLevels = config.MaxPriceLevelsPerSide;
        _maxAccounts = config.MaxAccounts;
        _positions = positions;
        _emit = emit;
    }

    private int RestingCount => _instruments.Sum(i => i.Bids.Values.Sum(l => l.Count) + i.Asks.Values.Sum(l => l.Count));

    private Instrument? Find(int id) => _instruments.FirstOrDefault(i => i.Spec.Id == id);

    public void Process(EngineCommand c)
    {
        _now = Math.Max(_now, c.NowNs);
        while (_expiries.Count > 0 && _expiries.Min.Expiry <= _now)
        {
            var o = _byId[_expiries.Min.OrderId];
            Emit(new EngineEvent { Kind = EventKind.OrderExpired, Reason = (byte)CancelReason.Expiry, OrderId = o.OrderId, ClientOrderId = o.ClientOrderId, AccountId = o.AccountId, InstrumentId = o.Instrument.Spec.Id, Side = o.Side, PriceTicks = o.Price, QtyLots = o.Remaining });
            TakeOffBook(o);
            Forget(o);
        }

        switch (c.Kind)
        {
            case CommandKind.PlaceOrder: Place(c); break;
            case CommandKind.CancelOrder: Cancel(c); break;
            case CommandKind.AmendOrder: Amend(c); break;
            case CommandKind.ReduceOrder: Reduce(c); break;
            case CommandKind.MassCancel: MassCancel(c); break;
            case CommandKind.SetTradingState: SetState(c); break;
            case CommandKind.SetReferencePrice: SetReference(c); break;
            case CommandKind.AdvanceTime: break;
            default: Reject(c, RejectReason.UnknownCommand); break;
        }
    }

    // ---------------------------------------------------------------- commands

    private void Place(EngineCommand c)
    {
        var instrument = Find(c.InstrumentId);
        if (instrument is null)
        {
            Reject(c, RejectReason.UnknownInstrument);
            return;
        }

        var price = c.PriceTicks;
        var reason = ValidateNew(instrument, c, ref price);
        if (reason == RejectReason.None && !_accounts.Contains(c.AccountId) && _accounts.Count >= _maxAccounts)
        {
            reason = RejectReason.CapacityAccounts;
        }

        if (reason == RejectReason.None && c.ClientOrderId != 0 && _byClientId.ContainsKey((c.AccountId, c.ClientOrderId)))
        {
            reason = RejectReason.DuplicateClientOrderId;
        }

        if (reason == RejectReason.None && (c.TimeInForce is TimeInForce.Gtc or TimeInForce.Gtd) && RestingCount >= _maxResting)
        {
            reason = RejectReason.CapacityOrders;
        }

        if (reason == RejectReason.None && c.Flags.HasFlag(OrderFlags.ReduceOnly) && _positions.Allowance(c.AccountId, c.InstrumentId, c.Side) <= 0)
        {
            reason = RejectReason.ReduceOnlyWouldIncrease;
        }

        if (reason == RejectReason.None && (c.Flags & (OrderFlags.PostOnly | OrderFlags.PostOnlySlide)) != 0 && WouldCross(instrument, c.Side, price))
        {
            var touch = instrument.SideOf(Opposite(c.Side)).First().Key;
            var slid = c.Side == Side.Buy ? touch - instrument.Spec.TickSize : touch + instrument.Spec.TickSize;
            if (c.Flags.HasFlag(OrderFlags.PostOnlySlide) && slid > 0)
            {
                price = slid;
            }
            else
            {
                reason = RejectReason.PostOnlyWouldTake;
            }
        }

        if (reason != RejectReason.None)
        {
            Reject(c, reason);
            return;
        }

        _accounts.Add(c.AccountId);
        var order = new Order
        {
            OrderId = _nextOrderId++,
            ClientOrderId = c.ClientOrderId,
            AccountId = c.AccountId,
            Instrument = instrument,
            Side = c.Side,
            Price = price,
            Qty = c.QtyLots,
            Tif = c.Type == OrderType.Market && c.TimeInForce == TimeInForce.Gtc ? TimeInForce.Ioc : c.TimeInForce,
            Flags = c.Flags,
            Stp = c.Stp == SelfTradePrevention.Default ? SelfTradePrevention.ExpireMaker : c.Stp,
            StpGroup = c.StpGroup,
            Expiry = c.ExpiryNs,
        };

        Emit(new EngineEvent { Kind = EventKind.OrderAccepted, OrderId = order.OrderId, ClientOrderId = order.ClientOrderId, AccountId = order.AccountId, InstrumentId = c.InstrumentId, Side = order.Side, PriceTicks = price, QtyLots = order.Qty });
        if (order.Tif == TimeInForce.Fok && !FokCanFill(order))
        {
            EmitEnd(EventKind.OrderCancelled, order, CancelReason.FillOrKill);
            return;
        }

        _byId[order.OrderId] = order;
        if (order.ClientOrderId != 0)
        {
            _byClientId[(order.AccountId, order.ClientOrderId)] = order;
        }

        MatchAndFinish(order);
    }

    private void Cancel(EngineCommand c)
    {
        var order = Resolve(c, out var reason);
        if (order is null)
        {
            Reject(c, reason);
            return;
        }

        EmitEnd(EventKind.OrderCancelled, order, CancelReason.User);
        TakeOffBook(order);
        Forget(order);
    }

    private void Amend(EngineCommand c)
    {
        var order = Resolve(c, out var reason);
        if (order is null)
        {
            Reject(c, reason);
            return;
        }

        var instrument = order.Instrument;
        var newPrice = c.PriceTicks == 0 ? order.Price : c.PriceTicks;
        var newQty = c.QtyLots == 0 ? order.Qty : c.QtyLots;
        reason = RejectReason.None;
        if (instrument.State == TradingState.Halted)
        {
            reason = RejectReason.InstrumentHalted;
        }
        else if (newQty <= 0)
        {
            reason = RejectReason.InvalidQuantity;
        }
        else if (newQty <= order.Filled)
        {
            EmitEnd(EventKind.OrderCancelled, order, CancelReason.User);
            TakeOffBook(order);
            Forget(order);
            return;
        }
        else
        {
            reason = PriceProblem(instrument, newPrice);
            if (reason == RejectReason.None)
            {
                reason = QuantityProblem(instrument, newQty);
            }

            if (reason == RejectReason.None && (Int128)newPrice * newQty > instrument.Spec.MaxNotional)
            {
                reason = RejectReason.NotionalAboveMaximum;
            }

            if (reason == RejectReason.None && instrument.State == TradingState.CloseOnly && !order.ReduceOnly && (newQty > order.Qty || newPrice != order.Price))
            {
                reason = RejectReason.InstrumentCloseOnly;
            }

            if (reason == RejectReason.None && newPrice == order.Price && newQty == order.Qty)
            {
                reason = RejectReason.AmendNoChange;
            }

            if (reason == RejectReason.None && newPrice != order.Price && order.PostOnly && WouldCross(instrument, order.Side, newPrice))
            {
                reason = RejectReason.PostOnlyWouldTake;
            }
        }

        if (reason != RejectReason.None)
        {
            Reject(c, reason);
            return;
        }

        var queue = instrument.SideOf(order.Side)[order.Price];
        if (newPrice == order.Price)
        {
            var keep = newQty < order.Qty;
            EmitAmended(order, newPrice, newQty, keep);
            if (keep)
            {
                order.Qty = newQty;
                EmitBook(EventKind.BookOrderChanged, order);
            }
            else
            {
                EmitBook(EventKind.BookOrderRemoved, order);
                queue.Remove(order);
                order.Qty = newQty;
                queue.Add(order);
                EmitBook(EventKind.BookOrderAdded, order);
            }

            EmitLevel(instrument, order.Side, order.Price);
            return;
        }

        EmitAmended(order, newPrice, newQty, false);
        TakeOffBook(order);
        order.Price = newPrice;
        order.Qty = newQty;
        MatchAndFinish(order);
    }

    private void Reduce(EngineCommand c)
    {
        var order = Resolve(c, out var reason);
        if (order is null)
        {
            Reject(c, reason);
        }
        else if (c.QtyLots <= 0)
        {
            Reject(c, RejectReason.InvalidQuantity);
        }
        else if (c.QtyLots % order.Instrument.Spec.LotSize != 0)
        {
            Reject(c, RejectReason.QuantityOffLotGrid);
        }
        else if (c.QtyLots >= order.Remaining)
        {
            EmitEnd(EventKind.OrderCancelled, order, CancelReason.User);
            TakeOffBook(order);
            Forget(order);
        }
        else
        {
            order.Qty -= c.QtyLots;
            EmitAmended(order, order.Price, order.Qty, true);
            EmitBook(EventKind.BookOrderChanged, order);
            EmitLevel(order.Instrument, order.Side, order.Price);
        }
    }

    private void MassCancel(EngineCommand c)
    {
        if (c.AccountId < 0)
        {
            Reject(c, RejectReason.InvalidAccount);
            return;
        }

        if (c.SideFilter > SideFilter.Both)
        {
            Reject(c, RejectReason.InvalidSide);
            return;
        }

        if (c.InstrumentId != 0 && Find(c.InstrumentId) is null)
        {
            Reject(c, RejectReason.UnknownInstrument);
            return;
        }

        bool Selected(Order o) =>
            (c.InstrumentId == 0 || o.Instrument.Spec.Id == c.InstrumentId) &&
            (c.SideFilter == SideFilter.Both || (byte)c.SideFilter == (byte)o.Side);

        List<Order> victims;
        if (c.AccountId != 0)
        {
            victims = [.. _byId.Values.Where(o => o.AccountId == c.AccountId && Selected(o)).OrderBy(o => o.OrderId)];
        }
        else
        {
            victims = [];
            foreach (var instrument in _instruments)
            {
                victims.AddRange(instrument.Bids.Values.SelectMany(l => l).Where(Selected));
                victims.AddRange(instrument.Asks.Values.SelectMany(l => l).Where(Selected));
            }
        }

        foreach (var o in victims)
        {
            EmitEnd(EventKind.OrderCancelled, o, CancelReason.MassCancel);
            TakeOffBook(o);
            Forget(o);
        }

        Emit(new EngineEvent { Kind = EventKind.MassCancelDone, AccountId = c.AccountId, InstrumentId = c.InstrumentId, Reason = (byte)c.SideFilter, Count = victims.Count });
    }

    private void SetState(EngineCommand c)
    {
        var instrument = Find(c.InstrumentId);
        if (instrument is null)
        {
            Reject(c, RejectReason.UnknownInstrument);
        }
        else if (c.TradingState > TradingState.Halted)
        {
            Reject(c, RejectReason.InvalidTradingState);
        }
        else
        {
            instrument.State = c.TradingState;
            Emit(new EngineEvent { Kind = EventKind.TradingStateChanged, InstrumentId = c.InstrumentId, Reason = (byte)c.TradingState });
        }
    }

    private void SetReference(EngineCommand c)
    {
        var instrument = Find(c.InstrumentId);
        if (instrument is null)
        {
            Reject(c, RejectReason.UnknownInstrument);
        }
        else if (c.PriceTicks <= 0)
        {
            Reject(c, RejectReason.InvalidPrice);
        }
        else
        {
            instrument.ReferencePrice = c.PriceTicks;
            Emit(new EngineEvent { Kind = EventKind.ReferencePriceChanged, InstrumentId = c.InstrumentId, PriceTicks = c.PriceTicks });
        }
    }

    // ---------------------------------------------------------------- rules

    private RejectReason ValidateNew(Instrument instrument, EngineCommand c, ref long price)
    {
        var postOnly = (c.Flags & (OrderFlags.PostOnly | OrderFlags.PostOnlySlide)) != 0;
        var immediate = c.TimeInForce is TimeInForce.Ioc or TimeInForce.Fok;
        if (c.AccountId <= 0) { return RejectReason.InvalidAccount; }
        if (c.Side is not (Side.Buy or Side.Sell)) { return RejectReason.InvalidSide; }
        if (c.Type is not (OrderType.Limit or OrderType.Market) || (c.Flags & ~(OrderFlags.PostOnly | OrderFlags.PostOnlySlide | OrderFlags.ReduceOnly | OrderFlags.NoWhatIfs)) != 0) { return RejectReason.InvalidOrderType; }
        if (c.TimeInForce is not (TimeInForce.Gtc or TimeInForce.Ioc or TimeInForce.Fok or TimeInForce.Gtd)) { return RejectReason.InvalidTimeInForce; }
        if (c.Type == OrderType.Market && (c.TimeInForce == TimeInForce.Gtd || postOnly)) { return RejectReason.InvalidTimeInForce; }
        if (postOnly && immediate) { return RejectReason.InvalidTimeInForce; }
        if (c.Stp > SelfTradePrevention.None) { return RejectReason.InvalidSelfTradePrevention; }
        if (instrument.State == TradingState.Halted) { return RejectReason.InstrumentHalted; }
        if (instrument.State == TradingState.CloseOnly && !c.Flags.HasFlag(OrderFlags.ReduceOnly)) { return RejectReason.InstrumentCloseOnly; }

        if (c.Type == OrderType.Market)
        {
            if (instrument.ReferencePrice <= 0) { return RejectReason.NoReferencePrice; }
            price = MarketProtection(instrument, c.Side);
        }
        else
        {
            var priceProblem = PriceProblem(instrument, price);
            if (priceProblem != RejectReason.None) { return priceProblem; }
        }

        var qtyProblem = QuantityProblem(instrument, c.QtyLots);
        if (qtyProblem != RejectReason.None) { return qtyProblem; }

        if ((Int128)price * c.QtyLots > instrument.Spec.MaxNotional) { return RejectReason.NotionalAboveMaximum; }
        if (c.TimeInForce == TimeInForce.Gtd && c.ExpiryNs <= _now) { return RejectReason.InvalidExpiry; }
        if (c.TimeInForce != TimeInForce.Gtd && c.ExpiryNs != 0) { return RejectReason.InvalidExpiry; }
        return RejectReason.None;
    }

    private static RejectReason QuantityProblem(Instrument instrument, long qty) =>
        qty <= 0 ? RejectReason.InvalidQuantity
        : qty % instrument.Spec.LotSize != 0 ? RejectReason.QuantityOffLotGrid
        : qty < instrument.Spec.MinQuantity ? RejectReason.QuantityBelowMinimum
        : qty > instrument.Spec.MaxQuantity ? RejectReason.QuantityAboveMaximum
        : RejectReason.None;

    private static RejectReason PriceProblem(Instrument instrument, long price)
    {
        if (price <= 0) { return RejectReason.InvalidPrice; }
        if (price % instrument.Spec.TickSize != 0) { return RejectReason.PriceOffTickGrid; }
        if (instrument.ReferencePrice > 0 && Math.Abs(price - instrument.ReferencePrice) > instrument.Spec.Band.WidthTicks(instrument.ReferencePrice))
        {
            return RejectReason.PriceOutsideBand;
        }

        return RejectReason.None;
    }

    private static long MarketProtection(Instrument instrument, Side side)
    {
        var tick = instrument.Spec.TickSize;
        var width = instrument.Spec.Band.WidthTicks(instrument.ReferencePrice);
        if (side == Side.Buy)
        {
            var highest = (instrument.ReferencePrice + width) / tick * tick;
            return Math.Max(tick, highest);
        }

        var lowest = instrument.ReferencePrice - width;
        var onGrid = (lowest + tick - 1) / tick * tick;
        return Math.Max(tick, onGrid);
    }

    private static Side Opposite(Side side) => side == Side.Buy ? Side.Sell : Side.Buy;

    private static bool Crosses(Side aggressor, long limit, long restingPrice) =>
        aggressor == Side.Buy ? restingPrice <= limit : restingPrice >= limit;

    private static bool WouldCross(Instrument instrument, Side side, long price)
    {
        var opposite = instrument.SideOf(Opposite(side));
        return opposite.Count > 0 && Crosses(side, price, opposite.First().Key);
    }

    private bool IsSelf(Order taker, Order maker) =>
        maker.AccountId == taker.AccountId || (taker.StpGroup != 0 && maker.StpGroup == taker.StpGroup);

    private bool FokCanFill(Order taker)
    {
        if (taker.ReduceOnly && _positions.Allowance(taker.AccountId, taker.Instrument.Spec.Id, taker.Side) < taker.Qty)
        {
            return false;
        }

        long available = 0;
        foreach (var (price, queue) in taker.Instrument.SideOf(Opposite(taker.Side)))
        {
            if (!Crosses(taker.Side, taker.Price, price))
            {
                break;
            }

            foreach (var maker in queue)
            {
                if (taker.Stp != SelfTradePrevention.None && IsSelf(taker, maker))
                {
                    if (taker.Stp == SelfTradePrevention.ExpireMaker)
                    {
                        continue;
                    }

                    return false;
                }

                if (!maker.ReduceOnly)
                {
                    available += maker.Remaining;
                    if (available >= taker.Qty)
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    /// <summary>Matching, the aggressor's end, then reduce-only trimming of every account that traded.</summary>
    private void MatchAndFinish(Order taker)
    {
        var traded = new List<int>();
        MatchAndFinishAggressor(taker, traded);
        if (_restingReduceOnly.Count == 0)
        {
            return;   // nothing that could need trimming
        }

        foreach (var account in traded)
        {
            Trim(taker.Instrument, account, Side.Sell);
            Trim(taker.Instrument, account, Side.Buy);
        }
    }

    /// <summary>Cuts the account's resting reduce-only orders on one side back to its allowance: worst price first, then newest.</summary>
    private void Trim(Instrument instrument, int account, Side side)
    {
        var orders = instrument.SideOf(side).Values.SelectMany(q => q).Where(o => o.AccountId == account && o.ReduceOnly).ToList();
        var excess = orders.Sum(o => o.Remaining) - _positions.Allowance(account, instrument.Spec.Id, side);
        var leastAggressiveFirst = orders.OrderBy(o => side == Side.Sell ? -o.Price : o.Price).ThenByDescending(o => o.OrderId);
        foreach (var o in leastAggressiveFirst)
        {
            if (excess <= 0)
            {
                break;
            }

            if (o.Remaining <= excess)
            {
                excess -= o.Remaining;
                EmitEnd(EventKind.OrderCancelled, o, CancelReason.ReduceOnly);
                TakeOffBook(o);
                Forget(o);
            }
            else
            {
                o.Qty -= excess;
                excess = 0;
                EmitAmended(o, o.Price, o.Qty, true);
                EmitBook(EventKind.BookOrderChanged, o);
                EmitLevel(instrument, o.Side, o.Price);
            }
        }
    }

    private void MatchAndFinishAggressor(Order taker, List<int> traded)
    {
        var instrument = taker.Instrument;
        var book = instrument.SideOf(Opposite(taker.Side));
        CancelReason? stoppedBy = null;
        while (taker.Remaining > 0 && stoppedBy is null && book.Count > 0 && Crosses(taker.Side, taker.Price, book.First().Key))
        {
            var (price, queue) = book.First();
            var i = 0;
            while (i < queue.Count && taker.Remaining > 0)
            {
                var maker = queue[i];
                var qty = Math.Min(taker.Remaining, maker.Remaining);
                if (taker.Stp != SelfTradePrevention.None && IsSelf(taker, maker))
                {
                    Emit(new EngineEvent { Kind = EventKind.SelfTradePrevented, Reason = (byte)taker.Stp, InstrumentId = instrument.Spec.Id, Side = taker.Side, OrderId = taker.OrderId, AccountId = taker.AccountId, OtherOrderId = maker.OrderId, OtherAccountId = maker.AccountId, QtyLots = qty });
                    var cancelMaker = taker.Stp is SelfTradePrevention.ExpireMaker or SelfTradePrevention.ExpireBoth ||
                                      (taker.Stp == SelfTradePrevention.DecrementAndCancel && maker.Remaining == qty);
                    var stopTaker = taker.Stp is SelfTradePrevention.ExpireTaker or SelfTradePrevention.ExpireBoth ||
                                    (taker.Stp == SelfTradePrevention.DecrementAndCancel && taker.Remaining == qty);
                    if (taker.Stp == SelfTradePrevention.DecrementAndCancel && !cancelMaker)
                    {
                        maker.Qty -= qty;
                        EmitBook(EventKind.BookOrderChanged, maker);
                    }

                    if (cancelMaker)
                    {
                        EmitEnd(EventKind.OrderCancelled, maker, CancelReason.SelfTradePrevention);
                        EmitBook(EventKind.BookOrderRemoved, maker);
                        queue.RemoveAt(i);
                        Forget(maker);
                    }

                    if (stopTaker)
                    {
                        stoppedBy = CancelReason.SelfTradePrevention;
                        break;
                    }

                    if (taker.Stp == SelfTradePrevention.DecrementAndCancel)
                    {
                        taker.Qty -= qty;
                    }

                    continue;
                }

                if (taker.ReduceOnly)
                {
                    var allowance = _positions.Allowance(taker.AccountId, instrument.Spec.Id, taker.Side);
                    if (allowance <= 0)
                    {
                        stoppedBy = CancelReason.ReduceOnly;
                        break;
                    }

                    qty = Math.Min(qty, allowance);
                }

                if (maker.ReduceOnly)
                {
                    var allowance = _positions.Allowance(maker.AccountId, instrument.Spec.Id, maker.Side);
                    if (allowance <= 0)
                    {
                        EmitEnd(EventKind.OrderCancelled, maker, CancelReason.ReduceOnly);
                        EmitBook(EventKind.BookOrderRemoved, maker);
                        queue.RemoveAt(i);
                        Forget(maker);
                        continue;
                    }

                    qty = Math.Min(qty, allowance);
                }

                maker.Filled += qty;
                taker.Filled += qty;
                _positions.OnFill(taker.AccountId, instrument.Spec.Id, taker.Side, qty);
                _positions.OnFill(maker.AccountId, instrument.Spec.Id, maker.Side, qty);
                foreach (var account in new[] { taker.AccountId, maker.AccountId })
                {
                    if (!traded.Contains(account))
                    {
                        traded.Add(account);
                    }
                }
                Emit(new EngineEvent
                {
                    Kind = EventKind.Trade,
                    TradeId = _nextTradeId++,
                    InstrumentId = instrument.Spec.Id,
                    PriceTicks = price,
                    QtyLots = qty,
                    Side = taker.Side,
                    OrderId = taker.OrderId,
                    AccountId = taker.AccountId,
                    ClientOrderId = taker.ClientOrderId,
                    OtherOrderId = maker.OrderId,
                    OtherAccountId = maker.AccountId,
                    OtherClientOrderId = maker.ClientOrderId,
                    RemainingLots = taker.Remaining,
                    OtherRemainingLots = maker.Remaining,
                    Required = taker.Filled,
                    Available = maker.Filled,
                });

                // The trade is the maker's L3 event: no BookOrderChanged or BookOrderRemoved follows a fill.
                if (maker.Remaining == 0)
                {
                    queue.RemoveAt(i);
                    Forget(maker);
                }
            }

            EmitLevel(instrument, Opposite(taker.Side), price, queue);
            if (queue.Count == 0)
            {
                book.Remove(price);
            }
        }

        if (stoppedBy is { } why)
        {
            EmitEnd(EventKind.OrderCancelled, taker, why);
            Forget(taker);
        }
        else if (taker.Remaining == 0)
        {
            Forget(taker);
        }
        else if (taker.Tif is TimeInForce.Ioc or TimeInForce.Fok)
        {
            EmitEnd(EventKind.OrderCancelled, taker, taker.Tif == TimeInForce.Fok ? CancelReason.FillOrKill : CancelReason.IocRemainder);
            Forget(taker);
        }
        else
        {
            var own = instrument.SideOf(taker.Side);
            if (!own.TryGetValue(taker.Price, out var queue))
            {
                if (own.Count >= _maxLevels)
                {
                    EmitEnd(EventKind.OrderCancelled, taker, CancelReason.Capacity);
                    Forget(taker);
                    return;
                }

                queue = [];
                own[taker.Price] = queue;
            }

            queue.Add(taker);
            if (taker.ReduceOnly)
            {
                _restingReduceOnly.Add(taker.OrderId);
            }

            EmitBook(EventKind.BookOrderAdded, taker);
            EmitLevel(instrument, taker.Side, taker.Price);
            if (taker.Tif == TimeInForce.Gtd)
            {
                _expiries.Add((taker.Expiry, taker.OrderId));
            }
        }
    }

    private Order? Resolve(EngineCommand c, out RejectReason reason)
    {
        reason = RejectReason.UnknownOrder;
        if (c.OrderId != 0)
        {
            if (_byId.TryGetValue(c.OrderId, out var byId))
            {
                return byId.AccountId == c.AccountId ? byId : null;
            }

            if (c.OrderId > 0 && c.OrderId < _nextOrderId)
            {
                reason = RejectReason.OrderNotActive;
            }

            return null;
        }

        return c.ClientOrderId != 0 && _byClientId.TryGetValue((c.AccountId, c.ClientOrderId), out var byClient) ? byClient : null;
    }

    /// <summary>Removes a resting order from its queue: BookOrderRemoved, then LevelChanged.</summary>
    private void TakeOffBook(Order o)
    {
        var side = o.Instrument.SideOf(o.Side);
        var queue = side[o.Price];
        EmitBook(EventKind.BookOrderRemoved, o);
        queue.Remove(o);
        EmitLevel(o.Instrument, o.Side, o.Price, queue);
        if (queue.Count == 0)
        {
            side.Remove(o.Price);
        }
    }

    private void Forget(Order o)
    {
        _restingReduceOnly.Remove(o.OrderId);
        _byId.Remove(o.OrderId);
        if (o.ClientOrderId != 0)
        {
            _byClientId.Remove((o.AccountId, o.ClientOrderId));
        }

        _expiries.Remove((o.Expiry, o.OrderId));
    }

    // ---------------------------------------------------------------- events

    private void Emit(EngineEvent e)
    {
        e.TimeNs = _now;
        _emit(e);
    }

    private void Reject(EngineCommand c, RejectReason reason) => Emit(new EngineEvent
    {
        Kind = EventKind.OrderRejected,
        Reason = (byte)reason,
        Reason2 = (byte)c.Kind,
        OrderId = c.OrderId,
        ClientOrderId = c.ClientOrderId,
        AccountId = c.AccountId,
        InstrumentId = c.InstrumentId,
        Side = c.Side,
        PriceTicks = c.PriceTicks,
        QtyLots = c.QtyLots,
    });

    private void EmitEnd(EventKind kind, Order o, CancelReason reason) => Emit(new EngineEvent
    {
        Kind = kind,
        Reason = (byte)reason,
        OrderId = o.OrderId,
        ClientOrderId = o.ClientOrderId,
        AccountId = o.AccountId,
        InstrumentId = o.Instrument.Spec.Id,
        Side = o.Side,
        PriceTicks = o.Price,
        QtyLots = o.Remaining,
    });

    private void EmitAmended(Order o, long price, long qty, bool kept) => Emit(new EngineEvent
    {
        Kind = EventKind.OrderAmended,
        OrderId = o.OrderId,
        ClientOrderId = o.ClientOrderId,
        AccountId = o.AccountId,
        InstrumentId = o.Instrument.Spec.Id,
        Side = o.Side,
        PriceTicks = price,
        QtyLots = qty,
        RemainingLots = qty - o.Filled,
        Flag = kept,
    });

    private void EmitBook(EventKind kind, Order o) => Emit(new EngineEvent
    {
        Kind = kind,
        InstrumentId = o.Instrument.Spec.Id,
        OrderId = o.OrderId,
        Side = o.Side,
        PriceTicks = o.Price,
        QtyLots = kind == EventKind.BookOrderRemoved ? 0 : o.Remaining,
    });

    private void EmitLevel(Instrument instrument, Side side, long price) =>
        EmitLevel(instrument, side, price, instrument.SideOf(side).GetValueOrDefault(price) ?? []);

    private void EmitLevel(Instrument instrument, Side side, long price, List<Order> queue) => Emit(new EngineEvent
    {
        Kind = EventKind.LevelChanged,
        InstrumentId = instrument.Spec.Id,
        Side = side,
        PriceTicks = price,
        QtyLots = queue.Sum(o => o.Remaining),
        Count = queue.Count,
    });

    // ---------------------------------------------------------------- state

    /// <summary>Same folding order as <c>MatchingEngine.StateHash</c>.</summary>
    public ulong StateHash()
    {
        var h = new StateHasher();
        foreach (var instrument in _instruments)
        {
            h.Add(instrument.Spec.Id);
            h.Add((long)instrument.State);
            h.Add(instrument.ReferencePrice);
            foreach (var side in new[] { instrument.Bids, instrument.Asks })
            {
                h.Add(side.Count);
                foreach (var (price, queue) in side)
                {
                    h.Add(price);
                    h.Add(queue.Sum(o => o.Remaining));
                    h.Add(queue.Count);
                    foreach (var o in queue)
                    {
                        foreach (var v in new long[] { o.OrderId, o.ClientOrderId, o.AccountId, (long)o.Side, o.Price, o.Qty, o.Filled, (long)o.Tif, (long)o.Flags, (long)o.Stp, o.StpGroup, o.Expiry })
                        {
                            h.Add(v);
                        }
                    }
                }
            }
        }

        h.Add(_nextOrderId);
        h.Add(_nextTradeId);
        h.Add(_now);
        return h.Value;
    }

    public int LiveOrderCount => _byId.Count;

    public long BestPrice(int instrumentId, Side side)
    {
        var levels = Find(instrumentId)!.SideOf(side);
        return levels.Count == 0 ? 0 : levels.First().Key;
    }

    public int RestingOrders(int instrumentId, Side side) => Find(instrumentId)!.SideOf(side).Values.Sum(q => q.Count);
}
