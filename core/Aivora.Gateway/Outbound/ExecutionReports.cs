using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Liquidation;
using Aivora.Exchange;
using Aivora.Gateway.Sessions;
using Aivora.Transport.LogBuffer;
using static Aivora.Core.Orders.SideExtensions;   // Opposite(), without the Core order types the wire's share names with
using CoreOrderType = Aivora.Core.Orders.OrderType;
using CoreTif = Aivora.Core.Orders.TimeInForce;

namespace Aivora.Gateway.Outbound;

/// <summary>
/// Engine events → execution reports on the account's session, encoded in place in the session's
/// response publication (TryClaim, encode, Commit), each numbered with the session's response
/// sequence. A report that cannot be claimed (the client stopped reading) is lost and counted, the
/// sequence still moves so the client sees the gap, and the session is marked back-pressured: the
/// gateway drops it past its bound. The engine never waits for a client.
/// </summary>
internal sealed class ExecutionReports
{
    private readonly Dictionary<int, Session> _sessionByAccount;
    private readonly Ledger _ledger;
    private readonly Func<int, Core.Pricing.IndexState> _indexState;
    private BufferClaim _claim;

    // The what-if of the order about to be accepted (OrderRiskAssessed comes just before OrderAccepted).
    private long _whatIfClientOrderId = -1, _whatIfLiquidationPrice, _whatIfMargin;
    private int _whatIfAdlQuantile;
    private int _whatIfAccount;

    public ExecutionReports(Dictionary<int, Session> sessionByAccount, Ledger ledger, Func<int, Core.Pricing.IndexState> indexState)
    {
        _sessionByAccount = sessionByAccount;
        _ledger = ledger;
        _indexState = indexState;
    }

    /// <summary>The command being run (its type and TIF go into OrderAccepted; a mass cancel's request id into its ack).</summary>
    public EngineCommand Current;

    public long Sent, Dropped, NoSession;

    /// <summary>The journal sequence of the command being run (what a liquidation event cites).</summary>
    public long JournalSequence;

    private readonly byte[] _explanation = new byte[LiquidationEventWriter.MaxExplanation];

    /// <summary>The client order id a report shows: a liquidation order's is 0.</summary>
    private static ulong Shown(long clientOrderId) => clientOrderId == LiquidationOrders.ClientOrderId ? 0 : (ulong)clientOrderId;

    public void OnEvent(in EngineEvent e)
    {
        switch (e.Kind)
        {
            case EventKind.OrderRiskAssessed:
                var whatIf = e.AsOrderRiskAssessed();
                (_whatIfAccount, _whatIfClientOrderId, _whatIfLiquidationPrice, _whatIfMargin, _whatIfAdlQuantile) = (whatIf.AccountId, whatIf.ClientOrderId, whatIf.LiquidationPriceIfFilled, whatIf.MarginAdded, whatIf.AdlQuantileIfFilled);
                break;
            case EventKind.OrderAccepted:
                Accepted(in e);
                break;
            case EventKind.StopAccepted:
                StopAccepted(in e);
                break;
            case EventKind.LiquidationStep:
                LiquidationStepReport(in e);
                break;
            case EventKind.OrderRejected when e.ClientOrderId == LiquidationOrders.ClientOrderId:
                break;   // the liquidation step that follows explains it
            case EventKind.OrderRejected:
                Rejected(in e);
                break;
            case EventKind.Trade:
                Filled(in e, taker: true);
                Filled(in e, taker: false);
                break;
            case EventKind.OrderCancelled:
            case EventKind.StopCancelled:
                Cancelled(in e);
                break;
            case EventKind.OrderAmended:
                Amended(in e);
                break;
            case EventKind.OrderExpired:
                Expired(in e);
                break;
            case EventKind.OrderTriggered:
                Triggered(in e);
                break;
            case EventKind.MassCancelDone:
                MassCancelAcked(in e);
                break;
        }
    }

