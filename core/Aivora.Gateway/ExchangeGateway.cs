using System.Collections.Concurrent;
using System.Text;
using Aivora.Codecs.Session;
using Aivora.Core.Commands;
using Aivora.Core.Matching;
using Aivora.Exchange;
using Aivora.Gateway.Inbound;
using Aivora.Gateway.MarketData;
using Aivora.Gateway.Outbound;
using Aivora.Gateway.Sessions;
using Aivora.Transport.Driver;
using Aivora.Transport.LogBuffer;
using Aivora.Transport.Subscription;
using Aivora.Transport.Uri;
using CoreCancelReason = Aivora.Core.Events.CancelReason;
using CoreSideFilter = Aivora.Core.Commands.SideFilter;
using RejectReason = Aivora.Core.Events.RejectReason;
using Aivora.Core.Exchange;

namespace Aivora.Gateway;

/// <summary>Gateway counters (engine thread is the only writer).</summary>
public struct GatewayCounters
{
    public long MessagesIn, CommandsRun, LogonsAccepted, LogonsRejected, SessionsEnded, Malformed, Unsupported, NotLoggedOn,
        GatewayRejects, Heartbeats, Ticks;
}

/// <summary>
/// The wire side of the node, run on the engine thread: one subscription on the order channel (every
/// client is an image, reassembled per image), sessions (HMAC-signed logon bound to an account and a
/// response channel, heartbeats both ways, timeouts, cancel-on-disconnect), SBE → command → state
/// machine (each command recorded in the command log first, then run), events → execution reports and
/// market data. Time advances once per command: the command is stamped when it enters. Nothing an
/// image sends before a valid logon reaches the state machine; malformed input is counted and, on a
/// logged-on session, answered with a reject naming what was wrong.
/// </summary>
public sealed class ExchangeGateway : IImageListener, IDisposable
{
    private const int MaxMessageLength = 64 * 1024;
    private const long HousekeepingIntervalNs = 1_000_000;
    private const long TickIntervalNs = 100_000_000;

    private readonly MediaDriver _driver;
    private readonly GatewayOptions _options;
    private readonly KeyStore _keys;
    private readonly PerpStateMachine<GatewaySink> _stateMachine;
    private readonly EventRouter _router;
    private readonly ICommandLog? _log;
    private readonly EpochClock _clock;
    private readonly NetworkSubscription _orders;
    private readonly ExecutionReports _reports;
    private readonly Dictionary<int, Session> _sessions = [];
    private readonly Dictionary<int, Session> _sessionByAccount = [];
    private readonly Dictionary<int, SessionEndReason> _lastEndByAccount = [];
    private readonly ConcurrentQueue<int> _imagesGone = new();
    private readonly List<Session> _scratch = [];
    private FragmentAssembler<InboundHandler> _assembler;
    private readonly Core.Instruments.InstrumentSpec[] _instruments;
    private readonly Core.Matching.OrderView[] _statusOrders;
    private readonly byte[] _statusBuffer;
    private BufferClaim _claim;
    private long _nextHousekeepingNs, _nextSnapshotNs, _lastCommandNs;
    private ulong _nextSessionId = 1;

    public GatewayCounters Counters;

    public MarketDataPublisher MarketData { get; }

