using Aivora.Core.Commands;
using Aivora.Exchange;
using Aivora.Gateway.Inbound;
using Aivora.Gateway.Sessions;
using Aivora.Transport.Subscription;
using RejectReason = Aivora.Core.Events.RejectReason;

namespace Aivora.Gateway;

/// <summary>Inbound: a message from an image, decoded, gated by its session (account, scope, rate) and run as a command.</summary>
public sealed partial class ExchangeGateway
{
    private struct InboundHandler(ExchangeGateway gateway) : IMessageHandler
    {
        public readonly void OnMessage(ReadOnlySpan<byte> message, in FragmentHeader header) => gateway.OnMessage(message, header.SessionId);
    }

    private void OnMessage(ReadOnlySpan<byte> message, int imageSessionId)
    {
        Counters.MessagesIn++;
        var now = _clock.NowNs;
        if (!_sessions.TryGetValue(imageSessionId, out var session))
        {
            session = NewSession(imageSessionId, now);
            if (session is null) return;
        }

        if (!SbeSchema.TryReadHeader(message, out _, out var templateId, out var schemaId, out _) || schemaId != SbeSchema.Id)
        {
            Malformed(session, SbeDecodeResult.Truncated, schemaId != SbeSchema.Id && message.Length >= SbeSchema.HeaderSize ? SbeDecodeResult.WrongSchemaId : SbeDecodeResult.Truncated);
            return;
        }

        session.LastHeardNs = now;
        if (templateId == LogonDecoder.TemplateId)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            OnLogon(session, message, now);
            var took = (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalNanoseconds;
            Counters.LogonsHandled++;
            Counters.LogonNs += took;
            Counters.LongestLogonNs = Math.Max(Counters.LongestLogonNs, took);
            return;
        }

        if (session.State != SessionState.Active)
        {
            // Nothing from an image that has not logged on reaches the state machine; there is no
            // response channel to answer on yet, so it is counted.
            Counters.NotLoggedOn++;
            return;
        }

        if (templateId != HeartbeatDecoder.TemplateId && templateId != LogoutDecoder.TemplateId)
        {
            Turnaround.Received(now);   // answered by a report or a reject: its time in the node ends when that is sent
        }

        switch (templateId)
        {
            case HeartbeatDecoder.TemplateId:
                Counters.Heartbeats++;
                if (HeartbeatDecoder.TryWrap(message, out _) is var hb && hb != SbeDecodeResult.Ok) Malformed(session, hb);
                return;
            case LogoutDecoder.TemplateId:
                EndSession(session, SessionEndReason.Logout, now);
                return;
            case NewOrderDecoder.TemplateId:
                OnNewOrder(session, message, now);
                return;
            case CancelOrderDecoder.TemplateId:
                OnCancel(session, message, now);
                return;
            case AmendOrderDecoder.TemplateId:
                OnAmend(session, message, now);
                return;
            case MassCancelDecoder.TemplateId:
                OnMassCancel(session, message, now);
                return;
            case PriceFeedDecoder.TemplateId:
                OnPriceFeed(session, message, now);
                return;
            case AccountStatusRequestDecoder.TemplateId:
                OnAccountStatusRequest(session, message, now);
                return;
            default:
                Counters.Unsupported++;
                GatewayReject(session, 0, 0, CommandType.Other, RejectReason.UnsupportedMessage, 0, templateId, now, s_unsupportedText);
                return;
        }
    }

    private void OnNewOrder(Session session, ReadOnlySpan<byte> message, long now)
    {
        var result = NewOrderDecoder.TryWrap(message, out var d);
        if (result != SbeDecodeResult.Ok)
        {
            Malformed(session, result);
            return;
        }

        if (!Admit(session, RequestId(d.ClientOrderId), d.InstrumentId, d.AccountId, CommandType.NewOrder, KeyScopes.Trade, countsForRate: true, now))
        {
            return;
        }

        var reason = InboundDecoder.NewOrder(in d, now, session.AccountId, out var command, out var limit, out var actual);
        RunOrReject(session, RequestId(d.ClientOrderId), d.InstrumentId, CommandType.NewOrder, reason, limit, actual, in command, now);
    }

