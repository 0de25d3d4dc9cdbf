using Aivora.Client.MarketData;
using Aivora.Client.Session;
using Aivora.Exchange;

namespace Aivora.Client.Examples;

/// <summary>
/// A sample market maker on the SDK: quotes <see cref="Levels"/> post-only orders a side around the
/// mark (or a starting price until the first mark prints), acknowledged without the what-if figures
/// (<see cref="OrderFlags.NoWhatIfs"/>: a quote's maker has no use for the liquidation price it would have if the
/// quote filled, and the node answers sooner without computing it), re-quotes a level when its order fills or is
/// cancelled, re-centres when the mark moves by more than a level, and backs off exponentially (1 ms
/// doubling up to 1 s) after each reject, resetting once an order is accepted again. It measures the
/// order → acknowledgement round trip of every order it sends (accepted or rejected) from its own clock.
/// Call <see cref="Step"/> in the client's loop, and feed it the session's reports through
/// <see cref="OnReport"/>.
/// </summary>
public sealed class SampleMarketMaker
{
    private const int MaxInFlight = 1 << 16;

    private readonly ExchangeClient _client;
    private readonly MarketDataClient? _marketData;
    private readonly int _instrumentId;
    private readonly long _tickSize, _spreadTicks, _qtyLots;
    private readonly long[] _quoteClientIds;       // per level and side: the live quote's client order id (0: none)
    private readonly long[] _sentAtNs = new long[MaxInFlight];
    private long _centreTicks, _nextClientOrderId, _backoffUntilNs, _backoffNs;

    public SampleMarketMaker(ExchangeClient client, MarketDataClient? marketData, int instrumentId, long startPriceTicks, long tickSize,
        long spreadTicks, long qtyLots, int levels, long firstClientOrderId)
    {
        (_client, _marketData, _instrumentId, _tickSize, _spreadTicks, _qtyLots) = (client, marketData, instrumentId, tickSize, spreadTicks, qtyLots);
        Levels = levels;
        _quoteClientIds = new long[2 * levels];
        _centreTicks = startPriceTicks;
        _nextClientOrderId = firstClientOrderId;
    }

    public int Levels { get; }
    public long OrdersSent { get; private set; }
    public long Rejects { get; private set; }
    public long Fills { get; private set; }

    /// <summary>Called with each round trip in nanoseconds (order sent → its Accepted or Rejected received).</summary>
    public Action<long>? OnRoundTrip { get; set; }

    public void OnReport(in ExecutionReport r, long nowNs)
    {
        // Every quoter of a session sees every report: a report is this quoter's when it names this instrument, or (a reject
        // that names none) when it refuses one of this quoter's orders. Another quoter's reject is neither counted nor
        // backed off from here.
        if (r.InstrumentId != _instrumentId && !(r.Kind == ReportKind.Rejected && r.InstrumentId == 0 && IsQuote(r.ClientOrderId))) return;
        switch (r.Kind)
        {
            case ReportKind.Accepted:
                RoundTrip(r.ClientOrderId, nowNs);
                _backoffNs = 0;
                break;
            case ReportKind.Rejected:
                RoundTrip(r.ClientOrderId, nowNs);
                Rejects++;
                _backoffNs = _backoffNs == 0 ? 1_000_000 : Math.Min(_backoffNs * 2, 1_000_000_000);
                _backoffUntilNs = nowNs + _backoffNs;
                Forget(r.ClientOrderId);
                break;
            case ReportKind.Filled:
                Fills++;
                if (r.LeavesLots == 0) Forget(r.ClientOrderId);
                break;
            case ReportKind.Cancelled:
            case ReportKind.Expired:
                Forget(r.ClientOrderId);
                break;
        }
    }

    /// <summary>One pass: re-centre on the mark if it moved, then fill empty quote slots (unless backing off).</summary>
    public void Step(long nowNs)
    {
        if (_client.State != ClientState.LoggedOn || nowNs < _backoffUntilNs) return;
        var mark = _marketData?.MarkOf(_instrumentId) ?? 0;
        if (mark > 0 && Math.Abs(mark - _centreTicks) >= _spreadTicks * _tickSize)
        {
            _centreTicks = mark / _tickSize * _tickSize;
            _client.SendMassCancel(nowNs, _nextClientOrderId++, _instrumentId);
            Array.Clear(_quoteClientIds);
            return;
        }

        for (var slot = 0; slot < _quoteClientIds.Length; slot++)
        {
            if (_quoteClientIds[slot] != 0) continue;
            var level = slot % Levels;
            var side = slot < Levels ? Side.Buy : Side.Sell;
            var offset = (_spreadTicks + level) * _tickSize;
            var price = side == Side.Buy ? _centreTicks - offset : _centreTicks + offset;
            var clientOrderId = _nextClientOrderId++;
            if (!_client.SendNewOrder(nowNs, clientOrderId, _instrumentId, side, OrdType.Limit, TimeInForce.GTC, price, _qtyLots, OrderFlags.PostOnly | OrderFlags.NoWhatIfs))
            {
                _nextClientOrderId--;
                return;   // back-pressured: try on the next step
            }

            _quoteClientIds[slot] = clientOrderId;
            _sentAtNs[clientOrderId & (MaxInFlight - 1)] = nowNs;
            OrdersSent++;
        }
    }

    private void RoundTrip(long clientOrderId, long nowNs)
    {
        ref var sent = ref _sentAtNs[clientOrderId & (MaxInFlight - 1)];
        if (sent != 0)
        {
            OnRoundTrip?.Invoke(nowNs - sent);
            sent = 0;
        }
    }

    private bool IsQuote(long clientOrderId) => clientOrderId != 0 && Array.IndexOf(_quoteClientIds, clientOrderId) >= 0;

    private void Forget(long clientOrderId)
    {
        for (var i = 0; i < _quoteClientIds.Length; i++)
        {
            if (_quoteClientIds[i] == clientOrderId) _quoteClientIds[i] = 0;
        }
    }
}