    public ExchangeGateway(MediaDriver driver, GatewayOptions options, KeyStore keys, PerpStateMachine<GatewaySink> stateMachine,
        EngineConfig config, EpochClock clock, ICommandLog? log = null)
    {
        if (options.Validate() is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        (_driver, _options, _keys, _stateMachine, _clock, _log) = (driver, options, keys, stateMachine, clock, log);
        _router = stateMachine.Engine.Sink.Router;
        _orders = driver.AddSubscription(options.OrderChannel, options.OrderStreamId, this);
        MarketData = new MarketDataPublisher(
            driver.AddPublication(options.BookChannel, options.BookStreamId),
            driver.AddPublication(options.TradesChannel, options.TradesStreamId),
            driver.AddPublication(options.OrdersChannel, options.OrdersStreamId),
            driver.AddPublication(options.StatusChannel, options.StatusStreamId),
            driver.AddPublication(options.SnapshotChannel, options.SnapshotStreamId),
            config.Instruments, config.MaxPriceLevelsPerSide)
        {
            OpenInterestOf = id => stateMachine.Ledger.OpenInterest(id).Long,
            LastPriceOf = id => stateMachine.Engine.LastTradePrice(id),
            NextFundingOf = id => stateMachine.Pricing(id)?.NextFundingNs ?? 0,
            IndexStateOf = id => stateMachine.Pricing(id)?.LastIndex.State ?? Core.Pricing.IndexState.Healthy,
        };
        _reports = new ExecutionReports(_sessionByAccount, stateMachine.Ledger,
            id => stateMachine.Pricing(id)?.LastIndex.State ?? Core.Pricing.IndexState.Healthy, config.MaxRestingOrders);
        _router.ExecutionReports = _reports;
        _router.MarketData = MarketData;
        _router.Explain = e =>
        {
            if (stateMachine.Engine.TryExplainReject((RejectReason)e.Reason, e.InstrumentId, e.PriceTicks, e.QtyLots, out var limit, out var actual))
            {
                (e.Required, e.Available) = (limit, actual);
            }

            return e;
        };
        _assembler = new FragmentAssembler<InboundHandler>(new InboundHandler(this), MaxMessageLength);
        _instruments = [.. config.Instruments];
        // An account's resting orders are bounded by the per-instrument limit; the buffer holds them all.
        var maxOrders = stateMachine.MaxOpenOrdersPerInstrument * config.Instruments.Count;
        _statusOrders = new Core.Matching.OrderView[maxOrders];
        _statusBuffer = new byte[SbeSchema.HeaderSize + AccountStatusEncoder.BlockLength + 4 + (maxOrders * 45) + 4 + (config.Instruments.Count * 41)];
    }

    public PerpStateMachine<GatewaySink> StateMachine => _stateMachine;

    public NetworkSubscription OrderSubscription => _orders;

    public long ReportsSent => _reports.Sent;

    public long ReportsDropped => _reports.Dropped;

    public int ActiveSessions
    {
        get
        {
            var n = 0;
            foreach (var s in _sessions.Values) if (s.State == SessionState.Active) n++;
            return n;
        }
    }

    /// <summary>One duty cycle on the engine thread (the driver's own work is the caller's): poll orders, then timers.</summary>
    public int DoWork()
    {
        var work = _orders.Poll(ref _assembler, 64);
        var now = _clock.NowNs;
        if (now >= _nextHousekeepingNs)
        {
            _nextHousekeepingNs = now + HousekeepingIntervalNs;
            work += Housekeeping(now);
        }

        return work;
    }

    /// <summary>Runs one command: recorded first, then the state machine, then the command's market data goes out.</summary>
    public void Run(in EngineCommand command)
    {
        _log?.Append(in command);
        _reports.Current = command;
        _stateMachine.Process(in command);
        MarketData.EndOfCommand();
        _lastCommandNs = command.NowNs;
        Counters.CommandsRun++;
    }

    // ------------------------------------------------------------------ inbound

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
            OnLogon(session, message, now);
            return;
        }

        if (session.State != SessionState.Active)
        {
            // Nothing from an image that has not logged on reaches the state machine; there is no
            // response channel to answer on yet, so it is counted.
            Counters.NotLoggedOn++;
            return;
        }

        switch (templateId)
        {
            case HeartbeatDecoder.TemplateId:
                Counters.Heartbeats++;
                if (HeartbeatDecoder.TryWrap(message, out _) is var hb && hb != SbeDecodeResult.Ok) Malformed(session, hb, hb);
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
            Malformed(session, result, result);
            return;
        }

        if (!Admit(session, (long)Math.Min(d.ClientOrderId, long.MaxValue), d.InstrumentId, d.AccountId, CommandType.NewOrder, KeyScopes.Trade, countsForRate: true, now))
        {
            return;
        }

        var reason = InboundDecoder.NewOrder(in d, now, session.AccountId, out var command, out var limit, out var actual);
        if (reason != RejectReason.None)
        {
            GatewayReject(session, (long)Math.Min(d.ClientOrderId, long.MaxValue), d.InstrumentId, CommandType.NewOrder, reason, limit, actual, now, default);
            return;
        }

