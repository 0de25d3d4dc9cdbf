using System.Numerics;
using System.Runtime.CompilerServices;

namespace Aivora.Core.Collections;

/// <summary>
/// The four entries of a ranking of n scores where its quintile changes (ranks t_c − 1 of the ascending order,
/// t_c = ⌈c × (n + 1) ÷ 5⌉, c = 1..4; long.MaxValue where t_c &gt; n), selected in place in steps of a bounded number of
/// entries, so a caller can spread the work of a large ranking over many calls. The same four entries a sort finds, in
/// O(n) rather than O(n log n).
/// <code>
///   rank t_2 over [0, n)                       each rank: quickselect rounds, a round = two partition passes
///   rank t_1 over [0, t_2]                     over the range, resumable at any entry:
///   rank t_3 over (t_2, n)                       [lo, store) &lt; pivot | [store, next) ≥ pivot | [next, hi) not yet seen
///   rank t_4 over (t_3, n)                     then the ≥ part split into = pivot and &gt; pivot the same way
///   (a rank equal to the one below it, with three entries or fewer, takes its bound)
/// </code>
/// A selected entry has every entry before it at or under it and every one after at or over it, so each later rank is
/// looked for only in what is left on its side. The partition is branch-free (every entry swapped, the boundary moved by
/// the comparison's outcome): scores in random order mispredicted a branch on every other entry (17-19 ns an entry over the
/// four ranks in a microbenchmark of 5,000-500,000 scores, against 4.4-5.3 branch-free). The pivot is the median of three; a rank still in a range of over 16 entries
/// after 2 log2 n + 4 rounds has that range sorted instead (one long step; no ordering of the scores makes it quadratic).
/// </summary>
internal struct StepwiseQuantileSelection
{
    private const int SortAtOrBelow = 16;

    private int _n;
    private int _rank0, _rank1, _rank2, _rank3;   // ranks of bounds 0-3 (-1: past the last entry)
    private int _step;                            // which rank is being selected: 0-3 in the order t_2, t_1, t_3, t_4; 4: done
    private int _lo, _hi;                         // the range the rank is in
    private int _roundsLeft;
    private int _phase;                           // 0: a round to begin; 1: splitting off < pivot; 2: splitting = from > pivot
    private long _pivot;
    private int _next, _store;

    /// <summary>Whether all four bounds are selected.</summary>
    public readonly bool Done => _step == 4;

    /// <summary>Starts a selection over the first <paramref name="n"/> scores.</summary>
    public void Begin(int n)
    {
        _n = n;
        _rank0 = RankOf(1, n);
        _rank1 = RankOf(2, n);
        _rank2 = RankOf(3, n);
        _rank3 = RankOf(4, n);
        _step = 0;
        BeginStep();
    }

    /// <summary>
    /// Selects on, looking at about <paramref name="budget"/> entries (a step under way is cut there and resumed at the next
    /// call; a range sorted whole, at most 16 entries but for the rare fallback, is not cut). Writes each bound to
    /// <paramref name="bounds"/> as it is selected. Returns the entries looked at.
    /// </summary>
    public int Advance(Span<long> scores, Span<long> bounds, int budget)
    {
        var looked = 0;
        while (_step < 4 && looked < budget)
        {
            var rank = RankOfStep(_step);
            if (rank < 0)
            {
                bounds[BoundOfStep(_step)] = long.MaxValue;
                NextStep();
                continue;
            }

            if ((_step == 2 && rank == _rank1) || (_step == 3 && rank == _rank2))
            {
                bounds[_step] = bounds[_step - 1];   // the same rank as the bound below it (three entries or fewer)
                NextStep();
                continue;
            }

            switch (_phase)
            {
                case 0:
                    if (_hi - _lo <= SortAtOrBelow || _roundsLeft-- == 0)
                    {
                        scores[_lo.._hi].Sort();
                        looked += _hi - _lo;
                        bounds[BoundOfStep(_step)] = scores[rank];
                        NextStep();
                        continue;
                    }

                    _pivot = MedianOfThree(scores[_lo], scores[_lo + ((_hi - _lo) / 2)], scores[_hi - 1]);
                    (_phase, _next, _store) = (1, _lo, _lo);
                    break;
                case 1:
                    looked += Partition(scores, below: true, budget - looked);
                    if (_next == _hi)
                    {
                        // [lo, store) < pivot; [store, hi) ≥ pivot, the pivot's own entry among them (store < hi).
                        if (rank < _store)
                        {
                            (_hi, _phase) = (_store, 0);
                        }
                        else
                        {
                            (_lo, _next, _phase) = (_store, _store, 2);
                        }
                    }

                    break;
                default:
                    looked += Partition(scores, below: false, budget - looked);
                    if (_next == _hi)
                    {
                        // [lo, store) = pivot (at least the pivot's own entry); [store, hi) > pivot.
                        if (rank < _store)
                        {
                            bounds[BoundOfStep(_step)] = _pivot;   // the rank's entry is among them, in place
                            NextStep();
                        }
                        else
                        {
                            (_lo, _phase) = (_store, 0);
                        }
                    }

                    break;
            }
        }

        return looked;
    }

