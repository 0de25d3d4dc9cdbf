using Aivora.Core.Events;
using Aivora.Core.Instruments;
using Aivora.Core.Matching;
using Aivora.Exchange;
using Aivora.Transport.Driver;
using Aivora.Transport.LogBuffer;
using CoreSide = Aivora.Core.Orders.Side;

namespace Aivora.Gateway.MarketData;

/// <summary>Counters of one market-data stream: messages sent, and messages lost because the publication refused them.</summary>
public struct StreamCounters
{
    public long Messages;
    public long Dropped;
    public long Sequence;
}

/// <summary>
/// Market data out, one publication per stream, each stream numbered gap-free by its own sequence:
/// L2 (BookLevelUpdates: one message per instrument per command that changed levels, split only when
/// a command changed more levels than one frame holds), trades (Trades), L3 (BookOrderEvents),
/// status (InstrumentStatus on every state change and with every snapshot round, PriceUpdate,
/// FundingSettled, LiquidationEvent without account ids) and snapshots (BookSnapshot of every instrument, full depth, carrying the L2
/// sequence it reflects). Events of a command are buffered while
/// it runs and encoded in place (TryClaim) when it ends. A message the publication refuses (no
/// subscriber yet, or back-pressure) is dropped, not waited for: its sequence is spent, so a
/// subscriber sees the gap and recovers from the next snapshot.
/// </summary>
public sealed class MarketDataPublisher
{
    private const int MaxPending = 4_096;

    private readonly NetworkPublication _book, _trades, _orders, _status, _snapshots;
    private readonly InstrumentSpec[] _instruments;   // an array: foreach over it allocates no enumerator
    private readonly PendingBookEvent[] _levels = new PendingBookEvent[MaxPending];
    private readonly PendingBookEvent[] _tradeEvents = new PendingBookEvent[MaxPending];
    private readonly PendingBookEvent[] _orderEvents = new PendingBookEvent[MaxPending];
    private readonly LevelView[] _depth;
    private readonly byte[] _snapshotBuffer;
    private int _levelCount, _tradeCount, _orderCount;
    private BufferClaim _claim;

    public StreamCounters Book, Trades, Orders, Status, Snapshots;

    public MarketDataPublisher(NetworkPublication book, NetworkPublication trades, NetworkPublication orders, NetworkPublication status,
        NetworkPublication snapshots, IReadOnlyList<InstrumentSpec> instruments, int maxLevelsPerSide)
    {
        (_book, _trades, _orders, _status, _snapshots) = (book, trades, orders, status, snapshots);
        _instruments = [.. instruments];
        _depth = new LevelView[maxLevelsPerSide];
        _snapshotBuffer = new byte[SbeSchema.HeaderSize + BookSnapshotEncoder.BlockLength + (2 * (4 + (maxLevelsPerSide * 20)))];
    }

    /// <summary>Buffers the command's book events (L2, L3, trades) and writes status events at once.</summary>
    public void OnEvent(in EngineEvent e)
    {
        switch (e.Kind)
        {
            case EventKind.LevelChanged:
                if (_levelCount == MaxPending) FlushLevels();
                Keep(ref _levels[_levelCount++], in e, 0);
                break;
            case EventKind.Trade:
                if (_tradeCount == MaxPending) FlushTrades();
                Keep(ref _tradeEvents[_tradeCount++], in e, e.TradeId);
                // The trade is also its maker's L3 event (the engine sends no other for a fill): changed to what it has left,
                // or removed at 0, on the side opposite the aggressor's, at the trade's price.
                if (_orderCount == MaxPending) FlushOrders();
                KeepMakerAfterFill(ref _orderEvents[_orderCount++], in e);
                break;
            case EventKind.BookOrderAdded:
            case EventKind.BookOrderChanged:
            case EventKind.BookOrderRemoved:
                if (_orderCount == MaxPending) FlushOrders();
                Keep(ref _orderEvents[_orderCount++], in e, e.OrderId);
                break;
            case EventKind.PricesUpdated:
                PriceUpdate(in e);
                break;
            case EventKind.FundingSettled:
                FundingSettled(in e);
                break;
            case EventKind.TradingStateChanged:
                InstrumentStatusOf(e.InstrumentId, e.AsTradingStateChanged().State, e.TimeNs);
                break;
            case EventKind.LiquidationStep:
                LiquidationEvent(in e);
                break;
        }
    }

