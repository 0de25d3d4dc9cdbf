using Aivora.Exchange;
using Aivora.Transport.Driver;
using Aivora.Transport.Subscription;

namespace Aivora.Client.MarketData;

/// <summary>The node's market-data channels (the defaults are the node's embedded configuration).</summary>
public sealed record MarketDataOptions
{
    public string BookChannel { get; init; } = "aeron:udp?endpoint=239.255.20.1:40111|interface=127.0.0.1";
    public int BookStreamId { get; init; } = 101;
    public string TradesChannel { get; init; } = "aeron:udp?endpoint=239.255.20.3:40113|interface=127.0.0.1";
    public int TradesStreamId { get; init; } = 102;
    public string StatusChannel { get; init; } = "aeron:udp?endpoint=239.255.20.7:40117|interface=127.0.0.1";
    public int StatusStreamId { get; init; } = 104;
    public string SnapshotChannel { get; init; } = "aeron:udp?endpoint=239.255.20.9:40119|interface=127.0.0.1";
    public int SnapshotStreamId { get; init; } = 105;
}

/// <summary>An instrument's reference data and state, as the status stream last said.</summary>
public readonly record struct InstrumentInfo(int InstrumentId, string Symbol, TradingState TradingState, IndexState IndexState,
    int PriceScale, int QuantityScale, long TickSize, long LotSize, long MinQuantity, long MaxQuantity);

/// <summary>Per-stream figures as the client saw them.</summary>
public struct StreamStats
{
    public long Messages, Gaps, LastSequence;
}

/// <summary>
/// Rebuilds every instrument's L2 book from market data and keeps it right: L2 incrementals apply in
/// sequence; a gap in the L2 sequence (or a late join) marks every book unsynced and buffers the
/// incrementals that follow; a snapshot carrying sequence S re-seeds a book when every L2 message
/// after S is in hand (buffered ones after S then apply), otherwise the client waits for the next
/// snapshot; a book it thinks synced is re-seeded by a snapshot newer than every L2 message it has heard
/// (the stream's last messages lost: in a quiet market no later L2 message would reveal it). Trades and status streams are counted and checked for gaps. Allocation-free once the
/// books and buffer have their size.
/// </summary>
public sealed class MarketDataClient : IDisposable
{
    private const int BufferCapacity = 1 << 16;

    private readonly MediaDriver _driver;
    private readonly NetworkSubscription _book, _trades, _status, _snapshots;
    private readonly Dictionary<int, L2Book> _books = [];
    private readonly Dictionary<int, long> _marks = [];
    private readonly BufferedLevel[] _buffer = new BufferedLevel[BufferCapacity];
    private int _buffered;
    private long _bufferStart;   // first L2 sequence in the buffer (every later one is there too); 0: empty
    private FragmentAssembler<Handler> _bookAssembler, _snapshotAssembler, _otherAssembler;

    public StreamStats Book, Trades, Status, Snapshots;

    /// <summary>Public liquidation steps seen on the status stream (no account ids there), liquidations begun, and lots the book absorbed in slices.</summary>
    public long LiquidationEvents, Liquidations, LiquidatedLots;

    /// <summary>Snapshots applied to a book (late join, after a gap, or past L2 messages not received).</summary>
    public long Recoveries { get; private set; }

    /// <summary>Snapshots applied to a book the client thought synced, because they were newer than every L2 message it had heard
    /// (the L2 stream's last messages lost, or still in flight).</summary>
    public long StaleReseeds { get; private set; }

    public long LastTradePrice { get; private set; }

    public MarketDataClient(MediaDriver driver, MarketDataOptions options, IEnumerable<int> instrumentIds)
    {
        _driver = driver;
        foreach (var id in instrumentIds)
        {
            _books[id] = new L2Book(id);
            _marks[id] = 0;
        }
        _book = driver.AddSubscription(options.BookChannel, options.BookStreamId);
        _trades = driver.AddSubscription(options.TradesChannel, options.TradesStreamId);
        _status = driver.AddSubscription(options.StatusChannel, options.StatusStreamId);
        _snapshots = driver.AddSubscription(options.SnapshotChannel, options.SnapshotStreamId);
        _bookAssembler = new FragmentAssembler<Handler>(new Handler(this), 64 * 1024);
        _snapshotAssembler = new FragmentAssembler<Handler>(new Handler(this), 4 * 1024 * 1024);
        _otherAssembler = new FragmentAssembler<Handler>(new Handler(this), 64 * 1024);
    }

