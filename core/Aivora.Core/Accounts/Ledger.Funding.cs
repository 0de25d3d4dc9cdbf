using System.Numerics;
using Aivora.Core.Collections;
using Aivora.Core.Funding;
using Aivora.Core.Numbers;

namespace Aivora.Core.Accounts;

/// <summary>
/// Funding settlement as a pass over the instrument's holders that the state machine spreads over the commands after the
/// funding time, so no one command pays every holder (at a million holders one call took 18-33 ms, `perf risk --case
/// mark-update`). Every payment is as of the funding time, at the mark and rate fixed then, whichever command makes it:
/// <code>
///   StartFunding (the funding time):  mark, |rate|, which side pays; the pool the receivers share, known at once:
///                                     what the paying side owes in all (its lots from the open-interest counters,
///                                     rounded up once) + the residue carried (taken out of FundingResidue);
///                                     the holders bitmap copied into _unpaid (words [i × W, (i + 1) × W))
///   ContinueFunding (each command):   a budget's worth of _unpaid's set bits, lowest slot first: bit cleared, paid
///   PayFundingFirst (before a move):  an account about to trade, transfer, or run a command of its own is paid first on
///                                     every pass under way: a position is paid on the lots it held at the funding time,
///                                     and nothing the account does reads figures a payment would have moved
///   the pass's last bit:              what is left of the pool and the payments (≥ 0) back into FundingResidue
/// </code>
/// A payer pays its lots × mark × money per tick-lot × |F| rounded up; a receiver gets the pool pro rata to its lots,
/// rounded down (<see cref="FundingSettlement"/>, the same formulas). Zero-sum at every step: money paid and not yet
/// received counts in <see cref="FundingResidue"/>, so <see cref="MoneyInSystem"/> is conserved between any two commands.
/// </summary>
public sealed partial class Ledger
{
    private readonly ulong[] _unpaid;               // per contract, the holders at its funding time not yet paid
    private readonly FundingPass[] _fundingPass;    // per contract, its pass (while under way)
    private readonly int[] _fundingPasses;          // the contracts with a pass under way, in the order they started
    private int _fundingPassCount;
    private long _residueCarried;                   // FundingResidue outside the passes under way

    /// <summary>One contract's funding pass: what its start fixed, then what it has paid so far.</summary>
    private struct FundingPass
    {
        public long MarkTicks;       // the mark and |rate| it pays at, and a lot's payment × 1e8 (0: worked out in 128 bits)
        public long AbsRate;
        public long PerLot;
        public bool PayersLong;
        public long Pool;            // what the receivers share, and the receiving side's lots at the funding time
        public long ReceivingLots;
        public long Paid;            // paid so far by the paying side
        public long InFlight;        // carried residue + paid − received so far (counted in FundingResidue)
        public int NextWord;         // the next word of the contract's _unpaid bitmap the pass reads
    }

    /// <summary>What funding rounding has left over, carried to the next settlement's pool (≥ 0), with the money a pass
    /// under way has taken from payers and not yet paid out: every unit of money funding holds.</summary>
    public long FundingResidue
    {
        get
        {
            var total = _residueCarried;
            for (var k = 0; k < _fundingPassCount; k++)
            {
                total += _fundingPass[_fundingPasses[k]].InFlight;
            }

            return total;
        }
    }

    /// <summary>Whether a funding pass is under way on any instrument (a field read: asked before every fill and by the state
    /// machine's clock work).</summary>
    public bool FundingUnderWay => _fundingPassCount > 0;

