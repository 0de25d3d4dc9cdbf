using System.Numerics;

namespace Aivora.Core.Accounts;

/// <summary>
/// The ADL ranking an order's what-if quantile is read against (<see cref="WhatIfAdlQuantile"/>), taken as a pass over the
/// positions that the state machine spreads over the commands that follow its start (once a second of engine time), so no
/// one command pays for every position the ledger holds.
/// <code>
///   per contract i held, in instrument id order:
///                               its holders (the _holders bitmap), a budget's worth a call, each scored
///                               (AdlScore, negated) into the longs' or the shorts' scratch
///                               then each side ranked, a budget's worth a call: the four entries where the quantile
///                               changes (StepwiseQuantileSelection) into the pass's bounds, [i × 8 .. i × 8 + 3] longs,
///                               [i × 8 + 4 .. i × 8 + 7] shorts
///                               and, when the pass was asked for them, the contract's largest holders (either side, by
///                               lots) kept as the scoring goes, up to MaxTopHolders
///   after the last contract:    the pass's bounds published (_quantileBounds): what-ifs read them until the next pass ends;
///                               its largest holders too (TopHoldersAtRanking: the concentration check's), and
///                               AdlRankingsTaken counts it
/// </code>
/// A pass run in one call (<see cref="SnapshotAdlRanking"/>) ranks every position as it stands; a pass spread over commands
/// scores each position as it stands when the pass reaches it (a position opened after the pass went by its account waits for
/// the next one). The pass visits the instruments in id order and skips those nobody holds at no cost, so what else is
/// listed, and in what order, changes neither its work nor the command it ends on. Before 2026-12-04 the snapshot was one
/// call: every score, then a sort per side, on the command that crossed the second (54 ms at a million positions, `perf
/// risk --case mark-update`).
/// </summary>
public sealed partial class Ledger
{
    private bool _rankingTaken;          // a pass has ended: _quantileBounds holds its bounds
    private int _rankingStep = -1;       // where the pass is in _contractsById; -1: no pass under way
    private int[]? _contractsById;       // contract indexes in instrument id order: the pass's order, whatever the listing's
    private int _rankingSlot;            // the next account slot of its holders to score; then RankLongsNext, RankShortsNext
    private const int RankLongsNext = -1;
    private const int RankShortsNext = -2;
    private long[]? _rankingLongs;       // the contract's scores so far, negated (an ascending ranking puts the highest first)
    private long[]? _rankingShorts;
    private int _rankingLongCount;
    private int _rankingShortCount;
    private long[]? _rankingBounds;      // the pass's bounds, contract by contract, published when it ends
    private Collections.StepwiseQuantileSelection _rankingSelection;   // the side being ranked

    /// <summary>The most holders a ranking pass keeps per contract (<see cref="StartAdlRanking"/>).</summary>
    public const int MaxTopHolders = 16;
    private int _rankingTopCapacity;     // the largest holders this pass keeps per contract (0: none)
    private int[]? _passTopAccounts;     // per contract i, this pass's largest holders so far, [i × MaxTopHolders ..], largest first
    private long[]? _passTopLots;
    private int[]? _passTopCount;
    private int[]? _topAccounts;         // the last pass's, published when it ended
    private long[]? _topLots;
    private int[]? _topCount;
    private int _topCapacityPublished;   // how many holders a contract the last ended pass kept (0: it was not asked for them)

    /// <summary>How many ranking passes have ended (one in a call, or spread over commands): a reader of what a pass
    /// publishes (<see cref="TopHoldersAtRanking"/>) sees a new one when this moves.</summary>
    public long AdlRankingsTaken { get; private set; }

    /// <summary>How many largest holders per contract the last ended pass was asked to keep (0: none, as a pass run in one
    /// call by <see cref="SnapshotAdlRanking"/> keeps none): a reader of <see cref="TopHoldersAtRanking"/> knows whether its
    /// lists are the holders or were not taken.</summary>
    public int TopHoldersKeptAtRanking => _topCapacityPublished;

    /// <summary>Whether a ranking pass is under way (<see cref="StartAdlRanking"/>, <see cref="ContinueAdlRanking"/>).</summary>
    public bool AdlRankingRunning => _rankingStep >= 0;

    /// <summary>
    /// Takes the ADL ranking of every instrument and side in one call, each position as it stands: a pass started (one under
    /// way starts over) and run to its end.
    /// </summary>
    public void SnapshotAdlRanking()
    {
        StartAdlRanking();
        ContinueAdlRanking(int.MaxValue);
    }