    /// <summary>Called when a command has run: its buffered book events go out, one message per instrument and stream.</summary>
    public void EndOfCommand()
    {
        if (_levelCount > 0) FlushLevels();
        if (_tradeCount > 0) FlushTrades();
        if (_orderCount > 0) FlushOrders();
    }

    /// <summary>Open interest and last price for PriceUpdate; set by the gateway (the ledger and book own them).</summary>
    public Func<int, long>? OpenInterestOf { get; set; }
    public Func<int, long>? LastPriceOf { get; set; }
    public Func<int, long>? NextFundingOf { get; set; }
    public Func<int, Core.Pricing.IndexState>? IndexStateOf { get; set; }

    private void FlushLevels()
    {
        // Events of one instrument go together; instruments in the order they first appear.
        var n = _levelCount;
        _levelCount = 0;
        const int perFrame = 60;  // 8 + 20 + 4 + 60 x 21 bytes fits an unfragmented frame at the default MTU
        for (var start = 0; start < n; start++)
        {
            var instrument = _levels[start].InstrumentId;
            if (instrument == 0) continue;   // already written with an earlier instrument
            var count = 0;
            for (var i = start; i < n; i++) if (_levels[i].InstrumentId == instrument) count++;
            while (count > 0)
            {
                var batch = Math.Min(count, perFrame);
                count -= batch;
                var length = SbeSchema.HeaderSize + BookLevelUpdatesEncoder.BlockLength + 4 + (batch * 21);
                var sequence = ++Book.Sequence;
                if (!Claim(_book, length, ref Book))
                {
                    Skip(_levels, start, n, instrument, batch);
                    continue;
                }

                var m = BookLevelUpdatesEncoder.Wrap(_claim.Buffer);
                m.Sequence((ulong)sequence);
                m.InstrumentId(instrument);
                var g = m.Levels(batch);
                long time = 0;
                for (int i = start, left = batch; i < n && left > 0; i++)
                {
                    ref var e = ref _levels[i];
                    if (e.InstrumentId != instrument) continue;
                    g.Next();
                    g.Side((Side)e.Side);
                    g.Price(e.PriceTicks);
                    g.Quantity(e.QtyLots);
                    g.OrderCount((uint)e.Count);
                    time = e.TimeNs;
                    e.InstrumentId = 0;
                    left--;
                }

                m.TransactTimeNs((ulong)time);
                _claim.Commit();
                Book.Messages++;
            }
        }
    }

    private void FlushTrades()
    {
        var n = _tradeCount;
        _tradeCount = 0;
        const int perFrame = 40;  // 8 + 12 + 4 + 40 x 34 bytes fits an unfragmented frame at the default MTU
        for (var start = 0; start < n; start++)
        {
            var instrument = _tradeEvents[start].InstrumentId;
            if (instrument == 0) continue;
            var count = 0;
            for (var i = start; i < n; i++) if (_tradeEvents[i].InstrumentId == instrument) count++;
            while (count > 0)
            {
                var batch = Math.Min(count, perFrame);
                count -= batch;
                var sequence = ++Trades.Sequence;
                if (!Claim(_trades, SbeSchema.HeaderSize + TradesEncoder.BlockLength + 4 + (batch * 34), ref Trades))
                {
                    Skip(_tradeEvents, start, n, instrument, batch);
                    continue;
                }

                var m = TradesEncoder.Wrap(_claim.Buffer);
                m.Sequence((ulong)sequence);
                m.InstrumentId(instrument);
                var g = m.Entries(batch);
                for (int i = start, left = batch; i < n && left > 0; i++)
                {
                    ref var e = ref _tradeEvents[i];
                    if (e.InstrumentId != instrument) continue;
                    g.Next();
                    g.TradeId((ulong)e.Id);
                    g.Price(e.PriceTicks);
                    g.Quantity(e.QtyLots);
                    g.AggressorSide((Side)e.Side);
                    g.Liquidation(BooleanType.False);
                    g.TransactTimeNs((ulong)e.TimeNs);
                    e.InstrumentId = 0;
                    left--;
                }

                _claim.Commit();
                Trades.Messages++;
            }
        }
    }

