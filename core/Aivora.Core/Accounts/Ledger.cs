using System.Numerics;
using Aivora.Core.Collections;
using Aivora.Core.Numbers;
using Aivora.Core.Orders;
using Aivora.Core.Liquidation;
using Aivora.Core.Margin;

namespace Aivora.Core.Accounts;

/// <summary>Maker and taker fee rates in 1e-8 units; a negative maker rate is a rebate.</summary>
public readonly record struct FeeSchedule(long MakerRate, long TakerRate);

/// <summary>What the ledger needs to know about an instrument's contracts.</summary>
public sealed record ContractSpec
{
    public required int InstrumentId { get; init; }

    /// <summary>Settlement-asset units that one tick × one lot is worth (notional = price × qty × this).</summary>
    public required long MoneyPerTickLot { get; init; }

    public required MarginTierTable Tiers { get; init; }

    public FeeSchedule Fees { get; init; } = new(2_000, 5_000);   // 0.02% / 0.05%

    /// <summary>Fee schedules by account fee tier (tier 0 is the first); empty: every account pays <see cref="Fees"/>.</summary>
    public IReadOnlyList<FeeSchedule> FeeTiers { get; init; } = [];

    public int DefaultLeverage { get; init; } = 10;
}

/// <summary>What one fill did to an account's money: the fee charged (negative: a rebate) and the PnL it realized.</summary>
public struct FillMoney
{
    public long Fee;
    public long RealizedPnl;
}

/// <summary>A net (one-way) position: signed lots and the signed cost of the open lots (money).</summary>
public struct Position
{
    public long QtyLots;

    /// <summary>Σ signed qty × price × m over the open lots: exact, never an averaged price.</summary>
    public long Cost;

    public int Leverage;

    /// <summary>Isolated margin mode: the position is margined by its own wallet only.</summary>
    public bool Isolated;

    /// <summary>The isolated wallet (money); 0 in cross mode.</summary>
    public long IsolatedMargin;
}

public enum LedgerReject : byte
{
    None = 0,
    UnknownAccount = 1,
    CapacityAccounts = 2,
    InvalidAmount = 3,

    /// <summary>The withdrawal would leave equity under the initial margin of the positions.</summary>
    InsufficientMargin = 4,

    /// <summary>The leverage is above what the position's tier allows, or not positive.</summary>
    LeverageAboveTierCap = 5,
    UnknownInstrument = 6,

    /// <summary>The margin mode changes only while the position is flat.</summary>
    PositionOpen = 7,

    /// <summary>Isolated margin is added to or removed from isolated positions only.</summary>
    NotIsolated = 8,
}

/// <summary>The figures behind a ledger reject: what was required and what was available.</summary>
public readonly record struct LedgerOutcome(LedgerReject Reject, long Required, long Available)
{
    public static LedgerOutcome Ok { get; } = new(LedgerReject.None, 0, 0);

    public bool IsOk => Reject == LedgerReject.None;
}

/// <summary>
/// Accounts, positions and money: balances in the settlement asset's smallest unit, one net position
/// per account and instrument with an exact cost basis, realized PnL on reduce, close and flip,
/// maker/taker fees into a fee account, funding settled zero-sum with the residue kept explicitly.
/// A position is margined cross (by the account's balance and its other cross positions) or
/// isolated (by its own wallet: realized PnL and funding go there, it is topped up from the balance
/// to the position's initial margin when the position grows, any excess returns when it shrinks,
/// and all of it when it closes). Money is conserved exactly:
/// Σ balances + Σ isolated wallets − Σ position costs + fee account + funding residue = deposits − withdrawals.
/// Single-threaded; allocation-free on fills.
/// </summary>
public sealed partial class Ledger
{
    private readonly ContractSpec[] _contracts;
    private readonly OpenHashMap<IntKey> _instrumentIndex;
    private readonly OpenHashMap<IntKey> _accountIndex;
    private readonly int[] _accountIds;
    private readonly long[] _balances;
    private readonly Position[] _positions;
    private readonly long[] _marks;
    private readonly int[] _feeTiers;

    // Positions indexed by the mark at which they need attention, per instrument: longs keyed by
    // −liquidation price (the highest first, as a falling mark reaches it first), shorts by the price.
    private readonly LiquidationIndex _liquidationIndex;

    // Per contract, its fee schedules by tier as an array (a fee is read on every fill and order entry: no interface calls).
    private readonly FeeSchedule[][] _feeSchedules;
    private readonly int[] _pendingReindex;
    private readonly bool[] _reindexPending;
    private int _pendingReindexCount;
    private int _accountCount;

    // Per account, a bit per contract it holds a position on (either margin mode), and a bit per contract its price bands
    // are drawn on: the loops over an account's positions (equity, liquidation prices, re-keying, bands) visit those
    // contracts, not every listed one (Collections/SetBits). _maskWords words per account.
    private readonly int _maskWords;
    private readonly ulong[] _heldMasks;

    // Per contract, a bit per account slot holding a position on it (either margin mode): a funding settlement visits its
    // holders, in slot order, not every account the ledger knows. _holderWords words per contract; one writer, MovePosition.
    private readonly int _holderWords;
    private readonly ulong[] _holders;
    private readonly int[] _holderCount;   // per contract: the bits set in its holders bitmap
    private readonly ulong[] _bandedMasks;

    public Ledger(IReadOnlyList<ContractSpec> contracts, int maxAccounts)
    {
        _contracts = [.. contracts];
        _feeSchedules = [.. _contracts.Select(c => c.FeeTiers.ToArray())];
        _instrumentIndex = new OpenHashMap<IntKey>(Math.Max(1, _contracts.Length));
        for (var i = 0; i < _contracts.Length; i++)
        {
            var problem = FiguresProblem(_contracts[i]) ?? (_instrumentIndex.TryAdd(new IntKey(_contracts[i].InstrumentId), i) ? null : "listed twice");
            if (problem is not null)
            {
                throw new ArgumentException($"contract {_contracts[i].InstrumentId}: {problem}");
            }
        }

        _accountIndex = new OpenHashMap<IntKey>(maxAccounts);
        _accountIds = new int[maxAccounts];
        _balances = new long[maxAccounts];
        _positions = new Position[maxAccounts * _contracts.Length];
        _marks = new long[_contracts.Length];
        _feeTiers = new int[maxAccounts];
        _pendingReindex = new int[maxAccounts];
        _backingScratch = new long[_contracts.Length];
        _backingMemo = new BackingMemo[maxAccounts * _contracts.Length];
        _marginMemo = new MarginMemo[maxAccounts * _contracts.Length];
        _marginEpoch = new int[_contracts.Length];
        _reindexPending = new bool[maxAccounts];
        _liquidationIndex = new LiquidationIndex(_contracts.Length, maxAccounts);
        _crossPositions = new int[maxAccounts];
        _bandLows = new IndexedMinHeap[_contracts.Length];
        _bandHighs = new IndexedMinHeap[_contracts.Length];
        _maxMaintenanceRate = new long[_contracts.Length];
        _slackRatePlus = new Int128[_contracts.Length];
        _slackRateMinus = new Int128[_contracts.Length];
        _roundingSlack = new Int128[_contracts.Length];
        _narrowSlackRates = new long[_contracts.Length * 2];
        _narrowFillLimit = new long[_contracts.Length];
        _bandHeadroom = new Int128[maxAccounts];
        _headroomKnown = new bool[maxAccounts];
        _bandDrawn = new long[maxAccounts * _contracts.Length * 2];
        for (var i = 0; i < _contracts.Length; i++)
        {
            _bandLows[i] = new IndexedMinHeap(maxAccounts);
            _bandHighs[i] = new IndexedMinHeap(maxAccounts);
            _maxMaintenanceRate[i] = _contracts[i].Tiers[_contracts[i].Tiers.Count - 1].MaintenanceRate;
            SetSlackRates(i);
        }

        _openInterest = new long[_contracts.Length];
        _shortInterest = new long[_contracts.Length];
        _liquidating = new bool[maxAccounts];
        _maskWords = SetBits.WordsFor(_contracts.Length);
        _heldMasks = new ulong[maxAccounts * _maskWords];
        _holderWords = SetBits.WordsFor(maxAccounts);
        _holders = new ulong[_contracts.Length * _holderWords];
        _holderCount = new int[_contracts.Length];
        _bandedMasks = new ulong[maxAccounts * _maskWords];
        // Funding passes (Ledger.Funding.cs). Their bitmaps are written only at a funding time: their pages faulted in now, not
        // in the first settlement's commands (at a million accounts, page faults were most of the first one's cost).
        _unpaid = new ulong[_contracts.Length * _holderWords];
        _fundingPass = new FundingPass[_contracts.Length];
        _fundingPasses = new int[_contracts.Length];
        Prefault.Touch(_unpaid);
        _unkeyed = new ulong[_holderWords];   // a tier change's re-key pass (Ledger.RekeyPass.cs): faulted in now, as _unpaid
        Prefault.Touch(_unkeyed);
    }

