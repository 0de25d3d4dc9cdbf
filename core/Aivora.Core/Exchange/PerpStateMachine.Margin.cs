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