    private void Accepted(in EngineEvent e)
    {
        var fromCurrent = Current.Kind == CommandKind.PlaceOrder && Current.AccountId == e.AccountId && Current.ClientOrderId == e.ClientOrderId;
        var liquidation = e.ClientOrderId == LiquidationOrders.ClientOrderId;
        if (!TryClaim(e.AccountId, OrderAcceptedEncoder.BlockLength, out var session))
        {
            return;
        }

        var m = OrderAcceptedEncoder.Wrap(_claim.Buffer);
        m.OrderId((ulong)e.OrderId);
        m.ClientOrderId(Shown(e.ClientOrderId));
        m.AccountId((uint)e.AccountId);
        m.InstrumentId(e.InstrumentId);
        m.Side((Side)e.Side);
        m.OrdType((OrdType)(fromCurrent ? Current.Type : CoreOrderType.Limit));
        m.TimeInForce((TimeInForce)(fromCurrent ? Current.TimeInForce : liquidation ? CoreTif.Ioc : CoreTif.Gtc));
        m.IndexState((Exchange.IndexState)_indexState(e.InstrumentId));
        m.Price(e.PriceTicks);
        m.Quantity(e.QtyLots);
        if (_whatIfAccount == e.AccountId && _whatIfClientOrderId == e.ClientOrderId)
        {
            if (_whatIfLiquidationPrice > 0) m.LiquidationPrice(_whatIfLiquidationPrice);
            m.InitialMargin(_whatIfMargin);
            m.AdlQuantile((byte)_whatIfAdlQuantile);
            _whatIfClientOrderId = -1;
        }

        m.TransactTimeNs((ulong)e.TimeNs);
        m.ResponseSequence((ulong)++session.ResponseSequence);
        Commit(session);
    }

    private void StopAccepted(in EngineEvent e)
    {
        if (!TryClaim(e.AccountId, OrderAcceptedEncoder.BlockLength, out var session))
        {
            return;
        }

        var m = OrderAcceptedEncoder.Wrap(_claim.Buffer);
        m.OrderId((ulong)e.OrderId);
        m.ClientOrderId((ulong)e.ClientOrderId);
        m.AccountId((uint)e.AccountId);
        m.InstrumentId(e.InstrumentId);
        m.Side((Side)e.Side);
        var fromCurrent = Current.Kind == CommandKind.PlaceOrder && Current.AccountId == e.AccountId && Current.ClientOrderId == e.ClientOrderId;
        m.OrdType((OrdType)(fromCurrent ? Current.Type : CoreOrderType.StopMarket));
        m.TimeInForce((TimeInForce)(fromCurrent ? Current.TimeInForce : CoreTif.Gtc));
        m.IndexState((Exchange.IndexState)_indexState(e.InstrumentId));
        var stop = e.AsStopAccepted();
        m.Price(stop.LimitPriceTicks);
        m.Quantity(stop.QtyLots);
        m.TransactTimeNs((ulong)e.TimeNs);
        m.ResponseSequence((ulong)++session.ResponseSequence);
        Commit(session);
    }

    private void Rejected(in EngineEvent e)
    {
        if (!TryClaim(e.AccountId, OrderRejectedEncoder.BlockLength + 2, out var session))
        {
            return;
        }

        var reject = e.AsOrderRejected();
        var m = OrderRejectedEncoder.Wrap(_claim.Buffer);
        m.ClientOrderId((ulong)reject.ClientOrderId);
        m.AccountId((uint)reject.AccountId);
        m.InstrumentId(reject.InstrumentId);
        if (reject.OrderId != 0) m.OrderId((ulong)reject.OrderId);
        m.Command(CommandTypeOf(reject.Command));
        m.Reason((Exchange.RejectReason)reject.Reason);
        RejectFigures.Write(ref m, reject);
        m.TransactTimeNs((ulong)e.TimeNs);
        m.ResponseSequence((ulong)++session.ResponseSequence);
        m.Text(ReadOnlySpan<byte>.Empty);
        Commit(session);
    }

    internal static CommandType CommandTypeOf(CommandKind kind) => kind switch
    {
        CommandKind.PlaceOrder => CommandType.NewOrder,
        CommandKind.CancelOrder => CommandType.CancelOrder,
        CommandKind.AmendOrder => CommandType.AmendOrder,
        CommandKind.MassCancel => CommandType.MassCancel,
        CommandKind.PriceFeed => CommandType.PriceFeed,
        _ => CommandType.Other,
    };