    /// <summary>The contracts account slot <paramref name="slot"/> holds a position on, a bit each (see <see cref="SetBits"/>).</summary>
    private ReadOnlySpan<ulong> HeldOf(int slot) => _heldMasks.AsSpan(slot * _maskWords, _maskWords);

    /// <summary>The account slots holding a position on contract <paramref name="i"/>, a bit each, in slot order (see <see cref="SetBits"/>).</summary>
    private ReadOnlySpan<ulong> HoldersOf(int i) => _holders.AsSpan(i * _holderWords, _holderWords);

    /// <summary>Word <paramref name="w"/> of the bitmap of contracts account slot <paramref name="slot"/> holds a position on.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal ulong HeldWord(int slot, int w) => _heldMasks[(slot * _maskWords) + w];

    public long FeeAccount { get; private set; }

    public long TotalDeposits { get; private set; }

    public long TotalWithdrawals { get; private set; }

    public int AccountCount => _accountCount;

    // ---------------------------------------------------------------- accounts and money

    public LedgerOutcome Deposit(int accountId, long amount)
    {
        if (amount <= 0)
        {
            return new LedgerOutcome(LedgerReject.InvalidAmount, 1, amount);
        }

        if (!TryAccount(accountId, create: true, out var slot))
        {
            return new LedgerOutcome(LedgerReject.CapacityAccounts, 0, 0);
        }

        _balances[slot] += amount;
        TotalDeposits += amount;
        ReindexAccount(slot);
        return LedgerOutcome.Ok;
    }

    /// <summary>Withdraws unless equity afterwards would be under the initial margin of the positions (at mark).</summary>
    public LedgerOutcome Withdraw(int accountId, long amount)
    {
        if (amount <= 0)
        {
            return new LedgerOutcome(LedgerReject.InvalidAmount, 1, amount);
        }

        if (!TryAccount(accountId, create: false, out var slot))
        {
            return new LedgerOutcome(LedgerReject.UnknownAccount, 0, 0);
        }

        PayFundingFirst(slot);   // the check reads its money as the settlement leaves it

        var required = InitialMarginOf(slot);
        var available = EquityOf(slot) - required;
        if (amount > available || amount > _balances[slot])
        {
            return new LedgerOutcome(LedgerReject.InsufficientMargin, required + amount, EquityOf(slot));
        }

        _balances[slot] -= amount;
        TotalWithdrawals += amount;
        ReindexAccount(slot);
        return LedgerOutcome.Ok;
    }

