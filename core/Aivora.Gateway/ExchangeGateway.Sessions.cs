using System.Text;
using Aivora.Codecs.Session;
using Aivora.Core.Commands;
using Aivora.Exchange;
using Aivora.Gateway.Sessions;
using Aivora.Transport.Driver;
using Aivora.Transport.Subscription;
using Aivora.Transport.Uri;
using CoreCancelReason = Aivora.Core.Events.CancelReason;
using CoreSideFilter = Aivora.Core.Commands.SideFilter;
using RejectReason = Aivora.Core.Events.RejectReason;

namespace Aivora.Gateway;

/// <summary>Sessions: logon checks, timers (heartbeats, silence, back-pressure, connect timeouts), ending and closing.</summary>
public sealed partial class ExchangeGateway
{
    private Session? NewSession(int imageSessionId, long now)
    {
        if (_sessions.Count >= _options.MaxSessions)
        {
            Counters.NotLoggedOn++;
            return null;
        }

        var session = new Session(imageSessionId, now);
        _sessions.Add(imageSessionId, session);
        return session;
    }

    private void OnLogon(Session session, ReadOnlySpan<byte> message, long now)
    {
        var result = LogonDecoder.TryWrap(message, out var d);
        if (result != SbeDecodeResult.Ok)
        {
            Malformed(session, result);
            return;
        }

        if (session.State != SessionState.AwaitingLogon)
        {
            if (session.State == SessionState.Active)
            {
                GatewayReject(session, 0, 0, CommandType.Logon, RejectReason.UnsupportedMessage, 0, 0, now, s_alreadyLoggedOnText);
            }

            return;
        }

        var channel = d.ResponseChannel();
        if (d.ActingVersion < 1 || channel.IsEmpty || d.ResponseStreamIdIsNull)
        {
            // Without a response channel there is nobody to answer: counted, and the image's session slot freed.
            Counters.LogonsRejected++;
            Close(session);
            return;
        }

        // The node publishes only to hosts it was told to (a logon is not yet verified here: an unknown
        // image must not be able to point the node's traffic at an arbitrary address).
        var channelText = Encoding.UTF8.GetString(channel);
        if (!ChannelUri.TryParse(channelText, out var uri, out _) || uri?.Endpoint is not { } endpoint || !_options.AllowsResponseHost(endpoint.Address))
        {
            Counters.LogonsRejected++;
            Close(session);
            return;
        }

        try
        {
            // Send-first: a session's execution reports leave ahead of the market data in each of the driver's duty cycles.
            session.Responses = _driver.AddPublication(channelText + (channelText.Contains("term-length=", StringComparison.Ordinal) ? "" : "|term-length=" + _options.ResponseTermLength), d.ResponseStreamId, sendFirst: true);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or System.Net.Sockets.SocketException or NotSupportedException)
        {
            Counters.LogonsRejected++;
            Close(session);
            return;
        }

        var (reason, text) = CheckLogon(in d, message, now, out var key);
        session.StateSinceNs = now;
        if (reason != 0)
        {
            Counters.LogonsRejected++;
            session.State = SessionState.Rejecting;
            session.PendingReject = reason;
            session.PendingRejectText = text;
            return;
        }

        session.Key = key;
        session.AccountId = key.AccountId;
        session.SessionId = _nextSessionId++;
        session.CancelOnDisconnect = d.CancelOnDisconnect == BooleanType.True;
        session.HeartbeatIntervalNs = Math.Clamp(d.HeartbeatIntervalMs, (uint)_options.MinHeartbeatIntervalMs, (uint)_options.MaxHeartbeatIntervalMs) * 1_000_000L;
        session.State = SessionState.Connecting;
        _sessionByAccount[key.AccountId] = session;
    }

    private (LogonRejectReason Reason, string? Text) CheckLogon(in LogonDecoder d, ReadOnlySpan<byte> message, long now, out ApiKey key)
    {
        if (!_keys.TryGet(d.ApiKeyId, out key))
        {
            return (LogonRejectReason.UnknownKey, $"no API key {d.ApiKeyId}");
        }

        var signature = message.Slice(SbeSchema.HeaderSize + LogonDecoder.SignatureOffset, LogonSignature.Length);
        if (!LogonSignature.Verify(key.Secret, d.ApiKeyId, d.TimestampNs, d.Nonce, signature))
        {
            return (LogonRejectReason.BadSignature, "signature is not HMAC-SHA256(secret, apiKeyId u64 LE | timestampNs u64 LE | nonce u64 LE)");
        }

        var skew = (long)d.TimestampNs - now;
        if (d.TimestampNs > long.MaxValue || Math.Abs(skew) > _options.MaxClockSkewNs)
        {
            return (LogonRejectReason.StaleTimestamp, $"timestamp {d.TimestampNs} is {skew / 1_000_000} ms from the node's clock {now} (at most {_options.MaxClockSkewNs / 1_000_000} ms)");
        }

        if (_sessionByAccount.TryGetValue(key.AccountId, out var existing) && existing.State is SessionState.Active or SessionState.Connecting)
        {
            return (LogonRejectReason.AlreadyLoggedOn, $"account {key.AccountId} already has session {existing.SessionId}");
        }

        if (!_keys.TryUseNonce(d.ApiKeyId, d.Nonce))
        {
            return (LogonRejectReason.ReplayedNonce, $"nonce {d.Nonce} is not above the last one accepted for key {d.ApiKeyId}");
        }

        return (0, null);
    }

