using System.Text;
using Aivora.Codecs.Session;
using Aivora.Exchange;
using Aivora.Transport.Driver;
using Aivora.Transport.LogBuffer;
using Aivora.Transport.Subscription;

namespace Aivora.Client.Session;

/// <summary>How a client reaches the node and who it is.</summary>
public sealed record ClientOptions
{
    /// <summary>The node's order channel; the term length is this client's choice (1 MiB: three terms, resident from the start).</summary>
    public string OrderChannel { get; init; } = "aeron:udp?endpoint=127.0.0.1:40100|term-length=1m";
    public int OrderStreamId { get; init; } = 10;

    /// <summary>Where this client receives its responses (port 0: any free port, told to the node at logon).</summary>
    public string ResponseHost { get; init; } = "127.0.0.1";
    public int ResponsePort { get; init; }
    public int ResponseStreamId { get; init; } = 11;

    public required ulong ApiKeyId { get; init; }

    /// <summary>The API secret's raw bytes (the 32 bytes its 64 hex digits spell).</summary>
    public required byte[] Secret { get; init; }

    public int HeartbeatIntervalMs { get; init; } = 1_000;
    public bool CancelOnDisconnect { get; init; } = true;
}

/// <summary>Where the client's session is.</summary>
public enum ClientState : byte
{
    Disconnected = 0,
    LoggingOn = 1,
    LoggedOn = 2,
    Rejected = 3,
    LoggedOut = 4,
}

/// <summary>
/// A market maker's session with the node, over the schema and the Aeron transport only (no engine
/// code): log on with the HMAC-signed key, send orders, cancels, amends and mass cancels with client
/// order ids (encoded in place with TryClaim), and poll responses into a struct handler. The client
/// keeps its session's open orders from the reports and checks the response sequence: a gap (a report
/// the node could not deliver) is counted in <see cref="SequenceGaps"/>. Heartbeats go out when the
/// client has been quiet for its interval. Runs on the caller's thread: call <see cref="Poll{THandler}"/>
/// in the loop that also calls the driver's DoWork (invoker mode).
/// </summary>
public sealed class ExchangeClient : IDisposable
{
    private readonly MediaDriver _driver;
    private readonly ClientOptions _options;
    private readonly NetworkPublication _requests;
    private readonly NetworkSubscription _responses;
    private readonly Dictionary<long, OpenOrder> _open = new(1_024);
    private readonly Dictionary<int, PositionStatus> _positions = [];
    private readonly byte[] _reassembly = new byte[256 * 1024];
    private int _reassembled;
    private readonly string _responseChannel;
    private BufferClaim _claim;
    private long _lastSentNs;
    private ulong _nonce;

    public ExchangeClient(MediaDriver driver, ClientOptions options)
    {
        _driver = driver;
        _options = options;
        _responses = driver.AddSubscription($"aeron:udp?endpoint={options.ResponseHost}:{options.ResponsePort}", options.ResponseStreamId);
        _responseChannel = $"aeron:udp?endpoint={options.ResponseHost}:{_responses.LocalEndPoint.Port}";
        _requests = driver.AddPublication(options.OrderChannel, options.OrderStreamId);
    }

    public ClientState State { get; private set; }
    public int AccountId { get; private set; }
    public ulong SessionId { get; private set; }
    public SessionEndReason PreviousSessionEnd { get; private set; }
    /// <summary>The key's order-entry rate limit as the logon acknowledgement gave it: new orders and amends a second (cancels
    /// and mass cancels do not count); past it the node answers RateLimited. 0 before logon.</summary>
    public int OrdersPerSecondLimit { get; private set; }
    public LogonRejectReason LogonRejectReason { get; private set; }
    public string? LogonRejectText { get; private set; }
    public long LastResponseSequence { get; private set; }
    public long SequenceGaps { get; private set; }
    public long ReportsReceived { get; private set; }
    /// <summary>Logon acknowledgements among <see cref="ReportsReceived"/> (one a logon; the node counts them apart from its execution reports).</summary>
    public long LogonAcksReceived { get; private set; }
    public long Undecodable { get; internal set; }


    /// <summary>This session's orders the node has accepted and not yet finished (filled, cancelled, expired), by client order id.</summary>
    public IReadOnlyDictionary<long, OpenOrder> OpenOrders => _open;

    /// <summary>True once the order channel is connected (the node's subscription answered): a logon can go.</summary>
    public bool IsConnected => _requests.IsConnected;

