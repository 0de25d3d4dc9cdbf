using System.Text;
using Aivora.Exchange;
using Aivora.Gateway.Sessions;
using RejectReason = Aivora.Core.Events.RejectReason;

namespace Aivora.Gateway;

/// <summary>Messages the gateway writes itself: LogonAck / LogonReject, heartbeats, logout, and rejects that never reached the state machine.</summary>
public sealed partial class ExchangeGateway
{
    private void SendLogonAck(Session s, long now)
    {
        if (s.Responses!.TryClaim(SbeSchema.HeaderSize + LogonAckEncoder.BlockLength, ref _claim) <= 0)
        {
            return;   // tried again next housekeeping, until the connect timeout
        }

        var m = LogonAckEncoder.Wrap(_claim.Buffer);
        m.SessionId(s.SessionId);
        m.AccountId((uint)s.AccountId);
        m.Scopes(s.Key!.Scopes);
        m.HeartbeatIntervalMs((uint)(s.HeartbeatIntervalNs / 1_000_000));
        m.OrdersPerSecondLimit((uint)s.Key.OrdersPerSecond);
        m.ServerTimeNs((ulong)now);
        m.PreviousSessionEnd(_lastEndByAccount.TryGetValue(s.AccountId, out var end) ? end : SessionEndReason.None);
        m.LastResponseSequence(0);
        _claim.Commit();
        s.State = SessionState.Active;
        s.LastHeardNs = now;
        s.LastSentNs = now;
        Counters.LogonsAccepted++;
    }

    private void SendLogonReject(Session s, long now)
    {
        var text = Encoding.UTF8.GetBytes(s.PendingRejectText ?? "");
        if (s.Responses!.TryClaim(SbeSchema.HeaderSize + LogonRejectEncoder.BlockLength + 2 + text.Length, ref _claim) <= 0)
        {
            return;
        }

        var m = LogonRejectEncoder.Wrap(_claim.Buffer);
        m.Reason(s.PendingReject);
        m.ServerTimeNs((ulong)now);
        m.Text(text);
        _claim.Commit();
    }

    private void SendHeartbeat(Session s, long now)
    {
        if (s.Responses!.TryClaim(SbeSchema.HeaderSize + HeartbeatEncoder.BlockLength, ref _claim) <= 0)
        {
            if (s.BackPressuredSinceNs == 0) s.BackPressuredSinceNs = now;
            return;
        }

        HeartbeatEncoder.Wrap(_claim.Buffer).TimestampNs((ulong)now);
        _claim.Commit();
        s.LastSentNs = now;
    }

    private void SendLogout(Session s, long now)
    {
        if (s.Responses!.TryClaim(SbeSchema.HeaderSize + LogoutEncoder.BlockLength + 2, ref _claim) <= 0) return;
        var m = LogoutEncoder.Wrap(_claim.Buffer);
        m.TimestampNs((ulong)now);
        m.Text(ReadOnlySpan<byte>.Empty);
        _claim.Commit();
    }

    private static readonly byte[][] s_decodeText = [.. Enum.GetValues<SbeDecodeResult>().Select(r => Encoding.UTF8.GetBytes("malformed: " + r))];
    private static readonly byte[] s_unsupportedText = Encoding.UTF8.GetBytes("the node does not take this message from a client (actualValue: its template id)");
    private static readonly byte[] s_alreadyLoggedOnText = Encoding.UTF8.GetBytes("this session is already logged on");

    private void Malformed(Session session, SbeDecodeResult result) => Malformed(session, result, result);

    private void Malformed(Session session, SbeDecodeResult result, SbeDecodeResult shown)
    {
        Counters.Malformed++;
        session.Malformed++;
        if (session.State == SessionState.Active)
        {
            var index = (int)shown;
            GatewayReject(session, 0, 0, CommandType.Other, RejectReason.MalformedMessage, 0, (long)result, _clock.NowNs,
                (uint)index < (uint)s_decodeText.Length ? s_decodeText[index] : default);
        }
    }

    /// <summary>A reject the gateway answers itself (nothing reached the state machine, so nothing is journaled).</summary>
    private void GatewayReject(Session session, long clientOrderId, int instrumentId, CommandType command, RejectReason reason, long limit, long actual, long now, ReadOnlySpan<byte> text)
    {
        Counters.GatewayRejects++;
        _router.Counters.RejectsByReason[(int)reason]++;
        if (session.Responses is null || session.State != SessionState.Active) return;
        session.ResponseSequence++;
        if (session.Responses.TryClaim(SbeSchema.HeaderSize + OrderRejectedEncoder.BlockLength + 2 + text.Length, ref _claim) <= 0)
        {
            session.ResponsesDropped++;
            if (session.BackPressuredSinceNs == 0) session.BackPressuredSinceNs = now;
            return;
        }

        var m = OrderRejectedEncoder.Wrap(_claim.Buffer);
        m.ClientOrderId((ulong)clientOrderId);
        m.AccountId((uint)session.AccountId);
        m.InstrumentId(instrumentId);
        m.Command(command);
        m.Reason((Exchange.RejectReason)reason);
        if (limit != 0 || actual != 0)
        {
            m.LimitValue(limit);
            m.ActualValue(actual);
        }

        m.TransactTimeNs((ulong)now);
        m.ResponseSequence((ulong)session.ResponseSequence);
        m.Text(text);
        _claim.Commit();
        session.LastSentNs = now;
    }
}