    /// <summary>
    /// Moves the entries of [next, hi) that belong before the boundary (<paramref name="below"/>: under the pivot; else equal
    /// to it, all of them being at or over it) to [store, ...), up to <paramref name="budget"/> entries; returns how many it
    /// looked at. Every entry is swapped with the one at the boundary and the boundary moved by the comparison's outcome.
    /// </summary>
    private int Partition(Span<long> scores, bool below, int budget)
    {
        var end = (int)Math.Min(_hi, (long)_next + Math.Max(1, budget));
        var start = _next;
        var store = _store;
        var pivot = _pivot;
        if (below)
        {
            for (var i = start; i < end; i++)
            {
                var x = scores[i];
                scores[i] = scores[store];
                scores[store] = x;
                store += Unsafe.BitCast<bool, byte>(x < pivot);
            }
        }
        else
        {
            for (var i = start; i < end; i++)
            {
                var x = scores[i];
                scores[i] = scores[store];
                scores[store] = x;
                store += Unsafe.BitCast<bool, byte>(x == pivot);
            }
        }

        (_next, _store) = (end, store);
        return end - start;
    }

    private void NextStep()
    {
        _step++;
        BeginStep();
    }

    /// <summary>The range of the step's rank: t_2 over all; t_1 up to and with t_2's entry; t_3 after t_2's; t_4 after t_3's.
    /// Above a selected entry the range holds exactly the entries ranked above it, whatever a later step below it reordered (t_1's
    /// selection may move t_2's own entry within [0, t_2]; it never moves one across).</summary>
    private void BeginStep()
    {
        (_lo, _hi) = _step switch
        {
            0 => (0, _n),
            1 => (0, _rank1 < 0 ? _n : _rank1 + 1),
            2 => (_rank1 + 1, _n),
            _ => (_rank2 + 1, _n),
        };
        _phase = 0;
        _roundsLeft = (2 * BitOperations.Log2((uint)Math.Max(1, _hi - _lo))) + 4;
    }

    private readonly int RankOfStep(int step) => step switch
    {
        0 => _rank1,
        1 => _rank0,
        2 => _rank2,
        _ => _rank3,
    };

    private static int BoundOfStep(int step) => step switch
    {
        0 => 1,
        1 => 0,
        _ => step,
    };

    /// <summary>Rank t_c − 1 of n ascending entries, t_c = ⌈c × (n + 1) ÷ 5⌉ (-1 where t_c &gt; n: never reached). The one formula
    /// for the sorted ranking's bounds too (<c>Ledger.QuantileBounds</c>).</summary>
    internal static int RankOf(int c, int n)
    {
        var t = ((c * ((long)n + 1)) + 4) / 5;
        return t <= n ? (int)t - 1 : -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long MedianOfThree(long a, long b, long c) => Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
}
