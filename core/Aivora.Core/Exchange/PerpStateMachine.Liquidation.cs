using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Liquidation;
using Aivora.Core.Numbers;
using Aivora.Core.Orders;
using Aivora.Core.Pricing;

namespace Aivora.Core.Exchange;

/// <summary>
/// The liquidation path, inline and deterministic, run on a mark move (never on last price, never on a
/// stale index) for every position the liquidation index finds at or past its liquidation price:
/// <list type="number">
/// <item>Trigger: the margin scope (the isolated position, or the whole cross account) has equity below
/// maintenance margin on mark: a <see cref="LiquidationStep.Triggered"/> step.</item>
/// <item>Its open orders and held stops in the scope are cancelled (reason Liquidation); re-check.</item>
/// <item>Slices: an IOC, reduce-only liquidation order (no pre-trade margin check, no trading fee) priced
/// no worse than the bankruptcy price and no further than the band's protection price, for the whole
/// position, or for a large one (notional ≥ <see cref="LiquidationConfig.LargePositionNotional"/>) the
/// larger of <see cref="LiquidationConfig.SliceRate"/> of it and what brings it to the next lower tier;
/// re-check after each. Between slices of a large position the path waits
/// <see cref="LiquidationConfig.SliceCooldownNs"/> of engine time while equity stays above the hard
/// floor; an account waiting may only send reduce-only orders. Each fill pays the clearance fee, capped
/// at the margin left, to the insurance fund.</item>
/// <item>What the book cannot absorb at or better than bankruptcy the fund takes over at the bankruptcy
/// price, as much as its equity covers (the loss against mark of what it takes). The fund holds it: the
/// book has just shown it cannot take the position at that price, and selling it back into the same book
/// is how a cascade deepens. The fund's positions are marked to market in its equity and unwound by the
/// operator with ordinary orders on the fund's account; if a later mark leaves the fund's equity below
/// zero, its positions on that instrument are deleveraged at the fund's own bankruptcy price.</item>
/// <item>The rest: auto-deleveraging against opposite positions ranked by profit% × effective leverage
/// (highest first, ties to the lower account id), filled at the bankruptcy price.</item>
/// </list>
/// Every step is an <see cref="EventKind.LiquidationStep"/> event with its figures.
/// </summary>
public sealed partial class PerpStateMachine<TSink>
    where TSink : struct, IEngineEventSink
{
    private readonly int[] _pathQueue = new int[256];
    private readonly (int AccountId, int InstrumentId, long UntilNs)[] _waiting;   // in the order they began waiting
    private int _waitingCount;

    // A round re-queries the index after the paths it ran: fills of one path can push makers past theirs.
    private const int MaxLiquidationRounds = 64;

    /// <summary>Liquidates what the instrument's current mark puts at or past its liquidation price.</summary>
    private void LiquidateAtMark(int instrument, int instrumentId)
    {
        if (_indexStates[instrument] == IndexState.Stale)
        {
            return;   // never on a frozen or single-source price: the positions wait, indexed, for a valid mark
        }

        for (var round = 0; round < MaxLiquidationRounds; round++)
        {
            var atRisk = _ledger.AtRisk(instrumentId, _pathQueue);
            var progressed = false;
            for (var k = 0; k < Math.Min(atRisk, _pathQueue.Length); k++)
            {
                progressed |= StartPath(_pathQueue[k], instrumentId);
            }

            if (!progressed)
            {
                break;
            }
        }

        DeleverageFund(instrumentId);
    }

    /// <summary>Runs the path on every other instrument's index at its own mark (after a change that moved cross margin everywhere).</summary>
    private void LiquidateOtherInstruments(int exceptInstrumentId)
    {
        for (var j = 0; j < _ledger.InstrumentCount; j++)
        {
            var id = _ledger.InstrumentIdAt(j);
            if (id != exceptInstrumentId && _instrumentIndex.TryGetValue(new Collections.IntKey(id), out var instrument))
            {
                LiquidateAtMark(instrument, id);
            }
        }
    }

    /// <summary>Steps 1 and 2 for one account, then its reductions. False when the exact check finds it healthy.</summary>
    private bool StartPath(int accountId, int instrumentId)
    {
        _ledger.PayFundingDue(accountId);   // its funding first, if a pass under way has not reached it yet
        _ledger.RekeyDue(accountId);        // and its keys by the tiers as they stand, if a tier change's pass has not reached it

        var scope = _ledger.Scope(accountId, instrumentId);
        if (!scope.Unhealthy)
        {
            return false;
        }

        Step(LiquidationStep.Triggered, accountId, instrumentId, in scope);
        var cancelled = CancelScopeOrders(accountId, instrumentId, scope.Isolated);
        if (cancelled > 0)
        {
            scope = _ledger.Scope(accountId, instrumentId);
            Step(LiquidationStep.OrdersCancelled, accountId, instrumentId, in scope, lots: cancelled);
        }

        Reduce(accountId, instrumentId);
        return true;
    }

    /// <summary>Cancels the account's orders and held stops in the scope: the instrument (isolated) or every instrument it is not isolated on (cross).</summary>
    private int CancelScopeOrders(int accountId, int instrumentId, bool isolated)
    {
        var cancelled = 0;
        for (var j = 0; j < _ledger.InstrumentCount; j++)
        {
            var id = _ledger.InstrumentIdAt(j);
            if (isolated ? id != instrumentId : _ledger.PositionOf(accountId, id).Isolated)
            {
                continue;
            }

            var orders = _engine.OpenQuantity(accountId, id, out _, out _);
            var cancel = EngineCommand.MassCancel(_engine.NowNs, accountId, id, SideFilter.Both, CancelReason.Liquidation);
            if (orders > 0)
            {
                _engine.Process(in cancel);
                cancelled += orders;
            }

            if (_stops.Count > 0)
            {
                CancelStops(in cancel);
            }
        }

        return cancelled;
    }

    /// <summary>Step 3 on, from the position on <paramref name="instrumentId"/> (then the account's other cross positions) until healthy, closed or waiting.</summary>
    private void Reduce(int accountId, int instrumentId)
    {
        var current = instrumentId;
        while (true)
        {
            var scope = _ledger.Scope(accountId, current);
            if (scope.PositionLots == 0 && !scope.Isolated && _ledger.NextCrossPosition(accountId, current) is var next && next != 0)
            {
                current = next;   // cross: the account's other positions share the margin; reduce them next
                continue;
            }

            if (!scope.Unhealthy)
            {
                Step(LiquidationStep.Completed, accountId, current, in scope);
                return;
            }

            if (!Slice(accountId, current, in scope))
            {
                if (!TakeOver(accountId, current))
                {
                    // Nobody can take the other side (no fund, no opposite position): nothing more to do now.
                    Step(LiquidationStep.Completed, accountId, current, _ledger.Scope(accountId, current));
                    return;
                }

                continue;
            }

            var after = _ledger.Scope(accountId, current);
            if (after.Unhealthy && after.NotionalMoney >= _liquidation.LargePositionNotional && Wait(accountId, current, in after))
            {
                return;
            }
        }
    }

    /// <summary>One IOC liquidation order; true when it filled all it asked for (the book absorbed the slice).</summary>
    private bool Slice(int accountId, int instrumentId, in ScopeFigures scope)
    {
        var qty = Math.Abs(scope.PositionLots);
        var lots = qty;
        if (scope.NotionalMoney >= _liquidation.LargePositionNotional)
        {
            var share = FixedPoint.MulDiv(qty, _liquidation.SliceRate, FixedPoint.RateScale, Rounding.Up);
            lots = Math.Min(qty, Math.Max(1, Math.Max(share, LotsToLowerTier(instrumentId, in scope))));
        }

        var side = scope.PositionLots > 0 ? Side.Sell : Side.Buy;
        var limit = _engine.LiquidationLimit(instrumentId, side, scope.BankruptcyPriceTicks);
        lots = limit > 0 ? _engine.OrderableLots(instrumentId, lots, limit) : 0;
        if (lots == 0)
        {
            return false;
        }

        var order = EngineCommand.Place(_engine.NowNs, accountId, instrumentId, LiquidationOrders.ClientOrderId, side, OrderType.Limit, TimeInForce.Ioc, limit, lots, OrderFlags.ReduceOnly);
        _ledger.BeginLiquidationFills(_liquidation.ClearanceFeeRate, limit, lots);
        _engine.Process(in order);
        var fills = _ledger.EndLiquidationFills();
        if (fills.Lots > 0)
        {
            Step(LiquidationStep.PartialReduction, accountId, instrumentId, in scope, fills.AveragePriceTicks, fills.Lots, fills.ClearanceFee, fills.ClearanceFee);
        }

        return fills.Lots == lots;
    }

    /// <summary>Lots to sell (or buy back) for the position's notional at mark to fall below its tier's floor (0 in the first tier).</summary>
    private long LotsToLowerTier(int instrumentId, in ScopeFigures scope)
    {
        if (scope.Tier == 0)
        {
            return 0;
        }

        var contract = _ledger.Contract(instrumentId);
        var perLot = FixedPoint.Product(1, _ledger.MarkOf(instrumentId), contract.MoneyPerTickLot);
        var keep = (contract.Tiers[scope.Tier].FloorNotional - 1) / Math.Max(1, perLot);
        return Math.Max(0, Math.Abs(scope.PositionLots) - keep);
    }

    /// <summary>Steps 4 and 5: the fund takes what its equity covers at the bankruptcy price, ADL the rest; false when nothing moved.</summary>
    private bool TakeOver(int accountId, int instrumentId)
    {
        var scope = _ledger.Scope(accountId, instrumentId);
        var positionBefore = scope.PositionLots;
        var remaining = Math.Abs(scope.PositionLots);
        var side = scope.PositionLots > 0 ? Side.Sell : Side.Buy;
        var bankruptcy = scope.BankruptcyPriceTicks;
        var fund = _liquidation.InsuranceFundAccountId;
        if (fund > 0 && remaining > 0)
        {
            var lots = Math.Min(remaining, FundCapacity(fund, instrumentId, side, bankruptcy));
            if (lots > 0)
            {
                FundTakes(accountId, instrumentId, side, bankruptcy, lots, in scope);
                remaining -= lots;
                scope = _ledger.Scope(accountId, instrumentId);
            }
        }

        Deleverage(accountId, instrumentId, side, bankruptcy, remaining, in scope);
        return _ledger.PositionOf(accountId, instrumentId).QtyLots != positionBefore;
    }

    /// <summary>The fund takes <paramref name="lots"/> of the account's position at <paramref name="price"/>; the step carries the change of the fund's equity.</summary>
    private void FundTakes(int accountId, int instrumentId, Side side, long price, long lots, in ScopeFigures scope)
    {
        var fund = _liquidation.InsuranceFundAccountId;
        var before = _ledger.Equity(fund);
        _ledger.Transfer(accountId, fund, instrumentId, side, price, lots);
        Step(LiquidationStep.InsuranceTakeover, accountId, instrumentId, in scope, price, lots, 0, _ledger.Equity(fund) - before, fund);
    }

    /// <summary>Lots the fund can take over at the bankruptcy price with its equity staying at or above zero at mark.</summary>
    private long FundCapacity(int fund, int instrumentId, Side liquidatedSide, long bankruptcy)
    {
        var mark = _ledger.MarkOf(instrumentId);
        // The fund takes the other side: it buys a liquidated long at bankruptcy (a loss when bankruptcy is above mark).
        var lossTicks = liquidatedSide == Side.Sell ? bankruptcy - mark : mark - bankruptcy;
        if (lossTicks <= 0)
        {
            return long.MaxValue;
        }

        var lossPerLot = FixedPoint.Product(lossTicks, 1, _ledger.Contract(instrumentId).MoneyPerTickLot);
        return Math.Max(0, _ledger.Equity(fund)) / lossPerLot;
    }

    /// <summary>Closes <paramref name="lots"/> of the account's position against the highest-ranked opposite positions at <paramref name="price"/>.</summary>
    private void Deleverage(int accountId, int instrumentId, Side side, long price, long lots, in ScopeFigures scopeBefore)
    {
        var scope = scopeBefore;
        while (lots > 0)
        {
            var counterparty = _ledger.NextAdlCounterparty(instrumentId, longs: side == Side.Buy, accountId, out var score);
            if (counterparty == 0)
            {
                // Nobody but the fund holds the other side: it takes the rest, whatever its equity.
                var fund = _liquidation.InsuranceFundAccountId;
                if (fund > 0 && fund != accountId)
                {
                    FundTakes(accountId, instrumentId, side, price, lots, in scope);
                }

                return;
            }

            var take = Math.Min(lots, Math.Abs(_ledger.PositionOf(counterparty, instrumentId).QtyLots));
            _ledger.Transfer(accountId, counterparty, instrumentId, side, price, take);
            Step(LiquidationStep.AutoDeleverage, accountId, instrumentId, in scope, price, take, score, 0, counterparty);
            lots -= take;
            scope = _ledger.Scope(accountId, instrumentId);
        }
    }

    /// <summary>
    /// A fund whose equity a mark left below zero: its position on the instrument whose mark moved (else its
    /// first, in instrument order) is deleveraged at the fund's bankruptcy price, which brings its equity to zero.
    /// </summary>
    private void DeleverageFund(int instrumentId)
    {
        var fund = _liquidation.InsuranceFundAccountId;
        if (fund <= 0 || _ledger.Equity(fund) >= 0)
        {
            return;
        }

        var id = _ledger.PositionOf(fund, instrumentId).QtyLots != 0 ? instrumentId : _ledger.NextCrossPosition(fund, instrumentId);
        if (id == 0)
        {
            return;
        }

        var scope = _ledger.Scope(fund, id);
        Step(LiquidationStep.Triggered, fund, id, in scope);
        var side = scope.PositionLots > 0 ? Side.Sell : Side.Buy;
        Deleverage(fund, id, side, scope.BankruptcyPriceTicks, Math.Abs(scope.PositionLots), in scope);
        var after = _ledger.Scope(fund, id);
        Step(LiquidationStep.Completed, fund, id, in after);
    }

    /// <summary>Parks a large position's path for its cooldown; false when it must go on at once (below the hard floor, no cooldown, no room).</summary>
    private bool Wait(int accountId, int instrumentId, in ScopeFigures scope)
    {
        var floor = FixedPoint.ApplyRate(scope.MaintenanceMargin, _liquidation.HardFloorRate, Rounding.Up);
        if (_liquidation.SliceCooldownNs == 0 || scope.Equity < floor || _waitingCount == _waiting.Length)
        {
            return false;
        }

        var until = _engine.NowNs + _liquidation.SliceCooldownNs;
        _waiting[_waitingCount++] = (accountId, instrumentId, until);
        _ledger.SetLiquidating(accountId, true);
        Step(LiquidationStep.Waiting, accountId, instrumentId, in scope, fillPriceTicks: until);
        return true;
    }

    /// <summary>Resumes waiting paths whose cooldown is over or whose equity fell below the hard floor (in the order they began waiting).</summary>
    private void ResumeWaitingPaths()
    {
        for (var k = 0; k < _waitingCount;)
        {
            var (accountId, instrumentId, untilNs) = _waiting[k];
            _instrumentIndex.TryGetValue(new Collections.IntKey(instrumentId), out var instrument);
            var scope = _ledger.Scope(accountId, instrumentId);
            var floor = FixedPoint.ApplyRate(scope.MaintenanceMargin, _liquidation.HardFloorRate, Rounding.Up);
            var due = _engine.NowNs >= untilNs || scope.Equity < floor || !scope.Unhealthy;
            if (!due || _indexStates[instrument] == IndexState.Stale)
            {
                k++;
                continue;
            }

            // Remove, keeping the order of the rest (deterministic), then go on with the path.
            Array.Copy(_waiting, k + 1, _waiting, k, _waitingCount - k - 1);
            _waitingCount--;
            _ledger.SetLiquidating(accountId, false);
            Reduce(accountId, instrumentId);
            k = 0;   // the path may have waited again (appended) or moved others: start over; every pass removes one
        }
    }

    /// <summary>
    /// Every instrument at its current mark (two heap tops when nobody is at or past a price), at the end of a command
    /// whose fills or transfers moved margin (<see cref="Ledger.FillsMovedMargin"/>): an isolated position grown on a loss
    /// (topped up to initial margin on cost, the loss still in it), a fee, a taker sweeping past mark, and paths that
    /// resumed outside a mark's sweep (their takeover and auto-deleveraging at bankruptcy prices can push a counterparty
    /// past its price on any instrument). Nothing else would look at such a position before its instrument's next mark.
    /// </summary>
    private void LiquidateAtEveryMark()
    {
        // Most commands leave nobody at risk: the heap tops and the fund's equity say so without the per-instrument sweep.
        if (!_ledger.AnyAtRiskOrFundUnderwater())
        {
            return;
        }

        for (var j = 0; j < _ledger.InstrumentCount; j++)
        {
            var id = _ledger.InstrumentIdAt(j);
            if (_instrumentIndex.TryGetValue(new Collections.IntKey(id), out var instrument))
            {
                LiquidateAtMark(instrument, id);
            }
        }
    }

    /// <summary>Paths waiting for a slice cooldown.</summary>
    public int WaitingLiquidations => _waitingCount;

    /// <summary>The k-th waiting path, in the order they began waiting (diagnostics and tests).</summary>
    public (int AccountId, int InstrumentId, long UntilNs) WaitingPath(int k) => _waiting[k];

    private void Step(LiquidationStep step, int accountId, int instrumentId, in ScopeFigures scope,
        long fillPriceTicks = 0, long lots = 0, long feeOrScore = 0, long fundDelta = 0, int counterparty = 0)
    {
        _instrumentIndex.TryGetValue(new Collections.IntKey(instrumentId), out var instrument);
        var e = new EngineEvent
        {
            Kind = EventKind.LiquidationStep,
            TimeNs = _engine.NowNs,
            Reason = (byte)step,
            Reason2 = (byte)_indexStates[instrument],
            AccountId = accountId,
            InstrumentId = instrumentId,
            Count = scope.Tier,
            Flag = scope.Isolated,
            Side = scope.PositionLots >= 0 ? Side.Buy : Side.Sell,
            PriceTicks = _ledger.MarkOf(instrumentId),
            OrderId = _pricing[instrument]?.LastIndex.PriceTicks ?? 0,
            QtyLots = scope.PositionLots,
            RemainingLots = scope.Equity,
            OtherRemainingLots = scope.MaintenanceMargin,
            Required = scope.BankruptcyPriceTicks,
            Available = fillPriceTicks,
            TradeId = lots,
            OtherOrderId = feeOrScore,
            ClientOrderId = fundDelta,
            OtherAccountId = counterparty,
        };
        _engine.Publish(in e);
    }
}