    private void FlushOrders()
    {
        var n = _orderCount;
        _orderCount = 0;
        const int perFrame = 50;  // 8 + 20 + 4 + 50 x 26 bytes
        for (var start = 0; start < n; start++)
        {
            var instrument = _orderEvents[start].InstrumentId;
            if (instrument == 0) continue;
            var count = 0;
            for (var i = start; i < n; i++) if (_orderEvents[i].InstrumentId == instrument) count++;
            while (count > 0)
            {
                var batch = Math.Min(count, perFrame);
                count -= batch;
                var sequence = ++Orders.Sequence;
                if (!Claim(_orders, SbeSchema.HeaderSize + BookOrderEventsEncoder.BlockLength + 4 + (batch * 26), ref Orders))
                {
                    Skip(_orderEvents, start, n, instrument, batch);
                    continue;
                }

                var m = BookOrderEventsEncoder.Wrap(_claim.Buffer);
                m.Sequence((ulong)sequence);
                m.InstrumentId(instrument);
                var g = m.Events(batch);
                long time = 0;
                for (int i = start, left = batch; i < n && left > 0; i++)
                {
                    ref var e = ref _orderEvents[i];
                    if (e.InstrumentId != instrument) continue;
                    g.Next();
                    g.Action(e.Kind switch { EventKind.BookOrderAdded => BookAction.Add, EventKind.BookOrderChanged => BookAction.Change, _ => BookAction.Remove });
                    g.Side((Side)e.Side);
                    g.OrderId((ulong)e.Id);
                    g.Price(e.PriceTicks);
                    g.Quantity(e.Kind == EventKind.BookOrderRemoved ? 0 : e.QtyLots);
                    time = e.TimeNs;
                    e.InstrumentId = 0;
                    left--;
                }

                m.TransactTimeNs((ulong)time);
                _claim.Commit();
                Orders.Messages++;
            }
        }
    }

    /// <summary>
    /// A book event kept until its command ends: the fields its market-data message carries. Copied one field at a time out of
    /// the engine's event, which the engine has just written one field at a time: each load is then served by the store that
    /// wrote it, where a copy of the whole event (two 64-byte loads) cannot be, and waits for all of those stores to reach the
    /// cache first (a store-forwarding stall, three a fill in a sweep).
    /// </summary>
    private struct PendingBookEvent
    {
        public long TimeNs;
        public long PriceTicks;
        public long QtyLots;
        public long Id;            // trades: the trade id; L3: the order id; L2: none
        public int InstrumentId;   // 0 once written or skipped
        public int Count;          // L2: the orders at the level
        public EventKind Kind;     // L3: added, changed or removed
        public CoreSide Side;      // L2 and L3: the book side; trades: the aggressor's
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void Keep(ref PendingBookEvent kept, in EngineEvent e, long id)
    {
        kept.TimeNs = e.TimeNs;
        kept.PriceTicks = e.PriceTicks;
        kept.QtyLots = e.QtyLots;
        kept.Id = id;
        kept.InstrumentId = e.InstrumentId;
        kept.Count = e.Count;
        kept.Kind = e.Kind;
        kept.Side = e.Side;
    }