    public string ResponseChannel => _responseChannel;

    /// <summary>Sends Logon (signed with the secret, a fresh nonce = the time in ns). False when the channel is not ready yet: try again.</summary>
    public bool TryLogon(long nowNs)
    {
        var nonce = Math.Max(_nonce + 1, (ulong)nowNs);
        var channel = Encoding.UTF8.GetBytes(_responseChannel);
        if (!Claim(SbeSchema.HeaderSize + LogonEncoder.BlockLength + 2 + channel.Length)) return false;
        var m = LogonEncoder.Wrap(_claim.Buffer);
        m.ApiKeyId(_options.ApiKeyId);
        m.TimestampNs((ulong)nowNs);
        m.Nonce(nonce);
        LogonSignature.Compute(_options.Secret, _options.ApiKeyId, (ulong)nowNs, nonce,
            _claim.Buffer.Slice(SbeSchema.HeaderSize + LogonEncoder.SignatureOffset, LogonSignature.Length));
        m.HeartbeatIntervalMs((uint)_options.HeartbeatIntervalMs);
        m.CancelOnDisconnect(_options.CancelOnDisconnect ? BooleanType.True : BooleanType.False);
        m.ResponseStreamId(_options.ResponseStreamId);
        m.ResponseChannel(channel);
        _nonce = nonce;
        Commit(nowNs);
        State = ClientState.LoggingOn;
        LastResponseSequence = 0;
        return true;
    }

    /// <summary>Sends a new order; false when the transport is back-pressured or not connected (nothing was sent).</summary>
    public bool SendNewOrder(long nowNs, long clientOrderId, int instrumentId, Side side, OrdType type, TimeInForce tif, long priceTicks, long qtyLots,
        OrderFlags flags = default, StpMode stp = StpMode.Default, long expireTimeNs = 0, long triggerPriceTicks = 0, TriggerSource triggerSource = TriggerSource.Mark,
        long callbackTicks = 0, ushort callbackBps = 0)
    {
        if (!Claim(SbeSchema.HeaderSize + NewOrderEncoder.BlockLength)) return false;
        var m = NewOrderEncoder.Wrap(_claim.Buffer);
        m.ClientOrderId((ulong)clientOrderId);
        m.AccountId((uint)AccountId);
        m.InstrumentId(instrumentId);
        m.Side(side);
        m.OrdType(type);
        m.TimeInForce(tif);
        m.Flags(flags);
        m.StpMode(stp);
        m.TriggerSource(triggerSource);
        if (type is not (OrdType.Market or OrdType.StopMarket or OrdType.TakeProfitMarket or OrdType.TrailingStopMarket)) m.Price(priceTicks);
        m.Quantity(qtyLots);
        if (triggerPriceTicks != 0) m.TriggerPrice(triggerPriceTicks);
        if (callbackTicks > 0) m.CallbackTicks(callbackTicks);
        if (callbackBps > 0) m.CallbackBps(callbackBps);
        if (expireTimeNs != 0) m.ExpireTimeNs((ulong)expireTimeNs);
        m.SendingTimeNs((ulong)nowNs);
        Commit(nowNs);
        return true;
    }

    /// <summary>A trailing stop on mark (a market order when it fires): give the callback in ticks or in basis points, not both.</summary>
    public bool SendTrailingStop(long nowNs, long clientOrderId, int instrumentId, Side side, long qtyLots, long callbackTicks, ushort callbackBps = 0, OrderFlags flags = default) =>
        SendNewOrder(nowNs, clientOrderId, instrumentId, side, OrdType.TrailingStopMarket, TimeInForce.IOC, 0, qtyLots, flags,
            callbackTicks: callbackTicks, callbackBps: callbackBps);

    /// <summary>Cancels by client order id (the node finds the order among this account's live ones).</summary>
    public bool SendCancel(long nowNs, long requestId, int instrumentId, long origClientOrderId)
    {
        if (!Claim(SbeSchema.HeaderSize + CancelOrderEncoder.BlockLength)) return false;
        var m = CancelOrderEncoder.Wrap(_claim.Buffer);
        m.ClientOrderId((ulong)requestId);
        m.AccountId((uint)AccountId);
        m.InstrumentId(instrumentId);
        m.OrigClientOrderId((ulong)origClientOrderId);
        m.SendingTimeNs((ulong)nowNs);
        Commit(nowNs);
        return true;
    }

