using Aivora.Core.Events;
using Aivora.Core.Numbers;
using Aivora.Core.Orders;

namespace Aivora.Core.Exchange;

/// <summary>
/// Caps on exposure, checked for an order (or amend) that could grow the account's position, each rejected with
/// its figures (the cap and the value that broke it, in lots): the instrument's open interest, the account's
/// position and its share of open interest (the position if every open order on that side filled), and the
/// position the order makes against what its liquidation could sell into the visible book at maintenance (the depth within the maintenance distance of mark, re-measured every second of engine
/// time, moved only when it changes by more than a fifth, so the cap does not flicker with every quote).
/// </summary>
public sealed partial class PerpStateMachine<TSink>
    where TSink : struct, IEngineEventSink
{
    private const long DepthCapIntervalNs = 1_000_000_000;

    private readonly long[] _maxOpenInterest;
    private readonly long[] _maxPosition;
    private readonly long[] _maxShareRate;
    private readonly long[] _depthCapRate;

    // Per instrument and side of the book a liquidation would hit: [i * 2] caps longs (bids), [i * 2 + 1] shorts (asks). 0: not measured.
    private readonly long[] _depthCap;
    private long _nextSecondNs;        // the next second of engine time: its checks (RunSecondlyWork)
    private long _secondlyWorkDueNs;   // when Run calls RunSecondlyWork: the next second, or the next command while a ranking, funding or re-key pass runs

    // Positions the ADL ranking pass scores a command while it runs (see Ledger.AdlRanking): 1.6-2.5 us of a command's time at
    // the 99th percentile (`perf risk --case mark-update`, case=adl-ranking), so a million positions take some 31,000 commands,
    // scoring and ranking; in one call they took 50-74 ms.
    private const int AdlRankingSlice = 64;

    // Holders a funding pass pays a command while it runs (see Ledger.Funding), after the ranking's slice: ~20-30 ns each at a
    // million holders, where one call took 18-29 ms.
    private const int FundingSlice = 128;

    // Holders a tier change's re-key pass re-keys a command while it runs (see Ledger.RekeyPass): 35-60 ns each, a slice's median
    // 4.6-7.3 us and its 99th percentile 6.6-9.5 us at a million holders, where one call took 33-42 ms.
    private const int RekeySlice = 128;

    private readonly bool[] _concentrationRaised;
    private readonly int[] _topAccounts = new int[Accounts.Ledger.MaxTopHolders];
    private readonly long[] _topLots = new long[Accounts.Ledger.MaxTopHolders];
    private long _rankingsChecked;   // the ranking passes whose largest holders the concentration check has read

    /// <summary>How many largest holders the concentration check sums (the limit's, between 1 and what a ranking pass keeps).</summary>
    private int ConcentrationHolders => Math.Clamp(_limits.ConcentrationTopAccounts, 1, _topAccounts.Length);

    /// <summary>The cap from visible depth on positions of one direction (0: not measured, or off).</summary>
    public long BookDepthCap(int instrumentId, bool longs) =>
        _instrumentIndex.TryGetValue(new Collections.IntKey(instrumentId), out var i) ? _depthCap[(i * 2) + (longs ? 0 : 1)] : 0;

    /// <summary>
    /// The caps for an order of <paramref name="qtyLots"/> on <paramref name="side"/>, with the account's open
    /// lots on each side: what the position could become if every order on that side filled.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private RejectReason ExposureCaps(in MarginedAccount account, int instrument, Side side, long qtyLots, long buyLots, long sellLots, out long limit, out long actual)
    {
        limit = 0;
        actual = 0;
        if ((_maxPosition[instrument] | _maxOpenInterest[instrument] | _maxShareRate[instrument] | _depthCapRate[instrument]) == 0)
        {
            return RejectReason.None;   // no cap on this instrument: nothing to look up (inlined: no call for it)
        }

        return CheckedExposureCaps(in account, instrument, side, qtyLots, buyLots, sellLots, out limit, out actual);
    }

    /// <summary><see cref="ExposureCaps"/> on an instrument with at least one cap set (out of line).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private RejectReason CheckedExposureCaps(in MarginedAccount account, int instrument, Side side, long qtyLots, long buyLots, long sellLots, out long limit, out long actual)
    {
        limit = 0;
        actual = 0;
        var q = _ledger.PositionLotsAt(account.LedgerSlot, account.Contract);   // by the margin check's slot and index: no lookups
        var couldBe = side == Side.Buy ? q + buyLots + qtyLots : q - sellLots - qtyLots;
        var wouldHold = Math.Abs(couldBe);
        if (wouldHold <= Math.Abs(q))
        {
            return RejectReason.None;   // it can only reduce
        }

        var cap = _maxPosition[instrument];
        if (cap > 0 && wouldHold > cap)
        {
            (limit, actual) = (cap, wouldHold);
            return RejectReason.PositionCap;
        }

        // Open interest grows by what this order adds beyond the account's current position.
        var added = Math.Max(0, Math.Abs(q + (side == Side.Buy ? qtyLots : -qtyLots)) - Math.Abs(q));
        var openInterest = _ledger.OpenInterestAt(account.Contract) + added;
        cap = _maxOpenInterest[instrument];
        if (cap > 0 && added > 0 && openInterest > cap)
        {
            (limit, actual) = (cap, openInterest);
            return RejectReason.OpenInterestCap;
        }

        var share = _maxShareRate[instrument];
        if (share > 0 && wouldHold >= _limits.ConcentrationFloorLots)
        {
            var allowed = FixedPoint.ApplyRate(Math.Max(openInterest, wouldHold), share, Rounding.Down);
            if (wouldHold > allowed)
            {
                (limit, actual) = (Math.Max(allowed, _limits.ConcentrationFloorLots - 1), wouldHold);
                return RejectReason.ConcentrationCap;
            }
        }

        // The depth cap looks at the position this order alone could make: a maker's resting quotes on both sides are
        // the depth, and counting all of them would cap the makers by their own book.
        var afterOrder = q + (side == Side.Buy ? qtyLots : -qtyLots);
        cap = _depthCap[(instrument * 2) + (afterOrder > 0 ? 0 : 1)];
        if (_depthCapRate[instrument] > 0 && cap > 0 && Math.Abs(afterOrder) > Math.Abs(q) && Math.Abs(afterOrder) > cap)
        {
            (limit, actual) = (cap, Math.Abs(afterOrder));
            return RejectReason.PositionTooLargeForBook;
        }

        return RejectReason.None;
    }

    /// <summary>
    /// <see cref="Run"/> calls it once engine time reaches <c>_secondlyWorkDueNs</c>. Every second of engine time: a new ADL
    /// ranking pass (what orders' what-if ADL quantiles are read against once it ends; one still under way goes on instead;
    /// with the concentration check on, it keeps each instrument's largest holders, and the check runs in the command that ends
    /// it), and the visible depth within the maintenance distance of mark, per side, into the caps. Then a slice of
    /// the ranking pass (<see cref="AdlRankingSlice"/> positions) and of a funding pass under way (<see cref="FundingSlice"/>
    /// holders, started by the pricing clock at a funding time) and of a tier change's re-key pass (<see cref="RekeySlice"/>
    /// holders): while any runs, every command comes here for the next one (and, while a funding or re-key pass runs, its
    /// account is paid and re-keyed first).
    /// </summary>
    private void RunSecondlyWork(int commandAccountId)
    {
        var now = _engine.NowNs;
        if (now >= _nextSecondNs)
        {
            _nextSecondNs = ((now / DepthCapIntervalNs) + 1) * DepthCapIntervalNs;
            if (!_ledger.AdlRankingRunning)
            {
                // With the concentration check on, the pass keeps each instrument's largest holders for it as it goes.
                _ledger.StartAdlRanking(_limits.ConcentrationWarningRate > 0 ? ConcentrationHolders : 0);
            }

            MeasureDepthCaps(now);
        }

        var ranked = _ledger.ContinueAdlRanking(AdlRankingSlice);
        if (_ledger.AdlRankingsTaken != _rankingsChecked)
        {
            _rankingsChecked = _ledger.AdlRankingsTaken;
            // Only a pass that kept the holders: one taken in a single call from outside (SnapshotAdlRanking) kept none, and
            // reading its empty lists as a share of 0 would re-arm a warning raised.
            if (_limits.ConcentrationWarningRate > 0 && _ledger.TopHoldersKeptAtRanking > 0)
            {
                CheckConcentration(now);
            }
        }

        if (_ledger.FundingUnderWay)
        {
            ContinueFunding(FundingSlice);
            // The command's account is paid first, on every pass under way that has not reached it: its checks read its
            // money as the settlement leaves it (an account a fill moves is paid in the fill). Here, not on every command's
            // path: while a pass runs, every command comes here.
            _ledger.PayFundingDue(commandAccountId);
        }

        if (_ledger.RekeyUnderWay)
        {
            // A tier change's pass (Ledger.RekeyPass.cs): a slice of its holders, and the command's account re-keyed first
            // if the pass has not reached it (an account a fill moves is re-keyed in the fill).
            _ledger.ContinueRekey(RekeySlice);
            _ledger.RekeyDue(commandAccountId);
        }

        _secondlyWorkDueNs = ranked && !_ledger.FundingUnderWay && !_ledger.RekeyUnderWay ? _nextSecondNs : now;
    }

    /// <summary>The visible depth within the maintenance distance of mark, per side, into the caps.</summary>
    private void MeasureDepthCaps(long now)
    {
        for (var i = 0; i < _depthCapRate.Length; i++)
        {
            if (_depthCapRate[i] <= 0)
            {
                continue;
            }

            var id = _ledger.InstrumentIdAt(i);
            var mark = _ledger.MarkOf(id);
            if (mark <= 0 || !_instrumentIndex.TryGetValue(new Collections.IntKey(id), out var instrument))
            {
                continue;
            }

            // A long is liquidated into the bids down to mark × (1 − MMR), a short into the asks up to mark × (1 + MMR).
            var distance = FixedPoint.ApplyRate(mark, _ledger.Contract(id).Tiers[0].MaintenanceRate, Rounding.Down);
            for (var s = 0; s < 2; s++)
            {
                var bookSide = s == 0 ? Side.Buy : Side.Sell;
                var n = _engine.GetLevels(id, bookSide, _levels);
                long depth = 0;
                for (var k = 0; k < n; k++)
                {
                    var within = bookSide == Side.Buy ? _levels[k].PriceTicks >= mark - distance : _levels[k].PriceTicks <= mark + distance;
                    if (!within)
                    {
                        break;
                    }

                    depth += _levels[k].TotalLots;
                }

                var measured = FixedPoint.ApplyRate(depth, _depthCapRate[instrument], Rounding.Down);
                ref var cap = ref _depthCap[(instrument * 2) + s];
                if (cap == 0 || Math.Abs(measured - cap) * 5 > cap)
                {
                    var e = new EngineEvent
                    {
                        Kind = EventKind.PositionCapChanged,
                        TimeNs = now,
                        InstrumentId = id,
                        Side = s == 0 ? Side.Buy : Side.Sell,
                        QtyLots = Math.Max(1, measured),
                        OtherRemainingLots = cap,
                        RemainingLots = depth,
                        PriceTicks = mark,
                    };
                    cap = Math.Max(1, measured);   // an empty book still allows a lot: the cap never blocks closing, and 0 means "not measured"
                    _engine.Publish(in e);
                }
            }
        }
    }

    /// <summary>
    /// When a ranking pass ends (one starts each second): the largest holders' share of each instrument's open interest against
    /// the warning threshold (raised once, re-armed below 90 %). The holders are those the pass kept as it scored each
    /// position (<see cref="Accounts.Ledger.TopHoldersAtRanking"/>). Before 2026-12-04 the check made a pass of its own over
    /// every holder, in the command that crossed the second.
    /// </summary>
    private void CheckConcentration(long now)
    {
        var k = ConcentrationHolders;
        for (var i = 0; i < _ledger.InstrumentCount; i++)
        {
            var id = _ledger.InstrumentIdAt(i);
            var openInterest = _ledger.OpenInterestLots(id);
            if (openInterest <= 0 || !_instrumentIndex.TryGetValue(new Collections.IntKey(id), out var instrument))
            {
                continue;
            }

            var n = _ledger.TopHoldersAtRanking(id, _topAccounts.AsSpan(0, k), _topLots.AsSpan(0, k));
            long held = 0;
            for (var j = 0; j < n; j++)
            {
                held += _topLots[j];
            }

            // Lots held on either side, against one side's open interest: both sides' holders count toward concentration.
            var share = FixedPoint.MulDiv(held, FixedPoint.RateScale, 2 * openInterest, Rounding.Down);
            var threshold = _limits.ConcentrationWarningRate;
            if (!_concentrationRaised[instrument] && share > threshold)
            {
                _concentrationRaised[instrument] = true;
                var e = new EngineEvent
                {
                    Kind = EventKind.ConcentrationWarning,
                    TimeNs = now,
                    InstrumentId = id,
                    Count = n,
                    QtyLots = held,
                    RemainingLots = openInterest,
                    Required = threshold,
                    Available = share,
                    OtherAccountId = n > 0 ? _topAccounts[0] : 0,
                    OtherRemainingLots = n > 0 ? _topLots[0] : 0,
                };
                _engine.Publish(in e);
            }
            else if (_concentrationRaised[instrument] && share * 10 < threshold * 9)
            {
                _concentrationRaised[instrument] = false;
            }
        }
    }
}