    /// <summary>Chooses leverage for a position, within the cap of the tier its notional is in.</summary>
    public LedgerOutcome SetLeverage(int accountId, int instrumentId, int leverage)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i))
        {
            return new LedgerOutcome(LedgerReject.UnknownInstrument, 0, 0);
        }

        if (!TryAccount(accountId, create: true, out var slot))
        {
            return new LedgerOutcome(LedgerReject.CapacityAccounts, 0, 0);
        }

        ref var p = ref _positions[(slot * _contracts.Length) + i];
        var cap = _contracts[i].Tiers.MaxLeverage(Notional(i, p.QtyLots, _marks[i]));
        if (leverage <= 0 || leverage > cap)
        {
            return new LedgerOutcome(LedgerReject.LeverageAboveTierCap, cap, leverage);
        }

        p.Leverage = leverage;
        return LedgerOutcome.Ok;
    }

    /// <summary>What the ledger cannot work with in a contract's figures, for its constructor and <see cref="UpdateContract"/>
    /// alike (null: nothing): money per tick must be positive, and the default leverage at least 1 (a margin divides by it).</summary>
    private static string? FiguresProblem(ContractSpec contract) =>
        contract.MoneyPerTickLot <= 0 ? $"MoneyPerTickLot {contract.MoneyPerTickLot} not positive"
        : contract.DefaultLeverage < 1 ? $"DefaultLeverage {contract.DefaultLeverage} under 1"
        : null;

    public ContractSpec Contract(int instrumentId) =>
        _instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) ? _contracts[i] : throw new ArgumentException($"unknown instrument {instrumentId}");

    /// <summary>
    /// Replaces an instrument's fees, default leverage or tier table (scheduled parameter changes). A change the constructor
    /// would refuse (another instrument id, money per tick not positive, default leverage under 1) throws and changes nothing.
    /// <para>
    /// What an account keeps that the change can make stale, and what is done about it:
    /// <list type="bullet">
    /// <item>Fees and the default leverage: nothing. Fees are read as each fill, fee reservation and what-if needs them; no
    /// liquidation price or band depends on either; the margin memo is keyed by the leverage it was worked out at.</item>
    /// <item>The tier table (or money per tick): the liquidation prices, bands and cross backing of the contract's holders,
    /// every position of theirs (a cross account's other positions are backed by this one's PnL less its maintenance): they
    /// are re-keyed, visiting the contract's holders, not every account. No other account's liquidation price reads the
    /// contract (a flat position backs nothing; its backing memo was cleared when it closed, see MovePosition). The
    /// initial-margin memos of every account with orders on the contract, holder or not: the contract's memo epoch moves on, so
    /// each is worked out afresh when next read.</item>
    /// </list>
    /// At a million accounts, re-keying every account took 44-55 ms of the engine thread for any change (`perf risk --case
    /// mark-update`, contract-change); re-keying the holders alone still takes 33-42 ms at a million holders, so with
    /// <paramref name="rekeyHoldersLater"/> (the state machine's scheduled changes) the holders are re-keyed by a pass spread
    /// over the commands after the change instead (<see cref="ContinueRekey"/>; Ledger.RekeyPass.cs says what waits for it).
    /// </para>
    /// </summary>
    public void UpdateContract(int instrumentId, Func<ContractSpec, ContractSpec> change, bool rekeyHoldersLater = false)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i))
        {
            return;
        }

        var before = _contracts[i];
        var changed = change(before);
        var problem = changed.InstrumentId != instrumentId ? $"its id changed to {changed.InstrumentId}" : FiguresProblem(changed);
        if (problem is not null)
        {
            throw new ArgumentException($"contract {instrumentId}: change refused, {problem}");
        }

        _contracts[i] = changed;
        _feeSchedules[i] = [.. _contracts[i].FeeTiers];
        if (ReferenceEquals(before.Tiers, changed.Tiers) && before.MoneyPerTickLot == changed.MoneyPerTickLot)
        {
            return;
        }

        _maxMaintenanceRate[i] = _contracts[i].Tiers[_contracts[i].Tiers.Count - 1].MaintenanceRate;
        SetSlackRates(i);
        NextMarginEpoch(i);
        if (rekeyHoldersLater)
        {
            StartRekeyPass(i);
        }
        else
        {
            foreach (var slot in new SetBits(HoldersOf(i)))
            {
                _backingMemo[(slot * _contracts.Length) + i] = default;
                ReindexAccount(slot);   // reads only this account's memos
            }
        }

        // A stricter table may put positions below maintenance at the marks where they stand: the state machine looks for
        // them at the command's end, as after fills and funding payments, not at the next mark that moves.
        FillsMovedMargin = true;
    }

    /// <summary>Makes every account's initial-margin memo of contract <paramref name="i"/> stale (see <see cref="MarginMemo"/>). At
    /// the end of the epochs' range (2^31 changes) the memos are cleared and the count starts again.</summary>
    private void NextMarginEpoch(int i)
    {
        if (_marginEpoch[i] == int.MaxValue)
        {
            for (var a = 0; a < _accountCount; a++)
            {
                _marginMemo[(a * _contracts.Length) + i] = default;
            }

            _marginEpoch[i] = 0;
            return;
        }

        _marginEpoch[i]++;
    }

    public void SetMark(int instrumentId, long markTicks)
    {
        if (_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) && markTicks > 0)
        {
            _marks[i] = markTicks;
            Array.Clear(_headroomKnown);   // a mark set here, with no re-key, may have left a band: no fill trusts the bands until one
        }
    }

    // ---------------------------------------------------------------- fills

    /// <summary>Applies one side of a trade: position, realized PnL and fee. Unknown accounts are created (capacity permitting).</summary>
    public void ApplyFill(int accountId, int instrumentId, Side side, long priceTicks, long qtyLots, bool isMaker)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) || !TryAccount(accountId, create: true, out var slot))
        {
            ThrowUnknownFill(instrumentId, accountId);
            return;
        }

        PayFundingFirst(slot);   // a position moves only once paid on the lots it held at the funding time
        RekeyFirst(slot);        // and keyed by the tiers as they stand, if a tier change's pass has not reached it

        var contract = _contracts[i];
        ref var p = ref _positions[(slot * _contracts.Length) + i];
        var lotsBefore = p.QtyLots;
        var cashBefore = _balances[slot] - p.Cost;
        var realized = MovePosition(slot, i, side == Side.Buy ? qtyLots : -qtyLots, priceTicks, out var grew);
        var notional = FixedPoint.Product(qtyLots, priceTicks, contract.MoneyPerTickLot);
        long fee;
        if (!isMaker && _liquidationFeeRate >= 0)
        {
            // A liquidation order's fill: no trading fee; the clearance fee, capped at the margin left, goes to the fund.
            fee = ChargeClearanceFee(slot, i, notional, qtyLots, priceTicks);
        }
        else
        {
            var rate = TradingFeeRate(i, slot, isMaker);
            // A fee rounds up (against the account); a rebate rounds down (against the account too).
            fee = rate >= 0 ? FixedPoint.ApplyRate(notional, rate, Rounding.Up) : -FixedPoint.ApplyRate(notional, -rate, Rounding.Down);
            _balances[slot] -= fee;
            FeeAccount += fee;
        }

        if (p.Isolated)
        {
            RebalanceIsolated(slot, i, ref p, grew);
        }

        if (isMaker)
        {
            (LastMakerFill.Fee, LastMakerFill.RealizedPnl) = (fee, realized);
        }
        else
        {
            (LastTakerFill.Fee, LastTakerFill.RealizedPnl) = (fee, realized);
        }

        // A cross position that stays open, of an account whose bands hold: usually they still do after the fill, and the
        // re-key (its backing and bands worked out again) is skipped (see _bandHeadroom). A queued re-key goes ahead.
        if (_headroomKnown[slot] && lotsBefore != 0 && p.QtyLots != 0 && !p.Isolated && !_reindexPending[slot]
            && FillKeepsBands(slot, i, lotsBefore, p.QtyLots, _balances[slot] - p.Cost - cashBefore))
        {
            FillsMovedMargin = true;
            FillsKeepingBands++;
            return;
        }

        Touched(slot);
    }

    // The engine only fills accounts the risk layer admitted; reaching here is a wiring bug. Out of line (cold).
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void ThrowUnknownFill(int instrumentId, int accountId) =>
        throw new InvalidOperationException($"fill for unknown instrument {instrumentId} or account {accountId} beyond capacity");

    /// <summary>
    /// Cross margin: a fill's PnL and fee change the margin behind every position of the account.
    /// Within a command the state machine defers the re-keying to the command's end: an aggressor
    /// filled by k makers is re-keyed once, not k times (nothing reads the index before the command
    /// ends but a mark update or the liquidation path, which flush first).
    /// </summary>
    private void Touched(int slot)
    {
        FillsMovedMargin = true;
        if (DeferReindex)
        {
            if (!_reindexPending[slot])
            {
                _reindexPending[slot] = true;
                _pendingReindex[_pendingReindexCount++] = slot;
            }
        }
        else
        {
            ReindexAccount(slot);
        }
    }

    /// <summary>Moves account slot's position on instrument i by a signed fill at a price: realized PnL to
    /// the balance (cross) or the wallet (isolated); returns the realized PnL. An isolated wallet is
    /// rebalanced by the caller (<see cref="RebalanceIsolated"/>), after any fee taken from it.</summary>
    private long MovePosition(int slot, int i, long signedFill, long priceTicks, out bool grewOrFlipped)
    {
        ref var p = ref _positions[(slot * _contracts.Length) + i];
        var heldBefore = FixedPoint.Magnitude(p.QtyLots);
        var wasLong = p.QtyLots > 0;
        var realized = ApplyToPosition(ref p, signedFill, priceTicks, _contracts[i].MoneyPerTickLot);
        grewOrFlipped = GrewOrFlipped(heldBefore, wasLong, p.QtyLots);
        _openInterest[i] += Math.Max(0, p.QtyLots) - (wasLong ? heldBefore : 0);
        _shortInterest[i] += Math.Max(0, -p.QtyLots) - (wasLong ? 0 : heldBefore);
        if ((heldBefore == 0) != (p.QtyLots == 0))
        {
            SetBits.Set(_heldMasks, slot * _maskWords, i, heldBefore == 0);
            SetBits.Set(_holders, i * _holderWords, slot, heldBefore == 0);
            _holderCount[i] += heldBefore == 0 ? 1 : -1;
            if (heldBefore != 0)
            {
                // Closed: no longer a holder, so a tier change will not clear its backing memo (UpdateContract). Cleared now, a
                // position opened later at the same lots, cost and mark cannot read a figure from the old tiers.
                _backingMemo[(slot * _contracts.Length) + i] = default;
            }
            if (!p.Isolated)
            {
                CrossPositionChanged(slot, opened: heldBefore == 0);
            }
        }

        if (p.Isolated)
        {
            p.IsolatedMargin += realized;
        }
        else
        {
            _balances[slot] += realized;
        }

        return realized;
    }

    /// <summary>Funding payments that left their account's bands as they were, with no re-key (see <see cref="CashKeepsBands"/>).</summary>
    internal long FundingPaymentsKeepingBands { get; private set; }

    /// <summary>Fills that left their account's bands as they were, with no re-key (see <see cref="_bandHeadroom"/>).</summary>
    internal long FillsKeepingBands { get; private set; }

    /// <summary>While true, fills mark their accounts for re-indexing instead of re-indexing at once (see <see cref="FlushReindex"/>).</summary>
    public bool DeferReindex { get; set; }

    /// <summary>
    /// Set when a fill, a transfer (fund takeover, auto-deleveraging), a funding payment or a change of a contract's tiers moves
    /// an account's margin or what it must cover; cleared by its reader
    /// (the state machine, once it has looked for liquidations after them). A re-key flush does not clear it.
    /// </summary>
    public bool FillsMovedMargin { get; set; }

    /// <summary>Re-keys every account a fill touched since the last flush, in the order they were first touched.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void FlushReindex()
    {
        for (var k = 0; k < _pendingReindexCount; k++)
        {
            var slot = _pendingReindex[k];
            _reindexPending[slot] = false;
            ReindexAccount(slot);
        }

        _pendingReindexCount = 0;
    }

    /// <summary>The money side of the taker's half of the trade just applied (what its execution report carries).</summary>
    public FillMoney LastTakerFill;

    /// <summary>The money side of the maker's half of the trade just applied.</summary>
    public FillMoney LastMakerFill;

    /// <summary>Moves a position by a signed fill; returns the realized PnL (money).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static long ApplyToPosition(ref Position p, long signedFill, long priceTicks, long moneyPerTickLot)
    {
        var direction = Math.Sign(signedFill);
        var fillLots = FixedPoint.Magnitude(signedFill);
        if (p.QtyLots == 0 || Math.Sign(p.QtyLots) == direction)
        {
            p.QtyLots += signedFill;
            p.Cost += direction * FixedPoint.Product(fillLots, priceTicks, moneyPerTickLot);
            return 0;
        }

        var held = FixedPoint.Magnitude(p.QtyLots);
        var closing = Math.Min(fillLots, held);
        // The closed lots take their share of the cost; a full close takes exactly what is left,
        // so rounding on partial closes never creates or loses money over the position's life.
        var costRemoved = closing == held ? p.Cost : FixedPoint.MulDiv(p.Cost, closing, held, Rounding.TowardZero);
        var proceeds = Math.Sign(p.QtyLots) * FixedPoint.Product(closing, priceTicks, moneyPerTickLot);
        var realized = proceeds - costRemoved;
        p.QtyLots += direction * closing;
        p.Cost -= costRemoved;

        var opening = fillLots - closing;
        if (opening > 0)
        {
            p.QtyLots += direction * opening;
            p.Cost += direction * FixedPoint.Product(opening, priceTicks, moneyPerTickLot);
        }

        return realized;
    }

    /// <summary>
    /// After a fill on an isolated position: closed → the whole wallet returns to the balance; grown
    /// (or flipped) → topped up from the balance to the position's initial margin; shrunk → what the
    /// position's equity holds beyond its initial margin returns, an unrealized loss at mark counted
    /// against it (a wallet that only looks large because the position is under water stays: releasing it
    /// would leave the position below maintenance, or bankrupt, with the money free in the balance). Losses
    /// stay in the wallet; a wallet left negative when the position closes is settled from the balance (the
    /// liquidation path closes a bankrupt position at its bankruptcy price, so that leaves at most rounding
    /// dust, which the clearance fee takes first).
    /// </summary>
    private void RebalanceIsolated(int slot, int i, ref Position p, bool grew)
    {
        var move = IsolatedWalletAfter(i, ref p, grew, grew ? EquityOf(slot) : 0) - p.IsolatedMargin;
        p.IsolatedMargin += move;
        _balances[slot] -= move;
    }

    /// <summary>The wallet <see cref="RebalanceIsolated"/> leaves an isolated position with after a fill (its wallet holding the
    /// fill's PnL); a top-up comes from the balance and takes at most the account's cross equity
    /// (<paramref name="crossEquity"/>, read only when the position grew). Pre-trade risk reserves the top-up
    /// (<see cref="IsolatedExposure"/>), but not to the unit: a resting order fills at its own price, later, and a taker can
    /// fill at a better one, either costing more than the lots at mark the check valued. Taking more would leave the
    /// account owing money no position backs; a wallet short of its target leaves the isolated position nearer its own
    /// liquidation, which is its risk alone.</summary>
    private long IsolatedWalletAfter(int i, ref Position p, bool grew, long crossEquity)
    {
        if (p.QtyLots == 0)
        {
            return 0;
        }

        var target = IsolatedTarget(i, ref p);
        if (grew)
        {
            return Math.Max(p.IsolatedMargin, Math.Min(target, p.IsolatedMargin + Math.Max(0, crossEquity)));
        }

        var loss = _marks[i] > 0 ? Math.Min(0, UnrealizedOf(i, p)) : 0;
        return p.IsolatedMargin - Math.Max(0, p.IsolatedMargin + loss - target);
    }

    private static bool GrewOrFlipped(long heldBefore, bool wasLong, long qtyAfter) =>
        FixedPoint.Magnitude(qtyAfter) > heldBefore || (qtyAfter != 0 && heldBefore > 0 && (qtyAfter > 0) != wasLong);

    /// <summary>Initial margin of an isolated position on its cost (entry) notional.</summary>
    private long IsolatedTarget(int i, ref Position p) =>
        _contracts[i].Tiers.InitialMargin(Math.Abs(p.Cost), p.Leverage > 0 ? p.Leverage : _contracts[i].DefaultLeverage);

    /// <summary>Switches a position between cross and isolated; only while it is flat.</summary>
    public LedgerOutcome SetMarginMode(int accountId, int instrumentId, bool isolated)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i))
        {
            return new LedgerOutcome(LedgerReject.UnknownInstrument, 0, 0);
        }

        if (!TryAccount(accountId, create: true, out var slot))
        {
            return new LedgerOutcome(LedgerReject.CapacityAccounts, 0, 0);
        }

        ref var p = ref _positions[(slot * _contracts.Length) + i];
        if (p.QtyLots != 0 || p.IsolatedMargin != 0)
        {
            return new LedgerOutcome(LedgerReject.PositionOpen, 0, p.QtyLots);
        }

        p.Isolated = isolated;
        return LedgerOutcome.Ok;
    }

    /// <summary>
    /// Moves money into (positive) or out of (negative) an isolated position's wallet. Adding needs
    /// the cross available margin; removing must leave the wallet, net of any unrealized loss, at or
    /// above the position's initial margin. Rejects carry required vs available.
    /// </summary>
    public LedgerOutcome AdjustIsolatedMargin(int accountId, int instrumentId, long amount)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i))
        {
            return new LedgerOutcome(LedgerReject.UnknownInstrument, 0, 0);
        }

        if (!TryAccount(accountId, create: false, out var slot))
        {
            return new LedgerOutcome(LedgerReject.UnknownAccount, 0, 0);
        }

        PayFundingFirst(slot);   // the wallet's bounds read the position's money as the settlement leaves it

        ref var p = ref _positions[(slot * _contracts.Length) + i];
        if (!p.Isolated || p.QtyLots == 0)
        {
            return new LedgerOutcome(LedgerReject.NotIsolated, 0, 0);
        }

        if (amount == 0)
        {
            return new LedgerOutcome(LedgerReject.InvalidAmount, 1, 0);
        }

        if (amount > 0)
        {
            var crossAvailable = Math.Min(_balances[slot], EquityOf(slot) - InitialMarginOf(slot));
            if (amount > crossAvailable)
            {
                return new LedgerOutcome(LedgerReject.InsufficientMargin, amount, crossAvailable);
            }
        }
        else
        {
            var removable = p.IsolatedMargin + Math.Min(0, UnrealizedOf(i, p)) - InitialMarginAtMark(i, ref p);
            if (-amount > removable)
            {
                return new LedgerOutcome(LedgerReject.InsufficientMargin, -amount, Math.Max(0, removable));
            }
        }

        p.IsolatedMargin += amount;
        _balances[slot] -= amount;
        ReindexAccount(slot);   // the wallet moves its position's price, the balance every cross position's
        return LedgerOutcome.Ok;
    }

    private long InitialMarginAtMark(int i, ref Position p) =>
        _contracts[i].Tiers.InitialMargin(Notional(i, p.QtyLots, _marks[i] > 0 ? _marks[i] : 1), p.Leverage > 0 ? p.Leverage : _contracts[i].DefaultLeverage);

    // ---------------------------------------------------------------- queries

    public long Balance(int accountId) => TryAccount(accountId, create: false, out var slot) ? _balances[slot] : 0;

    public Position PositionOf(int accountId, int instrumentId) =>
        TryAccount(accountId, create: false, out var slot) && _instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i)
            ? _positions[(slot * _contracts.Length) + i]
            : default;

    /// <summary>Balance plus unrealized PnL of every position at mark.</summary>
    public long Equity(int accountId) => TryAccount(accountId, create: false, out var slot) ? EquityOf(slot) : 0;

    public long InitialMargin(int accountId) => TryAccount(accountId, create: false, out var slot) ? InitialMarginOf(slot) : 0;

    /// <summary>Lots a reduce-only order of <paramref name="side"/> may fill: up to the opposite position.</summary>
    public long ReduceOnlyAllowance(int accountId, int instrumentId, Side side)
    {
        var q = PositionOf(accountId, instrumentId).QtyLots;
        return side == Side.Sell ? Math.Max(0, q) : Math.Max(0, -q);
    }

    /// <summary>
    /// Lots a reduce-only fill of <paramref name="side"/> at <paramref name="priceTicks"/> may take with the margin scope
    /// still covering it: each lot costs its loss against mark (a sell below mark, a buy above it) and its fee, and the
    /// scope's equity at mark pays for it (an isolated position's loss from its wallet, its fee from cross equity); an
    /// equity already under zero pays for nothing. A reduce-only order has no margin check (it never adds exposure), so
    /// without this a market close into a thin book could sweep past the account's bankruptcy price and leave it owing
    /// money (a long of 1,000 lots on 15 USDT of equity at mark 9,050 sold 800 of them at 8,700: a balance of −13.2 USDT,
    /// the buyer's gain paid by nobody). A fill whose gain against mark pays its fee is not bounded; nor is a liquidation
    /// order's (its limit is the bankruptcy price, and its fee is capped by <see cref="ChargeClearanceFee"/>).
    /// Out of line: only reduce-only fills ask.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    public long ReduceOnlyLotsCovered(int accountId, int instrumentId, Side side, long priceTicks, bool isMaker)
    {
        if ((!isMaker && _liquidationFeeRate >= 0) || !_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i)
            || !TryAccount(accountId, create: false, out var slot) || _marks[i] <= 0)
        {
            return long.MaxValue;
        }

        // Against mark, a lot's loss (a gain is negative): a sell below mark loses, a buy above it.
        var moneyPerTickLot = _contracts[i].MoneyPerTickLot;
        var lossPerLot = FixedPoint.Product(side == Side.Sell ? _marks[i] - priceTicks : priceTicks - _marks[i], 1, moneyPerTickLot);
        var rate = TradingFeeRate(i, slot, isMaker);
        // A fee on f lots rounds up once: at most f times one lot's fee rounded up.
        var feePerLot = rate <= 0 ? 0 : FixedPoint.ApplyRate(FixedPoint.Product(1, priceTicks, moneyPerTickLot), rate, Rounding.Up);
        ref var p = ref _positions[(slot * _contracts.Length) + i];
        var crossEquity = Math.Max(0, EquityOf(slot));
        if (!p.Isolated)
        {
            return lossPerLot + feePerLot <= 0 ? long.MaxValue : crossEquity / (lossPerLot + feePerLot);
        }

        var walletEquity = Math.Max(0, p.IsolatedMargin + UnrealizedOf(i, p));
        return Math.Min(lossPerLot <= 0 ? long.MaxValue : walletEquity / lossPerLot, feePerLot == 0 ? long.MaxValue : crossEquity / feePerLot);
    }

    public int InstrumentCount => _contracts.Length;

    public int InstrumentIdAt(int index) => _contracts[index].InstrumentId;

    public long MarkOf(int instrumentId) => _instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) ? _marks[i] : 0;

    /// <summary>
    /// Initial margin of the worse side of a position and its open orders: if every buy filled the
    /// position would be q + buys, if every sell filled q − sells; margin is charged on the larger,
    /// at mark (or <paramref name="fallbackPriceTicks"/> before the first mark), at the chosen leverage
    /// capped by the tier.
    /// </summary>
    public long ExposureMargin(int accountId, int instrumentId, long openBuyLots, long openSellLots, long fallbackPriceTicks) =>
        _instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) ? ExposureMarginAt(SlotOf(accountId), i, openBuyLots, openSellLots, fallbackPriceTicks) : 0;

    // ---------------------------------------------------------------- by slot
    // Pre-trade risk reads several figures of one account for every order: it looks the account and the
    // instrument up once (a slot, -1 for an account never seen; an index in contract order) and reads by them.

    /// <summary>The ledger slot of an account (-1: never seen).</summary>
    internal int SlotOf(int accountId) => TryAccount(accountId, create: false, out var slot) ? slot : -1;

    /// <summary>The instrument's index in contract order (-1: not a contract here).</summary>
    internal int IndexOf(int instrumentId) => _instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) ? i : -1;

    /// <summary>A position's signed lots by slot (-1: never seen) and contract index (-1: not a contract here): 0 for either.</summary>
    internal long PositionLotsAt(int slot, int i) => slot < 0 || i < 0 ? 0 : _positions[(slot * _contracts.Length) + i].QtyLots;

    /// <summary><see cref="OpenInterestLots"/> by contract index (0 for -1).</summary>
    internal long OpenInterestAt(int i) => i < 0 ? 0 : _openInterest[i];

    /// <summary>Cross equity by slot (0 for -1).</summary>
    internal long EquityAt(int slot) => slot < 0 ? 0 : EquityOf(slot);

    /// <summary><see cref="ExposureMargin"/> by slot (-1: no position) and contract index: from the account's memo of the
    /// contract's last figure when its inputs are the same (another contract of an account placing an order usually is as the
    /// last order left it).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal long ExposureMarginAt(int slot, int i, long openBuyLots, long openSellLots, long fallbackPriceTicks)
    {
        var p = slot >= 0 ? _positions[(slot * _contracts.Length) + i] : default;
        var worst = Math.Max(FixedPoint.Magnitude(p.QtyLots + openBuyLots), FixedPoint.Magnitude(p.QtyLots - openSellLots));
        if (worst == 0)
        {
            return 0;
        }

        var price = _marks[i] > 0 ? _marks[i] : fallbackPriceTicks;
        var leverage = p.Leverage > 0 ? p.Leverage : _contracts[i].DefaultLeverage;
        long margin;
        if (slot >= 0)
        {
            ref var memo = ref _marginMemo[(slot * _contracts.Length) + i];
            if (memo.WorstLots != worst || memo.PriceTicks != price || memo.Leverage != leverage || memo.Epoch != _marginEpoch[i])
            {
                memo = new MarginMemo(worst, price, leverage, _marginEpoch[i], WorseSideMargin(i, worst, price, leverage));   // out of line
            }

            margin = memo.Margin;
        }
        else
        {
            margin = WorseSideMargin(i, worst, price, leverage);
        }

        return p.Isolated ? IsolatedExposure(i, p.Cost, p.IsolatedMargin, p.QtyLots > 0 ? openBuyLots : p.QtyLots < 0 ? openSellLots : 0, 0, margin, price, leverage) : margin;
    }

    /// <summary>
    /// <see cref="ExposureMarginAt"/> of the order's own contract with <paramref name="addedLots"/> more on one side, worked
    /// out afresh without reading the memo, and remembered in it; with <paramref name="withBefore"/>, also the figure without
    /// them in <paramref name="before"/> (else 0). Whether the memo held the figures went either way from one order to the
    /// next, and the mispredicted branch cost more than the figure (a product, the tier and one division). The position is read
    /// once for both; an order that leaves the worse side's lots as they were (the other side stays the worse) adds no margin,
    /// and its figure without it is the same one, not worked out twice. No lots make a margin of 0 by the same arithmetic.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal long FreshExposureMarginAt(int slot, int i, long openBuyLots, long openSellLots, Side side, long addedLots, long fallbackPriceTicks, bool withBefore, out long before)
    {
        var p = slot >= 0 ? _positions[(slot * _contracts.Length) + i] : default;
        var longest = p.QtyLots + openBuyLots;     // the position if every buy filled
        var shortest = p.QtyLots - openSellLots;   // and if every sell did
        var worstBefore = Math.Max(FixedPoint.Magnitude(longest), FixedPoint.Magnitude(shortest));
        var worst = side == Side.Buy ? Math.Max(FixedPoint.Magnitude(longest + addedLots), FixedPoint.Magnitude(shortest))
            : Math.Max(FixedPoint.Magnitude(longest), FixedPoint.Magnitude(shortest - addedLots));
        var price = _marks[i] > 0 ? _marks[i] : fallbackPriceTicks;
        var leverage = p.Leverage > 0 ? p.Leverage : _contracts[i].DefaultLeverage;
        var margin = WorseSideMargin(i, worst, price, leverage);   // out of line
        var marginBefore = !withBefore ? 0 : worstBefore == worst ? margin : WorseSideMargin(i, worstBefore, price, leverage);
        if (slot >= 0)
        {
            _marginMemo[(slot * _contracts.Length) + i] = new MarginMemo(worst, price, leverage, _marginEpoch[i], margin);
        }

        if (p.Isolated)
        {
            // The lots that grow the position (on its side; a flat one grows on the order's), without the order and with it:
            // the order's own at the larger of its price and mark (fallbackPriceTicks is the order's price here), which
            // bounds what its fills cost when it rests, and when it takes unless a sell meets bids above both.
            var growingSide = p.QtyLots > 0 ? Side.Buy : p.QtyLots < 0 ? Side.Sell : side;
            var growing = growingSide == Side.Buy ? openBuyLots : openSellLots;
            var addedCost = growingSide == side ? Notional(i, addedLots, Math.Max(fallbackPriceTicks, price)) : 0;
            before = withBefore ? IsolatedExposure(i, p.Cost, p.IsolatedMargin, growing, 0, marginBefore, price, leverage) : 0;
            return IsolatedExposure(i, p.Cost, p.IsolatedMargin, growing, addedCost, margin, price, leverage);
        }

        before = marginBefore;
        return margin;
    }

    /// <summary>
    /// What cross must still cover of an isolated position's contract (<paramref name="atMark"/>: the initial margin of its
    /// worse side at mark). The wallet covers part of it, and a fill that grows the position tops the wallet up from the
    /// balance to initial margin on the position's cost (<see cref="IsolatedTarget"/>), not on its value at mark: so the
    /// figure is the larger of the two, the cost with the growing side's open lots (<paramref name="growingLots"/>, at
    /// mark: what a fill above it pays beyond that is the loss against mark the check reserves too) and an order's
    /// (<paramref name="addedCost"/>) added. With nothing that can grow the position the figure is the one at mark. Else
    /// a wallet sized to the cost of a long under water (or a short in profit) read as margin to spare: a long of 413
    /// lots bought at 9,405 with mark at 9,134 bought 19 more with 0.59 USDT reserved against a top-up of 0.69, and the
    /// balance went negative. Out of line: isolated positions are the rarer case.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private long IsolatedExposure(int i, long cost, long wallet, long growingLots, long addedCost, long atMark, long markTicks, int leverage)
    {
        var onCost = growingLots == 0 && addedCost == 0 ? 0
            : _contracts[i].Tiers.InitialMargin(Math.Abs(cost) + Notional(i, growingLots, markTicks) + addedCost, leverage);
        return Math.Max(0, Math.Max(atMark, onCost) - wallet);
    }

    /// <summary>Initial margin on <paramref name="worstLots"/> at a price and leverage (capped by the tier): the memo's one formula.
    /// Out of line: order entry inlines <see cref="ExposureMarginAt"/> once per contract, and a copy of the tier walk and the
    /// 128-bit division in each spent the JIT's inlining budget for the whole margin check.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private long WorseSideMargin(int i, long worstLots, long priceTicks, int leverage) =>
        _contracts[i].Tiers.InitialMargin(Notional(i, worstLots, priceTicks), leverage);

    /// <summary>Taker fee on an order's notional at the account's fee tier, rounded up: what pre-trade risk reserves.</summary>
    public long TakerFee(int accountId, int instrumentId, long priceTicks, long qtyLots) =>
        _instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) ? TakerFeeAt(SlotOf(accountId), i, priceTicks, qtyLots) : 0;

    /// <summary><see cref="TakerFee"/> by slot (-1: the contract's base fees) and contract index.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal long TakerFeeAt(int slot, int i, long priceTicks, long qtyLots)
    {
        var rate = (slot >= 0 ? FeesFor(i, slot) : _contracts[i].Fees).TakerRate;
        return rate <= 0 ? 0 : FixedPoint.ApplyRate(Notional(i, qtyLots, priceTicks), rate, Rounding.Up);
    }

    /// <summary>The rate a trading fill of the account pays on the contract, maker or taker, at its fee tier (a liquidation
    /// order's fill pays the clearance fee instead: see <see cref="ApplyFill"/>).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private long TradingFeeRate(int i, int slot, bool isMaker)
    {
        var fees = FeesFor(i, slot);
        return isMaker ? fees.MakerRate : fees.TakerRate;
    }

    private FeeSchedule FeesFor(int i, int slot)
    {
        var schedules = _feeSchedules[i];
        return schedules.Length == 0 ? _contracts[i].Fees : schedules[Math.Min(_feeTiers[slot], schedules.Length - 1)];
    }

    /// <summary>Puts an account in a fee tier (an operator decision, e.g. from 30-day volume).</summary>
    public LedgerOutcome SetFeeTier(int accountId, int tier)
    {
        if (tier < 0 || _contracts.All(c => c.FeeTiers.Count <= tier))
        {
            return new LedgerOutcome(LedgerReject.InvalidAmount, _contracts.Max(c => c.FeeTiers.Count) - 1, tier);
        }

        if (!TryAccount(accountId, create: true, out var slot))
        {
            return new LedgerOutcome(LedgerReject.CapacityAccounts, 0, 0);
        }

        _feeTiers[slot] = tier;
        return LedgerOutcome.Ok;
    }

    /// <summary>Money lost against mark the moment an order fills at its limit (buying above or selling below mark).</summary>
    public long ImmediateLossAgainstMark(int instrumentId, Side side, long priceTicks, long qtyLots) =>
        _instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) ? ImmediateLossAt(i, side, priceTicks, qtyLots) : 0;

    /// <summary><see cref="ImmediateLossAgainstMark"/> by contract index.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal long ImmediateLossAt(int i, Side side, long priceTicks, long qtyLots)
    {
        var mark = _marks[i];
        if (mark <= 0)
        {
            return 0;
        }

        // How far the price is past mark on the order's side: (price − mark) × (1 for a buy, −1 for a sell), 0 when not past it.
        // Without branches: the side and whether the price is past mark change from one order to the next.
        var adverseTicks = FixedPoint.PositivePart((priceTicks - mark) * (1 - (2 * (long)side)));
        return FixedPoint.Product(adverseTicks, qtyLots, _contracts[i].MoneyPerTickLot);
    }

    /// <summary>
    /// Both what-ifs of an order's acknowledgement, from one hypothetical complete fill at its price: the
    /// liquidation price of the position after it (see <see cref="WhatIfLiquidationPrice"/>) and its ADL
    /// quantile (see <see cref="WhatIfAdlQuantile"/>).
    /// </summary>
    public (long LiquidationPriceTicks, int AdlQuantile) WhatIfFilled(int accountId, int instrumentId, Side side, long priceTicks, long qtyLots)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i))
        {
            return (0, 0);
        }

        var slot = SlotOf(accountId);
        return WhatIfFilledAt(slot, i, side, priceTicks, qtyLots, EquityAt(slot), TakerFeeAt(slot, i, priceTicks, qtyLots));
    }

    /// <summary>
    /// <see cref="WhatIfFilled"/> by slot (-1: a new account) and contract index, with the account's cross equity and the
    /// order's taker fee as pre-trade risk has just computed them (<see cref="EquityAt"/>, <see cref="TakerFeeAt"/>): the
    /// acknowledgement does not look the account up or sum its positions again. Out of line: inlined, the solve and the
    /// quantile made order entry's method 9 KB, its registers spilling all through it.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    internal (long LiquidationPriceTicks, int AdlQuantile) WhatIfFilledAt(int slot, int i, Side side, long priceTicks, long qtyLots, long crossEquity, long takerFee)
    {
        var before = slot >= 0 ? _positions[(slot * _contracts.Length) + i] : default;
        var after = before;
        var realized = ApplyToPosition(ref after, side == Side.Buy ? qtyLots : -qtyLots, priceTicks, _contracts[i].MoneyPerTickLot);
        // As ApplyFill books the fill: its fee leaves the balance, so the cross money behind a cross position has it taken
        // with the PnL; an isolated wallet takes the PnL, then its top-up or release, and the what-ifs read the wallet as it
        // is then (money 0: nothing more behind the position).
        long money;
        if (after.Isolated)
        {
            after.IsolatedMargin += realized;
            if (after.QtyLots != 0)
            {
                after.IsolatedMargin = IsolatedWalletAfter(i, ref after, GrewOrFlipped(Math.Abs(before.QtyLots), before.QtyLots > 0, after.QtyLots), crossEquity - takerFee);
            }

            money = 0;
        }
        else
        {
            money = realized - takerFee;
        }

        var liquidationPrice = slot < 0
            ? LiquidationMath.LiquidationPrice(after.QtyLots, after.Cost, money, _contracts[i].Tiers, _contracts[i].MoneyPerTickLot)
            : LiquidationPriceOf(slot, i, in after, money);
        return (liquidationPrice, AdlQuantileAfter(i, in before, in after, money, crossEquity));
    }

    /// <summary>
    /// The account's liquidation price on <paramref name="instrumentId"/> if an order filled
    /// completely at its price, as a taker: the position after the fill, margined cross (balance, realized PnL
    /// of the fill less the taker fee it pays, and the other positions' PnL at mark minus their maintenance margin)
    /// or by its isolated wallet after the fill. The price the position has once the fill is booked (a maker's fill,
    /// at a lower fee or a rebate, leaves it a little further from the mark). The same code the engine's risk runs on
    /// live positions. 0 when there is nothing to liquidate.
    /// </summary>
    public long WhatIfLiquidationPrice(int accountId, int instrumentId, Side side, long priceTicks, long qtyLots) =>
        WhatIfFilled(accountId, instrumentId, side, priceTicks, qtyLots).LiquidationPriceTicks;

    /// <summary>The account's current liquidation price on an instrument (0 = none).</summary>
    public long LiquidationPrice(int accountId, int instrumentId) =>
        TryAccount(accountId, create: false, out var slot) && _instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i)
            ? LiquidationPriceOf(slot, i, in _positions[(slot * _contracts.Length) + i], 0)
            : 0;

    /// <summary>
    /// Sets the mark and writes the accounts whose position on the instrument is at or past its
    /// liquidation price (as many as fit); returns how many there are. Visits only those positions
    /// (plus the heap nodes just past them), never every account: its cost does not grow with the
    /// number of positions held far from liquidation. A cross account's liquidation price includes
    /// the other instruments' PnL: cross accounts holding positions on more than one instrument, this
    /// one among them, are re-keyed first when the mark has left the band their slack allows it.
    /// </summary>
    public int MarkUpdate(int instrumentId, long markTicks, Span<int> accountIds)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) || markTicks <= 0)
        {
            return 0;
        }

        FlushReindex();
        _marks[i] = markTicks;
        ReindexBandsCrossed(i);
        return AtRisk(instrumentId, accountIds);
    }

    private long LiquidationPriceOf(int slot, int i, in Position p, long extraMargin)
    {
        if (p.Isolated)
        {
            return LiquidationMath.LiquidationPrice(p.QtyLots, p.Cost, p.IsolatedMargin + extraMargin, _contracts[i].Tiers, _contracts[i].MoneyPerTickLot);
        }

        var margin = _balances[slot] + extraMargin;
        var unkeyed = IsUnkeyed(slot);   // its memos may hold a changed table's figures: read around them
        for (var w = 0; w < _maskWords; w++)
        {
            for (var bits = HeldWord(slot, w); bits != 0; bits &= bits - 1)
            {
                var j = (w << 6) + BitOperations.TrailingZeroCount(bits);
                ref var other = ref _positions[(slot * _contracts.Length) + j];
                if (j != i && !other.Isolated)
                {
                    margin += unkeyed ? BackingAtMark(j, in other) : CrossBacking(slot, j, ref other);
                }
            }
        }

        return LiquidationMath.LiquidationPrice(p.QtyLots, p.Cost, margin, _contracts[i].Tiers, _contracts[i].MoneyPerTickLot);
    }

    /// <summary>
    /// Re-keys every position of the account by its liquidation price, and draws a cross account's bands. One pass over
    /// its cross positions first: each one's PnL at mark less its maintenance margin backs
    /// the other cross positions' liquidation prices, and their sum with the balance is the bands' slack
    /// (equity − maintenance), so no figure is computed twice. When the bands hold (see <see cref="DrawBands"/>: while
    /// every mark stays inside its band the account keeps two ticks of slack on every instrument, so no cross position
    /// can be at or past its liquidation price), its cross positions leave the index instead of being solved and re-keyed:
    /// the band heaps find the mark that leaves a band, and re-key the account then. The bands' headroom is drawn here too (the
    /// slack less what the bands take: see <see cref="_bandHeadroom"/>): the fills that follow move it instead of re-keying.
    /// </summary>
    private void ReindexAccount(int slot)
    {
        if (IsUnkeyed(slot))
        {
            ForgetOldTiers(slot);   // a tier change's pass had not reached it: re-keyed whole now, its memos dropped
        }

        var n = _contracts.Length;
        var backing = _backingScratch;   // read below only for the positions held, each written here first
        var crossBacking = _balances[slot];
        var anyIsolated = false;
        // The backing of the cross positions is read by the bands (their slack) and by each cross position's price (the others'
        // backing). An account with no cross position and no bands left to remove reads neither.
        var banded = _crossPositions[slot] >= 1 || HasBands(slot);
        for (var w = 0; w < _maskWords; w++)
        {
            for (var bits = HeldWord(slot, w); bits != 0; bits &= bits - 1)
            {
                var j = (w << 6) + BitOperations.TrailingZeroCount(bits);
                ref var p = ref _positions[(slot * n) + j];
                anyIsolated |= p.Isolated;
                backing[j] = p.Isolated || !banded ? 0 : CrossBacking(slot, j, ref p);
                crossBacking += backing[j];
            }
        }

        Int128 guarded = 0;
        var bandsHold = banded && DrawBands(slot, crossBacking, out guarded);
        _headroomKnown[slot] = false;
        if (bandsHold && !anyIsolated)
        {
            // The bands' headroom (see _bandHeadroom): the slack over the box of marks they allow, less their guarantee.
            _bandHeadroom[slot] = ((Int128)crossBacking * FixedPoint.RateScale) - guarded;
            _headroomKnown[slot] = _bandHeadroom[slot] >= 0;
            if (!_liquidationIndex.AnyIndexed(slot))
            {
                // The usual re-key of a healthy cross account: every position it holds is cross and banded (keyed 0), and
                // the index holds none of them: the pass below would find nothing to remove and nothing to add.
                return;
            }
        }

        var excluded = ExcludedFromIndex(slot);
        // The positions held, and those the index still has (a position just closed leaves it here).
        for (var w = 0; w < _maskWords; w++)
        {
            for (var bits = HeldWord(slot, w) | _liquidationIndex.IndexedWord(slot, w); bits != 0; bits &= bits - 1)
            {
                var i = (w << 6) + BitOperations.TrailingZeroCount(bits);
                ref var p = ref _positions[(slot * n) + i];
                var price = p.QtyLots == 0 || excluded || (bandsHold && !p.Isolated) ? 0
                    : LiquidationMath.LiquidationPrice(p.QtyLots, p.Cost,
                        p.Isolated ? p.IsolatedMargin : crossBacking - backing[i],   // as LiquidationPriceOf: the others back a cross position
                        _contracts[i].Tiers, _contracts[i].MoneyPerTickLot);
                _liquidationIndex.Update(slot, i, p.QtyLots, price, _accountIds[slot]);
            }
        }
    }

    /// <summary>What a cross position on contract j adds to the margin behind the account's other cross positions: its PnL at mark less its maintenance margin.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private long CrossBacking(int slot, int j, ref Position p)
    {
        // A pure function of lots, cost and mark (and the contract, whose change clears the memo): an account re-keyed after a
        // fill on one instrument, or asked for a what-if, finds its other positions' figures as it left them until a mark moves.
        ref var memo = ref _backingMemo[(slot * _contracts.Length) + j];
        if (memo.QtyLots == p.QtyLots && memo.Cost == p.Cost && memo.MarkTicks == _marks[j])
        {
            return memo.Backing;
        }

        var backing = BackingAtMark(j, in p);
        memo = new BackingMemo(p.QtyLots, p.Cost, _marks[j], backing);
        return backing;
    }

    /// <summary>A cross position's PnL at mark less its maintenance margin, worked out (no memo).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private long BackingAtMark(int j, in Position p)
    {
        var notional = FixedPoint.Product(p.QtyLots, _marks[j], _contracts[j].MoneyPerTickLot);
        return notional - p.Cost - _contracts[j].Tiers.MaintenanceMargin(Math.Abs(notional));
    }

    // Per account and contract: the last cross backing computed and its inputs (lots 0 never matches: flat positions back nothing).
    private readonly record struct BackingMemo(long QtyLots, long Cost, long MarkTicks, long Backing);

    private readonly BackingMemo[] _backingMemo;

    // Per account and contract: the last initial margin of a worse side computed for order entry, and its inputs (lots 0 never
    // asks), with the contract's tier table as the epoch it was worked out in (32 bytes: two a cache line).
    private readonly record struct MarginMemo(long WorstLots, long PriceTicks, int Leverage, int Epoch, long Margin);

    private readonly MarginMemo[] _marginMemo;

    // Per contract: how many times its tier table (or money per tick) changed, modulo 2^31 (see NextMarginEpoch). A margin memo
    // of another epoch is stale.
    private readonly int[] _marginEpoch;

    // Per contract, the account being re-keyed: its cross position's PnL less maintenance margin (0 when none).
    private readonly long[] _backingScratch;

    private readonly long[] _openInterest;
    private readonly long[] _shortInterest;   // the short side's lots: equal to _openInterest wherever every fill had two sides

    /// <summary>Open interest in lots (the long side, which equals the short side), kept as positions move: O(1).</summary>
    public long OpenInterestLots(int instrumentId) => _instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) ? _openInterest[i] : 0;

    /// <summary>Open interest counted from every position (a check of <see cref="OpenInterestLots"/>; O(accounts)).</summary>
    public (long Long, long Short) OpenInterest(int instrumentId)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i))
        {
            return (0, 0);
        }

        long longs = 0, shorts = 0;
        for (var a = 0; a < _accountCount; a++)
        {
            var q = _positions[(a * _contracts.Length) + i].QtyLots;
            longs += Math.Max(0, q);
            shorts += Math.Max(0, -q);
        }

        return (longs, shorts);
    }

    /// <summary>Hash of every balance and position (account order), the fee account, residue and totals: replays compare it.</summary>
    public ulong StateHash()
    {
        var h = new Hashing.StateHasher();
        h.Add(_accountCount);
        for (var a = 0; a < _accountCount; a++)
        {
            h.Add(_accountIds[a]);
            h.Add(_balances[a]);
            for (var i = 0; i < _contracts.Length; i++)
            {
                ref var p = ref _positions[(a * _contracts.Length) + i];
                h.Add(p.QtyLots);
                h.Add(p.Cost);
                h.Add(p.Leverage);
                h.Add(p.Isolated ? 1 : 0);
                h.Add(p.IsolatedMargin);
            }
        }

        h.Add(FeeAccount);
        h.Add(FundingResidue);
        h.Add(TotalDeposits);
        h.Add(TotalWithdrawals);
        return h.Value;
    }

    /// <summary>Σ balances (the insurance fund's among them) + Σ isolated wallets − Σ costs + fee account + funding
    /// residue; equals deposits − withdrawals.</summary>
    public long MoneyInSystem()
    {
        long total = FeeAccount + FundingResidue;
        for (var a = 0; a < _accountCount; a++)
        {
            total += _balances[a];
            for (var i = 0; i < _contracts.Length; i++)
            {
                ref var p = ref _positions[(a * _contracts.Length) + i];
                total += p.IsolatedMargin - p.Cost;
            }
        }

        return total;
    }

    /// <summary>Cross equity: the balance plus the unrealized PnL of the cross positions (isolated ones stand alone).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private long EquityOf(int slot)
    {
        var equity = _balances[slot];
        for (var w = 0; w < _maskWords; w++)
        {
            for (var bits = HeldWord(slot, w); bits != 0; bits &= bits - 1)
            {
                var i = (w << 6) + BitOperations.TrailingZeroCount(bits);
                ref var p = ref _positions[(slot * _contracts.Length) + i];
                if (!p.Isolated)
                {
                    equity += UnrealizedOf(i, p);
                }
            }
        }

        return equity;
    }

    /// <summary>Initial margin of the cross positions.</summary>
    private long InitialMarginOf(int slot)
    {
        long margin = 0;
        foreach (var i in new SetBits(HeldOf(slot)))
        {
            ref var p = ref _positions[(slot * _contracts.Length) + i];
            if (!p.Isolated)
            {
                var leverage = p.Leverage > 0 ? p.Leverage : _contracts[i].DefaultLeverage;
                margin += _contracts[i].Tiers.InitialMargin(Notional(i, p.QtyLots, _marks[i]), leverage);
            }
        }

        return margin;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private long Notional(int instrument, long qty, long mark) =>
        FixedPoint.Product(Math.Abs(qty), mark, _contracts[instrument].MoneyPerTickLot);

    private bool TryAccount(int accountId, bool create, out int slot)
    {
        if (_accountIndex.TryGetValue(new IntKey(accountId), out slot))
        {
            return true;
        }

        if (!create || _accountCount == _accountIds.Length)
        {
            return false;
        }

        slot = _accountCount++;
        _accountIds[slot] = accountId;
        _accountIndex.TryAdd(new IntKey(accountId), slot);
        return true;
    }
}

/// <summary>The ledger as the matching engine's position keeper: reduce-only allowances from real
/// positions, and every fill booked as it happens.</summary>
public readonly struct LedgerPositions(Ledger ledger) : Matching.IPositionKeeper
{
    public Ledger Ledger => ledger;

    public long ReduceOnlyAllowance(int accountId, int instrumentId, Side side) => ledger.ReduceOnlyAllowance(accountId, instrumentId, side);

    public long ReduceOnlyLotsCovered(int accountId, int instrumentId, Side side, long priceTicks, bool isMaker) =>
        ledger.ReduceOnlyLotsCovered(accountId, instrumentId, side, priceTicks, isMaker);

    public void OnFill(int accountId, int instrumentId, Side side, long priceTicks, long qtyLots, bool isMaker) =>
        ledger.ApplyFill(accountId, instrumentId, side, priceTicks, qtyLots, isMaker);
}