    /// <summary>Amends price and / or total quantity (0 keeps the current value) of an order named by client order id.</summary>
    public bool SendAmend(long nowNs, long requestId, int instrumentId, long origClientOrderId, long newPriceTicks, long newQtyLots)
    {
        if (!Claim(SbeSchema.HeaderSize + AmendOrderEncoder.BlockLength)) return false;
        var m = AmendOrderEncoder.Wrap(_claim.Buffer);
        m.ClientOrderId((ulong)requestId);
        m.AccountId((uint)AccountId);
        m.InstrumentId(instrumentId);
        m.OrigClientOrderId((ulong)origClientOrderId);
        if (newPriceTicks != 0) m.NewPrice(newPriceTicks);
        if (newQtyLots != 0) m.NewQuantity(newQtyLots);
        m.SendingTimeNs((ulong)nowNs);
        Commit(nowNs);
        return true;
    }

    /// <summary>Cancels every order of the account on one instrument (0: all instruments) and side filter.</summary>
    public bool SendMassCancel(long nowNs, long requestId, int instrumentId, SideFilter sides = SideFilter.Both)
    {
        if (!Claim(SbeSchema.HeaderSize + MassCancelEncoder.BlockLength)) return false;
        var m = MassCancelEncoder.Wrap(_claim.Buffer);
        m.ClientOrderId((ulong)requestId);
        m.AccountId((uint)AccountId);
        if (instrumentId != 0) m.InstrumentId(instrumentId);
        m.Sides(sides);
        m.SendingTimeNs((ulong)nowNs);
        Commit(nowNs);
        return true;
    }

    /// <summary>A feeder's price (the key needs the Admin scope).</summary>
    public bool SendPriceFeed(long nowNs, int sourceId, int instrumentId, long priceTicks)
    {
        if (!Claim(SbeSchema.HeaderSize + PriceFeedEncoder.BlockLength)) return false;
        var m = PriceFeedEncoder.Wrap(_claim.Buffer);
        m.SourceId((uint)sourceId);
        m.InstrumentId(instrumentId);
        m.Price(priceTicks);
        m.SourceTimeNs((ulong)nowNs);
        Commit(nowNs);
        return true;
    }

    public bool SendLogout(long nowNs)
    {
        if (!Claim(SbeSchema.HeaderSize + LogoutEncoder.BlockLength + 2)) return false;
        var m = LogoutEncoder.Wrap(_claim.Buffer);
        m.TimestampNs((ulong)nowNs);
        m.Text(ReadOnlySpan<byte>.Empty);
        Commit(nowNs);
        State = ClientState.LoggedOut;
        return true;
    }

    /// <summary>Asks the node for this account's resting orders and positions (after a reconnect, say); the answer replaces <see cref="OpenOrders"/> and <see cref="Positions"/>.</summary>
    public bool RequestAccountStatus(long nowNs, long requestId)
    {
        if (!Claim(SbeSchema.HeaderSize + AccountStatusRequestEncoder.BlockLength)) return false;
        var m = AccountStatusRequestEncoder.Wrap(_claim.Buffer);
        m.RequestId((ulong)requestId);
        m.AccountId((uint)AccountId);
        m.SendingTimeNs((ulong)nowNs);
        Commit(nowNs);
        return true;
    }

    /// <summary>Positions as of the last AccountStatus, by instrument.</summary>
    public IReadOnlyDictionary<int, PositionStatus> Positions => _positions;

    /// <summary>Raw bytes onto the order channel as one message (tests and tools: malformed input, other clients' encoders).</summary>
    public long SendRaw(ReadOnlySpan<byte> message) => _requests.Offer(message);

    /// <summary>Delivers up to <paramref name="limit"/> responses to the handler; sends a heartbeat when the session has been quiet for its interval.</summary>
    public int Poll<THandler>(long nowNs, ref THandler handler, int limit = 64) where THandler : struct, IExecutionReportHandler
    {
        if (State == ClientState.LoggedOn && nowNs - _lastSentNs >= _options.HeartbeatIntervalMs * 1_000_000L && Claim(SbeSchema.HeaderSize + HeartbeatEncoder.BlockLength))
        {
            HeartbeatEncoder.Wrap(_claim.Buffer).TimestampNs((ulong)nowNs);
            Commit(nowNs);
        }

        var dispatch = new Dispatch<THandler>(this, handler);
        var n = _responses.Poll(ref dispatch, limit);
        handler = dispatch.Handler;
        return n;
    }

