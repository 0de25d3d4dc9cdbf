using System.Numerics;
using Aivora.Core.Collections;
using Aivora.Core.Margin;
using Aivora.Core.Numbers;
using Aivora.Core.Orders;

namespace Aivora.Core.Accounts;

/// <summary>
/// The figures that decide a margin scope's liquidation: the isolated position alone (its wallet), or the
/// whole cross account (balance and every cross position). Money in settlement units, prices in ticks.
/// </summary>
public readonly record struct ScopeFigures(
    bool Isolated,
    long PositionLots,
    long NotionalMoney,
    long Equity,
    long MaintenanceMargin,
    int Tier,
    long BankruptcyPriceTicks)
{
    /// <summary>Below maintenance margin: the liquidation path runs (or continues).</summary>
    public bool Unhealthy => PositionLots != 0 && Equity < MaintenanceMargin;
}

/// <summary>What the liquidation order's fills did, summed over its makers.</summary>
public readonly record struct LiquidationFills(long Lots, long NotionalMoney, long PriceTimesLots, long ClearanceFee)
{
    /// <summary>Volume-weighted fill price in ticks, rounded down (0 when nothing filled).</summary>
    public long AveragePriceTicks => Lots == 0 ? 0 : PriceTimesLots / Lots;
}

/// <summary>The ledger's side of the liquidation path: scope figures, liquidation fills (clearance fee to the
/// fund), fee-free transfers at the bankruptcy price (fund takeover, auto-deleveraging) and the ADL ranking.</summary>
public sealed partial class Ledger
{
    private long _liquidationFeeRate = -1;
    private long _liquidationLimitTicks;   // the liquidation order's limit and lots (BeginLiquidationFills)
    private long _liquidationOrderLots;
    private long _liquidationLots;
    private long _liquidationNotional;
    private long _liquidationPriceLots;
    private long _liquidationFee;
    private int _fundAccountId;

    // Cross accounts. With positions on two or more instruments (_crossPositions[slot] >= 2), a mark on one of them moves the
    // liquidation price of the others. Rather than re-keying all of them on every mark, each gets a band per instrument it
    // holds: the mark may move within ± its share of the account's slack (equity − maintenance) without eating it, so none
    // of its positions can be at or past its liquidation price while every mark stays inside its band. A mark that leaves a
    // band re-keys that account (and draws new bands around the current marks): a mark update visits only the accounts whose
    // band it crosses. A lone cross position with slack to spare is banded too: a fill then usually leaves its band as it was
    // (see DrawBands) where an exact key is solved and moved in the index every time; with little slack it is keyed exactly.
    private readonly int[] _crossPositions;
    private readonly bool[] _liquidating;
    private int _multiCrossCount;   // accounts with two or more cross positions
    private readonly IndexedMinHeap[] _bandLows;    // per instrument: −(lowest mark inside the band): left when the mark is below it
    private readonly IndexedMinHeap[] _bandHighs;   // per instrument: highest mark inside the band: left when the mark is above it
    private readonly long[] _bandDrawn;             // per account and instrument: the band's low and high as drawn
    private readonly long[] _maxMaintenanceRate;    // per instrument: the tier table's highest rate (how fast MM can grow)
    private readonly int[] _crossedBands = new int[256];

    // A fill that keeps the bands. Per account whose bands hold (every position cross and banded), the headroom H × 1e8 of the
    // bands' guarantee, valid while every mark stays inside its band: a floor under the slack over the whole box of marks the
    // bands allow, less what the guarantee needs (two ticks' worth of every position, see DrawBands):
    //   L = slack − Σ_j (w_j × |q_j| × k⁺_j ÷ 1e8 + ε_j),  R = Σ_j 2 × |q_j| × k⁺_j ÷ 1e8,  H = L − R ≥ 0,
    // w_j the band's wider half around the mark, k⁺_j = money per tick-lot × (1e8 + MMR_max) (how fast slack can move a tick:
    // PnL one money-per-tick-lot a lot, maintenance at most MMR_max of that) and ε_j maintenance margin's rounding (its tier
    // table's cumulative amounts round, and each figure rounds up: under tiers + 2 units between any two notionals).
    // A fill of f lots at price p moves the slack at marks m by C + f × m_i × M_i − ΔMM, C its cash (the balance's change less
    // the cost's: −f × p × M − fee); over the band [lo, hi] that is at least C + f × e × M × (1e8 ∓ MMR_max) ÷ 1e8 − ε, e = lo for
    // a buy (k⁻) and hi for a sell (k⁺); and the guarantee needs 2 × (|q'| − |q|) × k⁺ ÷ 1e8 more. When H stays ≥ 0 the bands
    // still hold for the new position: the fill needs no re-key (a re-key would find no position near its price either, so
    // what liquidates, and when, is the same). Otherwise it re-keys as before, which draws the bands and H anew.
    private readonly Int128[] _bandHeadroom;     // per account: H × 1e8, while _headroomKnown
    private readonly bool[] _headroomKnown;      // per account: the bands hold and _bandHeadroom is their headroom
    private readonly Int128[] _slackRatePlus;    // per instrument: k⁺ = money per tick-lot × (1e8 + MMR_max)
    private readonly Int128[] _slackRateMinus;   // per instrument: k⁻ = money per tick-lot × (1e8 − MMR_max)
    private readonly Int128[] _roundingSlack;    // per instrument: ε × 1e8, ε = tiers + 2 money units
    private readonly long[] _narrowSlackRates;   // per instrument: k⁺ and k⁻ ([i * 2], [i * 2 + 1]) for the 64-bit path (see SetSlackRates)
    private readonly long[] _narrowFillLimit;    // per instrument: (2^61 − 1) ÷ k⁺, the 64-bit path's bound on lots × price

