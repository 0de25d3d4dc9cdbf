using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Instruments;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Core.Pricing;

namespace Aivora.Core.Tests.Flows;

/// <summary>One generated step: an engine command, or a position change made outside the book.</summary>
public readonly record struct FlowStep(EngineCommand Command, bool IsPositionAdjustment, int AccountId, int InstrumentId, long DeltaLots);

/// <summary>
/// Seeded generator of command flows over two instruments: every order type and time in force,
/// cancels and amends (by exchange and client id, valid and not), mass cancels, STP groups, GTD
/// expiries, reference-price moves, trading-state changes, reduce-only orders under changing
/// positions, and a share of bad input. It watches the events to know which orders are live.
/// Same seed, same flow.
/// </summary>
public sealed class CommandFlowGenerator
{
    private readonly record struct Live(long OrderId, long ClientOrderId, int AccountId, int InstrumentId, Side Side, long PriceTicks, long QtyLots);

    private readonly Random _random;
    private readonly int _accounts;
    private readonly List<Live> _live = [];
    private readonly Dictionary<long, int> _liveIndex = [];
    private readonly Dictionary<int, long> _referencePrice = [];
    private readonly long[] _nextClientOrderId;
    private long _nowNs = 1_000_000_000;

    public CommandFlowGenerator(int seed, int accounts = 14)
    {
        _random = new Random(seed);
        _accounts = accounts;
        _nextClientOrderId = new long[accounts + 1];
        foreach (var spec in Instruments)
        {
            _referencePrice[spec.Id] = spec.ReferencePriceTicks;
        }
    }

    public static IReadOnlyList<InstrumentSpec> Instruments { get; } =
    [
        new InstrumentSpec
        {
            Id = 1, Symbol = "BTC-PERP", TickSize = 1, LotSize = 1, MinQuantity = 1, MaxQuantity = 500,
            MaxNotional = 2_000_000, Band = PriceBand.InBasisPoints(300), ReferencePriceTicks = 10_000,
        },
        new InstrumentSpec
        {
            Id = 2, Symbol = "ETH-PERP", TickSize = 5, LotSize = 10, MinQuantity = 10, MaxQuantity = 5_000,
            Band = PriceBand.InTicks(400), ReferencePriceTicks = 50_000,
        },
    ];

    /// <summary>Pricing for one of the flow's instruments when a test feeds it index prices: three sources (ids 1-3, weights
    /// 1/2/1, two needed, stale after 5 s), premium sampled every second, funding every 10 s of engine time.</summary>
    public static InstrumentPricingConfig Pricing(int instrumentId) => new()
    {
        InstrumentId = instrumentId,
        Index = new IndexConfig { Sources = [new IndexSource(1, 1), new IndexSource(2, 2), new IndexSource(3, 1)], MinSources = 2, StaleAfterNs = 5 * Second },
        FundingIntervalNs = 10 * Second,
        FirstFundingTimeNs = 10 * Second,
        PremiumSampleIntervalNs = Second,
        ImpactNotional = 50_000_000,
    };

    private const long Second = 1_000_000_000;

    public static EngineConfig Config(int maxResting, int maxLevels, int maxAccounts) => new()
    {
        Instruments = Instruments,
        MaxRestingOrders = maxResting,
        MaxPriceLevelsPerSide = maxLevels,
        MaxAccounts = maxAccounts,
    };

    public int LiveCount => _live.Count;

    /// <summary>Feeds back one event of the last command so later commands can name live orders.</summary>
    public void Observe(in EngineEvent e)
    {
        switch (e.Kind)
        {
            case EventKind.OrderAccepted:
                Add(new Live(e.OrderId, e.ClientOrderId, e.AccountId, e.InstrumentId, e.Side, e.PriceTicks, e.QtyLots));
                break;
            case EventKind.OrderCancelled:
            case EventKind.OrderExpired:
                Remove(e.OrderId);
                break;
            case EventKind.Trade:
                if (e.RemainingLots == 0)
                {
                    Remove(e.OrderId);
                }

                if (e.OtherRemainingLots == 0)
                {
                    Remove(e.OtherOrderId);
                }

                break;
            case EventKind.OrderAmended when _liveIndex.TryGetValue(e.OrderId, out var i):
                _live[i] = _live[i] with { PriceTicks = e.PriceTicks, QtyLots = e.QtyLots };
                break;
            case EventKind.ReferencePriceChanged:
                _referencePrice[e.InstrumentId] = e.PriceTicks;
                break;
        }
    }