    private bool Claim(int length)
    {
        return _requests.TryClaim(length, ref _claim) > 0;
    }

    private void Commit(long nowNs)
    {
        _claim.Commit();
        _lastSentNs = nowNs;
    }

    // ------------------------------------------------------------------ responses

    // Responses come from one image (the node's response publication), so fragments of a long
    // message (AccountStatus) arrive in order and are joined here; reports are single frames.
    private struct Dispatch<THandler>(ExchangeClient client, THandler handler) : IFragmentHandler where THandler : struct, IExecutionReportHandler
    {
        public THandler Handler = handler;

        public void OnFragment(ReadOnlySpan<byte> payload, in FragmentHeader header)
        {
            var flags = header.Flags;
            ReadOnlySpan<byte> message = payload;
            if ((flags & Transport.Protocol.FrameFlags.Unfragmented) != Transport.Protocol.FrameFlags.Unfragmented)
            {
                if ((flags & Transport.Protocol.FrameFlags.Begin) != 0) client._reassembled = 0;
                if (client._reassembled < 0 || payload.Length > client._reassembly.Length - client._reassembled)
                {
                    client._reassembled = -1;   // too long or a middle without its beginning: dropped, counted at its end
                    if ((flags & Transport.Protocol.FrameFlags.End) != 0) client.Undecodable++;
                    return;
                }

                payload.CopyTo(client._reassembly.AsSpan(client._reassembled));
                client._reassembled += payload.Length;
                if ((flags & Transport.Protocol.FrameFlags.End) == 0) return;
                message = client._reassembly.AsSpan(0, client._reassembled);
                client._reassembled = 0;
            }

            var report = default(ExecutionReport);
            if (client.TryRead(message, ref report))
            {
                Handler.OnReport(in report);
            }
        }
    }

    private bool TryRead(ReadOnlySpan<byte> message, ref ExecutionReport r)
    {
        if (!SbeSchema.TryReadHeader(message, out _, out var templateId, out _, out _))
        {
            Undecodable++;
            return false;
        }

        var ok = templateId switch
        {
            LogonAckDecoder.TemplateId => ReadLogonAck(message, ref r),
            LogonRejectDecoder.TemplateId => ReadLogonReject(message, ref r),
            OrderAcceptedDecoder.TemplateId => ReadAccepted(message, ref r),
            OrderRejectedDecoder.TemplateId => ReadRejected(message, ref r),
            OrderFilledDecoder.TemplateId => ReadFilled(message, ref r),
            OrderCancelledDecoder.TemplateId => ReadCancelled(message, ref r),
            OrderAmendedDecoder.TemplateId => ReadAmended(message, ref r),
            OrderExpiredDecoder.TemplateId => ReadExpired(message, ref r),
            OrderTriggeredDecoder.TemplateId => ReadTriggered(message, ref r),
            MassCancelAckDecoder.TemplateId => ReadMassCancelAck(message, ref r),
            LogoutDecoder.TemplateId => ReadLogout(ref r),
            AccountStatusDecoder.TemplateId => ReadAccountStatus(message, ref r),
            LiquidationEventDecoder.TemplateId => ReadLiquidation(message, ref r),
            HeartbeatDecoder.TemplateId => false,
            _ => Unknown(),
        };
        if (ok)
        {
            ReportsReceived++;
        }

        return ok;
    }

    private bool Unknown()
    {
        Undecodable++;
        return false;
    }

    private void Sequenced(long sequence)
    {
        if (sequence != LastResponseSequence + 1)
        {
            SequenceGaps++;
        }

        LastResponseSequence = sequence;
    }

    private bool ReadLogonAck(ReadOnlySpan<byte> m, ref ExecutionReport r)
    {
        if (LogonAckDecoder.TryWrap(m, out var d) != SbeDecodeResult.Ok) return Unknown();
        State = ClientState.LoggedOn;
        AccountId = (int)d.AccountId;
        SessionId = d.SessionId;
        PreviousSessionEnd = d.PreviousSessionEnd;
        LastResponseSequence = d.LastResponseSequenceIsNull ? 0 : (long)d.LastResponseSequence;
        OrdersPerSecondLimit = (int)Math.Min(d.OrdersPerSecondLimit, int.MaxValue);
        _open.Clear();
        LogonAcksReceived++;
        r.Kind = ReportKind.LogonAck;
        r.AccountId = AccountId;
        r.PreviousSessionEnd = d.PreviousSessionEnd;
        r.TransactTimeNs = (long)d.ServerTimeNs;
        return true;
    }