    private void OnCancel(Session session, ReadOnlySpan<byte> message, long now)
    {
        var result = CancelOrderDecoder.TryWrap(message, out var d);
        if (result != SbeDecodeResult.Ok)
        {
            Malformed(session, result);
            return;
        }

        if (!Admit(session, RequestId(d.ClientOrderId), d.InstrumentId, d.AccountId, CommandType.CancelOrder, KeyScopes.Trade | KeyScopes.CancelOnly, countsForRate: false, now))
        {
            return;
        }

        var reason = InboundDecoder.Cancel(in d, now, session.AccountId, out var command, out var limit, out var actual);
        RunOrReject(session, RequestId(d.ClientOrderId), d.InstrumentId, CommandType.CancelOrder, reason, limit, actual, in command, now);
    }

    private void OnAmend(Session session, ReadOnlySpan<byte> message, long now)
    {
        var result = AmendOrderDecoder.TryWrap(message, out var d);
        if (result != SbeDecodeResult.Ok)
        {
            Malformed(session, result);
            return;
        }

        if (!Admit(session, RequestId(d.ClientOrderId), d.InstrumentId, d.AccountId, CommandType.AmendOrder, KeyScopes.Trade, countsForRate: true, now))
        {
            return;
        }

        var reason = InboundDecoder.Amend(in d, now, session.AccountId, out var command, out var limit, out var actual);
        RunOrReject(session, RequestId(d.ClientOrderId), d.InstrumentId, CommandType.AmendOrder, reason, limit, actual, in command, now);
    }

    private void OnMassCancel(Session session, ReadOnlySpan<byte> message, long now)
    {
        var result = MassCancelDecoder.TryWrap(message, out var d);
        if (result != SbeDecodeResult.Ok)
        {
            Malformed(session, result);
            return;
        }

        if (!Admit(session, RequestId(d.ClientOrderId), d.InstrumentIdIsNull ? 0 : d.InstrumentId, d.AccountId, CommandType.MassCancel, KeyScopes.Trade | KeyScopes.CancelOnly, countsForRate: false, now))
        {
            return;
        }

        InboundDecoder.MassCancel(in d, now, session.AccountId, out var command, out _, out _);
        Run(in command);
    }

    private void OnPriceFeed(Session session, ReadOnlySpan<byte> message, long now)
    {
        var result = PriceFeedDecoder.TryWrap(message, out var d);
        if (result != SbeDecodeResult.Ok)
        {
            Malformed(session, result);
            return;
        }

        if (!session.Key!.Allows(KeyScopes.Admin))
        {
            GatewayReject(session, 0, d.InstrumentId, CommandType.PriceFeed, RejectReason.KeyScope, 0, 0, now, default);
            return;
        }

        var reason = InboundDecoder.PriceFeed(in d, now, out var command, out var limit, out var actual);
        if (reason != RejectReason.None)
        {
            GatewayReject(session, 0, d.InstrumentId, CommandType.PriceFeed, reason, limit, actual, now, default);
            return;
        }

        // A feeder's price rejects go to the feeder's own session, under its account.
        command.AccountId = session.AccountId;
        Run(in command);
    }