    /// <summary>Starts a ranking pass (one under way starts over): nothing is scored until <see cref="ContinueAdlRanking"/>. With
    /// <paramref name="topHolders"/> (up to <see cref="MaxTopHolders"/>), the pass also keeps each contract's largest holders
    /// as it scores them, for <see cref="TopHoldersAtRanking"/>: the concentration check reads them instead of a pass of its
    /// own over every holder in one command.</summary>
    public void StartAdlRanking(int topHolders = 0)
    {
        _rankingLongs ??= new long[_accountIds.Length];
        _rankingShorts ??= new long[_accountIds.Length];
        _rankingBounds ??= new long[_contracts.Length * 2 * 4];
        _quantileBounds ??= new long[_contracts.Length * 2 * 4];
        _contractsById ??= [.. Enumerable.Range(0, _contracts.Length).OrderBy(i => _contracts[i].InstrumentId)];
        _passTopAccounts ??= new int[_contracts.Length * MaxTopHolders];
        _passTopLots ??= new long[_contracts.Length * MaxTopHolders];
        _passTopCount ??= new int[_contracts.Length];
        _topAccounts ??= new int[_contracts.Length * MaxTopHolders];
        _topLots ??= new long[_contracts.Length * MaxTopHolders];
        _topCount ??= new int[_contracts.Length];
        _rankingTopCapacity = Math.Clamp(topHolders, 0, MaxTopHolders);
        _rankingStep = -1;
        NextHeldContract();
    }

    /// <summary>
    /// The largest holders of an instrument (either side, by lots held, ties to the lower account id; the fund left out) as
    /// the last ranking pass that kept them found them, each position as it stood when the pass reached it (see
    /// <see cref="StartAdlRanking"/>): up to <paramref name="accounts"/>.Length of them, largest first, into
    /// <paramref name="accounts"/> and <paramref name="lots"/>; returns how many. 0 before such a pass has ended.
    /// </summary>
    public int TopHoldersAtRanking(int instrumentId, Span<int> accounts, Span<long> lots)
    {
        if (_topCount is null || !_instrumentIndex.TryGetValue(new Collections.IntKey(instrumentId), out var i))
        {
            return 0;
        }

        var n = Math.Min(Math.Min(_topCount[i], accounts.Length), lots.Length);
        _topAccounts.AsSpan(i * MaxTopHolders, n).CopyTo(accounts);
        _topLots.AsSpan(i * MaxTopHolders, n).CopyTo(lots);
        return n;
    }

    /// <summary>
    /// Moves the pass under way on by about <paramref name="budget"/> units of work: an account's position scored is one, and
    /// so are 16 words of a holders bitmap read and 16 entries a side's ranking looks at
    /// (<see cref="Collections.StepwiseQuantileSelection"/>: it stops where the budget runs out and goes on at the next call).
    /// Returns true when no pass is under way (this call ended it, and published its ranking, or none was).
    /// </summary>
    public bool ContinueAdlRanking(int budget)
    {
        while (_rankingStep >= 0 && budget > 0)
        {
            var i = _contractsById![_rankingStep];
            if (_rankingSlot >= 0)
            {
                budget -= ScoreHolders(i, budget);
                continue;
            }

            // A side's ranking: 16 entries looked at a unit of the budget.
            var longs = _rankingSlot == RankLongsNext;
            var scores = longs ? _rankingLongs.AsSpan(0, _rankingLongCount) : _rankingShorts.AsSpan(0, _rankingShortCount);
            budget -= 1 + (_rankingSelection.Advance(scores, _rankingBounds.AsSpan((i * 8) + (longs ? 0 : 4), 4), SaturatingTimes16(budget)) / 16);
            if (!_rankingSelection.Done)
            {
                continue;
            }

            if (longs)
            {
                _rankingSlot = RankShortsNext;
                _rankingSelection.Begin(_rankingShortCount);
                continue;
            }

            NextHeldContract();
        }

        return _rankingStep < 0;
    }

    /// <summary>
    /// Moves the pass to the next contract in instrument id order that anyone holds, at no cost to the budget: a contract
    /// nobody holds has its bounds written as an empty ranking's (never reached) and is not scanned, so what else is listed,
    /// and in what order, changes neither the work nor where the slices fall. Past the last one the pass is complete.
    /// </summary>
    private void NextHeldContract()
    {
        while (++_rankingStep < _contracts.Length)
        {
            var i = _contractsById![_rankingStep];
            _passTopCount![i] = 0;
            if (_holderCount[i] > 0)
            {
                BeginContract();
                return;
            }

            _rankingBounds.AsSpan(i * 8, 8).Fill(long.MaxValue);
        }

        _rankingStep = -1;
        _rankingBounds.AsSpan().CopyTo(_quantileBounds);   // published: what-ifs read it from now on
        _passTopAccounts.AsSpan().CopyTo(_topAccounts);
        _passTopLots.AsSpan().CopyTo(_topLots);
        _passTopCount.AsSpan().CopyTo(_topCount);
        _topCapacityPublished = _rankingTopCapacity;
        _rankingTaken = true;
        AdlRankingsTaken++;
    }