    private bool ReadLogonReject(ReadOnlySpan<byte> m, ref ExecutionReport r)
    {
        if (LogonRejectDecoder.TryWrap(m, out var d) != SbeDecodeResult.Ok) return Unknown();
        State = ClientState.Rejected;
        LogonRejectReason = d.Reason;
        LogonRejectText = Encoding.UTF8.GetString(d.Text());
        r.Kind = ReportKind.LogonReject;
        r.LogonRejectReason = d.Reason;
        r.TransactTimeNs = (long)d.ServerTimeNs;
        return true;
    }

    private bool ReadLogout(ref ExecutionReport r)
    {
        State = ClientState.LoggedOut;
        r.Kind = ReportKind.Logout;
        return true;
    }

    private bool ReadAccepted(ReadOnlySpan<byte> m, ref ExecutionReport r)
    {
        if (OrderAcceptedDecoder.TryWrap(m, out var d) != SbeDecodeResult.Ok) return Unknown();
        Sequenced((long)d.ResponseSequence);
        (r.Kind, r.ResponseSequence, r.OrderId, r.ClientOrderId, r.AccountId, r.InstrumentId, r.Side) =
            (ReportKind.Accepted, (long)d.ResponseSequence, (long)d.OrderId, (long)d.ClientOrderId, (int)d.AccountId, d.InstrumentId, d.Side);
        (r.PriceTicks, r.QtyLots, r.LeavesLots, r.TransactTimeNs) = (d.Price, d.Quantity, d.Quantity, (long)d.TransactTimeNs);
        r.LiquidationPrice = d.LiquidationPriceIsNull ? long.MinValue : d.LiquidationPrice;
        r.InitialMargin = d.InitialMarginIsNull ? long.MinValue : d.InitialMargin;
        r.AdlQuantile = d.AdlQuantile <= 5 ? d.AdlQuantile : 0;   // an older node's frame reads the null value
        if (d.TimeInForce is TimeInForce.GTC or TimeInForce.GTD || d.OrdType is not (OrdType.Limit or OrdType.Market))
        {
            _open[r.ClientOrderId] = new OpenOrder
            {
                OrderId = r.OrderId, ClientOrderId = r.ClientOrderId, InstrumentId = r.InstrumentId, Side = r.Side,
                PriceTicks = r.PriceTicks, QtyLots = r.QtyLots, LeavesLots = r.QtyLots,
            };
        }

        return true;
    }

    private bool ReadRejected(ReadOnlySpan<byte> m, ref ExecutionReport r)
    {
        if (OrderRejectedDecoder.TryWrap(m, out var d) != SbeDecodeResult.Ok) return Unknown();
        Sequenced((long)d.ResponseSequence);
        (r.Kind, r.ResponseSequence, r.ClientOrderId, r.AccountId, r.InstrumentId) =
            (ReportKind.Rejected, (long)d.ResponseSequence, (long)d.ClientOrderId, (int)d.AccountId, d.InstrumentId);
        r.OrderId = d.OrderIdIsNull ? 0 : (long)d.OrderId;
        (r.RejectReason, r.RejectedCommand, r.TransactTimeNs) = (d.Reason, d.Command, (long)d.TransactTimeNs);
        r.RequiredValue = d.RequiredValueIsNull ? long.MinValue : d.RequiredValue;
        r.AvailableValue = d.AvailableValueIsNull ? long.MinValue : d.AvailableValue;
        r.LimitValue = d.LimitValueIsNull ? long.MinValue : d.LimitValue;
        r.ActualValue = d.ActualValueIsNull ? long.MinValue : d.ActualValue;
        return true;
    }