    private void Add(Live order)
    {
        _liveIndex[order.OrderId] = _live.Count;
        _live.Add(order);
    }

    private void Remove(long orderId)
    {
        if (!_liveIndex.Remove(orderId, out var i))
        {
            return;
        }

        var last = _live[^1];
        _live.RemoveAt(_live.Count - 1);
        if (i < _live.Count)
        {
            _live[i] = last;
            _liveIndex[last.OrderId] = i;
        }
    }

    public FlowStep Next()
    {
        _nowNs += _random.Next(0, 2_000_000);
        var roll = _random.Next(1000);
        return roll switch
        {
            < 500 => new FlowStep(NewOrder(), false, 0, 0, 0),
            < 590 => new FlowStep(CancelCommand(), false, 0, 0, 0),
            < 620 => new FlowStep(ReduceCommand(), false, 0, 0, 0),
            < 810 => new FlowStep(AmendCommand(), false, 0, 0, 0),
            < 813 => new FlowStep(MassCancelCommand(), false, 0, 0, 0),
            < 830 => new FlowStep(ReferenceMove(), false, 0, 0, 0),
            < 833 => new FlowStep(StateChange(), false, 0, 0, 0),
            < 845 => new FlowStep(EngineCommand.Tick(_nowNs += _random.Next(0, 60_000_000)), false, 0, 0, 0),
            < 880 => new FlowStep(default, true, Account(), Instrument().Id, _random.Next(-40, 41)),
            _ => new FlowStep(NewOrder(), false, 0, 0, 0),
        };
    }

    private int Account() => _random.Next(1, _accounts + 1);

    private InstrumentSpec Instrument() => Instruments[_random.Next(Instruments.Count)];

    private EngineCommand NewOrder()
    {
        var spec = Instrument();
        var account = Account();
        var side = _random.Next(2) == 0 ? Side.Buy : Side.Sell;
        var reference = _referencePrice[spec.Id];

        // Prices cluster on the passive side of the reference (building depth); about one in
        // six crosses it and trades.
        var passiveTicks = _random.Next(-5, 30);
        var offsetTicks = side == Side.Buy ? -passiveTicks : passiveTicks;
        var price = ((reference / spec.TickSize) + offsetTicks) * spec.TickSize;
        var r = _random.NextDouble() * 4;
        var qty = (1 + (long)(r * r * r)) * spec.LotSize * Math.Max(1, spec.MinQuantity / spec.LotSize);

        var type = OrderType.Limit;
        var tif = TimeInForce.Gtc;
        var flags = OrderFlags.None;
        long expiry = 0;
        var kind = _random.Next(100);
        if (kind < 14) { tif = TimeInForce.Ioc; }
        else if (kind < 21) { tif = TimeInForce.Fok; }
        else if (kind < 33) { tif = TimeInForce.Gtd; expiry = _nowNs + _random.Next(1, 80_000_000); }
        else if (kind < 40) { type = OrderType.Market; tif = _random.Next(3) switch { 0 => TimeInForce.Fok, 1 => TimeInForce.Gtc, _ => TimeInForce.Ioc }; price = 0; }
        else if (kind < 46) { flags |= OrderFlags.PostOnly; }
        else if (kind < 50) { flags |= OrderFlags.PostOnly | OrderFlags.PostOnlySlide; }

        if (_random.Next(100) < 12)
        {
            flags |= OrderFlags.ReduceOnly;
        }

        var stp = (SelfTradePrevention)_random.Next(0, 9) switch
        {
            var s when (int)s <= 5 => s,
            _ => SelfTradePrevention.Default,
        };
        var stpGroup = account % 4 == 0 ? 7 : (account % 5 == 0 ? 9 : 0);
        var clientOrderId = _random.Next(100) switch
        {
            < 3 when _live.Count > 0 => _live[_random.Next(_live.Count)].ClientOrderId,
            < 8 => 0,
            _ => ++_nextClientOrderId[account],
        };

        var command = EngineCommand.Place(_nowNs, account, spec.Id, clientOrderId, side, type, tif, price, qty, flags, stp, stpGroup, expiry);
        if (_random.Next(100) < 4)
        {
            Corrupt(ref command);
        }

        return command;
    }

