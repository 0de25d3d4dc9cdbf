using Aivora.Core.Accounts;
using Aivora.Core.Collections;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Funding;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Core.Pricing;

namespace Aivora.Core.Risk;

public sealed record RiskLimits
{
    /// <summary>Resting orders an account may hold on one instrument.</summary>
    public int MaxOpenOrdersPerInstrument { get; init; } = 200;

    /// <summary>Stop and take-profit orders held outside the book, all accounts together.</summary>
    public int MaxStopOrders { get; init; } = 4_096;

    /// <summary>Minimum time between the effective times of two changes of the same parameter.</summary>
    public long ParameterCoolingNs { get; init; } = 3_600_000_000_000;

    /// <summary>Parameter changes that may wait for their effective time at once.</summary>
    public int MaxPendingParameterChanges { get; init; } = 64;
}

/// <summary>
/// Pre-trade risk inline before the book. For a new order, in this order, the first failure wins,
/// each with its own reason and figures: order shape; instrument state; index state (stale: only
/// reduce-only); price band; quantity and notional; open orders per account and instrument;
/// post-only would take; reduce-only direction; initial margin (equity, less the taker fee reserved
/// and the loss against mark of filling at the limit, must cover the initial margin of every
/// position with its open orders, worst side, this order included). An order that passes gets an
/// <see cref="EventKind.OrderRiskAssessed"/> event with its what-if figures (liquidation price if it
/// fills completely, margin it adds) and goes to the matching engine, whose position keeper is the
/// ledger. Amends that add exposure pass the same margin test. Other commands pass straight through.
/// </summary>
public sealed class PreTradeRisk<TSink>
    where TSink : struct, IEngineEventSink
{
    private readonly MatchingEngine<TSink, LedgerPositions> _engine;
    private readonly Ledger _ledger;
    private readonly RiskLimits _limits;
    private readonly OpenHashMap<IntKey> _instrumentIndex;
    private readonly IndexState[] _indexStates;
    private readonly StopOrders _stops;
    private readonly long[] _lastTradeSeen;
    private readonly int[] _crossed = new int[64];
    private readonly int[] _atRisk = new int[256];
    private readonly int[] _maxOpenOrders;
    private readonly EngineCommand[] _pendingChanges;
    private readonly long[] _lastChangeNs;
    private int _pendingCount;
    private const int ParameterSlots = 16;
    private readonly InstrumentPricing?[] _pricing;
    private readonly LevelView[] _levels = new LevelView[256];

    public PreTradeRisk(EngineConfig config, Ledger ledger, RiskLimits limits, TSink sink = default, IReadOnlyList<InstrumentPricingConfig>? pricing = null)
    {
        _engine = new MatchingEngine<TSink, LedgerPositions>(config, sink, new LedgerPositions(ledger));
        _ledger = ledger;
        _limits = limits;
        _instrumentIndex = new OpenHashMap<IntKey>(config.Instruments.Count);
        _indexStates = new IndexState[config.Instruments.Count];
        _stops = new StopOrders(limits.MaxStopOrders, config.Instruments.Count);
        _lastTradeSeen = new long[config.Instruments.Count];
        _maxOpenOrders = [.. Enumerable.Repeat(limits.MaxOpenOrdersPerInstrument, config.Instruments.Count)];
        _pendingChanges = new EngineCommand[limits.MaxPendingParameterChanges];
        _lastChangeNs = [.. Enumerable.Repeat(long.MinValue, config.Instruments.Count * ParameterSlots)];
        for (var i = 0; i < config.Instruments.Count; i++)
        {
            _instrumentIndex.TryAdd(new IntKey(config.Instruments[i].Id), i);
        }

        _pricing = new InstrumentPricing?[config.Instruments.Count];
        foreach (var p in pricing ?? [])
        {
            if (!_instrumentIndex.TryGetValue(new IntKey(p.InstrumentId), out var i))
            {
                throw new ArgumentException($"pricing for unknown instrument {p.InstrumentId}");
            }

            _pricing[i] = new InstrumentPricing(p);
        }
    }

    public StopOrders Stops => _stops;

    /// <summary>Pricing and funding state of an instrument (null when not configured).</summary>
    public InstrumentPricing? Pricing(int instrumentId) =>
        _instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) ? _pricing[i] : null;

    public MatchingEngine<TSink, LedgerPositions> Engine => _engine;

    public Ledger Ledger => _ledger;

    public void SetIndexState(int instrumentId, IndexState state)
    {
        if (_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i))
        {
            _indexStates[i] = state;
        }
    }

    public void Process(in EngineCommand command)
    {
        // Time moves first, once: scheduled parameter changes, then expiries, then the pricing clock.
        ApplyDueParameterChanges(command.NowNs);
        _engine.AdvanceTo(command.NowNs);
        RunPricingClock();
        switch (command.Kind)
        {
            case CommandKind.PriceFeed:
                OnFeed(in command);
                return;
            case CommandKind.SetParameter:
                ScheduleParameter(in command);
                return;
            case CommandKind.PlaceOrder when command.Type.IsTriggered():
                HoldStop(in command);
                return;
            case CommandKind.PlaceOrder:
                PlaceChecked(in command);
                break;
            case CommandKind.CancelOrder when command.OrderId == 0 && _stops.Find(command.AccountId, command.ClientOrderId) is var slot && slot >= 0:
                CancelStop(slot, CancelReason.User);
                return;
            case CommandKind.MassCancel:
                CancelStops(in command);
                _engine.Process(in command);
                return;
            case CommandKind.SetMarkPrice:
                OnMark(in command);
                break;
            case CommandKind.AmendOrder:
                if (AmendAllowed(in command))
                {
                    _engine.Process(in command);
                }

                break;
            default:
                _engine.Process(in command);
                break;
        }

        // Trades may have moved the last price: fire the stops that watch it (and what they trade, in turn).
        if (_instrumentIndex.TryGetValue(new IntKey(command.InstrumentId), out var instrument))
        {
            FireLastTriggered(instrument, command.InstrumentId);
        }
    }

    private void PlaceChecked(in EngineCommand command)
    {
        var reason = Check(in command, out var required, out var available, out var priceTicks);
        if (reason != RejectReason.None)
        {
            Reject(in command, reason, required, available);
            return;
        }

        if ((command.Flags & OrderFlags.ReduceOnly) == 0)
        {
            var assessed = new EngineEvent
            {
                Kind = EventKind.OrderRiskAssessed,
                TimeNs = _engine.NowNs,
                ClientOrderId = command.ClientOrderId,
                AccountId = command.AccountId,
                InstrumentId = command.InstrumentId,
                Side = command.Side,
                PriceTicks = _ledger.WhatIfLiquidationPrice(command.AccountId, command.InstrumentId, command.Side, priceTicks, command.QtyLots),
                Required = required,
                Available = available,
            };
            _engine.Sink.OnEvent(in assessed);
        }

        _engine.Process(in command);
    }

    /// <summary>
    /// An amend that raises the remaining quantity or moves the price (it may trade) must pass the
    /// same margin test as a new order; with a stale index it may not add exposure at all. Amends the
    /// engine will reject anyway (unknown order, another account's order) pass through to get the
    /// engine's own reason; reduce-only orders and cuts never add exposure.
    /// </summary>
    private bool AmendAllowed(in EngineCommand c)
    {
        var found = c.OrderId != 0 ? _engine.TryGetOrder(c.OrderId, out var order) : _engine.TryGetOrderByClientId(c.AccountId, c.ClientOrderId, out order);
        if (!found || order.AccountId != c.AccountId || (order.Flags & OrderFlags.ReduceOnly) != 0)
        {
            return true;
        }

        var newPrice = c.PriceTicks == 0 ? order.PriceTicks : c.PriceTicks;
        var newQty = c.QtyLots == 0 ? order.QtyLots : c.QtyLots;
        var newRemaining = newQty - order.FilledLots;
        if (newRemaining <= 0 || (newRemaining <= order.RemainingLots && newPrice == order.PriceTicks) || newPrice <= 0)
        {
            return true;
        }

        _instrumentIndex.TryGetValue(new IntKey(order.InstrumentId), out var instrument);
        if (_indexStates[instrument] == IndexState.Stale)
        {
            Reject(in c, RejectReason.IndexStale, 0, 0);
            return false;
        }

        _engine.OpenQuantity(c.AccountId, order.InstrumentId, out var buyLots, out var sellLots);
        var added = Math.Max(0, newRemaining - order.RemainingLots);
        var reason = MarginCheck(c.AccountId, order.InstrumentId, order.Side, added, newPrice, buyLots, sellLots, newRemaining, out var required, out var available);
        if (reason == RejectReason.None)
        {
            return true;
        }

        Reject(in c, reason, required, available);
        return false;
    }

    // ------------------------------------------------------------------ parameter changes

    private void ScheduleParameter(in EngineCommand c)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(c.InstrumentId), out var instrument))
        {
            Reject(in c, RejectReason.UnknownInstrument, 0, 0);
            return;
        }

        var valid = c.Parameter switch
        {
            RiskParameter.PriceBandBps => c.Value is > 0 and <= 10_000,
            RiskParameter.MakerFeeRate => c.Value is >= -1_000_000 and <= 10_000_000,     // −1% .. 10%
            RiskParameter.TakerFeeRate => c.Value is >= 0 and <= 10_000_000,
            RiskParameter.MaxLeverage => c.Value is >= 1 and <= 1_000,
            RiskParameter.MaxOpenOrders => c.Value is >= 1 and <= 100_000,
            _ => false,
        };
        if (!valid)
        {
            Reject(in c, RejectReason.InvalidParameter, 0, c.Value);
            return;
        }

        var now = _engine.NowNs;
        var effective = Math.Max(c.EffectiveNs, now);
        var key = (instrument * ParameterSlots) + ((int)c.Parameter % ParameterSlots);
        if (_lastChangeNs[key] != long.MinValue && effective < _lastChangeNs[key] + _limits.ParameterCoolingNs)
        {
            Reject(in c, RejectReason.ParameterCoolingPeriod, _lastChangeNs[key] + _limits.ParameterCoolingNs, effective);
            return;
        }

        if (c.EffectiveNs < now || (effective > now && _pendingCount == _pendingChanges.Length))
        {
            Reject(in c, RejectReason.InvalidEffectiveTime, now, c.EffectiveNs);
            return;
        }

        _lastChangeNs[key] = effective;
        var change = c with { EffectiveNs = effective };
        if (effective == now)
        {
            ApplyParameter(in change);
            return;
        }

        _pendingChanges[_pendingCount++] = change;
        EmitParameter(EventKind.ParameterScheduled, in change, CurrentValue(in change));
    }

    /// <summary>Applies every pending change whose time has come, in (effective time, arrival) order.</summary>
    private void ApplyDueParameterChanges(long nowNs)
    {
        while (_pendingCount > 0)
        {
            var due = -1;
            for (var i = 0; i < _pendingCount; i++)
            {
                if (_pendingChanges[i].EffectiveNs <= nowNs && (due < 0 || _pendingChanges[i].EffectiveNs < _pendingChanges[due].EffectiveNs))
                {
                    due = i;
                }
            }

            if (due < 0)
            {
                return;
            }

            var change = _pendingChanges[due];
            Array.Copy(_pendingChanges, due + 1, _pendingChanges, due, _pendingCount - due - 1);
            _pendingCount--;
            _engine.AdvanceTo(change.EffectiveNs);
            ApplyParameter(in change);
        }
    }

    private void ApplyParameter(in EngineCommand c)
    {
        _instrumentIndex.TryGetValue(new IntKey(c.InstrumentId), out var instrument);
        var old = CurrentValue(in c);
        var value = c.Value;   // a copy the lambdas can capture (this cold path may allocate)
        switch (c.Parameter)
        {
            case RiskParameter.PriceBandBps:
                _engine.SetBand(c.InstrumentId, Instruments.PriceBand.InBasisPoints(c.Value));
                break;
            case RiskParameter.MakerFeeRate:
                _ledger.UpdateContract(c.InstrumentId, spec => spec with { Fees = spec.Fees with { MakerRate = value } });
                break;
            case RiskParameter.TakerFeeRate:
                _ledger.UpdateContract(c.InstrumentId, spec => spec with { Fees = spec.Fees with { TakerRate = value } });
                break;
            case RiskParameter.MaxLeverage:
                _ledger.UpdateContract(c.InstrumentId, spec => spec with { DefaultLeverage = (int)value });
                break;
            case RiskParameter.MaxOpenOrders:
                _maxOpenOrders[instrument] = (int)c.Value;
                break;
        }

        EmitParameter(EventKind.ParameterChanged, in c, old);
    }

    private long CurrentValue(in EngineCommand c)
    {
        _instrumentIndex.TryGetValue(new IntKey(c.InstrumentId), out var instrument);
        return c.Parameter switch
        {
            RiskParameter.PriceBandBps => _engine.Band(c.InstrumentId).Value,
            RiskParameter.MakerFeeRate => _ledger.Contract(c.InstrumentId).Fees.MakerRate,
            RiskParameter.TakerFeeRate => _ledger.Contract(c.InstrumentId).Fees.TakerRate,
            RiskParameter.MaxLeverage => _ledger.Contract(c.InstrumentId).DefaultLeverage,
            RiskParameter.MaxOpenOrders => _maxOpenOrders[instrument],
            _ => 0,
        };
    }

    /// <summary>Old value, new value, effective time and reason code: the change explains itself.</summary>
    private void EmitParameter(EventKind kind, in EngineCommand c, long oldValue)
    {
        var e = new EngineEvent
        {
            Kind = kind,
            TimeNs = _engine.NowNs,
            InstrumentId = c.InstrumentId,
            Count = (int)c.Parameter,
            QtyLots = oldValue,
            RemainingLots = c.Value,
            OtherRemainingLots = c.EffectiveNs,
            OrderId = c.ReasonCode,
        };
        _engine.Sink.OnEvent(in e);
    }

    // ------------------------------------------------------------------ index, mark and funding

    private void OnFeed(in EngineCommand c)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(c.InstrumentId), out var instrument) || _pricing[instrument] is not { } pricing)
        {
            Reject(in c, RejectReason.UnknownInstrument, 0, 0);
            return;
        }

        if (!pricing.Index.OnPrice(c.SourceId, c.PriceTicks, _engine.NowNs))
        {
            Reject(in c, RejectReason.UnknownPriceSource, c.SourceId, c.PriceTicks);
            return;
        }

        RefreshPrices(instrument, pricing);
    }

    /// <summary>Index (and its state, which gates new exposure), then mark; a changed mark drives the ledger, bands and triggers.</summary>
    private void RefreshPrices(int instrument, InstrumentPricing pricing)
    {
        var id = pricing.Config.InstrumentId;
        pricing.LastIndex = pricing.Index.Compute(_engine.NowNs);
        _indexStates[instrument] = pricing.LastIndex.State;
        var mark = pricing.ComputeMark(_engine.NowNs, _engine.LastTradePrice(id));
        var e = new EngineEvent
        {
            Kind = EventKind.PricesUpdated,
            TimeNs = _engine.NowNs,
            InstrumentId = id,
            PriceTicks = mark > 0 ? mark : pricing.MarkTicks,
            QtyLots = pricing.LastIndex.PriceTicks,
            RemainingLots = pricing.PredictedRate,
            Reason = (byte)pricing.LastIndex.State,
            Count = pricing.LastIndex.ValidSources,
        };
        _engine.Sink.OnEvent(in e);

        // A stale index freezes the mark: nothing is liquidated on a frozen or single-source price.
        if (mark > 0 && mark != pricing.MarkTicks)
        {
            pricing.MarkTicks = mark;
            var update = EngineCommand.Mark(_engine.NowNs, id, mark);
            OnMark(in update);
        }
    }

    /// <summary>Samples and settlements due at the current engine time, per instrument, in order.</summary>
    private void RunPricingClock()
    {
        var now = _engine.NowNs;
        for (var i = 0; i < _pricing.Length; i++)
        {
            if (_pricing[i] is not { } pricing)
            {
                continue;
            }

            var id = pricing.Config.InstrumentId;
            if (pricing.BasisSampleDue(now))
            {
                pricing.BasisSampled(now);
                var bid = _engine.BestPrice(id, Side.Buy);
                var ask = _engine.BestPrice(id, Side.Sell);
                if (bid > 0 && ask > 0 && pricing.LastIndex.State != IndexState.Stale)
                {
                    pricing.Mark.OnBasisSample(now, (bid + ask) / 2, pricing.LastIndex.PriceTicks);
                }

                RefreshPrices(i, pricing);   // also notices sources gone silent
            }

            if (now >= pricing.NextPremiumSampleNs)
            {
                // Samples missed while no command arrived saw the same book: one measurement, counted for each.
                var interval = pricing.Config.PremiumSampleIntervalNs;
                var due = pricing.NextPremiumSampleNs == 0 ? 1 : ((now - pricing.NextPremiumSampleNs) / interval) + 1;
                pricing.NextPremiumSampleNs = ((now / interval) + 1) * interval;
                SamplePremium(pricing, due);
            }

            while (now >= pricing.NextFundingNs)
            {
                var rate = pricing.PredictedRate;
                var paid = _ledger.SettleFunding(id, rate);
                var settled = new EngineEvent
                {
                    Kind = EventKind.FundingSettled,
                    TimeNs = now,
                    InstrumentId = id,
                    PriceTicks = _ledger.MarkOf(id),
                    QtyLots = rate,
                    RemainingLots = paid,
                    OtherRemainingLots = _ledger.FundingResidue,
                    Count = pricing.Premiums.Count,
                };
                _engine.Sink.OnEvent(in settled);
                pricing.LastFundingRate = rate;
                pricing.Premiums.Reset();
                pricing.NextFundingNs += pricing.Config.FundingIntervalNs;
            }
        }
    }

    private void SamplePremium(InstrumentPricing pricing, long samples)
    {
        if (pricing.LastIndex.State == IndexState.Stale || pricing.LastIndex.PriceTicks <= 0)
        {
            return;
        }

        var id = pricing.Config.InstrumentId;
        var m = _ledger.Contract(id).MoneyPerTickLot;
        var bids = _engine.GetLevels(id, Side.Buy, _levels);
        var impactBid = FundingMath.ImpactPrice(_levels.AsSpan(0, bids), pricing.Config.ImpactNotional, m, buy: false);
        var asks = _engine.GetLevels(id, Side.Sell, _levels);
        var impactAsk = FundingMath.ImpactPrice(_levels.AsSpan(0, asks), pricing.Config.ImpactNotional, m, buy: true);
        pricing.Premiums.Add(FundingMath.PremiumIndex(impactBid, impactAsk, pricing.LastIndex.PriceTicks), samples);
    }

    // ------------------------------------------------------------------ stops and marks

    private void HoldStop(in EngineCommand c)
    {
        var asOrder = c with { Type = c.Type.WhenTriggered() };
        var reason = MatchingEngine<TSink, LedgerPositions>.CheckOrderShape(in asOrder);
        if (reason == RejectReason.None && !_instrumentIndex.TryGetValue(new IntKey(c.InstrumentId), out _))
        {
            reason = RejectReason.UnknownInstrument;
        }

        if (reason == RejectReason.None && (c.TriggerPriceTicks <= 0 || c.ClientOrderId == 0 || c.TriggerSource > TriggerSource.Last ||
                                            (c.Type.WhenTriggered() == OrderType.Limit && c.PriceTicks <= 0)))
        {
            // Index-triggered stops are not wired to index prices yet: refused rather than never firing.
            reason = RejectReason.InvalidTrigger;
        }

        if (reason == RejectReason.None && c.QtyLots <= 0)
        {
            reason = RejectReason.InvalidQuantity;
        }

        if (reason == RejectReason.None && (_stops.Contains(c.AccountId, c.ClientOrderId) || _engine.HasLiveClientOrderId(c.AccountId, c.ClientOrderId)))
        {
            reason = RejectReason.DuplicateClientOrderId;
        }

        _instrumentIndex.TryGetValue(new IntKey(c.InstrumentId), out var instrument);
        if (reason == RejectReason.None && !_stops.TryAdd(in c, instrument, out var stopId))
        {
            reason = RejectReason.CapacityStops;
        }
        else if (reason == RejectReason.None)
        {
            var e = StopEvent(EventKind.StopAccepted, ref _stops[_stops.Find(c.AccountId, c.ClientOrderId)]);
            e.QtyLots = c.QtyLots;
            e.PriceTicks = c.PriceTicks;
            e.Side = c.Side;
            _engine.Sink.OnEvent(in e);
            return;
        }

        Reject(in c, reason, 0, 0);
    }

    private void CancelStop(int slot, CancelReason reason)
    {
        var e = StopEvent(EventKind.StopCancelled, ref _stops[slot]);
        e.Reason = (byte)reason;
        _stops.Remove(slot);
        _engine.Sink.OnEvent(in e);
    }

    /// <summary>A mass cancel also cancels the matching held stops (in stop-id order).</summary>
    private void CancelStops(in EngineCommand c)
    {
        for (var slot = 0; slot < _stops.Capacity; slot++)
        {
            ref var stop = ref _stops[slot];
            if (stop.Live && (c.AccountId == 0 || stop.AccountId == c.AccountId) && (c.InstrumentId == 0 || stop.InstrumentId == c.InstrumentId) &&
                (c.SideFilter == SideFilter.Both || (byte)c.SideFilter == (byte)stop.Side))
            {
                CancelStop(slot, CancelReason.MassCancel);
            }
        }
    }

    /// <summary>A new mark: ledger and liquidation index, the book's band reference, then Mark-triggered stops.</summary>
    private void OnMark(in EngineCommand c)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(c.InstrumentId), out var instrument) || c.PriceTicks <= 0)
        {
            Reject(in c, c.PriceTicks <= 0 ? RejectReason.InvalidPrice : RejectReason.UnknownInstrument, 0, 0);
            return;
        }

        var atRisk = _ledger.MarkUpdate(c.InstrumentId, c.PriceTicks, _atRisk);
        var e = new EngineEvent { Kind = EventKind.MarkPriceChanged, TimeNs = _engine.NowNs, InstrumentId = c.InstrumentId, PriceTicks = c.PriceTicks, Count = atRisk };
        _engine.Sink.OnEvent(in e);
        if (_engine.ReferencePrice(c.InstrumentId) != c.PriceTicks)
        {
            var band = EngineCommand.SetReference(c.NowNs, c.InstrumentId, c.PriceTicks);
            _engine.Process(in band);   // bands follow mark
        }

        Fire(instrument, TriggerSource.Mark, c.PriceTicks);
    }

    private void FireLastTriggered(int instrument, int instrumentId)
    {
        // Each round fires what the last price crosses; their trades may move it again.
        while (true)
        {
            var last = _engine.LastTradePrice(instrumentId);
            if (last == _lastTradeSeen[instrument])
            {
                return;
            }

            _lastTradeSeen[instrument] = last;
            Fire(instrument, TriggerSource.Last, last);
        }
    }

    private void Fire(int instrument, TriggerSource source, long priceTicks)
    {
        while (true)
        {
            var n = _stops.CollectCrossed(instrument, source, priceTicks, _crossed);
            if (n == 0)
            {
                return;
            }

            for (var k = 0; k < n; k++)
            {
                var slot = _crossed[k];
                ref var stop = ref _stops[slot];
                if (!stop.Live)
                {
                    continue;
                }

                var order = stop.ToOrder(_engine.NowNs);
                var e = StopEvent(EventKind.OrderTriggered, ref stop);
                e.Reason = (byte)source;
                e.Available = priceTicks;
                _stops.Remove(slot);
                _engine.Sink.OnEvent(in e);
                PlaceChecked(in order);   // a triggered order goes through pre-trade risk like a new one
            }
        }
    }

    private EngineEvent StopEvent(EventKind kind, ref HeldStop stop) => new()
    {
        Kind = kind,
        TimeNs = _engine.NowNs,
        OrderId = stop.StopId,
        ClientOrderId = stop.ClientOrderId,
        AccountId = stop.AccountId,
        InstrumentId = stop.InstrumentId,
        Side = stop.Side,
        Required = stop.TriggerPriceTicks,
        Reason = (byte)stop.Source,
    };

    // ------------------------------------------------------------------ checks

    private RejectReason Check(in EngineCommand c, out long required, out long available, out long priceTicks)
    {
        required = 0;
        available = 0;
        priceTicks = 0;
        var reduceOnly = (c.Flags & OrderFlags.ReduceOnly) != 0;
        var reason = MatchingEngine<TSink, LedgerPositions>.CheckOrderShape(in c);
        if (reason == RejectReason.None)
        {
            reason = _engine.CheckTradingState(c.InstrumentId, reduceOnly);
        }

        if (reason != RejectReason.None)
        {
            return reason;
        }

        _instrumentIndex.TryGetValue(new IntKey(c.InstrumentId), out var instrument);
        if (_indexStates[instrument] == IndexState.Stale && !reduceOnly)
        {
            return RejectReason.IndexStale;
        }

        reason = _engine.CheckPriceAndSize(in c, out priceTicks);
        if (reason != RejectReason.None)
        {
            return reason;
        }

        var openOrders = _engine.OpenQuantity(c.AccountId, c.InstrumentId, out var buyLots, out var sellLots);
        if (openOrders >= _maxOpenOrders[instrument] && c.TimeInForce.CanRest())
        {
            required = _maxOpenOrders[instrument];
            available = openOrders;
            return RejectReason.MaxOpenOrders;
        }

        if ((c.Flags & OrderFlags.PostOnly) != 0 && (c.Flags & OrderFlags.PostOnlySlide) == 0 && _engine.WouldTake(c.InstrumentId, c.Side, priceTicks))
        {
            return RejectReason.PostOnlyWouldTake;
        }

        if (reduceOnly)
        {
            // Reduce-only never adds exposure: no margin check, and the book enforces it at every fill.
            return _ledger.ReduceOnlyAllowance(c.AccountId, c.InstrumentId, c.Side) > 0 ? RejectReason.None : RejectReason.ReduceOnlyWouldIncrease;
        }

        return MarginCheck(c.AccountId, c.InstrumentId, c.Side, c.QtyLots, priceTicks, buyLots, sellLots, c.QtyLots, out required, out available);
    }

    /// <summary>
    /// Initial margin with <paramref name="addedLots"/> more on one side of one instrument (every
    /// instrument at its worse side), plus the taker fee and the loss against mark of filling
    /// <paramref name="fillLots"/> at <paramref name="priceTicks"/>, must be covered by equity. On success
    /// the figures are the margin the change adds and what stays available; on failure, required vs equity.
    /// </summary>
    private RejectReason MarginCheck(int accountId, int instrumentId, Side side, long addedLots, long priceTicks, long buyLots, long sellLots, long fillLots, out long required, out long available)
    {
        long marginBefore = 0, marginAfter = 0;
        for (var j = 0; j < _ledger.InstrumentCount; j++)
        {
            var id = _ledger.InstrumentIdAt(j);
            long buys = buyLots, sells = sellLots;
            if (id != instrumentId)
            {
                _engine.OpenQuantity(accountId, id, out buys, out sells);
            }

            var before = _ledger.ExposureMargin(accountId, id, buys, sells, priceTicks);
            marginBefore += before;
            marginAfter += id != instrumentId ? before
                : _ledger.ExposureMargin(accountId, id, buys + (side == Side.Buy ? addedLots : 0), sells + (side == Side.Sell ? addedLots : 0), priceTicks);
        }

        var reserved = _ledger.TakerFee(instrumentId, priceTicks, fillLots) + _ledger.ImmediateLossAgainstMark(instrumentId, side, priceTicks, fillLots);
        var equity = _ledger.Equity(accountId);
        required = marginAfter + reserved;
        available = equity;
        if (equity < required)
        {
            return RejectReason.InsufficientMargin;
        }

        required = marginAfter - marginBefore;
        available = equity - marginAfter - reserved;
        return RejectReason.None;
    }

    private void Reject(in EngineCommand c, RejectReason reason, long required, long available) =>
        _engine.Reject(in c, reason, required, available);
}
