using Aivora.Core.Accounts;
using Aivora.Core.Collections;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Core.Risk;

namespace Aivora.Core.Exchange;

/// <summary>Stop and take-profit orders, mark updates, and firing what a price crosses.</summary>
public sealed partial class PerpStateMachine<TSink>
    where TSink : struct, IEngineEventSink
{

    private void HoldStop(in EngineCommand c)
    {
        var asOrder = c with { Type = c.Type.WhenTriggered() };
        var reason = MatchingEngine<TSink, LedgerPositions>.CheckOrderShape(in asOrder);
        var known = _instrumentIndex.TryGetValue(new IntKey(c.InstrumentId), out var instrument);
        if (reason == RejectReason.None && !known)
        {
            reason = RejectReason.UnknownInstrument;
        }

        if (reason == RejectReason.None && c.Type != OrderType.TrailingStopMarket && (c.TriggerPriceTicks <= 0 || c.ClientOrderId == 0 || c.TriggerSource > TriggerSource.Index ||
                                            (c.TriggerSource == TriggerSource.Index && _pricing[instrument] is null) ||
                                            (c.Type.WhenTriggered() == OrderType.Limit && c.PriceTicks <= 0)))
        {
            // An index-triggered stop on an instrument without an index would never fire: refused.
            reason = RejectReason.InvalidTrigger;
        }

        if (reason == RejectReason.None && c.Type == OrderType.TrailingStopMarket &&
            (c.TriggerSource != TriggerSource.Mark || (c.CallbackTicks > 0) == (c.CallbackBps > 0) || c.CallbackTicks < 0 || c.CallbackBps < 0 ||
             c.CallbackBps >= 10_000 || _ledger.MarkOf(c.InstrumentId) <= 0))
        {
            // On mark only, exactly one positive callback (bps below 100%), and a mark to anchor to.
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

        if (reason == RejectReason.None && c.ClientOrderId == 0)
        {
            reason = RejectReason.InvalidTrigger;   // held stops are cancelled by client order id: one is required
        }

        if (reason == RejectReason.None && !_stops.TryAdd(in c, instrument, out _, _ledger.MarkOf(c.InstrumentId)))
        {
            reason = RejectReason.CapacityStops;
        }
        else if (reason == RejectReason.None)
        {
            var e = StopEvent(EventKind.StopAccepted, ref _stops[_stops.Find(c.AccountId, c.ClientOrderId)]);   // Required: the (first) trigger
            e.QtyLots = c.QtyLots;
            e.PriceTicks = c.PriceTicks;
            e.Side = c.Side;
            _engine.Publish(in e);
            return;
        }

        Reject(in c, reason, 0, 0);
    }

    private void CancelStop(int slot, CancelReason reason)
    {
        var e = StopEvent(EventKind.StopCancelled, ref _stops[slot]);
        e.Reason = (byte)reason;
        _stops.Remove(slot);
        _engine.Publish(in e);
    }

    /// <summary>A mass cancel also cancels the matching held stops, in stop-id order (visiting the held stops only).</summary>
    private void CancelStops(in EngineCommand c)
    {
        var matched = 0;
        foreach (var slot in _stops.LiveSlots)
        {
            ref var stop = ref _stops[slot];
            if ((c.AccountId == 0 || stop.AccountId == c.AccountId) && (c.InstrumentId == 0 || stop.InstrumentId == c.InstrumentId) &&
                (c.SideFilter == SideFilter.Both || (byte)c.SideFilter == (byte)stop.Side))
            {
                _stopSlotScratch[matched++] = slot;
            }
        }

        _stops.SortByStopId(_stopSlotScratch.AsSpan(0, matched));
        for (var k = 0; k < matched; k++)
        {
            CancelStop(_stopSlotScratch[k], c.CancelReason == CancelReason.User ? CancelReason.MassCancel : c.CancelReason);
        }
    }

    /// <summary>A new mark: ledger and liquidation index, the book's band reference, the liquidation path, then Mark-triggered stops.</summary>
    private void OnMark(in EngineCommand c)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(c.InstrumentId), out var instrument) || c.PriceTicks <= 0)
        {
            Reject(in c, c.PriceTicks <= 0 ? RejectReason.InvalidPrice : RejectReason.UnknownInstrument, 0, 0);
            return;
        }

        var atRisk = _ledger.MarkUpdate(c.InstrumentId, c.PriceTicks, _atRisk);
        var e = new EngineEvent { Kind = EventKind.MarkPriceChanged, TimeNs = _engine.NowNs, InstrumentId = c.InstrumentId, PriceTicks = c.PriceTicks, Count = atRisk };
        _engine.Publish(in e);
        if (_engine.ReferencePrice(c.InstrumentId) != c.PriceTicks)
        {
            var band = EngineCommand.SetReference(c.NowNs, c.InstrumentId, c.PriceTicks);
            _engine.Process(in band);   // bands follow mark
        }

        LiquidateAtMark(instrument, c.InstrumentId);
        if (_ledger.HasMultiInstrumentCrossAccounts)
        {
            LiquidateOtherInstruments(c.InstrumentId);   // the mark moved the margin behind their positions there too
        }

        if (_waitingCount > 0)
        {
            ResumeWaitingPaths();   // a waiting path below its hard floor goes on at once
        }

        if (_stops.TrailingCount > 0)
        {
            _stops.Trail(instrument, c.PriceTicks);   // trailing triggers follow the best mark, then fire like any mark stop
        }

        Fire(instrument, TriggerSource.Mark, c.PriceTicks);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void FireLastTriggered(int instrument)
    {
        // Most commands leave the last price where it was: one comparison here, the firing rounds out of line.
        if (_engine.LastTradePriceAt(instrument) != _lastTradeSeen[instrument])
        {
            FireLastTriggeredRounds(instrument);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void FireLastTriggeredRounds(int instrument)
    {
        // Each round fires what the last price crosses; their trades may move it again.
        while (true)
        {
            var last = _engine.LastTradePriceAt(instrument);
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
                _engine.Publish(in e);
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
}