    /// <summary>A trade's maker as an L3 event (<see cref="Keep"/>'s fields): changed to its remaining lots, or removed.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static void KeepMakerAfterFill(ref PendingBookEvent kept, in EngineEvent trade)
    {
        kept.TimeNs = trade.TimeNs;
        kept.PriceTicks = trade.PriceTicks;
        kept.QtyLots = trade.OtherRemainingLots;
        kept.Id = trade.OtherOrderId;
        kept.InstrumentId = trade.InstrumentId;
        kept.Count = 0;
        kept.Kind = trade.OtherRemainingLots == 0 ? EventKind.BookOrderRemoved : EventKind.BookOrderChanged;
        kept.Side = Aivora.Core.Orders.SideExtensions.Opposite(trade.Side);
    }

    // A batch the publication refused: its events are spent (the subscriber sees the sequence gap).
    private static void Skip(PendingBookEvent[] events, int start, int n, int instrument, int batch)
    {
        for (int i = start, left = batch; i < n && left > 0; i++)
        {
            if (events[i].InstrumentId == instrument)
            {
                events[i].InstrumentId = 0;
                left--;
            }
        }
    }

    private void PriceUpdate(in EngineEvent e)
    {
        var prices = e.AsPricesUpdated();
        var sequence = ++Status.Sequence;
        if (!Claim(_status, SbeSchema.HeaderSize + PriceUpdateEncoder.BlockLength, ref Status)) return;
        var m = PriceUpdateEncoder.Wrap(_claim.Buffer);
        m.Sequence((ulong)sequence);
        m.InstrumentId(prices.InstrumentId);
        m.IndexState((Exchange.IndexState)prices.IndexState);
        if (prices.IndexPriceTicks > 0) m.IndexPrice(prices.IndexPriceTicks);
        if (prices.MarkPriceTicks > 0) m.MarkPrice(prices.MarkPriceTicks);
        var last = LastPriceOf?.Invoke(prices.InstrumentId) ?? 0;
        if (last > 0) m.LastPrice(last);
        m.PredictedFundingRate.Mantissa(prices.PredictedFundingRate);
        var next = NextFundingOf?.Invoke(prices.InstrumentId) ?? 0;
        if (next > 0) m.NextFundingTimeNs((ulong)next);
        m.OpenInterest(OpenInterestOf?.Invoke(prices.InstrumentId) ?? 0);
        m.TransactTimeNs((ulong)prices.TimeNs);
        _claim.Commit();
        Status.Messages++;
    }

    /// <summary>The journal sequence of the command being run (what a liquidation event cites).</summary>
    public long JournalSequence;

    private readonly byte[] _explanation = new byte[Outbound.LiquidationEventWriter.MaxExplanation];

    /// <summary>A liquidation step on the status stream, without account ids (the account's own session gets them).</summary>
    private void LiquidationEvent(in EngineEvent e)
    {
        var length = Outbound.LiquidationEventWriter.Explain(in e, _explanation);
        var sequence = ++Status.Sequence;
        if (!Claim(_status, SbeSchema.HeaderSize + Outbound.LiquidationEventWriter.BodyLength(in e, length), ref Status)) return;
        Outbound.LiquidationEventWriter.Write(_claim.Buffer, in e, (ulong)sequence, (ulong)JournalSequence, 0, 0, _explanation.AsSpan(0, length));
        _claim.Commit();
        Status.Messages++;
    }

    private void FundingSettled(in EngineEvent e)
    {
        var funding = e.AsFundingSettled();
        var sequence = ++Status.Sequence;
        if (!Claim(_status, SbeSchema.HeaderSize + FundingSettledEncoder.BlockLength, ref Status)) return;
        var m = FundingSettledEncoder.Wrap(_claim.Buffer);
        m.Sequence((ulong)sequence);
        m.InstrumentId(funding.InstrumentId);
        m.Rate.Mantissa(funding.Rate);
        m.MarkPrice(funding.MarkPriceTicks);
        m.TotalPaid(funding.TotalPaid);
        m.Residue(funding.ResidueCarried);
        m.FundingTimeNs((ulong)funding.TimeNs);
        _claim.Commit();
        Status.Messages++;
    }