    private void Filled(in EngineEvent e, bool taker)
    {
        // The trade carries both sides' client order ids and fills so far: the gateway keeps no copy of the engine's orders.
        var trade = e.AsTrade();
        var (orderId, accountId, clientOrderId) = taker ? (trade.TakerOrderId, trade.TakerAccountId, trade.TakerClientOrderId) : (trade.MakerOrderId, trade.MakerAccountId, trade.MakerClientOrderId);
        var (leaves, cum) = taker ? (trade.TakerRemainingLots, trade.TakerFilledLots) : (trade.MakerRemainingLots, trade.MakerFilledLots);
        var side = taker ? trade.TakerSide : trade.TakerSide.Opposite();
        var money = taker ? _ledger.LastTakerFill : _ledger.LastMakerFill;

        if (!TryClaim(accountId, OrderFilledEncoder.BlockLength, out var session))
        {
            return;
        }

        var m = OrderFilledEncoder.Wrap(_claim.Buffer);
        m.OrderId((ulong)orderId);
        m.ClientOrderId(Shown(clientOrderId));
        m.AccountId((uint)accountId);
        m.InstrumentId(e.InstrumentId);
        m.Side((Side)side);
        m.Liquidity(!taker ? Liquidity.Maker : clientOrderId == LiquidationOrders.ClientOrderId ? Liquidity.Liquidation : Liquidity.Taker);
        m.FeeAsset(0);
        m.TradeId((ulong)e.TradeId);
        m.Price(e.PriceTicks);
        m.Quantity(e.QtyLots);
        m.LeavesQuantity(leaves);
        m.CumQuantity(cum);
        m.Fee(money.Fee);
        m.RealizedPnl(money.RealizedPnl);
        var liquidation = _ledger.LiquidationPrice(accountId, e.InstrumentId);
        if (liquidation > 0) m.LiquidationPrice(liquidation);
        m.TransactTimeNs((ulong)e.TimeNs);
        m.ResponseSequence((ulong)++session.ResponseSequence);
        Commit(session);
    }

    private void Cancelled(in EngineEvent e)
    {
        if (!TryClaim(e.AccountId, OrderCancelledEncoder.BlockLength, out var session))
        {
            return;
        }

        var m = OrderCancelledEncoder.Wrap(_claim.Buffer);
        m.OrderId((ulong)e.OrderId);
        m.ClientOrderId(Shown(e.ClientOrderId));
        m.AccountId((uint)e.AccountId);
        m.InstrumentId(e.InstrumentId);
        m.Side((Side)e.Side);
        m.Reason((Exchange.CancelReason)e.Reason);
        m.Price(e.PriceTicks);
        m.CancelledQuantity(e.QtyLots);
        m.TransactTimeNs((ulong)e.TimeNs);
        m.ResponseSequence((ulong)++session.ResponseSequence);
        Commit(session);
    }

    private void Amended(in EngineEvent e)
    {
        if (!TryClaim(e.AccountId, OrderAmendedEncoder.BlockLength, out var session))
        {
            return;
        }

        var m = OrderAmendedEncoder.Wrap(_claim.Buffer);
        m.OrderId((ulong)e.OrderId);
        m.ClientOrderId((ulong)e.ClientOrderId);
        m.AccountId((uint)e.AccountId);
        m.InstrumentId(e.InstrumentId);
        m.Side((Side)e.Side);
        m.KeptPriority(e.Flag ? BooleanType.True : BooleanType.False);
        m.Price(e.PriceTicks);
        m.Quantity(e.QtyLots);
        m.LeavesQuantity(e.RemainingLots);
        m.TransactTimeNs((ulong)e.TimeNs);
        m.ResponseSequence((ulong)++session.ResponseSequence);
        Commit(session);
    }

    private void Expired(in EngineEvent e)
    {
        if (!TryClaim(e.AccountId, OrderExpiredEncoder.BlockLength, out var session))
        {
            return;
        }

        var m = OrderExpiredEncoder.Wrap(_claim.Buffer);
        m.OrderId((ulong)e.OrderId);
        m.ClientOrderId((ulong)e.ClientOrderId);
        m.AccountId((uint)e.AccountId);
        m.InstrumentId(e.InstrumentId);
        m.Side((Side)e.Side);
        m.ExpiredQuantity(e.QtyLots);
        m.TransactTimeNs((ulong)e.TimeNs);
        m.ResponseSequence((ulong)++session.ResponseSequence);
        Commit(session);
    }