    private int Housekeeping(long now)
    {
        var work = 0;
        while (_imagesGone.TryDequeue(out var gone))
        {
            if (_sessions.TryGetValue(gone, out var s))
            {
                EndSession(s, SessionEndReason.ConnectionLost, now);
                work++;
            }
        }

        _scratch.Clear();
        foreach (var s in _sessions.Values) _scratch.Add(s);
        foreach (var s in _scratch)
        {
            work += SessionTimers(s, now);
        }

        if (now - _lastCommandNs >= TickIntervalNs)
        {
            // Time moves for expiries, price sampling and funding even when no order arrives.
            Counters.Ticks++;
            Run(EngineCommand.Tick(now));
            work++;
        }

        if (now >= _nextSnapshotNs || MarketData.SnapshotSubscriberJoined())
        {
            _nextSnapshotNs = now + (_options.SnapshotIntervalMs * 1_000_000L);
            MarketData.PublishSnapshots(_stateMachine.Engine, now);
            work++;
        }

        return work;
    }

    private int SessionTimers(Session s, long now)
    {
        switch (s.State)
        {
            case SessionState.Connecting when s.Responses!.IsConnected:
                SendLogonAck(s, now);
                return 1;
            case SessionState.Connecting when now - s.StateSinceNs > _options.ResponseConnectTimeoutNs:
                EndSession(s, SessionEndReason.ConnectionLost, now);
                return 1;
            case SessionState.Rejecting when s.Responses!.IsConnected:
                SendLogonReject(s, now);
                Close(s);
                return 1;
            case SessionState.Rejecting when now - s.StateSinceNs > _options.ResponseConnectTimeoutNs:
                Close(s);
                return 1;
            case SessionState.AwaitingLogon when now - s.StateSinceNs > _options.LogonTimeoutNs:
                Close(s);   // an image that does not log on soon does not hold one of the few session slots
                return 1;
            case SessionState.Active:
                if (now - s.LastHeardNs > 3 * s.HeartbeatIntervalNs)
                {
                    EndSession(s, SessionEndReason.HeartbeatTimeout, now);
                    return 1;
                }

                if (s.BackPressuredSinceNs != 0 && now - s.BackPressuredSinceNs > _options.MaxBackPressureNs)
                {
                    EndSession(s, SessionEndReason.SlowConsumer, now);
                    return 1;
                }

                if (now - s.LastSentNs >= s.HeartbeatIntervalNs)
                {
                    SendHeartbeat(s, now);
                    return 1;
                }

                return 0;
            default:
                return 0;
        }
    }

    /// <summary>Ends a session: cancel-on-disconnect runs through the state machine (journaled like any command), then the response channel closes.</summary>
    private void EndSession(Session s, SessionEndReason reason, long now)
    {
        if (s.State == SessionState.Active && reason == SessionEndReason.Logout)
        {
            SendLogout(s, now);
        }

        var wasBound = s.State is SessionState.Active or SessionState.Connecting;
        if (wasBound)
        {
            _lastEndByAccount[s.AccountId] = reason;
        }

        s.State = SessionState.Closed;
        if (wasBound && s.CancelOnDisconnect)
        {
            Run(EngineCommand.MassCancel(now, s.AccountId, 0, CoreSideFilter.Both, CoreCancelReason.Disconnect));
        }

        Counters.SessionsEnded++;
        Close(s);
    }

    private void Close(Session s)
    {
        s.State = SessionState.Closed;
        if (_sessionByAccount.TryGetValue(s.AccountId, out var bound) && ReferenceEquals(bound, s))
        {
            _sessionByAccount.Remove(s.AccountId);
        }

        if (s.Responses is { } responses)
        {
            _driver.Remove(responses);
            s.Responses = null;
        }

        // The image may still be there (a logout keeps the client's publication): a new logon on it
        // starts a new session, so the entry goes and the next message creates a fresh one.
        _sessions.Remove(s.ImageSessionId);
    }

    /// <summary>Image callbacks come from the receiver (the engine thread in invoker mode, a driver thread otherwise): queued for the engine thread.</summary>
    void IImageListener.OnAvailable(Image image) { }

    void IImageListener.OnUnavailable(Image image) => _imagesGone.Enqueue(image.SessionId);
}