    public L2Book BookOf(int instrumentId) => _books[instrumentId];

    /// <summary>The last mark price printed for the instrument (0 before the first PriceUpdate).</summary>
    public long MarkOf(int instrumentId) => _marks.TryGetValue(instrumentId, out var m) ? m : 0;

    public bool AllSynced
    {
        get
        {
            foreach (var b in _books.Values) if (!b.Synced) return false;
            return true;
        }
    }

    public int Poll(int limit = 64)
    {
        var n = _book.Poll(ref _bookAssembler, limit);
        n += _snapshots.Poll(ref _snapshotAssembler, limit);
        n += _trades.Poll(ref _otherAssembler, limit);
        n += _status.Poll(ref _otherAssembler, limit);
        return n;
    }

    private struct BufferedLevel
    {
        public long Sequence, PriceTicks, QtyLots;
        public int InstrumentId, OrderCount;
        public bool Bid;
    }

    private readonly struct Handler(MarketDataClient client) : IMessageHandler
    {
        public void OnMessage(ReadOnlySpan<byte> message, in FragmentHeader header) => client.OnMessage(message);
    }

    private void OnMessage(ReadOnlySpan<byte> message)
    {
        if (!SbeSchema.TryReadHeader(message, out _, out var templateId, out _, out _)) return;
        switch (templateId)
        {
            case BookLevelUpdatesDecoder.TemplateId:
                OnLevels(message);
                break;
            case BookSnapshotDecoder.TemplateId:
                OnSnapshot(message);
                break;
            case TradesDecoder.TemplateId when TradesDecoder.TryWrap(message, out var t) == SbeDecodeResult.Ok:
                Count(ref Trades, (long)t.Sequence);
                var entries = t.Entries();
                while (entries.Next()) LastTradePrice = entries.Price;
                break;
            case PriceUpdateDecoder.TemplateId when PriceUpdateDecoder.TryWrap(message, out var p) == SbeDecodeResult.Ok:
                Count(ref Status, (long)p.Sequence);
                if (!p.MarkPriceIsNull && _marks.ContainsKey(p.InstrumentId)) _marks[p.InstrumentId] = p.MarkPrice;
                break;
            case InstrumentStatusDecoder.TemplateId when InstrumentStatusDecoder.TryWrap(message, out var s) == SbeDecodeResult.Ok:
                Count(ref Status, (long)s.Sequence);
                OnInstrumentStatus(s);
                break;
            case FundingSettledDecoder.TemplateId when FundingSettledDecoder.TryWrap(message, out var f) == SbeDecodeResult.Ok:
                Count(ref Status, (long)f.Sequence);
                break;
            case LiquidationEventDecoder.TemplateId when LiquidationEventDecoder.TryWrap(message, out var l) == SbeDecodeResult.Ok:
                Count(ref Status, (long)l.Sequence);
                LiquidationEvents++;
                if (l.Step == LiquidationStep.Triggered) Liquidations++;
                if (!l.FillQuantityIsNull && l.Step == LiquidationStep.PartialReduction) LiquidatedLots += l.FillQuantity;
                break;
        }
    }

    private readonly Dictionary<int, InstrumentInfo> _instruments = [];

    /// <summary>Reference data of the instruments the status stream has described (it repeats with every snapshot round).</summary>
    public IReadOnlyDictionary<int, InstrumentInfo> Instruments => _instruments;

    private void OnInstrumentStatus(InstrumentStatusDecoder s)
    {
        // Unchanged reference data is not re-read: the symbol's string is made once per change, not per message.
        var known = _instruments.TryGetValue(s.InstrumentId, out var info);
        if (known && info.TradingState == s.TradingState && info.IndexState == s.IndexState && info.TickSize == s.TickSize && info.LotSize == s.LotSize
            && info.MinQuantity == s.MinQuantity && info.MaxQuantity == s.MaxQuantity)
        {
            return;
        }

        var symbol = s.Symbol;
        var end = symbol.IndexOf((byte)0);
        _instruments[s.InstrumentId] = new InstrumentInfo(s.InstrumentId, System.Text.Encoding.ASCII.GetString(end < 0 ? symbol : symbol[..end]),
            s.TradingState, s.IndexState, s.PriceScale, s.QuantityScale, s.TickSize, s.LotSize, s.MinQuantity, s.MaxQuantity);
    }

