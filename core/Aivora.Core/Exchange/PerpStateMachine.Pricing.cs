using Aivora.Core.Collections;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Funding;
using Aivora.Core.Orders;
using Aivora.Core.Pricing;

namespace Aivora.Core.Exchange;

/// <summary>Feeder prices into index and mark, premium sampling and funding settlement, on engine time.</summary>
public sealed partial class PerpStateMachine<TSink>
    where TSink : struct, IEngineEventSink
{

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
        var previousIndex = pricing.LastIndex.PriceTicks;
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
        _engine.Publish(in e);

        // A stale index freezes the mark: nothing is liquidated on a frozen or single-source price.
        if (mark > 0 && mark != pricing.MarkTicks)
        {
            pricing.MarkTicks = mark;
            var update = EngineCommand.Mark(_engine.NowNs, id, mark);
            OnMark(in update);
        }

        // Stops watching the index fire on a valid index only, as mark-triggered ones do.
        if (pricing.LastIndex.State != IndexState.Stale && pricing.LastIndex.PriceTicks != previousIndex)
        {
            Fire(instrument, TriggerSource.Index, pricing.LastIndex.PriceTicks);
        }
    }

    /// <summary>Samples and settlements due at the current engine time, per instrument, in order. <see cref="Run"/> calls it
    /// only once engine time reaches <c>_pricingDueNs</c> (most commands arrive between samples: one comparison there, not a
    /// pass over the instruments). The schedules change only here.</summary>
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

            if (!pricing.ScheduleStarted)
            {
                // The first command anchors the schedule: a funding time already past when the node
                // starts is not settled (nothing was sampled, nobody held a position through it).
                pricing.ScheduleStarted = true;
                if (now >= pricing.NextFundingNs)
                {
                    pricing.NextFundingNs = pricing.NextFundingTimeAfter(now);
                }
            }

            if (now >= pricing.NextFundingNs)
            {
                // One settlement however many funding times passed since the last command (a node that
                // was down does not settle the intervals it missed one by one: it settles once, at the
                // rate of the samples it saw), then the next funding time on the schedule's grid. Every holder is paid as of
                // now, at this mark and rate, by a pass the commands after this one carry on (RunSecondlyWork), a slice each:
                // its FundingSettled event when it ends. A pass still under way from the last funding time ends first.
                while (_ledger.FundingUnderWayOn(id))
                {
                    ContinueFunding(int.MaxValue);
                }

                var rate = pricing.PredictedRate;
                pricing.SettlingMarkTicks = _ledger.MarkOf(id);
                pricing.SettlingSamples = pricing.Premiums.Count;
                pricing.LastFundingRate = rate;
                if (_ledger.StartFunding(id, rate))
                {
                    _secondlyWorkDueNs = now;   // the first slice in this command
                }
                else
                {
                    PublishFundingSettled(id, pricing, 0);   // nothing to pay: no mark, a rate of 0, or nobody holds a position
                }

                pricing.Premiums.Reset();
                pricing.NextFundingNs = pricing.NextFundingTimeAfter(now);
            }
        }

        _pricingDueNs = long.MaxValue;
        foreach (var pricing in _pricing)
        {
            _pricingDueNs = pricing is null ? _pricingDueNs : Math.Min(_pricingDueNs, pricing.NextDueNs);
        }
    }

    /// <summary>A slice of the funding pass under way (<paramref name="budget"/> holders); the settlement's event once it ends.
    /// The payments set <see cref="Accounts.Ledger.FillsMovedMargin"/>: the command's end looks for the liquidations they caused.</summary>
    private void ContinueFunding(int budget)
    {
        if (_ledger.ContinueFunding(budget, out var id, out var paid) && _instrumentIndex.TryGetValue(new Collections.IntKey(id), out var i)
            && _pricing[i] is { } pricing)
        {
            PublishFundingSettled(id, pricing, paid);
        }
    }

    private void PublishFundingSettled(int instrumentId, InstrumentPricing pricing, long paid)
    {
        var settled = new EngineEvent
        {
            Kind = EventKind.FundingSettled,
            TimeNs = _engine.NowNs,
            InstrumentId = instrumentId,
            PriceTicks = pricing.SettlingMarkTicks,
            QtyLots = pricing.LastFundingRate,
            RemainingLots = paid,
            OtherRemainingLots = _ledger.FundingResidue,
            Count = pricing.SettlingSamples,
        };
        _engine.Publish(in settled);
    }

    // The earliest time any instrument's pricing clock is due (0: run the pass on the next command).
    private long _pricingDueNs;

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
}