    /// <summary>
    /// A read between commands: the account's resting orders and positions, from the state machine as it
    /// is now (no command runs, nothing is journaled). Encoded into a buffer and offered (it may span
    /// several frames). It costs the engine thread every resting order of the account, so a session may send
    /// <see cref="GatewayOptions.StatusRequestsPerSecond"/> a second (its own window, apart from the orders'); beyond that
    /// it is answered RateLimited with the limit and the count admitting it would make (as an order past its limit is).
    /// </summary>
    private void OnAccountStatusRequest(Session session, ReadOnlySpan<byte> message, long now)
    {
        var result = AccountStatusRequestDecoder.TryWrap(message, out var d);
        if (result != SbeDecodeResult.Ok)
        {
            Malformed(session, result);
            return;
        }

        var requestId = RequestId(d.RequestId);
        if (!Admit(session, requestId, 0, d.AccountId, CommandType.AccountStatusRequest, KeyScopes.Read | KeyScopes.Trade | KeyScopes.CancelOnly, countsForRate: false, now))
        {
            return;
        }

        if (!session.StatusRequests.TryTake(_options.StatusRequestsPerSecond, now, out var count))
        {
            GatewayReject(session, requestId, 0, CommandType.AccountStatusRequest, RejectReason.RateLimited, _options.StatusRequestsPerSecond, count, now, default);
            return;
        }

        var ledger = _stateMachine.Ledger;
        var orders = _stateMachine.Engine.AccountOrders(session.AccountId, _statusOrders);
        var m = AccountStatusEncoder.Wrap(_statusBuffer);
        m.RequestId(d.RequestId);
        m.AccountId((uint)session.AccountId);
        m.Balance(ledger.Balance(session.AccountId));
        m.Equity(ledger.Equity(session.AccountId));
        m.TransactTimeNs((ulong)now);
        m.ResponseSequence((ulong)++session.ResponseSequence);
        var og = m.Orders(orders);
        for (var i = 0; i < orders; i++)
        {
            ref readonly var o = ref _statusOrders[i];
            og.Next();
            og.OrderId((ulong)o.OrderId);
            og.ClientOrderId((ulong)o.ClientOrderId);
            og.InstrumentId(o.InstrumentId);
            og.Side((Side)o.Side);
            og.Price(o.PriceTicks);
            og.Quantity(o.QtyLots);
            og.LeavesQuantity(o.RemainingLots);
        }

        var held = 0;
        foreach (var spec in _instruments)
        {
            if (ledger.PositionOf(session.AccountId, spec.Id).QtyLots != 0) held++;
        }

        var pg = m.Positions(held);
        foreach (var spec in _instruments)
        {
            var p = ledger.PositionOf(session.AccountId, spec.Id);
            if (p.QtyLots == 0) continue;
            pg.Next();
            pg.InstrumentId(spec.Id);
            pg.Quantity(p.QtyLots);
            pg.Cost(p.Cost);
            pg.Isolated(p.Isolated ? BooleanType.True : BooleanType.False);
            pg.IsolatedMargin(p.IsolatedMargin);
            var liquidation = ledger.LiquidationPrice(session.AccountId, spec.Id);
            if (liquidation > 0) pg.LiquidationPrice(liquidation);
            pg.AdlQuantile((byte)ledger.AdlQuantileAtSnapshot(session.AccountId, spec.Id));   // against the last ranking, as orders' what-ifs
        }

        if (session.Responses!.Offer(_statusBuffer.AsSpan(0, m.EncodedLength)) <= 0)
        {
            session.ResponsesDropped++;
            if (session.BackPressuredSinceNs == 0) session.BackPressuredSinceNs = now;
        }
    }

    /// <summary>A decoded request runs as its command, or, when it could not become one, is answered with the reason and figures.</summary>
    private void RunOrReject(Session session, long requestId, int instrumentId, CommandType command, RejectReason reason, long limit, long actual, in EngineCommand engineCommand, long now)
    {
        if (reason == RejectReason.None)
        {
            Run(in engineCommand);
        }
        else
        {
            GatewayReject(session, requestId, instrumentId, command, reason, limit, actual, now, default);
        }
    }

    /// <summary>A client's request id as the engine's signed id (ids above 2^63 - 1 are refused where they matter; here they only label a reject).</summary>
    private static long RequestId(ulong id) => (long)Math.Min(id, long.MaxValue);

    /// <summary>The session-level gate every order-entry message passes: its account, the key's scope, the rate limit.</summary>
    private bool Admit(Session session, long clientOrderId, int instrumentId, uint accountId, CommandType command, KeyScopes scope, bool countsForRate, long now)
    {
        if (accountId != (uint)session.AccountId)
        {
            GatewayReject(session, clientOrderId, instrumentId, command, RejectReason.AccountMismatch, session.AccountId, accountId, now, default);
            return false;
        }

        if ((session.Key!.Scopes & scope) == 0)
        {
            GatewayReject(session, clientOrderId, instrumentId, command, RejectReason.KeyScope, 0, 0, now, default);
            return false;
        }

        if (!countsForRate)
        {
            return true;
        }

        if (!session.Orders.TryTake(session.Key.OrdersPerSecond, now, out var count))
        {
            GatewayReject(session, clientOrderId, instrumentId, command, RejectReason.RateLimited, session.Key.OrdersPerSecond, count, now, default);
            return false;
        }

        return true;
    }
}