    /// <summary>Reference data and trading state of one instrument on the status stream.</summary>
    public void InstrumentStatusOf(int instrumentId, Core.Instruments.TradingState state, long timeNs)
    {
        InstrumentSpec? spec = null;
        foreach (var s in _instruments) if (s.Id == instrumentId) spec = s;
        if (spec is null) return;
        var sequence = ++Status.Sequence;
        if (!Claim(_status, SbeSchema.HeaderSize + InstrumentStatusEncoder.BlockLength + 2, ref Status)) return;
        var m = InstrumentStatusEncoder.Wrap(_claim.Buffer);
        m.Sequence((ulong)sequence);
        m.InstrumentId(instrumentId);
        m.Symbol(spec.Symbol);
        m.TradingState((Exchange.TradingState)state);
        m.IndexState((Exchange.IndexState)(IndexStateOf?.Invoke(instrumentId) ?? Core.Pricing.IndexState.Healthy));
        m.PriceScale((byte)spec.PriceScale);
        m.QuantityScale((byte)spec.QuantityScale);
        m.TickSize(spec.TickSize);
        m.LotSize(spec.LotSize);
        m.MinQuantity(spec.MinQuantity);
        m.MaxQuantity(spec.MaxQuantity);
        m.TransactTimeNs((ulong)timeNs);
        m.Reason(ReadOnlySpan<byte>.Empty);
        _claim.Commit();
        Status.Messages++;
    }

    /// <summary>
    /// A full-depth snapshot of every instrument on the snapshot stream, each carrying the L2 sequence it
    /// reflects (call between commands: the book is then exactly what the L2 stream has said up to it).
    /// </summary>
    public void PublishSnapshots<TSink, TPositions>(MatchingEngine<TSink, TPositions> engine, long nowNs)
        where TSink : struct, IEngineEventSink
        where TPositions : struct, IPositionKeeper
    {
        foreach (var spec in _instruments)
        {
            // Reference data and state with every snapshot round: a late joiner learns tick and lot sizes,
            // scales and the trading state without waiting for a state change.
            InstrumentStatusOf(spec.Id, engine.GetTradingState(spec.Id), nowNs);
            var m = BookSnapshotEncoder.Wrap(_snapshotBuffer);
            m.Sequence((ulong)Book.Sequence);
            m.InstrumentId(spec.Id);
            m.TransactTimeNs((ulong)nowNs);
            var bids = engine.GetLevels(spec.Id, CoreSide.Buy, _depth);
            var b = m.Bids(bids);
            for (var i = 0; i < bids; i++)
            {
                b.Next();
                b.Price(_depth[i].PriceTicks);
                b.Quantity(_depth[i].TotalLots);
                b.OrderCount((uint)_depth[i].OrderCount);
            }

            var asks = engine.GetLevels(spec.Id, CoreSide.Sell, _depth);
            var a = m.Asks(asks);
            for (var i = 0; i < asks; i++)
            {
                a.Next();
                a.Price(_depth[i].PriceTicks);
                a.Quantity(_depth[i].TotalLots);
                a.OrderCount((uint)_depth[i].OrderCount);
            }

            Snapshots.Sequence++;
            if (_snapshots.Offer(_snapshotBuffer.AsSpan(0, m.EncodedLength)) > 0)
            {
                Snapshots.Messages++;
            }
            else
            {
                Snapshots.Dropped++;
            }
        }
    }

    private bool _snapshotConnected;

    /// <summary>True once each time the snapshot stream goes from no subscriber to one: a first joiner gets a snapshot at once, not at the next period.</summary>
    public bool SnapshotSubscriberJoined()
    {
        var connected = _snapshots.IsConnected;
        var joined = connected && !_snapshotConnected;
        _snapshotConnected = connected;
        return joined;
    }

    private bool Claim(NetworkPublication publication, int length, ref StreamCounters counters)
    {
        if (publication.TryClaim(length, ref _claim) > 0) return true;
        counters.Dropped++;
        return false;
    }
}
