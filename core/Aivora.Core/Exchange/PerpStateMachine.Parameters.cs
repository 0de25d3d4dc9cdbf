using Aivora.Core.Collections;
using Aivora.Core.Commands;
using Aivora.Core.Events;

namespace Aivora.Core.Exchange;

/// <summary>Scheduled parameter changes: validation, cooling period, application and their events.</summary>
public sealed partial class PerpStateMachine<TSink>
    where TSink : struct, IEngineEventSink
{

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
            RiskParameter.FundingRateCap => c.Value is > 0 and <= 10_000_000 && _pricing[instrument] is not null,   // up to 10% per interval
            RiskParameter.MarginTiers => c.Value >= 0 && c.Value < _limits.TierTables.Count,
            RiskParameter.MaxOpenInterest or RiskParameter.MaxPosition => c.Value >= 0,
            RiskParameter.MaxOpenInterestShare or RiskParameter.BookDepthCap => c.Value is >= 0 and <= 100 * 100_000_000L,
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
            case RiskParameter.FundingRateCap:
                _pricing[instrument]!.SetFundingCap(value);
                break;
            case RiskParameter.MaxOpenInterest:
                _maxOpenInterest[instrument] = value;
                break;
            case RiskParameter.MaxPosition:
                _maxPosition[instrument] = value;
                break;
            case RiskParameter.MaxOpenInterestShare:
                _maxShareRate[instrument] = value;
                break;
            case RiskParameter.BookDepthCap:
                _depthCapRate[instrument] = value;
                _depthCap[instrument * 2] = _depthCap[(instrument * 2) + 1] = 0;   // re-measured at the next second
                break;
            case RiskParameter.MarginTiers:
                var table = _limits.TierTables[(int)value];
                // The holders are re-keyed by a pass over the commands from here on, a slice each (RunSecondlyWork; a change
                // that came due at a command's start gets its first slice in that command): at a million holders re-keying
                // them all here held the engine thread 33-42 ms.
                _ledger.UpdateContract(c.InstrumentId, spec => spec with { Tiers = table }, rekeyHoldersLater: true);
                _tierTableInUse[instrument] = (int)value;   // the ledger flags the change for the command's liquidation check
                _secondlyWorkDueNs = Math.Min(_secondlyWorkDueNs, _engine.NowNs);   // due now: the node ticks while work is due
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
            RiskParameter.FundingRateCap => _pricing[instrument]?.Config.Funding.CapRate ?? 0,
            RiskParameter.MarginTiers => _tierTableInUse[instrument],
            RiskParameter.MaxOpenInterest => _maxOpenInterest[instrument],
            RiskParameter.MaxPosition => _maxPosition[instrument],
            RiskParameter.MaxOpenInterestShare => _maxShareRate[instrument],
            RiskParameter.BookDepthCap => _depthCapRate[instrument],
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
        _engine.Publish(in e);
    }
}
