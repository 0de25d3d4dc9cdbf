using System.Numerics;
using Aivora.Core.Accounts;
using Aivora.Core.Collections;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Core.Pricing;
using Aivora.Core.Risk;

namespace Aivora.Core.Exchange;

/// <summary>The pre-trade checks in their order, and the margin check shared by new orders and amends.</summary>
public sealed partial class PerpStateMachine<TSink>
    where TSink : struct, IEngineEventSink
{

    private RejectReason Check(in EngineCommand c, out long required, out long available, out long priceTicks, out int instrument, out int engineSlot, out MarginedAccount account)
    {
        required = 0;
        available = 0;
        priceTicks = 0;
        instrument = 0;
        engineSlot = -1;
        account = default;
        var reduceOnly = (c.Flags & OrderFlags.ReduceOnly) != 0;
        // The instrument is looked up once (its book index is also its index here); unknown is the trading-state check's answer.
        var reason = MatchingEngine<TSink, LedgerPositions>.CheckOrderShape(in c);
        if (reason == RejectReason.None)
        {
            reason = _instrumentIndex.TryGetValue(new IntKey(c.InstrumentId), out instrument) ? _engine.CheckTradingStateAt(instrument, reduceOnly) : RejectReason.UnknownInstrument;
        }

        if (reason != RejectReason.None)
        {
            return reason;
        }

        if (!reduceOnly && _waitingCount > 0 && _ledger.IsLiquidating(c.AccountId))
        {
            return RejectReason.AccountInLiquidation;
        }

        if (_indexStates[instrument] == IndexState.Stale && (!reduceOnly || _limits.StaleIndex == StaleIndexPolicy.Halt))
        {
            return RejectReason.IndexStale;
        }

        reason = _engine.CheckPriceAndSizeAt(instrument, in c, out priceTicks);
        if (reason != RejectReason.None)
        {
            return reason;
        }

        engineSlot = _engine.AccountSlotOf(c.AccountId);
        var openOrders = _engine.OpenQuantityAt(engineSlot, instrument, out var buyLots, out var sellLots);
        if (openOrders >= _maxOpenOrders[instrument] && c.TimeInForce.CanRest())
        {
            required = _maxOpenOrders[instrument];
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

        reason = MarginCheck(c.AccountId, engineSlot, instrument, c.Side, c.QtyLots, priceTicks, buyLots, sellLots, c.QtyLots, addedMarginFigure: true, out required, out available, out account);
        if (reason != RejectReason.None)
        {
            return reason;
        }

        // An order the account can afford may still be too big for the exposure caps (figures: the cap, the value).
        reason = ExposureCaps(in account, instrument, c.Side, c.QtyLots, buyLots, sellLots, out var limit, out var actual);
        if (reason != RejectReason.None)
        {
            (required, available) = (limit, actual);
        }

        return reason;
    }

    /// <summary>
    /// Initial margin with <paramref name="addedLots"/> more on one side of one instrument (every
    /// instrument at its worse side, at mark; before an instrument's first mark, the order's own at its
    /// price and any other at its reference price), plus the taker fee and the loss against mark of filling
    /// <paramref name="fillLots"/> at <paramref name="priceTicks"/>, must be covered by equity. On success
    /// the figures are the margin the change adds (with <paramref name="addedMarginFigure"/>: the acknowledgement of a
    /// new order carries it; an amend's success carries none, so its instrument's margin before the change is not
    /// computed) and what stays available; on failure, required vs equity. Out of line: one compiled copy for new orders and
    /// amends, and order entry's own frame stays small (inlined, it made PlaceChecked a 9 KB method with a 1.2 KB frame).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private RejectReason MarginCheck(int accountId, int engineSlot, int instrument, Side side, long addedLots, long priceTicks, long buyLots, long sellLots, long fillLots, bool addedMarginFigure, out long required, out long available, out MarginedAccount account)
    {
        // One lookup of the account in the ledger and one in the engine (engineSlot), then reads by slot and index.
        var slot = _ledger.SlotOf(accountId);
        var i = _contractOfBook[instrument];
        // Every other contract the account is in, as it stands; then the order's own.
        var others = MarginOfOtherContracts(slot, engineSlot, i, priceTicks);
        long marginBefore = others, marginAfter = others;
        if (i >= 0)
        {
            // The order's instrument. An amend that adds no lots (a price moved towards the other side) leaves its open lots as
            // they are, and the memo usually holds their figure (a place or amend of the account's left it): from the memo, as
            // for the loop's other contracts (node-ab order entry 1.008-1.016). Otherwise its open lots with the change, and
            // without it (only for the figure), worked out afresh (see FreshExposureMarginAt). Only an amend comes here with no
            // lots added: a new order of no lots was refused by the size check before (CheckPriceAndSizeAt), so the figure never
            // needs the first branch.
            if (addedLots == 0)
            {
                marginAfter += _ledger.ExposureMarginAt(slot, i, buyLots, sellLots, priceTicks);
            }
            else
            {
                marginAfter += _ledger.FreshExposureMarginAt(slot, i, buyLots, sellLots, side, addedLots, priceTicks, addedMarginFigure, out var ownBefore);
                marginBefore += ownBefore;
            }
        }

        var takerFee = i < 0 ? 0 : _ledger.TakerFeeAt(slot, i, priceTicks, fillLots);   // no contract: nothing to book
        var reserved = i < 0 ? 0 : takerFee + _ledger.ImmediateLossAt(i, side, priceTicks, fillLots);
        var equity = _ledger.EquityAt(slot);
        account = new MarginedAccount(slot, i, equity, takerFee);
        required = marginAfter + reserved;
        available = equity;
        if (equity < required)
        {
            return RejectReason.InsufficientMargin;
        }

        required = marginAfter - marginBefore;
        available = equity - marginAfter - reserved;
        return RejectReason.None;
    }

    /// <summary>
    /// The initial margin of the worse side, position with resting orders, of every contract the account (ledger
    /// <paramref name="slot"/>, engine <paramref name="engineSlot"/>) is in but <paramref name="except"/> (-1: none), less
    /// what isolated wallets cover: the contracts of its positions and of its resting orders. Any other has no exposure (no
    /// position, no open lots): its margin is 0, so the sum visits these, however many are listed. A contract with no mark
    /// yet is valued at its book's reference price, else at <paramref name="fallbackPriceTicks"/>. The margin check leaves
    /// the order's own contract out (which of the account's contracts it is changes from one order to the next, and a branch
    /// on it inside the loop went either way); the withdrawal check sums them all.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private long MarginOfOtherContracts(int slot, int engineSlot, int except, long fallbackPriceTicks)
    {
        if (!_booksAreContracts)
        {
            TranslateOpenContracts(engineSlot);
        }

        long margin = 0;
        for (var w = 0; w < _marginContracts.Length; w++)
        {
            var open = _booksAreContracts ? _engine.OpenBooksWord(engineSlot, w) : _marginContracts[w];
            var own = except >> 6 == w ? 1UL << (except & 63) : 0;   // except is -1 for none: no word's
            var bits = ((slot >= 0 ? _ledger.HeldWord(slot, w) : 0) | open) & ~own;
            for (; bits != 0; bits &= bits - 1)
            {
                // Its own open lots, and (before its first mark) its own reference price.
                var j = (w << 6) + BitOperations.TrailingZeroCount(bits);
                var book = _bookOfContract[j];
                _engine.OpenQuantityAt(book >= 0 ? engineSlot : -1, book, out var buys, out var sells);
                var unmarkedPrice = book >= 0 && _engine.ReferencePriceAt(book) > 0 ? _engine.ReferencePriceAt(book) : fallbackPriceTicks;
                margin += _ledger.ExposureMarginAt(slot, j, buys, sells, unmarkedPrice);
            }
        }

        return margin;
    }

    /// <summary>
    /// Books and contracts configured in different orders: the contracts an engine account slot has orders resting on, a bit
    /// each, into the scratch (out of line; in the same order the engine's own bitmap of books is read as it is).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void TranslateOpenContracts(int engineSlot)
    {
        Array.Clear(_marginContracts);
        foreach (var b in new SetBits(_engine.OpenBooksOf(engineSlot)))
        {
            if (_contractOfBook[b] >= 0)
            {
                SetBits.Set(_marginContracts, 0, _contractOfBook[b], true);
            }
        }
    }

    /// <summary>What the margin check looked up and summed, for the acknowledgement's what-ifs to reuse: the account's ledger slot
    /// (-1: never seen), the instrument's contract index (-1: none), the account's cross equity and the taker fee of filling
    /// the whole order at its price.</summary>
    private readonly record struct MarginedAccount(int LedgerSlot, int Contract, long CrossEquity, long TakerFee);

    private void Reject(in EngineCommand c, RejectReason reason, long required, long available) =>
        _engine.Reject(in c, reason, required, available);
}