    /// <summary>Bad input of every kind the engine must reject (and a few it must survive).</summary>
    private void Corrupt(ref EngineCommand c)
    {
        switch (_random.Next(14))
        {
            case 0: c.InstrumentId = 99; break;
            case 1: c.QtyLots = 0; break;
            case 2: c.QtyLots = -_random.Next(1, 100); break;
            case 3: c.PriceTicks = c.PriceTicks + 1; break;
            case 4: c.PriceTicks = -5; break;
            case 5: c.PriceTicks = _referencePrice[1] * 3; break;
            case 6: c.QtyLots = 1_000_000; break;
            case 7: c.Side = (Side)7; break;
            case 8: c.TimeInForce = (TimeInForce)9; break;
            case 9: c.Type = (OrderType)4; break;
            case 10: c.AccountId = -c.AccountId; break;
            case 11: c.ExpiryNs = c.TimeInForce == TimeInForce.Gtd ? _nowNs - 1 : 77; break;
            case 12: c.Stp = (SelfTradePrevention)42; break;
            default: c.QtyLots += 3; break;
        }
    }

    private EngineCommand CancelCommand()
    {
        var pick = _random.Next(100);
        if (_live.Count == 0 || pick < 10)
        {
            return EngineCommand.Cancel(_nowNs, Account(), _random.Next(100) < 50 ? _random.Next(1, 1_000_000) : 0, _random.Next(1, 50));
        }

        var live = _live[_random.Next(_live.Count)];
        return pick switch
        {
            < 70 => EngineCommand.Cancel(_nowNs, live.AccountId, live.OrderId),
            < 90 => EngineCommand.Cancel(_nowNs, live.AccountId, 0, live.ClientOrderId),
            _ => EngineCommand.Cancel(_nowNs, live.AccountId % _accounts + 1, live.OrderId),
        };
    }

    private EngineCommand AmendCommand()
    {
        if (_live.Count == 0)
        {
            return EngineCommand.Amend(_nowNs, Account(), _random.Next(1, 10_000), 10_000, 5);
        }

        var live = _live[_random.Next(_live.Count)];
        var spec = Instruments[live.InstrumentId - 1];
        var price = live.PriceTicks;
        var qty = live.QtyLots;
        switch (_random.Next(100))
        {
            case < 30: qty = Math.Max(spec.LotSize, qty - (spec.LotSize * _random.Next(1, 4))); break;
            case < 45: qty += spec.LotSize * _random.Next(1, 6); break;
            case < 85: price += spec.TickSize * _random.Next(-12, 13); break;
            case < 90: qty = spec.LotSize; break;
            case < 93: break;
            case < 95: qty = 0; price += spec.TickSize * _random.Next(-5, 6); break;   // keep quantity
            case < 97: price = 0; qty += spec.LotSize; break;                          // keep price
            default: price += 1; break;
        }

        var byClientId = _random.Next(100) < 25 && live.ClientOrderId != 0;
        return EngineCommand.Amend(_nowNs, live.AccountId, byClientId ? 0 : live.OrderId, price, qty, byClientId ? live.ClientOrderId : 0);
    }

    private EngineCommand ReduceCommand()
    {
        if (_live.Count == 0)
        {
            return EngineCommand.Reduce(_nowNs, Account(), _random.Next(1, 10_000), 1);
        }

        var live = _live[_random.Next(_live.Count)];
        var lot = Instruments[live.InstrumentId - 1].LotSize;
        var by = _random.Next(100) switch
        {
            < 80 => lot * _random.Next(1, 4),
            < 90 => live.QtyLots,
            < 95 => 0,
            _ => lot + 1,
        };
        return EngineCommand.Reduce(_nowNs, live.AccountId, live.OrderId, by);
    }

    private EngineCommand MassCancelCommand()
    {
        var account = _random.Next(100) < 90 ? Account() : 0;
        var instrument = _random.Next(3) switch { 0 => 0, 1 => 1, _ => 2 };
        var sides = (SideFilter)_random.Next(3);
        return EngineCommand.MassCancel(_nowNs, account, instrument, sides);
    }

    private EngineCommand ReferenceMove()
    {
        var spec = Instrument();
        var moved = _referencePrice[spec.Id] + (spec.TickSize * _random.Next(-40, 41));
        return EngineCommand.SetReference(_nowNs, spec.Id, moved);
    }

    private EngineCommand StateChange()
    {
        var state = _random.Next(10) switch
        {
            < 8 => TradingState.Open,
            < 9 => TradingState.CloseOnly,
            _ => TradingState.Halted,
        };
        return EngineCommand.SetState(_nowNs, Instrument().Id, state);
    }
}
