using System.Numerics;

namespace Aivora.Core.Accounts;

/// <summary>
/// A change of a contract's tier table as a pass over its holders that the state machine spreads over the commands after
/// the change, as it spreads a funding settlement: re-keying every holder in the change's own command took 33-42 ms of the
/// engine thread at a million holders (`perf risk`, contract-change), every order on every instrument waiting behind it.
/// The new table answers at once everywhere it is read afresh (margins, maintenance, the liquidation path's checks, the
/// memo of order margins, whose epoch moves on); what each holder keeps from the old one (its liquidation keys, its bands
/// and their headroom, the cross backing it remembers) is worked out again account by account:
/// <code>
///   StartRekeyPass (the change):    the contract's holders OR-ed into _unkeyed (a bit per account slot; one pass for any
///                                   number of changes, since a re-key reads every contract's table as it stands)
///   ContinueRekey (each command):   a budget's worth of _unkeyed's set bits, lowest slot first, each account re-keyed
///   ReindexAccount (every re-key):  an unkeyed account's bit cleared and its remembered cross backing dropped first, so
///                                   whatever re-keys it (the pass, a fill, a mark leaving its band) re-keys it whole
///   RekeyFirst / RekeyDue:          an account about to trade, or to run a command of its own, is re-keyed first
///   LiquidationPriceOf:             an unkeyed account's cross backing worked out afresh, not read from its memo
/// </code>
/// So every figure the ledger answers, and every decision about an account that acts, reads the new table. What waits for
/// the pass is the liquidation watch of holders that do nothing meanwhile: until its turn such an account sits in the index
/// and the band heaps where the old table put it, as an account whose funding a pass has not reached yet sits where its
/// old balance put it. The pass ends within the commands it takes (128 accounts each in the state machine: a million
/// holders in ~7,800 commands; with no order coming the node ticks for it every 20 us, so ~0.2 s when idle, sooner under
/// flow), and each slice's accounts are looked at for liquidation at the command's end.
/// </summary>
public sealed partial class Ledger
{
    private readonly ulong[] _unkeyed;   // a bit per account slot: holders of a changed contract not re-keyed since
    private int _unkeyedCount;           // the bits set in _unkeyed
    private int _rekeyNextWord;          // the next word of _unkeyed the pass reads (every word before it is clear)

    /// <summary>Whether a tier change's re-key pass is under way (a field read: asked by the state machine's clock work).</summary>
    public bool RekeyUnderWay => _unkeyedCount > 0;

    /// <summary>Holders of a changed contract the pass has not re-keyed yet (diagnostics and tests).</summary>
    public int UnkeyedAccounts => _unkeyedCount;

    /// <summary>Adds contract i's holders to the pass (see the type's summary). Cold: one pass over the bitmap's words.</summary>
    private void StartRekeyPass(int i)
    {
        var holders = HoldersOf(i);
        var count = 0;
        for (var w = 0; w < _holderWords; w++)
        {
            _unkeyed[w] |= holders[w];
            count += BitOperations.PopCount(_unkeyed[w]);
        }

        _unkeyedCount = count;
        _rekeyNextWord = 0;   // the new bits may lie behind where the pass had got to
    }

    /// <summary>
    /// Re-keys up to <paramref name="budget"/> accounts the pass has not reached, lowest slot first (16 words of its bitmap
    /// read count as one); returns how many. The re-keyed accounts are looked at for liquidation at the command's end
    /// (<see cref="FillsMovedMargin"/>): a stricter table may have put them past their price.
    /// </summary>
    public int ContinueRekey(int budget)
    {
        var rekeyed = 0;
        var word = _rekeyNextWord;
        var looked = 0;
        while (_unkeyedCount > 0 && word < _holderWords && budget > 0)
        {
            var bits = _unkeyed[word];
            if (bits == 0)
            {
                word++;
                budget -= (++looked & 15) == 0 ? 1 : 0;
                continue;
            }

            ReindexAccount((word << 6) + BitOperations.TrailingZeroCount(bits));   // clears its bit first (ForgetOldTiers)
            rekeyed++;
            budget--;
        }

        _rekeyNextWord = word < _holderWords ? word : 0;   // at the end every bit is clear (a new change starts it at 0 again)
        if (rekeyed > 0)
        {
            FillsMovedMargin = true;
        }

        return rekeyed;
    }

    /// <summary>Runs the pass to its end in one call (tests and benchmarks; the state machine spreads it over commands).</summary>
    public void FinishRekey()
    {
        while (_unkeyedCount > 0)
        {
            ContinueRekey(int.MaxValue);
        }
    }

    /// <summary>Before an account moves or runs a command of its own: re-keyed first if the pass has not reached it. One
    /// comparison while no pass is under way.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void RekeyFirst(int slot)
    {
        if (IsUnkeyed(slot))
        {
            ReindexAccount(slot);
        }
    }

    /// <summary><see cref="RekeyFirst"/> by account id (an account never seen holds nothing); nothing while no pass is under way.</summary>
    public void RekeyDue(int accountId)
    {
        if (_unkeyedCount > 0 && TryAccount(accountId, create: false, out var slot))
        {
            RekeyFirst(slot);
        }
    }

    /// <summary>Whether a pass is under way that has not reached account slot <paramref name="slot"/> (one comparison while none is).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private bool IsUnkeyed(int slot) => _unkeyedCount > 0 && (_unkeyed[slot >> 6] & (1UL << (slot & 63))) != 0;

    /// <summary>
    /// At the start of every re-key: an account the pass has not reached leaves it, and the cross backing it remembers of
    /// its positions (worked out with a table that may have changed since) is dropped, so the re-key works it out afresh.
    /// Only held positions remember one (a flat position's memo is cleared when it closes, see MovePosition), and none is
    /// written while the account is unkeyed (<see cref="LiquidationPriceOf"/> reads around the memo then).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ForgetOldTiers(int slot)
    {
        _unkeyed[slot >> 6] &= ~(1UL << (slot & 63));
        _unkeyedCount--;
        for (var w = 0; w < _maskWords; w++)
        {
            for (var bits = HeldWord(slot, w); bits != 0; bits &= bits - 1)
            {
                _backingMemo[(slot * _contracts.Length) + (w << 6) + BitOperations.TrailingZeroCount(bits)] = default;
            }
        }
    }
}