    private bool ReadFilled(ReadOnlySpan<byte> m, ref ExecutionReport r)
    {
        if (OrderFilledDecoder.TryWrap(m, out var d) != SbeDecodeResult.Ok) return Unknown();
        Sequenced((long)d.ResponseSequence);
        (r.Kind, r.ResponseSequence, r.OrderId, r.ClientOrderId, r.AccountId, r.InstrumentId, r.Side) =
            (ReportKind.Filled, (long)d.ResponseSequence, (long)d.OrderId, (long)d.ClientOrderId, (int)d.AccountId, d.InstrumentId, d.Side);
        (r.PriceTicks, r.QtyLots, r.LeavesLots, r.CumLots, r.TradeId, r.Liquidity, r.Fee) =
            (d.Price, d.Quantity, d.LeavesQuantity, d.CumQuantity, (long)d.TradeId, d.Liquidity, d.Fee);
        r.RealizedPnl = d.RealizedPnlIsNull ? 0 : d.RealizedPnl;
        r.LiquidationPrice = d.LiquidationPriceIsNull ? long.MinValue : d.LiquidationPrice;
        r.TransactTimeNs = (long)d.TransactTimeNs;
        if (_open.TryGetValue(r.ClientOrderId, out var o))
        {
            if (r.LeavesLots == 0)
            {
                _open.Remove(r.ClientOrderId);
            }
            else
            {
                o.LeavesLots = r.LeavesLots;
                _open[r.ClientOrderId] = o;
            }
        }

        return true;
    }

    private bool ReadLiquidation(ReadOnlySpan<byte> m, ref ExecutionReport r)
    {
        if (LiquidationEventDecoder.TryWrap(m, out var d) != SbeDecodeResult.Ok) return Unknown();
        Sequenced((long)d.Sequence);
        (r.Kind, r.ResponseSequence, r.AccountId, r.InstrumentId, r.LiquidationStep, r.JournalSequence) =
            (ReportKind.Liquidation, (long)d.Sequence, (int)d.AccountId, d.InstrumentId, d.Step, (long)d.JournalSequence);
        (r.PositionLots, r.MarkPriceTicks, r.Equity, r.MaintenanceMargin, r.BankruptcyPriceTicks) =
            (d.PositionQuantity, d.MarkPrice, d.Equity, d.MaintenanceMargin, d.BankruptcyPrice);
        r.PriceTicks = d.FillPriceIsNull ? long.MinValue : d.FillPrice;
        r.QtyLots = d.FillQuantityIsNull ? 0 : d.FillQuantity;
        r.Fee = d.FeeIsNull ? 0 : d.Fee;
        r.InsuranceFundDelta = d.InsuranceFundDeltaIsNull ? 0 : d.InsuranceFundDelta;
        r.TransactTimeNs = (long)d.TransactTimeNs;
        var counterparties = d.Counterparties();
        if (counterparties.Next())
        {
            r.AdlScore = counterparties.Score.Mantissa;
            if (r.AccountId == 0)
            {
                r.AccountId = (int)counterparties.AccountId;   // sent to the deleveraged counterparty: its own id is in the group
            }
        }

        if (r.LiquidationStep == LiquidationStep.OrdersCancelled)
        {
            _open.Clear();   // the path cancelled every order in the scope; AccountStatus gives the exact set
        }

        return true;
    }

    private bool ReadCancelled(ReadOnlySpan<byte> m, ref ExecutionReport r)
    {
        if (OrderCancelledDecoder.TryWrap(m, out var d) != SbeDecodeResult.Ok) return Unknown();
        Sequenced((long)d.ResponseSequence);
        (r.Kind, r.ResponseSequence, r.OrderId, r.ClientOrderId, r.AccountId, r.InstrumentId, r.Side) =
            (ReportKind.Cancelled, (long)d.ResponseSequence, (long)d.OrderId, (long)d.ClientOrderId, (int)d.AccountId, d.InstrumentId, d.Side);
        (r.CancelReason, r.PriceTicks, r.QtyLots, r.TransactTimeNs) = (d.Reason, d.Price, d.CancelledQuantity, (long)d.TransactTimeNs);
        _open.Remove(r.ClientOrderId);
        return true;
    }

    private bool ReadAmended(ReadOnlySpan<byte> m, ref ExecutionReport r)
    {
        if (OrderAmendedDecoder.TryWrap(m, out var d) != SbeDecodeResult.Ok) return Unknown();
        Sequenced((long)d.ResponseSequence);
        (r.Kind, r.ResponseSequence, r.OrderId, r.ClientOrderId, r.AccountId, r.InstrumentId, r.Side) =
            (ReportKind.Amended, (long)d.ResponseSequence, (long)d.OrderId, (long)d.ClientOrderId, (int)d.AccountId, d.InstrumentId, d.Side);
        (r.PriceTicks, r.QtyLots, r.LeavesLots, r.KeptPriority, r.TransactTimeNs) =
            (d.Price, d.Quantity, d.LeavesQuantity, d.KeptPriority == BooleanType.True, (long)d.TransactTimeNs);
        if (_open.TryGetValue(r.ClientOrderId, out var o))
        {
            (o.PriceTicks, o.QtyLots, o.LeavesLots) = (r.PriceTicks, r.QtyLots, r.LeavesLots);
            _open[r.ClientOrderId] = o;
        }

        return true;
    }