    /// <summary>Whether a funding pass is under way on the instrument.</summary>
    public bool FundingUnderWayOn(int instrumentId) => _instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) && PassUnderWay(i);

    private bool PassUnderWay(int i) => Array.IndexOf(_fundingPasses, i, 0, _fundingPassCount) >= 0;

    /// <summary>
    /// Starts settling funding on the instrument at its mark and <paramref name="rate"/> (see the type's summary); false,
    /// with nothing to pay, when the instrument is unknown, has no mark, the rate is 0 or nobody holds a position. A pass
    /// still under way on the instrument must be finished first (<see cref="ContinueFunding"/>): starting another throws.
    /// </summary>
    public bool StartFunding(int instrumentId, long rate)
    {
        if (!_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) || _marks[i] <= 0 || rate == 0 || _holderCount[i] == 0)
        {
            return false;
        }

        if (PassUnderWay(i))
        {
            throw new InvalidOperationException($"instrument {instrumentId}: a funding pass is still under way");
        }

        var m = _contracts[i].MoneyPerTickLot;
        var absRate = Math.Abs(rate);
        var payersLong = rate > 0;
        _fundingPass[i] = new FundingPass
        {
            MarkTicks = _marks[i],
            AbsRate = absRate,
            PerLot = FundingSettlement.PerLotNarrow(_marks[i], m, absRate),
            PayersLong = payersLong,
            Pool = FundingSettlement.Pool(payersLong ? _openInterest[i] : _shortInterest[i], _marks[i], m, absRate, _residueCarried),
            ReceivingLots = payersLong ? _shortInterest[i] : _openInterest[i],
            InFlight = _residueCarried,
        };
        _residueCarried = 0;
        HoldersOf(i).CopyTo(_unpaid.AsSpan(i * _holderWords, _holderWords));
        _fundingPasses[_fundingPassCount++] = i;
        return true;
    }

    /// <summary>
    /// Pays up to <paramref name="budget"/> holders of the first pass under way (16 words of its bitmap read count as one).
    /// True when that pass ended in this call: <paramref name="instrumentId"/> and <paramref name="paid"/> (what its paying
    /// side paid in all) say which, and its leftover is in <see cref="FundingResidue"/>; one pass ends a call at most.
    /// </summary>
    public bool ContinueFunding(int budget, out int instrumentId, out long paid)
    {
        (instrumentId, paid) = (0, 0);
        if (_fundingPassCount == 0)
        {
            return false;
        }

        var i = _fundingPasses[0];
        var offset = i * _holderWords;
        var word = _fundingPass[i].NextWord;
        var looked = 0;
        while (word < _holderWords && budget > 0)
        {
            var bits = _unpaid[offset + word];
            while (bits != 0 && budget > 0)
            {
                var bit = BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                _unpaid[offset + word] = bits;
                PayFunding((word << 6) + bit, i);
                budget--;
            }

            if (bits == 0)
            {
                word++;
                budget -= (++looked & 15) == 0 ? 1 : 0;
            }
        }

        _fundingPass[i].NextWord = word;
        if (word < _holderWords)
        {
            return false;
        }

        _residueCarried += _fundingPass[i].InFlight;
        Array.Copy(_fundingPasses, 1, _fundingPasses, 0, --_fundingPassCount);
        (instrumentId, paid) = (_contracts[i].InstrumentId, _fundingPass[i].Paid);
        _fundingPass[i] = default;
        return true;
    }

    /// <summary>Settles funding on the instrument in one call (<see cref="StartFunding"/>, then the whole pass); returns what
    /// the paying side paid. Tests and benchmarks; the state machine spreads the pass over commands.</summary>
    public long SettleFunding(int instrumentId, long rate)
    {
        if (!StartFunding(instrumentId, rate))
        {
            return 0;
        }

        long paid;
        while (!ContinueFunding(int.MaxValue, out _, out paid))
        {
        }

        return paid;
    }

    /// <summary>Before account slot's position moves or its money is checked: its funding first, on every pass under way that
    /// has not paid it (<see cref="PayFundingDueAt"/>). Inline, one comparison while no pass is under way.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void PayFundingFirst(int slot)
    {
        if (_fundingPassCount > 0)
        {
            PayFundingDueAt(slot);
        }
    }

    /// <summary>Pays the account's funding on every pass under way that has not paid it yet: before its position moves or it
    /// runs a command of its own. Out of line (only while a pass is under way).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void PayFundingDueAt(int slot)
    {
        for (var k = 0; k < _fundingPassCount; k++)
        {
            var i = _fundingPasses[k];
            ref var word = ref _unpaid[(i * _holderWords) + (slot >> 6)];
            var bit = 1UL << (slot & 63);
            if ((word & bit) != 0)
            {
                word &= ~bit;
                PayFunding(slot, i);
            }
        }
    }

    /// <summary><see cref="PayFundingDueAt"/> by account id (an account never seen holds nothing: nothing to pay); nothing
    /// while no pass is under way.</summary>
    public void PayFundingDue(int accountId)
    {
        if (_fundingPassCount > 0 && TryAccount(accountId, create: false, out var slot))
        {
            PayFundingDueAt(slot);
        }
    }

    /// <summary>One holder's payment on pass i, its bit already cleared: on the lots it holds, which are those it held at the
    /// funding time (it is paid before they move). A cross account whose bands hold takes it from their headroom
    /// (<see cref="CashKeepsBands"/>); any other is re-keyed.</summary>
    private void PayFunding(int slot, int i)
    {
        ref var p = ref _positions[(slot * _contracts.Length) + i];
        ref var pass = ref _fundingPass[i];
        var lots = FixedPoint.Magnitude(p.QtyLots);
        long payment;
        if ((p.QtyLots > 0) == pass.PayersLong)
        {
            var owed = FundingSettlement.Payment(lots, pass.PerLot, pass.MarkTicks, _contracts[i].MoneyPerTickLot, pass.AbsRate);
            pass.Paid += owed;
            payment = -owed;
        }
        else
        {
            payment = FundingSettlement.Share(pass.Pool, lots, pass.ReceivingLots);
        }

        pass.InFlight -= payment;
        if (payment == 0)
        {
            return;
        }

        FillsMovedMargin = true;   // the state machine looks for liquidations after the command, as after a fill
        if (p.Isolated)
        {
            p.IsolatedMargin += payment;
        }
        else
        {
            _balances[slot] += payment;
            if (_headroomKnown[slot] && !_reindexPending[slot] && CashKeepsBands(slot, payment))
            {
                FundingPaymentsKeepingBands++;
                return;   // its bands still hold: no re-key (see CashKeepsBands)
            }
        }

        ReindexAccount(slot);
    }
}