    /// <summary>The per-instrument figures of <see cref="_bandHeadroom"/>, from the contract's money per tick-lot and tiers.</summary>
    private void SetSlackRates(int i)
    {
        var moneyPerTickLot = _contracts[i].MoneyPerTickLot;
        _slackRatePlus[i] = (Int128)moneyPerTickLot * (FixedPoint.RateScale + _maxMaintenanceRate[i]);
        _slackRateMinus[i] = (Int128)moneyPerTickLot * (FixedPoint.RateScale - _maxMaintenanceRate[i]);
        _roundingSlack[i] = (Int128)(_contracts[i].Tiers.Count + 2) * FixedPoint.RateScale;
        // FillKeepsBands' 64-bit path: k⁺ and k⁻ as longs, and how large a lot count (times a price) may be for a product with
        // k⁺ to stay under 2^61. With k⁺ outside (0, 2^61) the limit is 0: only terms of zero lots take that path.
        var narrow = _slackRatePlus[i] > 0 && _slackRatePlus[i] < (Int128)(1L << 61);
        _narrowSlackRates[i * 2] = narrow ? (long)_slackRatePlus[i] : 0;
        _narrowSlackRates[(i * 2) + 1] = narrow ? (long)_slackRateMinus[i] : 0;
        _narrowFillLimit[i] = narrow ? ((1L << 61) - 1) / (long)_slackRatePlus[i] : 0;
    }

    /// <summary>
    /// After a fill that moved account slot's cross position on instrument i from <paramref name="lotsBefore"/> to
    /// <paramref name="lotsAfter"/> (neither zero) and its cash (balance less costs) by <paramref name="cash"/>: true when the
    /// bands still hold (see <see cref="_bandHeadroom"/>), the headroom moved; false when the account must be re-keyed.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private bool FillKeepsBands(int slot, int i, long lotsBefore, long lotsAfter, long cash)
    {
        var f = lotsAfter - lotsBefore;
        var band = (slot * _contracts.Length * 2) + (i * 2);
        var edge = f > 0 ? _bandDrawn[band] : _bandDrawn[band + 1];
        var growth = 2 * (Math.Abs(lotsAfter) - Math.Abs(lotsBefore));
        // The headroom moves by C × 1e8 + f × e × k∓ − 2 × (|q'| − |q|) × k⁺: in 64 bits when each term is under 2^61 (then so
        // is their sum under 2^63): |C| < 2^34, and |f × e| and |2 × (|q'| − |q|)| at most the instrument's limit, (2^61 − 1) ÷ k⁺
        // (|k⁻| ≤ k⁺). That is a fill's notional under ~2^61 ÷ 1e8 money units (e.g. 17,000 USDT in micro-USDT): most fills.
        // Else in 128 bits, out of line.
        const long B31 = 1L << 31, B34 = 1L << 34;
        var limit = _narrowFillLimit[i];
        var moved = FixedPoint.MagnitudeUnder(f, B31) && FixedPoint.MagnitudeUnder(edge, B31) && FixedPoint.MagnitudeAtMost(f * edge, limit)
            && FixedPoint.MagnitudeAtMost(growth, limit) && FixedPoint.MagnitudeUnder(cash, B34)
            ? (cash * FixedPoint.RateScale) + (f * edge * _narrowSlackRates[(i * 2) + (f > 0 ? 1 : 0)]) - (growth * _narrowSlackRates[i * 2])
            : WideHeadroomMove(i, f, edge, growth, cash);
        var headroom = _bandHeadroom[slot] + moved - _roundingSlack[i];
        if (headroom < 0)
        {
            _headroomKnown[slot] = false;
            return false;
        }

        _bandHeadroom[slot] = headroom;
        return true;
    }

    /// <summary>
    /// After <paramref name="cash"/> (a funding payment, negative when paid) moved the balance of account slot, whose bands
    /// hold (<see cref="_headroomKnown"/>): true when they still do, the headroom moved; false when the account must be
    /// re-keyed. The money moves its cross equity, and so its slack, by exactly <paramref name="cash"/> at every mark (no
    /// position changed: maintenance margin is as it was, no rounding to allow for), so the headroom moves by cash × 1e8.
    /// </summary>
    private bool CashKeepsBands(int slot, long cash)
    {
        var headroom = _bandHeadroom[slot] + ((Int128)cash * FixedPoint.RateScale);
        if (headroom < 0)
        {
            _headroomKnown[slot] = false;
            return false;
        }

        _bandHeadroom[slot] = headroom;
        return true;
    }

    /// <summary><see cref="FillKeepsBands"/>' move of the headroom in 128 bits (operands past its 64-bit path's ranges).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private Int128 WideHeadroomMove(int i, long f, long edge, long growth, long cash) =>
        ((Int128)cash * FixedPoint.RateScale) + ((Int128)f * edge * (f > 0 ? _slackRateMinus[i] : _slackRatePlus[i])) - ((Int128)growth * _slackRatePlus[i]);