    private static void Count(ref StreamStats stats, long sequence)
    {
        if (stats.LastSequence != 0 && sequence != stats.LastSequence + 1) stats.Gaps++;
        stats.LastSequence = sequence;
        stats.Messages++;
    }

    private void OnLevels(ReadOnlySpan<byte> message)
    {
        if (BookLevelUpdatesDecoder.TryWrap(message, out var d) != SbeDecodeResult.Ok) return;
        var sequence = (long)d.Sequence;
        var gap = Book.LastSequence != 0 && sequence != Book.LastSequence + 1;
        var firstSeen = Book.LastSequence == 0;
        Count(ref Book, sequence);
        if (gap)
        {
            // Every book may have missed something: all wait for a snapshot; the buffer restarts here.
            foreach (var b in _books.Values) b.Synced = false;
            _buffered = 0;
            _bufferStart = sequence;
        }
        else if (firstSeen || _bufferStart == 0 && !AllSynced)
        {
            _bufferStart = sequence;
        }

        if (!_books.TryGetValue(d.InstrumentId, out var book)) return;
        var levels = d.Levels();
        var anyUnsynced = !AllSynced;
        while (levels.Next())
        {
            var bid = levels.Side == Side.Buy;
            if (book.Synced && sequence > book.AppliedThrough)
            {
                book.Set(bid, levels.Price, levels.Quantity, (int)levels.OrderCount);
            }

            if (anyUnsynced)
            {
                if (_buffered == BufferCapacity)
                {
                    // Too long without a usable snapshot: start the buffer again from the next message.
                    _buffered = 0;
                    _bufferStart = sequence + 1;
                    continue;
                }

                _buffer[_buffered++] = new BufferedLevel
                {
                    Sequence = sequence, InstrumentId = d.InstrumentId, Bid = bid, PriceTicks = levels.Price, QtyLots = levels.Quantity, OrderCount = (int)levels.OrderCount,
                };
            }
        }

        if (book.Synced && sequence > book.AppliedThrough) book.AppliedThrough = sequence;
    }

    private void OnSnapshot(ReadOnlySpan<byte> message)
    {
        if (BookSnapshotDecoder.TryWrap(message, out var d) != SbeDecodeResult.Ok) return;
        Snapshots.Messages++;
        if (!_books.TryGetValue(d.InstrumentId, out var book)) return;
        var s = (long)d.Sequence;
        if (book.Synced)
        {
            // A synced book still takes a snapshot newer than every L2 message heard: L2 messages up to s were sent and
            // not (yet) received. If the last ones were lost, nothing later on L2 would reveal the gap while the market
            // is quiet, and the book would stay stale; if they are only late, they are older than the snapshot and skipped.
            if (s <= Book.LastSequence || s <= book.AppliedThrough) return;
            StaleReseeds++;
        }

        // Usable when every L2 message after s is in hand: none seen past it, or the buffer reaches back to s + 1.
        var usable = s >= Book.LastSequence || (_bufferStart != 0 && s + 1 >= _bufferStart);
        if (!usable) return;
        book.Clear();
        var bids = d.Bids();
        while (bids.Next()) book.Append(true, bids.Price, bids.Quantity, (int)bids.OrderCount);
        var asks = d.Asks();
        while (asks.Next()) book.Append(false, asks.Price, asks.Quantity, (int)asks.OrderCount);
        book.AppliedThrough = s;
        for (var i = 0; i < _buffered; i++)
        {
            ref var b = ref _buffer[i];
            if (b.InstrumentId == book.InstrumentId && b.Sequence > s)
            {
                book.Set(b.Bid, b.PriceTicks, b.QtyLots, b.OrderCount);
                book.AppliedThrough = b.Sequence;
            }
        }

        book.Synced = true;
        Recoveries++;
        if (AllSynced)
        {
            _buffered = 0;
            _bufferStart = 0;
        }
    }

    public void Dispose()
    {
        _driver.Remove(_book);
        _driver.Remove(_trades);
        _driver.Remove(_status);
        _driver.Remove(_snapshots);
    }
}