    private void BeginContract()
    {
        _rankingSlot = 0;
        _rankingLongCount = 0;
        _rankingShortCount = 0;
    }

    /// <summary>Whether a holder of <paramref name="held"/> lots belongs among the <paramref name="n"/> largest kept so far in
    /// <paramref name="accounts"/> and <paramref name="lots"/> (largest first, ties to the lower account id; as many as the
    /// spans hold): the list is not full, or it holds more than the smallest kept. Inline: most holders are turned away here
    /// once the list is full.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool AmongLargest(ReadOnlySpan<int> accounts, ReadOnlySpan<long> lots, int n, long held, int id) =>
        n < accounts.Length || held > lots[n - 1] || (held == lots[n - 1] && id < accounts[n - 1]);

    /// <summary>Puts a holder <see cref="AmongLargest"/> admitted in its place, the smallest dropped when the list was full
    /// (out of line: the rarer case).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void InsertAmongLargest(Span<int> accounts, Span<long> lots, ref int n, long held, int id)
    {
        var k = n < accounts.Length ? n++ : n - 1;
        while (k > 0 && (lots[k - 1] < held || (lots[k - 1] == held && accounts[k - 1] > id)))
        {
            (lots[k], accounts[k]) = (lots[k - 1], accounts[k - 1]);
            k--;
        }

        (lots[k], accounts[k]) = (held, id);
    }

    /// <summary>Scores up to <paramref name="budget"/> holders of contract i from the pass's slot on (the fund left out), in slot
    /// order; returns how many it looked at. Past the last one the slot is <see cref="RankLongsNext"/>: the sides are next.</summary>
    private int ScoreHolders(int i, int budget)
    {
        var words = HoldersOf(i);
        var (longs, shorts) = (_rankingLongs!, _rankingShorts!);
        var (longCount, shortCount) = (_rankingLongCount, _rankingShortCount);
        var fund = _fundAccountId;
        var top = _rankingTopCapacity;
        var topAccounts = _passTopAccounts.AsSpan(i * MaxTopHolders, top);
        var topLots = _passTopLots.AsSpan(i * MaxTopHolders, top);
        var looked = 0;
        var slot = _rankingSlot;
        for (var w = slot >> 6; w < words.Length; w++)
        {
            // The first word from the pass's slot on; every later one whole.
            var bits = w == slot >> 6 ? words[w] & (ulong.MaxValue << (slot & 63)) : words[w];
            for (; bits != 0; bits &= bits - 1)
            {
                var a = (w << 6) + BitOperations.TrailingZeroCount(bits);
                if (looked >= budget)
                {
                    (_rankingSlot, _rankingLongCount, _rankingShortCount) = (a, longCount, shortCount);
                    return looked;
                }

                looked++;
                if (_accountIds[a] == fund)
                {
                    continue;
                }

                var (pnl, cost, notional, equity) = AdlFigures(a, i);
                var score = Negated(Score(pnl, cost, notional, equity));
                var q = _positions[(a * _contracts.Length) + i].QtyLots;
                if (q > 0)
                {
                    longs[longCount++] = score;
                }
                else
                {
                    shorts[shortCount++] = score;
                }

                if (top > 0)
                {
                    var held = Math.Abs(q);
                    if (AmongLargest(topAccounts, topLots, _passTopCount![i], held, _accountIds[a]))
                    {
                        InsertAmongLargest(topAccounts, topLots, ref _passTopCount[i], held, _accountIds[a]);
                    }
                }
            }

            // Every 16 words of the bitmap read are a unit too (a contract a few hold is a long bitmap to scan for them): the
            // pass stops at the next word when the budget is spent.
            if ((w & 15) == 15 && ++looked >= budget && w + 1 < words.Length)
            {
                (_rankingSlot, _rankingLongCount, _rankingShortCount) = ((w + 1) << 6, longCount, shortCount);
                return looked;
            }
        }

        (_rankingSlot, _rankingLongCount, _rankingShortCount) = (RankLongsNext, longCount, shortCount);
        _rankingSelection.Begin(longCount);
        return looked;
    }

    /// <summary><see cref="QuantileBounds"/> of <paramref name="scores"/> in any order, selected in one call (the ranking pass's
    /// steps, run to the end: see <see cref="Collections.StepwiseQuantileSelection"/>). Reorders <paramref name="scores"/>.</summary>
    internal static void SelectQuantileBounds(Span<long> scores, Span<long> bounds)
    {
        var selection = default(Collections.StepwiseQuantileSelection);
        selection.Begin(scores.Length);
        selection.Advance(scores, bounds, int.MaxValue);
    }

    private static int SaturatingTimes16(int budget) => budget > int.MaxValue / 16 ? int.MaxValue : budget * 16;
}