    /// <summary>Keeps the count of cross positions per account, and of the accounts holding two or more, as a position opens or closes.</summary>
    private void CrossPositionChanged(int slot, bool opened)
    {
        var before = _crossPositions[slot];
        var after = _crossPositions[slot] += opened ? 1 : -1;
        _multiCrossCount += (after >= 2 ? 1 : 0) - (before >= 2 ? 1 : 0);
    }

    /// <summary>
    /// Draws a cross account's bands around the current marks (or removes them when it is not one),
    /// from its <paramref name="slack"/> (cross equity − maintenance margin of its cross positions): per instrument j it
    /// holds, the mark could move d_j = slack / (n × |q_j| × m_j × (1 + MMR_max)) ticks, n the number of its cross
    /// positions, before the slack could be gone (equity moves |q_j| × m_j a tick, maintenance at most MMR_max of that);
    /// the band is d_j − 2 ticks each side of the mark (0 when d_j &lt; 2: any move re-keys). A lone cross position (n = 1)
    /// gets no band unless d ≥ 2 + mark / 64: with less it is keyed by its exact price (which no other mark moves), as a
    /// narrow band would be left by ordinary mark moves and redrawn by most fills.
    /// Returns true when the bands hold: every cross position has one and every d_j ≥ 2. While every mark then stays inside
    /// its band the slack stays at least Σ 2 × |q_j| × m_j × (1 + MMR_max): two ticks' worth on any instrument, so each
    /// liquidation price (where slack would reach 0, rounded a tick toward liquidating) is at least a tick beyond its mark.
    /// <paramref name="guarded"/> (× 1e8, read when the bands hold): over the bands as they stand after the call, Σ (half-width
    /// + 2) × how fast the position can eat the slack a tick, plus maintenance margin's rounding: what the headroom
    /// (<see cref="_bandHeadroom"/>) takes from the slack.
    /// </summary>
    private bool DrawBands(int slot, long slack, out Int128 guarded)
    {
        guarded = 0;
        const int GuardTicks = 2;
        const int LoneBandMinShift = 6;   // a lone cross position is banded only when its band is at least mark / 64 each side
        var cross = _crossPositions[slot] >= 1;
        var single = _crossPositions[slot] == 1;
        var hold = cross;
        var masks = slot * _maskWords;
        // The positions held and the bands drawn: a contract with neither has nothing to remove and nothing to draw.
        // A contract's bit in the account's banded word says whether both band heaps hold the account (this method and
        // RemoveBand, which it calls, are their only writers, and keep the two together): read there, not in the heaps' slot
        // tables (a cache miss per contract).
        for (var w = 0; w < _maskWords; w++)
        {
            var banded = _bandedMasks[masks + w];   // each contract's bit changes only on its own visit below
            for (var bits = _heldMasks[masks + w] | banded; bits != 0; bits &= bits - 1)
            {
                var j = (w << 6) + BitOperations.TrailingZeroCount(bits);
                var hasBand = (banded & (bits & (0 - bits))) != 0;
                ref var p = ref _positions[(slot * _contracts.Length) + j];
                if (!cross || p.QtyLots == 0 || p.Isolated || _marks[j] <= 0)
                {
                    if (hasBand)
                    {
                        RemoveBand(slot, j);
                    }

                    hold &= p.QtyLots == 0 || p.Isolated;   // a cross position before its instrument's first mark has no band
                    continue;
                }

                // d = min(numerator / divisor, mark), rounded down.
                var mark = _marks[j];
                var perTick = Math.Abs(p.QtyLots) * _slackRatePlus[j];   // × 1e8: how fast this position can eat the slack, a tick
                var divisor = perTick * _crossPositions[slot];
                var numerator = slack <= 0 ? 0 : (Int128)slack * FixedPoint.RateScale;

                // A band already inside the new one stays (it is only more cautious): most fills leave it, and the heaps
                // untouched. Inside means its wider half w plus the guard is at most d: w + 2 ≤ mark and (w + 2) × divisor ≤
                // numerator, no division.
                ref var drawnLow = ref _bandDrawn[(slot * _contracts.Length * 2) + (j * 2)];
                ref var drawnHigh = ref _bandDrawn[(slot * _contracts.Length * 2) + (j * 2) + 1];
                if (hasBand && drawnLow <= mark && drawnHigh >= mark)
                {
                    var kept = Math.Max(mark - drawnLow, drawnHigh - mark) + GuardTicks;
                    if (kept <= mark && (Int128)kept * divisor <= numerator)
                    {
                        guarded += (kept * perTick) + _roundingSlack[j];
                        continue;
                    }
                }

                var d = (long)Int128.Min(FixedPoint.Divide(numerator, divisor, Rounding.Down), mark);
                hold &= d >= GuardTicks;
                if (single && d < GuardTicks + (mark >> LoneBandMinShift))
                {
                    // A lone cross position with little slack is keyed by its exact price, which only its own mark moves: a
                    // narrow band would be left by ordinary mark moves (and redrawn by most fills), re-keying it for nothing.
                    hold = false;
                    if (hasBand)
                    {
                        RemoveBand(slot, j);
                    }

                    continue;
                }

                var half = Math.Max(0, d - GuardTicks);
                guarded += ((half + GuardTicks) * perTick) + _roundingSlack[j];
                var (low, high) = (mark - half, mark + half);
                (drawnLow, drawnHigh) = (low, high);
                _bandLows[j].Upsert(slot, -low, _accountIds[slot]);
                _bandHighs[j].Upsert(slot, high, _accountIds[slot]);
                SetBits.Set(_bandedMasks, masks, j, true);
            }
        }

        return hold;
    }