    private bool ReadExpired(ReadOnlySpan<byte> m, ref ExecutionReport r)
    {
        if (OrderExpiredDecoder.TryWrap(m, out var d) != SbeDecodeResult.Ok) return Unknown();
        Sequenced((long)d.ResponseSequence);
        (r.Kind, r.ResponseSequence, r.OrderId, r.ClientOrderId, r.AccountId, r.InstrumentId, r.Side, r.QtyLots, r.TransactTimeNs) =
            (ReportKind.Expired, (long)d.ResponseSequence, (long)d.OrderId, (long)d.ClientOrderId, (int)d.AccountId, d.InstrumentId, d.Side, d.ExpiredQuantity, (long)d.TransactTimeNs);
        _open.Remove(r.ClientOrderId);
        return true;
    }

    private bool ReadTriggered(ReadOnlySpan<byte> m, ref ExecutionReport r)
    {
        if (OrderTriggeredDecoder.TryWrap(m, out var d) != SbeDecodeResult.Ok) return Unknown();
        Sequenced((long)d.ResponseSequence);
        (r.Kind, r.ResponseSequence, r.OrderId, r.ClientOrderId, r.AccountId, r.InstrumentId, r.PriceTicks, r.TransactTimeNs) =
            (ReportKind.Triggered, (long)d.ResponseSequence, (long)d.OrderId, (long)d.ClientOrderId, (int)d.AccountId, d.InstrumentId, d.ObservedPrice, (long)d.TransactTimeNs);
        _open.Remove(r.ClientOrderId);   // the stop enters again as a new order with its own acceptance
        return true;
    }

    private bool ReadAccountStatus(ReadOnlySpan<byte> m, ref ExecutionReport r)
    {
        if (AccountStatusDecoder.TryWrap(m, out var d) != SbeDecodeResult.Ok) return Unknown();
        Sequenced((long)d.ResponseSequence);
        _open.Clear();
        _positions.Clear();
        var orders = d.Orders();
        while (orders.Next())
        {
            _open[(long)orders.ClientOrderId] = new OpenOrder
            {
                OrderId = (long)orders.OrderId, ClientOrderId = (long)orders.ClientOrderId, InstrumentId = orders.InstrumentId, Side = orders.Side,
                PriceTicks = orders.Price, QtyLots = orders.Quantity, LeavesLots = orders.LeavesQuantity,
            };
        }

        var positions = d.Positions();
        while (positions.Next())
        {
            _positions[positions.InstrumentId] = new PositionStatus(positions.InstrumentId, positions.Quantity, positions.Cost,
                positions.Isolated == BooleanType.True, positions.IsolatedMargin, positions.LiquidationPriceIsNull ? 0 : positions.LiquidationPrice,
                positions.AdlQuantile <= 5 ? positions.AdlQuantile : 0);   // an older node's frame reads the null value
        }

        (r.Kind, r.ResponseSequence, r.ClientOrderId, r.AccountId, r.CancelledCount, r.LeavesLots, r.TransactTimeNs) =
            (ReportKind.AccountStatus, (long)d.ResponseSequence, (long)d.RequestId, (int)d.AccountId, _open.Count, _positions.Count, (long)d.TransactTimeNs);
        return true;
    }

    private bool ReadMassCancelAck(ReadOnlySpan<byte> m, ref ExecutionReport r)
    {
        if (MassCancelAckDecoder.TryWrap(m, out var d) != SbeDecodeResult.Ok) return Unknown();
        Sequenced((long)d.ResponseSequence);
        (r.Kind, r.ResponseSequence, r.ClientOrderId, r.AccountId, r.CancelledCount, r.TransactTimeNs) =
            (ReportKind.MassCancelAck, (long)d.ResponseSequence, (long)d.ClientOrderId, (int)d.AccountId, (int)d.CancelledCount, (long)d.TransactTimeNs);
        r.InstrumentId = d.InstrumentIdIsNull ? 0 : d.InstrumentId;
        return true;
    }

    public void Dispose()
    {
        _driver.Remove(_requests);
        _driver.Remove(_responses);
    }
}