        Run(in command);
    }

    private void OnCancel(Session session, ReadOnlySpan<byte> message, long now)
    {
        var result = CancelOrderDecoder.TryWrap(message, out var d);
        if (result != SbeDecodeResult.Ok)
        {
            Malformed(session, result, result);
            return;
        }

        if (!Admit(session, (long)Math.Min(d.ClientOrderId, long.MaxValue), d.InstrumentId, d.AccountId, CommandType.CancelOrder, KeyScopes.Trade | KeyScopes.CancelOnly, countsForRate: false, now))
        {
            return;
        }

        var reason = InboundDecoder.Cancel(in d, now, session.AccountId, out var command, out var limit, out var actual);
        if (reason != RejectReason.None)
        {
            GatewayReject(session, (long)Math.Min(d.ClientOrderId, long.MaxValue), d.InstrumentId, CommandType.CancelOrder, reason, limit, actual, now, default);
            return;
        }

        Run(in command);
    }

    private void OnAmend(Session session, ReadOnlySpan<byte> message, long now)
    {
        var result = AmendOrderDecoder.TryWrap(message, out var d);
        if (result != SbeDecodeResult.Ok)
        {
            Malformed(session, result, result);
            return;
        }

        if (!Admit(session, (long)Math.Min(d.ClientOrderId, long.MaxValue), d.InstrumentId, d.AccountId, CommandType.AmendOrder, KeyScopes.Trade, countsForRate: true, now))
        {
            return;
        }

        var reason = InboundDecoder.Amend(in d, now, session.AccountId, out var command, out var limit, out var actual);
        if (reason != RejectReason.None)
        {
            GatewayReject(session, (long)Math.Min(d.ClientOrderId, long.MaxValue), d.InstrumentId, CommandType.AmendOrder, reason, limit, actual, now, default);
            return;
        }

        Run(in command);
    }

    private void OnMassCancel(Session session, ReadOnlySpan<byte> message, long now)
    {
        var result = MassCancelDecoder.TryWrap(message, out var d);
        if (result != SbeDecodeResult.Ok)
        {
            Malformed(session, result, result);
            return;
        }

        if (!Admit(session, (long)Math.Min(d.ClientOrderId, long.MaxValue), d.InstrumentIdIsNull ? 0 : d.InstrumentId, d.AccountId, CommandType.MassCancel, KeyScopes.Trade | KeyScopes.CancelOnly, countsForRate: false, now))
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
            Malformed(session, result, result);
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
    /// several frames); counted against nothing but the session's response window.
    /// </summary>
    private void OnAccountStatusRequest(Session session, ReadOnlySpan<byte> message, long now)
    {
        var result = AccountStatusRequestDecoder.TryWrap(message, out var d);
        if (result != SbeDecodeResult.Ok)
        {
            Malformed(session, result, result);
            return;
        }

        var requestId = (long)Math.Min(d.RequestId, long.MaxValue);
        if (!Admit(session, requestId, 0, d.AccountId, CommandType.AccountStatusRequest, KeyScopes.Read | KeyScopes.Trade | KeyScopes.CancelOnly, countsForRate: false, now))
        {
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
        }

        if (session.Responses!.Offer(_statusBuffer.AsSpan(0, m.EncodedLength)) <= 0)
        {
            session.ResponsesDropped++;
            if (session.BackPressuredSinceNs == 0) session.BackPressuredSinceNs = now;
        }
    }

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

        if (now - session.WindowStartNs >= 1_000_000_000)
        {
            session.WindowStartNs = now;
            session.OrdersInWindow = 0;
        }

        if (session.OrdersInWindow >= session.Key.OrdersPerSecond)
        {
            GatewayReject(session, clientOrderId, instrumentId, command, RejectReason.RateLimited, session.Key.OrdersPerSecond, session.OrdersInWindow + 1, now, default);
            return false;
        }

        session.OrdersInWindow++;
        return true;
    }

    // ------------------------------------------------------------------ sessions

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
            Malformed(session, result, result);
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
            session.Responses = _driver.AddPublication(channelText + (channelText.Contains("term-length=", StringComparison.Ordinal) ? "" : "|term-length=" + _options.ResponseTermLength), d.ResponseStreamId);
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
            case SessionState.AwaitingLogon when now - s.StateSinceNs > _options.ResponseConnectTimeoutNs * 10:
                Close(s);   // an image that never logs on does not hold a session slot forever
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

    // ------------------------------------------------------------------ outbound session messages

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

    /// <summary>Ends every session (orders of cancel-on-disconnect sessions are cancelled) and closes the node's publications.</summary>
    public void Shutdown()
    {
        var now = _clock.NowNs;
        _scratch.Clear();
        foreach (var s in _sessions.Values) _scratch.Add(s);
        foreach (var s in _scratch) EndSession(s, SessionEndReason.NodeShutdown, now);
    }

    public void Dispose() => _driver.Remove(_orders);
}