    /// <summary>Takes account slot's band on contract j out of both band heaps and clears its bit (for <see cref="DrawBands"/>).</summary>
    private void RemoveBand(int slot, int j)
    {
        _bandLows[j].Remove(slot);
        _bandHighs[j].Remove(slot);
        SetBits.Set(_bandedMasks, slot * _maskWords, j, false);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private bool HasBands(int slot) =>
        SetBits.AnyIn(_bandedMasks, slot * _maskWords, _maskWords);

    /// <summary>Re-keys the cross accounts whose band on instrument i the mark has left (it draws their new bands).</summary>
    private void ReindexBandsCrossed(int i)
    {
        var mark = _marks[i];
        while (true)
        {
            // Left means strictly outside: a band of width 0 (no slack) around this very mark is not crossed by it.
            var n = Math.Min(_bandLows[i].CollectAtMost(-(mark + 1), _crossedBands), _crossedBands.Length);
            var m = Math.Min(_bandHighs[i].CollectAtMost(mark - 1, _crossedBands.AsSpan(n)), _crossedBands.Length - n);
            if (n + m == 0)
            {
                return;
            }

            for (var k = 0; k < n + m; k++)
            {
                ReindexAccount(_crossedBands[k]);   // draws the bands anew around this mark: it leaves the crossed set
            }
        }
    }

    /// <summary>True when some cross account holds positions on more than one instrument (a mark then concerns other instruments' indexes too).</summary>
    public bool HasMultiInstrumentCrossAccounts => _multiCrossCount > 0;

    /// <summary>The insurance fund's account (0: none; its ledger slot is taken when it is set). It is
    /// never indexed for liquidation: when its equity falls below zero the state machine deleverages its positions.</summary>
    public int InsuranceFundAccountId
    {
        get => _fundAccountId;
        set
        {
            // Its slot is taken now: a takeover must never find the ledger full (it would have nowhere to put the position).
            if (value > 0 && !TryAccount(value, create: true, out _))
            {
                throw new ArgumentException($"no account slot left for the insurance fund {value}");
            }

            _fundAccountId = value;
        }
    }

    /// <summary>The insurance fund's balance (its cash; the positions it holds are in <see cref="Equity"/>).</summary>
    public long InsuranceFund => _fundAccountId > 0 ? Balance(_fundAccountId) : 0;

    /// <summary>The margin scope of an account's position on an instrument, at the current marks.</summary>
    public ScopeFigures Scope(int accountId, int instrumentId)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) || !TryAccount(accountId, create: false, out var slot))
        {
            return default;
        }

        var p = _positions[(slot * _contracts.Length) + i];
        var tiers = _contracts[i].Tiers;
        var notional = Notional(i, p.QtyLots, _marks[i]);
        var tier = tiers.TierOf(notional);
        if (p.Isolated)
        {
            var equity = p.IsolatedMargin + UnrealizedOf(i, p);
            return new ScopeFigures(true, p.QtyLots, notional, equity, tiers.MaintenanceMargin(notional), tier,
                LiquidationMath.BankruptcyPrice(p.QtyLots, p.Cost, p.IsolatedMargin, _contracts[i].MoneyPerTickLot));
        }

        long maintenance = 0;
        var otherPnl = 0L;
        foreach (var j in new SetBits(HeldOf(slot)))
        {
            var other = _positions[(slot * _contracts.Length) + j];
            if (other.Isolated)
            {
                continue;
            }

            maintenance += _contracts[j].Tiers.MaintenanceMargin(Notional(j, other.QtyLots, _marks[j]));
            if (j != i)
            {
                otherPnl += UnrealizedOf(j, other);
            }
        }

        return new ScopeFigures(false, p.QtyLots, notional, EquityOf(slot), maintenance, tier,
            LiquidationMath.BankruptcyPrice(p.QtyLots, p.Cost, _balances[slot] + otherPnl, _contracts[i].MoneyPerTickLot));
    }

    /// <summary>The position's PnL at mark on contract i (notional at mark less cost).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private long UnrealizedOf(int i, in Position p) => Unrealized(in p, _marks[i], _contracts[i].MoneyPerTickLot);

    /// <summary><see cref="UnrealizedOf"/> with the mark and the money per tick-lot already read.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static long Unrealized(in Position p, long markTicks, long moneyPerTickLot) =>
        FixedPoint.Product(p.QtyLots, markTicks, moneyPerTickLot) - p.Cost;

    /// <summary>The first cross position of the account other than on <paramref name="exceptInstrumentId"/>,
    /// in instrument order (the next a cross path reduces), or 0.</summary>
    public int NextCrossPosition(int accountId, int exceptInstrumentId)
    {
        if (!TryAccount(accountId, create: false, out var slot))
        {
            return 0;
        }

        foreach (var j in new SetBits(HeldOf(slot)))
        {
            var p = _positions[(slot * _contracts.Length) + j];
            if (!p.Isolated && _contracts[j].InstrumentId != exceptInstrumentId)
            {
                return _contracts[j].InstrumentId;
            }
        }

        return 0;
    }

    /// <summary>From here until <see cref="EndLiquidationFills"/>, a taker fill is a liquidation order's (an IOC of
    /// <paramref name="orderLots"/> at <paramref name="limitPriceTicks"/>): no trading fee; a clearance fee at
    /// <paramref name="clearanceFeeRate"/>, capped at the margin left, to the fund (see <see cref="ChargeClearanceFee"/>).</summary>
    public void BeginLiquidationFills(long clearanceFeeRate, long limitPriceTicks, long orderLots)
    {
        _liquidationFeeRate = clearanceFeeRate;
        (_liquidationLimitTicks, _liquidationOrderLots) = (limitPriceTicks, orderLots);
        (_liquidationLots, _liquidationNotional, _liquidationPriceLots, _liquidationFee) = (0, 0, 0, 0);
    }

    public LiquidationFills EndLiquidationFills()
    {
        _liquidationFeeRate = -1;
        return new LiquidationFills(_liquidationLots, _liquidationNotional, _liquidationPriceLots, _liquidationFee);
    }

    /// <summary>
    /// Called for a liquidation order's fill after its position moved (before an isolated wallet is rebalanced). The margin
    /// left, which caps the fee, is the scope's equity at mark less what the order's lots still to fill may lose against
    /// mark at its limit: the order's limit is the bankruptcy price it was given, worked out before this fill's fee, so
    /// a fee taken from equity those lots then lose would leave the account owing money once they fill (a short of 224
    /// lots, 176 filled 12 ticks over mark and charged to its equity at mark, owed 0.0864 USDT after its last 48 filled 18
    /// ticks over). With those lots held back the scope's equity stays at or above zero through the order's fills.
    /// </summary>
    private long ChargeClearanceFee(int slot, int i, long notional, long qtyLots, long priceTicks)
    {
        _liquidationLots += qtyLots;
        _liquidationNotional += notional;
        _liquidationPriceLots += qtyLots * priceTicks;
        ref var p = ref _positions[(slot * _contracts.Length) + i];
        // Closing a long sells: a limit below mark loses; closing a short buys: a limit above mark loses.
        var lossTicks = Math.Max(0, p.QtyLots > 0 ? _marks[i] - _liquidationLimitTicks : _liquidationLimitTicks - _marks[i]);
        var stillToFill = p.QtyLots == 0 ? 0 : _liquidationOrderLots - _liquidationLots;
        var heldBack = FixedPoint.Product(stillToFill, lossTicks, _contracts[i].MoneyPerTickLot);
        var marginLeft = (p.Isolated ? p.IsolatedMargin + UnrealizedOf(i, p) : EquityOf(slot)) - heldBack;
        var fee = Math.Min(FixedPoint.ApplyRate(notional, _liquidationFeeRate, Rounding.Up), Math.Max(0, marginLeft));
        if (fee > 0 && TryAccount(_fundAccountId, create: _fundAccountId > 0, out var fund) && fund != slot)
        {
            if (p.Isolated)
            {
                p.IsolatedMargin -= fee;
            }
            else
            {
                _balances[slot] -= fee;
            }

            _balances[fund] += fee;
            _liquidationFee += fee;
            Touched(fund);
            return fee;
        }

        return 0;
    }

    /// <summary>
    /// Moves a position between two accounts at a price with no fee (the fund's takeover and
    /// auto-deleveraging at the bankruptcy price): <paramref name="fromAccountId"/> trades
    /// <paramref name="qtyLots"/> on <paramref name="fromSide"/>, <paramref name="toAccountId"/> the other side.
    /// </summary>
    public void Transfer(int fromAccountId, int toAccountId, int instrumentId, Side fromSide, long priceTicks, long qtyLots)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) ||
            !TryAccount(fromAccountId, create: true, out var from) || !TryAccount(toAccountId, create: true, out var to) || qtyLots <= 0)
        {
            throw new InvalidOperationException($"transfer of {qtyLots} on {instrumentId} between {fromAccountId} and {toAccountId}: unknown instrument or account capacity");
        }

        var signed = fromSide == Side.Buy ? qtyLots : -qtyLots;
        BookTransfer(from, i, signed, priceTicks);
        BookTransfer(to, i, -signed, priceTicks);
    }

    private void BookTransfer(int slot, int i, long signedFill, long priceTicks)
    {
        PayFundingFirst(slot);   // as a fill: paid on the lots it held at the funding time before they move

        MovePosition(slot, i, signedFill, priceTicks, out var grew);
        ref var p = ref _positions[(slot * _contracts.Length) + i];
        if (p.Isolated)
        {
            RebalanceIsolated(slot, i, ref p, grew);
        }

        Touched(slot);
    }

    /// <summary>Marks an account as waiting in its liquidation path (it leaves the index until it resumes) or done.</summary>
    public void SetLiquidating(int accountId, bool waiting)
    {
        if (!TryAccount(accountId, create: false, out var slot))
        {
            return;
        }

        _liquidating[slot] = waiting;
        ReindexAccount(slot);
    }

    /// <summary>The account id in ledger slot <paramref name="slot"/> (0 ≤ slot &lt; <see cref="AccountCount"/>), in the order accounts were first seen.</summary>
    public int AccountIdAt(int slot) => _accountIds[slot];

    public bool IsLiquidating(int accountId) =>
        TryAccount(accountId, create: false, out var slot) && _liquidating[slot];

    /// <summary>Not in the liquidation index: the fund (deleveraged, never liquidated) and accounts waiting in their path.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private bool ExcludedFromIndex(int slot) =>
        (_fundAccountId > 0 && _accountIds[slot] == _fundAccountId) || _liquidating[slot];

    /// <summary>
    /// True when, on some instrument with a mark, a position is at or past its liquidation price (re-keys what changed first),
    /// or the insurance fund's equity is below zero: when neither holds, a sweep of every instrument at its mark has nothing to do.
    /// </summary>
    public bool AnyAtRiskOrFundUnderwater()
    {
        FlushReindex();
        for (var w = 0; w < _maskWords; w++)
        {
            for (var bits = _liquidationIndex.OccupiedWord(w); bits != 0; bits &= bits - 1)   // the instruments with any position indexed
            {
                var i = (w << 6) + BitOperations.TrailingZeroCount(bits);
                if (_marks[i] > 0 && _liquidationIndex.AnyAtOrPast(i, _marks[i]))
                {
                    return true;
                }
            }
        }

        return _fundAccountId > 0 && TryAccount(_fundAccountId, create: false, out var fund) && EquityOf(fund) < 0;
    }

    /// <summary>The accounts at or past their liquidation price at the instrument's current mark (re-keys what changed first).</summary>
    public int AtRisk(int instrumentId, Span<int> accountIds)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) || _marks[i] <= 0)
        {
            return 0;
        }

        FlushReindex();
        var atRisk = _liquidationIndex.AtOrPast(i, _marks[i], accountIds);
        for (var k = 0; k < Math.Min(atRisk, accountIds.Length); k++)
        {
            accountIds[k] = _accountIds[accountIds[k]];
        }

        return atRisk;
    }

    /// <summary>
    /// ADL score of a position at mark: profit% × effective leverage when in profit, profit% ÷ effective
    /// leverage when not (Binance's ranking), in 1e-8 units; profit% = unrealized PnL / |cost|, effective
    /// leverage = |notional| / equity of its scope. A scope with no equity left ranks last.
    /// </summary>
    private long AdlScore(int slot, int i)
    {
        var (pnl, cost, notional, equity) = AdlFigures(slot, i);
        return Score(pnl, cost, notional, equity);
    }

    /// <summary>What the ranking reads of a position: its PnL at mark, |cost|, notional at mark and the equity of its scope (an
    /// isolated wallet with the PnL, or the account's cross equity).</summary>
    private (long Pnl, long Cost, long Notional, long Equity) AdlFigures(int slot, int i)
    {
        var p = _positions[(slot * _contracts.Length) + i];
        var pnl = UnrealizedOf(i, p);
        return (pnl, Math.Abs(p.Cost), Notional(i, p.QtyLots, _marks[i]), p.Isolated ? p.IsolatedMargin + pnl : EquityOf(slot));
    }

    /// <summary>
    /// pnl × notional × 1e8 ÷ (cost × equity) in profit, pnl × equity × 1e8 ÷ (cost × notional) in loss, rounded down and
    /// clamped to the ranks (long.MinValue: no equity). The divisor product passes 64 bits for any sizeable account, and a
    /// division by a 128-bit number runs in software; so it divides by its two factors in turn, each a 128-by-64-bit division:
    /// ⌊⌊x ÷ m⌋ ÷ n⌋ = ⌊x ÷ (m × n)⌋ for any integer x and positive m, n, so the score is the same to the unit.
    /// <paramref name="cost"/> is the position's |cost| (positive).
    /// </summary>
    internal static long Score(long pnl, long cost, long notional, long equity)
    {
        if (cost == 0 || equity <= 0)
        {
            return long.MinValue;
        }

        var (product, second, wide) = ScoreOperands(pnl, notional, equity);
        if (wide)
        {
            return WideScore(product, cost, second);   // × 1e8 would pass 128 bits (a profit or equity in the billions)
        }

        var score = FixedPoint.Divide(FixedPoint.Divide(product * FixedPoint.RateScale, cost, Rounding.Down), second, Rounding.Down);
        return score > long.MaxValue ? long.MaxValue : score < long.MinValue + 1 ? long.MinValue + 1 : (long)score;
    }

    /// <summary>The score's numerator before × 1e8 (pnl × notional in profit, pnl × equity in loss), its divisor other than
    /// cost (equity, or notional of at least 1), and whether × 1e8 would pass 128 bits.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static (Int128 Product, long Second, bool Wide) ScoreOperands(long pnl, long notional, long equity)
    {
        var (product, second) = pnl >= 0 ? ((Int128)pnl * notional, equity) : ((Int128)pnl * equity, Math.Max(1, notional));
        return (product, second, product > ScoreProductLimit || product < -ScoreProductLimit);
    }

    // The largest |pnl × notional| (or |pnl × equity|) that can take × 1e8 in 128 bits.
    private static readonly Int128 ScoreProductLimit = Int128.MaxValue / FixedPoint.RateScale;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static long WideScore(Int128 product, long cost, long second)
    {
        var numerator = (System.Numerics.BigInteger)product * FixedPoint.RateScale;
        var score = System.Numerics.BigInteger.DivRem(numerator, (System.Numerics.BigInteger)cost * second, out var remainder);
        score -= remainder < 0 ? 1 : 0;   // rounded down
        return score > long.MaxValue ? long.MaxValue : score < long.MinValue + 1 ? long.MinValue + 1 : (long)score;
    }

    /// <summary>
    /// The highest-ranked position on <paramref name="instrumentId"/> on the given side (long or short), other
    /// than <paramref name="excludeAccountId"/> and the fund: the next auto-deleveraging counterparty. Ties go
    /// to the lower account id. Scans the instrument's holders (ADL is rare; ranking moves with every mark). 0 when none.
    /// </summary>
    public int NextAdlCounterparty(int instrumentId, bool longs, int excludeAccountId, out long score)
    {
        score = 0;
        if (!_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i))
        {
            return 0;
        }

        var best = -1;
        var bestScore = long.MinValue;
        foreach (var a in new SetBits(HoldersOf(i)))   // its holders, not every account
        {
            var q = _positions[(a * _contracts.Length) + i].QtyLots;
            var id = _accountIds[a];
            if (q == 0 || (q > 0) != longs || id == excludeAccountId || id == _fundAccountId)
            {
                continue;
            }

            var s = AdlScore(a, i);
            if (best < 0 || s > bestScore || (s == bestScore && id < _accountIds[best]))
            {
                (best, bestScore) = (a, s);
            }
        }

        score = bestScore;
        return best < 0 ? 0 : _accountIds[best];
    }

    /// <summary>
    /// The <paramref name="accounts"/>.Length largest holders of an instrument (either side, by lots held, ties to the
    /// lower account id) into <paramref name="accounts"/> and <paramref name="lots"/>, largest first; returns how many.
    /// One pass over the instrument's holders in one call. The fund is left out. The concentration check reads what the
    /// second's ranking pass kept instead (<see cref="TopHoldersAtRanking"/>, the same holders), spread over commands.
    /// </summary>
    public int TopHolders(int instrumentId, Span<int> accounts, Span<long> lots)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i))
        {
            return 0;
        }

        var n = 0;
        foreach (var a in new SetBits(HoldersOf(i)))   // its holders, not every account
        {
            var held = Math.Abs(_positions[(a * _contracts.Length) + i].QtyLots);
            var id = _accountIds[a];
            if (held != 0 && id != _fundAccountId && AmongLargest(accounts, lots, n, held, id))
            {
                InsertAmongLargest(accounts, lots, ref n, held, id);
            }
        }

        return n;
    }

    // Per instrument and side, the four entries of the ranking where the quantile changes (see QuantileBounds).
    private long[]? _quantileBounds;

    /// <summary>The ADL quantile of the account's position on an instrument as it stands, against the last ranking snapshot
    /// (the bounds an order's what-if is read against): what a what-if predicts once its fill is booked, and what
    /// <c>AccountStatus</c> reports. Two lookups and the position's score, where <see cref="AdlQuantile"/> scores every
    /// position on its side: that on the engine thread for every status request, which are not rate limited. 0 when flat,
    /// before the first snapshot or the first mark.</summary>
    public int AdlQuantileAtSnapshot(int accountId, int instrumentId)
    {
        if (!_rankingTaken || !TryAccount(accountId, create: false, out var slot) || !_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i))
        {
            return 0;
        }

        var q = _positions[(slot * _contracts.Length) + i].QtyLots;
        if (q == 0 || _marks[i] <= 0)
        {
            return 0;
        }

        var (pnl, cost, notional, equity) = AdlFigures(slot, i);   // the figures the ranking itself reads
        var k = (i * 2) + (q > 0 ? 0 : 1);
        return QuantileAmong(_quantileBounds!.AsSpan(k * 4, 4), pnl, cost, notional, equity);
    }

    /// <summary>
    /// The quantile of a score among n ranked entries is 5 − ⌊ahead × 5 ÷ (n + 1)⌋ (ahead: the entries ranked strictly higher),
    /// so it moves only where ahead reaches t_c = ⌈c × (n + 1) ÷ 5⌉, c = 1..4: ahead ≥ t_c exactly when the t_c-th entry of the
    /// ascending negated ranking is below the score's negation. Writes those four entries (long.MaxValue where t_c &gt; n: never
    /// reached); they ascend with c. The bounds' definition on a sorted ranking: the ranking pass selects the same entries
    /// without sorting (<see cref="Collections.StepwiseQuantileSelection"/>), and the tests hold one against the other.
    /// </summary>
    internal static void QuantileBounds(ReadOnlySpan<long> ascending, Span<long> bounds)
    {
        for (var c = 1; c <= 4; c++)
        {
            var rank = Collections.StepwiseQuantileSelection.RankOf(c, ascending.Length);
            bounds[c - 1] = rank >= 0 ? ascending[rank] : long.MaxValue;
        }
    }

    /// <summary>
    /// The quantile (1-5) a position's score would have, read against the four bounds of <see cref="QuantileBounds"/>
    /// (the same answer as the score's place in the ranking), without dividing for the score where it can: for a bound b
    /// (the negation of a score s &gt; long.MinValue + 1) the score ranks below s exactly when x &lt; s × cost × d, x the score's
    /// numerator (pnl × notional × 1e8, or pnl × equity × 1e8 in loss) and d its second divisor: ⌊⌊x ÷ cost⌋ ÷ d⌋ &lt; s ⟺ x &lt; s × cost × d
    /// for positive cost and d. Products past 128 bits, and numerators past the narrow score's range, take the score itself.
    /// Before either, the real-valued score x ÷ (cost × d) in double precision (one division for all four bounds) settles
    /// every comparison it is far from: its relative error is below 1e-15 (a few roundings of 2^-53 each), so a bound more
    /// than 1e-9 of the two magnitudes away is on the side the estimate says. Only a score within that of a bound is compared
    /// exactly; the answer is the exact one either way.
    /// </summary>
    internal static int QuantileAmong(ReadOnlySpan<long> bounds, long pnl, long cost, long notional, long equity)
    {
        var count = 0;
        if (cost == 0 || equity <= 0)
        {
            // No equity (or no position): its negation is long.MaxValue, below which every reachable bound lies.
            while (count < 4 && bounds[count] < long.MaxValue)
            {
                count++;
            }

            return 5 - count;
        }

        var second = pnl >= 0 ? equity : Math.Max(1, notional);
        var estimate = (double)pnl * (pnl >= 0 ? notional : equity) * FixedPoint.RateScale / ((double)cost * second);
        for (; count < 4; count++)
        {
            var bound = bounds[count];
            if (bound == long.MaxValue)
            {
                break;   // unreachable, and so are the ones after it
            }

            var s = (double)-bound;   // the boundary's score, above long.MinValue + 1
            var tolerance = 1e-9 * (Math.Abs(s) + Math.Abs(estimate));
            var below = estimate < s - tolerance || (estimate <= s + tolerance && RanksBelowExactly(bound, pnl, cost, notional, equity));
            if (!below)
            {
                break;
            }
        }

        return 5 - count;
    }

    /// <summary>Whether the score of (pnl, cost, notional, equity) ranks below bound b's score s = −b: x &lt; s × cost × d in
    /// 128 bits (see <see cref="QuantileAmong"/>), or the score itself where those products would pass them. Out of line: a
    /// score this close to a bound is rare.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static bool RanksBelowExactly(long bound, long pnl, long cost, long notional, long equity)
    {
        var (product, second, wide) = ScoreOperands(pnl, notional, equity);
        var sc = (Int128)(-bound) * cost;
        var divisorBits = 64 - BitOperations.LeadingZeroCount((ulong)second);
        if (!wide && 128 - Int128.LeadingZeroCount(Int128.Abs(sc)) + divisorBits <= 127)
        {
            return product * FixedPoint.RateScale < sc * second;
        }

        return bound < Negated(Score(pnl, cost, notional, equity));
    }

    /// <summary>
    /// The ADL quantile (1-5) the account's position would have if an order filled completely at its price: its
    /// score after the fill, at mark, placed in the ranking of the last snapshot (the account's own current entry
    /// counted as someone else's: an approximation of at most one place). 0 when the position would be flat or no
    /// snapshot was taken.
    /// </summary>
    public int WhatIfAdlQuantile(int accountId, int instrumentId, Side side, long priceTicks, long qtyLots) =>
        WhatIfFilled(accountId, instrumentId, side, priceTicks, qtyLots).AdlQuantile;

    /// <summary>The ADL quantile of position <paramref name="after"/> (<paramref name="before"/> filled; an isolated one's wallet as the
    /// fill leaves it) of an account whose cross equity is <paramref name="crossEquity"/> before the fill (0 for a new account),
    /// <paramref name="realized"/> the money the fill adds behind it beyond that (a cross position's PnL less the fee; 0 for an
    /// isolated one, whose wallet has it).</summary>
    private int AdlQuantileAfter(int i, in Position before, in Position after, long realized, long crossEquity)
    {
        var mark = _marks[i];
        if (!_rankingTaken || mark <= 0 || after.QtyLots == 0)
        {
            return 0;
        }

        // The position's value at mark, signed: its PnL is that less its cost, its notional that without the sign (mark and
        // money per tick are positive). One product for both, the mark and the contract read once.
        var moneyPerTickLot = _contracts[i].MoneyPerTickLot;
        var value = FixedPoint.Product(after.QtyLots, mark, moneyPerTickLot);
        var pnl = value - after.Cost;
        var equity = after.Isolated ? after.IsolatedMargin + realized + pnl
            : crossEquity + realized + pnl - Unrealized(in before, mark, moneyPerTickLot);
        var k = (i * 2) + (after.QtyLots > 0 ? 0 : 1);
        return QuantileAmong(_quantileBounds!.AsSpan(k * 4, 4), pnl, Math.Abs(after.Cost), Math.Abs(value), equity);
    }

    /// <summary>−score, with "no equity" (long.MinValue) ranking last.</summary>
    private static long Negated(long score) => score == long.MinValue ? long.MaxValue : -score;

    /// <summary>
    /// The account's ADL quantile on an instrument, 1 (last in the queue) to 5 (first): its rank by
    /// <see cref="AdlScore"/> among the positions on its side, in fifths. 0 when flat. Scans the instrument's holders.
    /// </summary>
    public int AdlQuantile(int accountId, int instrumentId)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) || !TryAccount(accountId, create: false, out var slot))
        {
            return 0;
        }

        var q = _positions[(slot * _contracts.Length) + i].QtyLots;
        if (q == 0 || accountId == _fundAccountId)
        {
            return 0;
        }

        var mine = AdlScore(slot, i);
        int ahead = 0, side = 0;
        foreach (var a in new SetBits(HoldersOf(i)))   // its holders, not every account
        {
            var other = _positions[(a * _contracts.Length) + i].QtyLots;
            if (other == 0 || (other > 0) != (q > 0) || _accountIds[a] == _fundAccountId)
            {
                continue;
            }

            side++;
            var s = AdlScore(a, i);
            if (s > mine || (s == mine && _accountIds[a] < accountId))
            {
                ahead++;
            }
        }

        return 5 - (int)((long)ahead * 5 / side);
    }
}
