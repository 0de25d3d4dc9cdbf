using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;

namespace Aivora.Core.Exchange;

/// <summary>Account margin commands: cross or isolated per position, and moving money in and out of isolated wallets.</summary>
public sealed partial class PerpStateMachine<TSink>
    where TSink : struct, IEngineEventSink
{
    private void SetMarginMode(in EngineCommand c)
    {
        if (_engine.OpenQuantity(c.AccountId, c.InstrumentId, out _, out _) > 0)
        {
            Reject(in c, RejectReason.PositionOrOrdersOpen, 0, 0);
            return;
        }

        var outcome = _ledger.SetMarginMode(c.AccountId, c.InstrumentId, c.Value == 1);
        if (!outcome.IsOk)
        {
            Reject(in c, ReasonOf(outcome.Reject), outcome.Required, outcome.Available);
            return;
        }

        var e = new EngineEvent { Kind = EventKind.MarginModeChanged, TimeNs = _engine.NowNs, AccountId = c.AccountId, InstrumentId = c.InstrumentId, Flag = c.Value == 1 };
        _engine.Publish(in e);
    }

    private void AdjustIsolatedMargin(in EngineCommand c)
    {
        // Only a move the ledger would make is measured here: an unknown instrument, or a position that is not isolated, gets
        // the ledger's own reason.
        if (c.Value > 0 && _ledger.PositionOf(c.AccountId, c.InstrumentId) is { Isolated: true, QtyLots: not 0 }
            && LeavesOrdersUnbacked(c.AccountId, c.Value, c.InstrumentId, out var required, out var equity))
        {
            Reject(in c, RejectReason.InsufficientMargin, required, equity);
            return;
        }

        var outcome = _ledger.AdjustIsolatedMargin(c.AccountId, c.InstrumentId, c.Value);
        if (!outcome.IsOk)
        {
            Reject(in c, ReasonOf(outcome.Reject), outcome.Required, outcome.Available);
            return;
        }

        var e = new EngineEvent
        {
            Kind = EventKind.IsolatedMarginAdjusted,
            TimeNs = _engine.NowNs,
            AccountId = c.AccountId,
            InstrumentId = c.InstrumentId,
            QtyLots = c.Value,
            RemainingLots = _ledger.PositionOf(c.AccountId, c.InstrumentId).IsolatedMargin,
        };
        _engine.Publish(in e);
    }

    /// <summary>Deposits, withdrawals, leverage and fee tier: through the ledger, explained by an event or a reject with figures.</summary>
    private void AccountCommand(in EngineCommand c)
    {
        if (c.Kind == CommandKind.Withdraw && c.Value > 0 && LeavesOrdersUnbacked(c.AccountId, c.Value, -1, out var required, out var equity))
        {
            Reject(in c, RejectReason.InsufficientMargin, required, equity);
            return;
        }

        var outcome = c.Kind switch
        {
            CommandKind.Deposit => _ledger.Deposit(c.AccountId, c.Value),
            CommandKind.Withdraw => _ledger.Withdraw(c.AccountId, c.Value),
            CommandKind.SetLeverage => c.Value is > 0 and <= int.MaxValue ? _ledger.SetLeverage(c.AccountId, c.InstrumentId, (int)c.Value) : new LedgerOutcome(LedgerReject.LeverageAboveTierCap, 0, c.Value),
            _ => c.Value is >= 0 and <= int.MaxValue ? _ledger.SetFeeTier(c.AccountId, (int)c.Value) : new LedgerOutcome(LedgerReject.InvalidAmount, 0, c.Value),
        };
        if (!outcome.IsOk)
        {
            Reject(in c, ReasonOf(outcome.Reject), outcome.Required, outcome.Available);
            return;
        }

        var e = new EngineEvent { TimeNs = _engine.NowNs, AccountId = c.AccountId, InstrumentId = c.InstrumentId };
        switch (c.Kind)
        {
            case CommandKind.Deposit:
            case CommandKind.Withdraw:
                e.Kind = EventKind.BalanceChanged;
                e.QtyLots = c.Kind == CommandKind.Deposit ? c.Value : -c.Value;
                e.RemainingLots = _ledger.Balance(c.AccountId);
                break;
            case CommandKind.SetLeverage:
                e.Kind = EventKind.LeverageChanged;
                e.QtyLots = c.Value;
                break;
            default:
                e.Kind = EventKind.FeeTierChanged;
                e.QtyLots = c.Value;
                break;
        }

        _engine.Publish(in e);
    }

    /// <summary>
    /// Whether taking <paramref name="amount"/> out of the account's cross money (a withdrawal, or a move into the isolated
    /// wallet of <paramref name="toIsolatedInstrumentId"/>; -1: none) would leave its cross equity under the margin the pre-trade
    /// check holds for it: over every contract, the initial margin of the worse side of its position with its resting orders
    /// (<see cref="MarginOfOtherContracts"/>, as the margin check sums it, with no order added), less what an isolated wallet covers. The ledger's own check
    /// counts positions only: without this one, the money behind resting orders could leave, and their fills then land on an
    /// account with no margin for them. Figures on refusal: the margin held plus the amount, against the cross equity (as the
    /// ledger's). An account the ledger does not know is left to the ledger's reject.
    /// </summary>
    private bool LeavesOrdersUnbacked(int accountId, long amount, int toIsolatedInstrumentId, out long required, out long equity)
    {
        required = 0;
        equity = 0;
        var slot = _ledger.SlotOf(accountId);
        if (slot < 0)
        {
            return false;
        }

        var engineSlot = _engine.AccountSlotOf(accountId);
        var wallet = toIsolatedInstrumentId < 0 ? -1 : _ledger.IndexOf(toIsolatedInstrumentId);
        var held = MarginOfOtherContracts(slot, engineSlot, wallet, 0);
        if (wallet >= 0)
        {
            // Money moved into this contract's isolated wallet covers as much of the share cross carries for it.
            var book = _bookOfContract[wallet];
            _engine.OpenQuantityAt(book >= 0 ? engineSlot : -1, book, out var buys, out var sells);
            held += Math.Max(0, _ledger.ExposureMarginAt(slot, wallet, buys, sells, book >= 0 ? _engine.ReferencePriceAt(book) : 0) - amount);
        }

        equity = _ledger.EquityAt(slot);
        required = amount > long.MaxValue - held ? long.MaxValue : held + amount;   // an absurd amount: the figure saturates
        return amount > equity - held;
    }

    private static RejectReason ReasonOf(LedgerReject reject) => reject switch
    {
        LedgerReject.LeverageAboveTierCap => RejectReason.LeverageAboveTierCap,
        LedgerReject.UnknownInstrument => RejectReason.UnknownInstrument,
        LedgerReject.CapacityAccounts => RejectReason.CapacityAccounts,
        LedgerReject.InsufficientMargin => RejectReason.InsufficientMargin,
        LedgerReject.PositionOpen => RejectReason.PositionOrOrdersOpen,
        LedgerReject.NotIsolated => RejectReason.NotIsolated,
        LedgerReject.UnknownAccount => RejectReason.InvalidAccount,
        _ => RejectReason.InvalidAmount,
    };
}
