using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Instruments;
using Aivora.Core.Orders;

namespace Aivora.Perf.Node;

/// <summary>
/// The node's own command flow for measuring the state machine alone (it was the node's in-process load before the wire):
/// 20 makers keep 5 post-only quotes a side on every instrument around a fair price that walks,
/// re-pricing them as it moves (amends), pulling and re-placing some (cancels), and 200 takers hit
/// them with IOC and market orders or leave short-lived GTD orders. Three price feeders report the
/// fair price (with a little noise) to the index. Engine time is simulated (≈1 µs a command), so a
/// run is reproducible from (seed, command count) alone.
/// </summary>
public sealed class MarketMakerFlow
{
    public const int Makers = 20;
    public const int QuoteLevels = 5;
    public const int Takers = 200;
    public const int FirstTakerAccount = 1_001;
    public const int Feeders = 3;
    private const int SlotBits = 20;

    private readonly Random _random;
    private readonly InstrumentSpec[] _instruments;
    private readonly long[] _fairTicks;
    private readonly long[] _quoteOrderIds;
    private readonly Dictionary<long, int> _slotByOrderId = new(Makers * QuoteLevels * 8);
    private long _nowNs = 1_000_000_000;
    private long _sequence;

    public MarketMakerFlow(int seed, IReadOnlyList<InstrumentSpec> instruments)
    {
        _random = new Random(seed);
        _instruments = [.. instruments];
        _fairTicks = [.. instruments.Select(i => i.ReferencePriceTicks)];
        _quoteOrderIds = new long[Makers * _instruments.Length * 2 * QuoteLevels];
    }

    /// <summary>Live maker quotes right now (from the events seen).</summary>
    public int LiveQuotes => _slotByOrderId.Count;

    private int Slot(int maker, int instrument, Side side, int level) =>
        (((((maker * _instruments.Length) + instrument) * 2) + (int)side) * QuoteLevels) + level;

    /// <summary>Sees every engine event, to know which quotes are still live.</summary>
    public void Observe(in EngineEvent e)
    {
        switch (e.Kind)
        {
            case EventKind.OrderAccepted:
                var tag = (int)(e.ClientOrderId & ((1L << SlotBits) - 1));
                if (tag > 0)
                {
                    _quoteOrderIds[tag - 1] = e.OrderId;
                    _slotByOrderId[e.OrderId] = tag - 1;
                }

                break;
            case EventKind.OrderCancelled:
            case EventKind.OrderExpired:
                Forget(e.OrderId);
                break;
            case EventKind.Trade:
                if (e.OtherRemainingLots == 0)
                {
                    Forget(e.OtherOrderId);
                }

                if (e.RemainingLots == 0)
                {
                    Forget(e.OrderId);
                }

                break;
        }
    }

    private void Forget(long orderId)
    {
        if (_slotByOrderId.Remove(orderId, out var slot))
        {
            _quoteOrderIds[slot] = 0;
        }
    }

    public EngineCommand Next()
    {
        _nowNs += 200 + _random.Next(1_600);
        var i = _random.Next(_instruments.Length);
        var spec = _instruments[i];
        var roll = _random.Next(1_000);
        if (roll < 8)
        {
            return MoveFair(i, spec);
        }

        if (roll < 14)
        {
            // A feeder reports the fair price, within a couple of ticks.
            var noise = spec.TickSize * _random.Next(-2, 3);
            return EngineCommand.Feed(_nowNs, spec.Id, 1 + _random.Next(Feeders), _fairTicks[i] + noise);
        }

        if (roll < 650)
        {
            return Requote(i, spec);
        }

        if (roll < 720)
        {
            return PullQuote(i, spec);
        }

        if (roll < 930)
        {
            return TakerImmediate(i, spec);
        }

        if (roll < 998)
        {
            return TakerResting(i, spec);
        }

        // A maker pulls everything on one instrument (a risk-off); its quotes come back by requoting.
        return EngineCommand.MassCancel(_nowNs, 1 + _random.Next(Makers), spec.Id, SideFilter.Both);
    }

    /// <summary>The fair price walks; feeders report it from now on (this command: the first feeder, at once).</summary>
    private EngineCommand MoveFair(int i, InstrumentSpec spec)
    {
        _fairTicks[i] += spec.TickSize * (_random.Next(2) == 0 ? -1 : 1) * (1 + _random.Next(3));
        return EngineCommand.Feed(_nowNs, spec.Id, 1, _fairTicks[i]);
    }

    private long QuotePrice(int i, InstrumentSpec spec, Side side, int level)
    {
        var distance = spec.TickSize * (1 + (level * 2));
        return side == Side.Buy ? _fairTicks[i] - distance : _fairTicks[i] + distance;
    }

    private long Size(InstrumentSpec spec) => spec.LotSize * (1 + _random.Next(50));

    private EngineCommand Requote(int i, InstrumentSpec spec)
    {
        var maker = _random.Next(Makers);
        var side = _random.Next(2) == 0 ? Side.Buy : Side.Sell;
        var level = _random.Next(QuoteLevels);
        var slot = Slot(maker, i, side, level);
        var price = QuotePrice(i, spec, side, level);
        var orderId = _quoteOrderIds[slot];
        if (orderId == 0)
        {
            var clientOrderId = (++_sequence << SlotBits) | (long)(slot + 1);
            var gtd = _random.Next(5) == 0;
            return EngineCommand.Place(_nowNs, 1 + maker, spec.Id, clientOrderId, side, OrderType.Limit,
                gtd ? TimeInForce.Gtd : TimeInForce.Gtc, price, Size(spec), OrderFlags.PostOnly | OrderFlags.PostOnlySlide,
                expiryNs: gtd ? _nowNs + 200_000_000 + _random.Next(800_000_000) : 0);
        }

        // Same price: refresh the size instead (an amend that keeps or loses priority).
        return EngineCommand.Amend(_nowNs, 1 + maker, orderId, price, Size(spec));
    }

    private EngineCommand PullQuote(int i, InstrumentSpec spec)
    {
        var maker = _random.Next(Makers);
        var slot = Slot(maker, i, _random.Next(2) == 0 ? Side.Buy : Side.Sell, _random.Next(QuoteLevels));
        var orderId = _quoteOrderIds[slot];
        return orderId == 0 ? Requote(i, spec) : EngineCommand.Cancel(_nowNs, 1 + maker, orderId);
    }

    private EngineCommand TakerImmediate(int i, InstrumentSpec spec)
    {
        var taker = FirstTakerAccount + _random.Next(Takers);
        var side = _random.Next(2) == 0 ? Side.Buy : Side.Sell;
        if (_random.Next(10) == 0)
        {
            return EngineCommand.Place(_nowNs, taker, spec.Id, 0, side, OrderType.Market, TimeInForce.Ioc, 0, Size(spec));
        }

        var price = QuotePrice(i, spec, side.Opposite(), _random.Next(3));
        return EngineCommand.Place(_nowNs, taker, spec.Id, 0, side, OrderType.Limit, TimeInForce.Ioc, price, Size(spec));
    }

    private EngineCommand TakerResting(int i, InstrumentSpec spec)
    {
        var taker = FirstTakerAccount + _random.Next(Takers);
        var side = _random.Next(2) == 0 ? Side.Buy : Side.Sell;
        var price = QuotePrice(i, spec, side, _random.Next(-1, QuoteLevels));
        return EngineCommand.Place(_nowNs, taker, spec.Id, 0, side, OrderType.Limit, TimeInForce.Gtd, price, Size(spec),
            expiryNs: _nowNs + 500_000_000 + _random.Next(1_500_000_000));
    }
}
