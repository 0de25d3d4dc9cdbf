using Aivora.Core.Accounts;
using Aivora.Core.Collections;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Core.Pricing;

namespace Aivora.Core.Risk;

public sealed record RiskLimits
{
    /// <summary>Resting orders an account may hold on one instrument.</summary>
    public int MaxOpenOrdersPerInstrument { get; init; } = 200;
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
/// ledger. Other commands pass straight through.
/// </summary>
public sealed class PreTradeRisk<TSink>
    where TSink : struct, IEngineEventSink
{
    private readonly MatchingEngine<TSink, LedgerPositions> _engine;
    private readonly Ledger _ledger;
    private readonly RiskLimits _limits;
    private readonly OpenHashMap<IntKey> _instrumentIndex;
    private readonly IndexState[] _indexStates;

    public PreTradeRisk(EngineConfig config, Ledger ledger, RiskLimits limits, TSink sink = default)
    {
        _engine = new MatchingEngine<TSink, LedgerPositions>(config, sink, new LedgerPositions(ledger));
        _ledger = ledger;
        _limits = limits;
        _instrumentIndex = new OpenHashMap<IntKey>(config.Instruments.Count);
        _indexStates = new IndexState[config.Instruments.Count];
        for (var i = 0; i < config.Instruments.Count; i++)
        {
            _instrumentIndex.TryAdd(new IntKey(config.Instruments[i].Id), i);
        }
    }

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
        if (command.Kind != CommandKind.PlaceOrder)
        {
            _engine.Process(in command);
            return;
        }

        // Expiries due at this time come first, as for any command.
        _engine.AdvanceTo(command.NowNs);
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
        if (openOrders >= _limits.MaxOpenOrdersPerInstrument && c.TimeInForce.CanRest())
        {
            required = _limits.MaxOpenOrdersPerInstrument;
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

        // Initial margin with this order on its side, every instrument's worst side.
        long marginBefore = 0, marginAfter = 0;
        for (var j = 0; j < _ledger.InstrumentCount; j++)
        {
            var id = _ledger.InstrumentIdAt(j);
            long buys = buyLots, sells = sellLots;
            if (id != c.InstrumentId)
            {
                _engine.OpenQuantity(c.AccountId, id, out buys, out sells);
            }

            var before = _ledger.ExposureMargin(c.AccountId, id, buys, sells, priceTicks);
            marginBefore += before;
            marginAfter += id != c.InstrumentId ? before
                : _ledger.ExposureMargin(c.AccountId, id, buys + (c.Side == Side.Buy ? c.QtyLots : 0), sells + (c.Side == Side.Sell ? c.QtyLots : 0), priceTicks);
        }

        var reserved = _ledger.TakerFee(c.InstrumentId, priceTicks, c.QtyLots) + _ledger.ImmediateLossAgainstMark(c.InstrumentId, c.Side, priceTicks, c.QtyLots);
        var equity = _ledger.Equity(c.AccountId);
        required = marginAfter + reserved;
        available = equity;
        if (equity < required)
        {
            return RejectReason.InsufficientMargin;
        }

        // For the what-if: the margin this order adds, and what stays available after it.
        required = marginAfter - marginBefore;
        available = equity - marginAfter - reserved;
        return RejectReason.None;
    }

    private void Reject(in EngineCommand c, RejectReason reason, long required, long available)
    {
        var e = new EngineEvent
        {
            Kind = EventKind.OrderRejected,
            TimeNs = _engine.NowNs,
            Reason = (byte)reason,
            Reason2 = (byte)c.Kind,
            OrderId = c.OrderId,
            ClientOrderId = c.ClientOrderId,
            AccountId = c.AccountId,
            InstrumentId = c.InstrumentId,
            Side = c.Side,
            PriceTicks = c.PriceTicks,
            QtyLots = c.QtyLots,
            Required = required,
            Available = available,
        };
        _engine.Sink.OnEvent(in e);
    }
}