    private void Triggered(in EngineEvent e)
    {
        if (!TryClaim(e.AccountId, OrderTriggeredEncoder.BlockLength, out var session))
        {
            return;
        }

        var triggered = e.AsOrderTriggered();
        var m = OrderTriggeredEncoder.Wrap(_claim.Buffer);
        m.OrderId((ulong)triggered.StopId);
        m.ClientOrderId((ulong)triggered.ClientOrderId);
        m.AccountId((uint)triggered.AccountId);
        m.InstrumentId(triggered.InstrumentId);
        m.TriggerSource((TriggerSource)triggered.Source);
        m.TriggerPrice(triggered.TriggerPriceTicks);
        m.ObservedPrice(triggered.ObservedPriceTicks);
        m.TransactTimeNs((ulong)e.TimeNs);
        m.ResponseSequence((ulong)++session.ResponseSequence);
        Commit(session);
    }

    private void MassCancelAcked(in EngineEvent e)
    {
        if (e.AccountId == 0 || !TryClaim(e.AccountId, MassCancelAckEncoder.BlockLength, out var session))
        {
            return;
        }

        var m = MassCancelAckEncoder.Wrap(_claim.Buffer);
        m.ClientOrderId(Current.Kind == CommandKind.MassCancel ? (ulong)Current.ClientOrderId : 0);
        m.AccountId((uint)e.AccountId);
        if (e.InstrumentId != 0) m.InstrumentId(e.InstrumentId);
        m.Sides((Exchange.SideFilter)e.Reason);
        m.CancelledCount((uint)e.Count);
        m.TransactTimeNs((ulong)e.TimeNs);
        m.ResponseSequence((ulong)++session.ResponseSequence);
        Commit(session);
    }

    /// <summary>A liquidation step to the liquidated account's session (its own id) and, for an ADL step, to the counterparty's (its id only).</summary>
    private void LiquidationStepReport(in EngineEvent e)
    {
        var length = LiquidationEventWriter.Explain(in e, _explanation);
        var text = _explanation.AsSpan(0, length);
        if (TryClaim(e.AccountId, LiquidationEventWriter.BodyLength(in e, length), out var session))
        {
            var sequence = (ulong)++session.ResponseSequence;
            var shownCounterparty = (Core.Liquidation.LiquidationStep)e.Reason == Core.Liquidation.LiquidationStep.AutoDeleverage ? 0u : (uint)e.OtherAccountId;
            LiquidationEventWriter.Write(_claim.Buffer, in e, sequence, (ulong)JournalSequence, (uint)e.AccountId, shownCounterparty, text);
            Commit(session);
        }

        if ((Core.Liquidation.LiquidationStep)e.Reason == Core.Liquidation.LiquidationStep.AutoDeleverage &&
            TryClaim(e.OtherAccountId, LiquidationEventWriter.BodyLength(in e, length), out var counterparty))
        {
            var sequence = (ulong)++counterparty.ResponseSequence;
            LiquidationEventWriter.Write(_claim.Buffer, in e, sequence, (ulong)JournalSequence, 0, (uint)e.OtherAccountId, text);
            Commit(counterparty);
        }
    }

    private bool TryClaim(int accountId, int blockLength, out Session session)
    {
        if (!_sessionByAccount.TryGetValue(accountId, out session!) || session.State != SessionState.Active || session.Responses is null)
        {
            NoSession++;
            return false;
        }

        var result = session.Responses.TryClaim(SbeSchema.HeaderSize + blockLength, ref _claim);
        if (result > 0)
        {
            return true;
        }

        // Lost: the sequence moves anyway so the client sees the gap; the gateway drops the session past its bound.
        session.ResponseSequence++;
        session.ResponsesDropped++;
        if (session.BackPressuredSinceNs == 0) session.BackPressuredSinceNs = Math.Max(1, Current.NowNs);
        Dropped++;
        return false;
    }

    private void Commit(Session session)
    {
        _claim.Commit();
        session.BackPressuredSinceNs = 0;
        session.LastSentNs = Current.NowNs;
        Sent++;
    }
}
