using System.Net;
using Aivora.Transport.LogBuffer;
using Aivora.Transport.Protocol;
using static Aivora.Transport.Protocol.FrameLayout;

namespace Aivora.Transport.Driver;

/// <summary>Negative results of <see cref="NetworkPublication.Offer"/>, as values (Aeron's codes).</summary>
public static class OfferResult
{
    public const long NotConnected = -1;
    public const long BackPressured = -2;
    public const long AdminAction = -3;
    public const long Closed = -4;
    public const long MaxPositionExceeded = -5;
    public const long MessageTooLong = -10;
}

/// <summary>How a publication paces itself to its receivers' status messages (aeron-wire.md §12, <c>fc=</c>).</summary>
public enum FlowControl
{
    /// <summary>The fastest receiver sets the pace (Aeron's default; a unicast stream has one receiver anyway).</summary>
    Max,
    /// <summary>The slowest live receiver sets the pace; receivers silent for 5 s, or saying EOS, stop counting.</summary>
    Min,
}

/// <summary>Counters of one publication.</summary>
public struct PublicationCounters
{
    public long DataDatagramsSent, BytesSent, SetupsSent, HeartbeatsSent, StatusMessagesReceived, StatusMessagesRejected,
        NaksReceived, Retransmits, RetransmittedBytes, RttmReplies, ErrorsReceived, BackPressureEvents;
}

/// <summary>
/// A publication to one unicast endpoint or multicast group (aeron-wire.md §6–§12, the checklist in
/// §15): SETUP every 100 ms until the first SM (and again on an SM flagged SETUP), DATA up to the
/// flow-control limit, heartbeats after 100 ms idle once there has been a receiver, NAKed ranges
/// resent from the log with a 10 ms linger, RTTM replies, not-connected after 5 s without an SM,
/// and EOS heartbeats on close until an EOS SM or 5 s.
/// One socket sends and receives. Driven by <see cref="DoWork(long)"/> from the sender (a driver agent,
/// or the application's own thread in invoker mode); <see cref="Offer"/>, <see cref="TryClaim"/> and
/// <see cref="Close"/> may come from one other thread: what the two share is volatile.
/// </summary>
public sealed class NetworkPublication : IDisposable
{
    public const long SetupIntervalNs = 100_000_000;
    public const long HeartbeatIntervalNs = 100_000_000;
    public const long ConnectionTimeoutNs = 5_000_000_000;
    public const long DefaultLingerNs = 5_000_000_000;
    public const long RetransmitLingerNs = 10_000_000;

    internal const long ControlPollIntervalNs = 100_000;

    /// <summary>How often a quiet publication reads its control frames: one that sent nothing for this long, has
    /// nothing waiting and was not back-pressured, or has no receiver yet (SETUPs go every 100 ms anyway).</summary>
    internal const long QuietControlPollIntervalNs = 1_000_000;
    private long _timeOfLastDataNs = long.MinValue / 2, _backPressureSeen;
    private ControlPollSchedule _controlSchedule;
    private readonly UdpChannel _channel;
    private readonly UdpChannel _send;   // where DATA is queued in a batched pass: _channel, or a send socket shared with other publications
    private readonly SocketAddress _destination;
    private readonly PublicationLog _log;
    private readonly byte[] _frame = new byte[64];
    private readonly int _positionBitsToShift;
    private readonly int _ttl;
    private readonly FlowControl _flowControl;
    // Min flow control: each receiver's latest position and limit, by receiver id.
    private const int MaxTrackedReceivers = 16;
    public const long FlowControlReceiverTimeoutNs = 5_000_000_000;
    private readonly (long Id, long Position, long Limit, long LastSeenNs)[] _receivers = new (long, long, long, long)[MaxTrackedReceivers];
    private int _receiverCount;

    private long _senderPosition, _senderLimit, _lastSmPosition; // _lastSmPosition: volatile access
    private long _timeOfLastSetupNs = long.MinValue / 2, _timeOfLastDataOrHeartbeatNs, _timeOfLastSmNs;
    private volatile bool _connected, _closing, _isClosed;
    private bool _hadConnection; // Aeron's has_initial_connection: heartbeats go on even after receivers leave
    private bool _setupRequested = true, _endOfStreamAcknowledged;
    private long _closedAtNs;
    // Retransmit actions: a range, whether it is still to go, and until when it lingers (NAKs inside a
    // lingering range are ignored). Unicast keeps one, replaced by a NAK for another range; a group
    // (multicast) keeps up to 16 side by side, as the C driver's max-resend.
    private struct ResendAction
    {
        public long Position, Length, LingerUntilNs;
        public bool Pending;
    }

    private const int MaxGroupResends = 16;
    private readonly ResendAction[] _resends;
    private int _pendingResends;
    public PublicationCounters Counters;

    public PublicationLog Log => _log;
    public bool IsConnected => _connected;
    public bool IsClosed => _isClosed;
    public long Position => _log.TailPosition;
    /// <summary>Bytes the receiver has consumed, by its last SM.</summary>
    public long ReceiverPosition => Volatile.Read(ref _lastSmPosition);
    public IPEndPoint LocalEndPoint => _channel.LocalEndPoint;

    /// <summary>Where its DATA goes (the channel's endpoint).</summary>
    public IPEndPoint Endpoint { get; }
    public UdpChannel Channel => _channel;

    /// <summary>
    /// It may send its DATA through a send socket other publications share (from the same port as its own socket): in a pass
    /// where two or more of them have DATA waiting, each queues it there and the sender flushes that socket after its pass
    /// over them, in one <c>sendmmsg</c> (on this VM every system call costs ~1.7 us: one per publication with data was most
    /// of a node's time from a reply written to its last reply sent). Retransmits, SETUPs and heartbeats use its own socket.
    /// </summary>
    public bool SharesSendSocket => !ReferenceEquals(_send, _channel);

    /// <summary>How long a closed publication keeps sending EOS heartbeats and answering NAKs (channel <c>linger=</c>).</summary>
    public long LingerNs { get; init; } = DefaultLingerNs;

    /// <summary>Where the stream starts (channel <c>term-id</c> / <c>term-offset</c>); 0 unless set at construction.</summary>
    public long StartPosition
    {
        get;
        init
        {
            _log.StartAt(value);
            _senderPosition = _senderLimit = _lastSmPosition = field = value;
        }
    }
    /// <summary>Sending to a multicast group (SETUP carries the group flag; any receiver's SM keeps it connected).</summary>
    public bool IsMulticast { get; }
    /// <summary>Where it sends, for counters and logs.</summary>
    public string Label { get; }

    /// <summary>
    /// Sent before the other publications in each of the sender's duty cycles (<see cref="MediaDriver.AddPublication"/>'s
    /// <c>sendFirst</c>): a node's execution reports go out ahead of its market data, so an order's acknowledgement does not
    /// wait behind the multicast sends its own book change caused, and an owner hears of its fill before the public print.
    /// </summary>
    public bool SendFirst { get; init; }

    /// <param name="networkInterface">Multicast only: the interface to send from and listen on (default loopback).</param>
    /// <param name="ttl">Multicast only: hops, carried in SETUP.</param>
    /// <param name="connectSocket">Unicast only: connect the socket to the endpoint (the C driver's default; off when a
    /// multi-homed receiver may answer from another address than the one sent to).</param>
    /// <param name="sharedSend">Unicast and connected only: a send socket other publications share (bound with SO_REUSEPORT, not
    /// connected). This publication's own socket binds the same port and connects to the endpoint, so the receiver's control
    /// frames, sent back to the port the data came from, reach it alone; its DATA is queued on the shared socket, which its
    /// owner flushes for all of them at once (<see cref="SharesSendSocket"/>).</param>
    public NetworkPublication(IPEndPoint endpoint, int streamId, int sessionId, int initialTermId, int termLength = LogBufferDescriptor.DefaultTermLength,
        int mtu = DefaultMtu, DatagramIo io = DatagramIo.Auto, IPAddress? networkInterface = null, int ttl = 0, FlowControl flowControl = FlowControl.Max,
        bool connectSocket = true, UdpChannel? sharedSend = null, TermBufferPool? termBuffers = null)
    {
        if (sharedSend is not null && (UdpChannel.IsMulticast(endpoint.Address) || !connectSocket))
        {
            throw new ArgumentException("only a connected unicast publication can share a send socket", nameof(sharedSend));
        }

        _flowControl = flowControl;
        IsMulticast = UdpChannel.IsMulticast(endpoint.Address);
        _resends = new ResendAction[IsMulticast ? MaxGroupResends : 1];
        if (IsMulticast)
        {
            // Receivers send SM / NAK to the control group (data group + 1, same port): listen there (aeron-wire.md §12).
            var control = UdpChannel.ControlGroupOf(endpoint.Address);
            var itf = networkInterface ?? IPAddress.Loopback;
            _channel = UdpChannel.Bind(new IPEndPoint(control, endpoint.Port), io, batchLength: 4, slotLength: 2048, reuseAddress: true);
            _channel.JoinGroup(control, itf);
            _channel.SetMulticastSend(itf, ttl);
            _ttl = ttl;
        }
        else
        {
            // Control frames only come back here (SM, NAK, RTTM, ERR: all under 1.1 KB), from the
            // receiver's endpoint; connected to it, as the C driver's unicast send socket is by default.
            _channel = sharedSend is null
                ? UdpChannel.Bind(new IPEndPoint(IPAddress.Any, 0), io, batchLength: 4, slotLength: 2048)
                : UdpChannel.Bind(new IPEndPoint(IPAddress.Any, sharedSend.LocalEndPoint.Port), io, batchLength: 4, slotLength: 2048, reusePort: true);
            if (connectSocket) _channel.ConnectTo(endpoint);
        }
        _send = sharedSend ?? _channel;
        Endpoint = endpoint;
        _destination = endpoint.Serialize();
        Label = "pub " + endpoint;
        _log = new PublicationLog(sessionId, streamId, initialTermId, termLength, mtu, termBuffers);
        _termBuffers = termBuffers;
        _positionBitsToShift = LogBufferDescriptor.PositionBitsToShift(termLength);
    }

    /// <summary>A random session id outside Aeron's reserved [-1, 1000] (the C driver's choice).</summary>
    public static int RandomSessionId()
    {
        int sessionId;
        do sessionId = Random.Shared.Next(int.MinValue, int.MaxValue); while (sessionId is >= -1 and <= 1000);
        return sessionId;
    }

    /// <summary>Picks a random session id outside Aeron's reserved [-1, 1000] and a random initial term id.</summary>
    public static NetworkPublication Create(IPEndPoint endpoint, int streamId, int termLength = LogBufferDescriptor.DefaultTermLength, int mtu = DefaultMtu,
        DatagramIo io = DatagramIo.Auto, IPAddress? networkInterface = null, int ttl = 0, FlowControl flowControl = FlowControl.Max)
    {
        return new NetworkPublication(endpoint, streamId, RandomSessionId(), Random.Shared.Next(int.MinValue, int.MaxValue), termLength, mtu, io, networkInterface, ttl, flowControl);
    }

    /// <summary>Test hook: loss injection on the control frames this publication receives.</summary>
    public LossGenerator? ControlLoss { get => _channel.Loss; set => _channel.Loss = value; }

    /// <summary>
    /// Appends one message; returns the new stream position, or a negative <see cref="OfferResult"/>.
    /// Back-pressure holds the writer to the receiver's position plus half a term (Aeron's pub-wnd).
    /// </summary>
    public long Offer(ReadOnlySpan<byte> message)
    {
        if (message.Length > _log.MaxMessageLength) return _closing ? OfferResult.Closed : OfferResult.MessageTooLong;
        long refused = Admit(LogBufferDescriptor.FramedLength(message.Length, _log.MaxPayloadLength));
        if (refused != 0) return refused;
        long result = _log.Append(message);
        return result == AppendResult.MaxPositionExceeded ? OfferResult.MaxPositionExceeded : result;
    }

    /// <summary>
    /// Reserves room for one unfragmented message of <paramref name="length"/> bytes (at most the MTU
    /// payload) to encode in place through <paramref name="claim"/>, then Commit or Abort it. Returns the
    /// new stream position, or a negative <see cref="OfferResult"/> (the claim is then untouched).
    /// </summary>
    public long TryClaim(int length, ref BufferClaim claim)
    {
        if ((uint)length > (uint)_log.MaxPayloadLength) return _closing ? OfferResult.Closed : OfferResult.MessageTooLong;
        long refused = Admit(Align(DataHeaderLength + length));
        if (refused != 0) return refused;
        long result = _log.Claim(length, ref claim);
        return result == AppendResult.MaxPositionExceeded ? OfferResult.MaxPositionExceeded : result;
    }

    // The checks every write passes: open, connected, and within the publication window.
    private long Admit(int framedLength)
    {
        if (_closing || _isClosed) return OfferResult.Closed;
        if (!_connected) return OfferResult.NotConnected;
        if (_log.TailPosition + framedLength > Volatile.Read(ref _lastSmPosition) + _log.TermLength / 2)
        {
            Counters.BackPressureEvents++;
            return OfferResult.BackPressured;
        }
        return 0;
    }

    /// <summary>Starts end of stream: no more offers; EOS heartbeats follow once everything is sent.</summary>
    public void Close()
    {
        if (_closing) return;
        _closedAtNs = NanoClock.Now;
        _closing = true; // volatile write last: a sender that sees it also sees the close time
    }

    /// <summary>One duty cycle: read control frames, then send what is due. Returns the work done (0 = idle).</summary>
    public int DoWork(long nowNs) => DoWork(nowNs, ControlRead.OwnSchedule, batchSend: false);

    /// <summary>DATA is waiting to go out and the receiver's window has room for it (what the sender counts before a pass).</summary>
    internal bool HasDataToSend => _connected && _senderPosition < _log.TailPosition && _senderPosition < _senderLimit;

    /// <summary>
    /// Whether its control frames are read on the busy schedule (every <see cref="ControlPollIntervalNs"/>) rather than the
    /// quiet one: connected and sending (or sent within the quiet interval), back-pressured since the last look, or with
    /// retransmits pending. What the sender asks of each publication before it polls their sockets' readiness for all of them.
    /// </summary>
    internal bool ControlBusy(long nowNs) =>
        _connected && (nowNs - _timeOfLastDataNs < QuietControlPollIntervalNs || _senderPosition < _log.TailPosition
            || Volatile.Read(ref Counters.BackPressureEvents) != _backPressureSeen || _pendingResends > 0);

    /// <summary>
    /// One duty cycle, with its control frames read on its own schedule (<see cref="ControlRead.OwnSchedule"/>: a receive call
    /// each time one is due), or as the sender's readiness poll over every publication's socket said: frames are waiting
    /// (<see cref="ControlRead.Read"/>), none are (<see cref="ControlRead.NothingWaiting"/>), or no poll this pass
    /// (<see cref="ControlRead.NotPolled"/>). A closing publication reads every pass either way: the end-of-stream SM it waits for.
    /// </summary>
    /// <para>With <paramref name="batchSend"/> (the sender saw DATA waiting on two or more publications that share its send socket),
    /// this pass's DATA is queued on the shared socket for the sender's one flush; otherwise it goes out at once through this
    /// publication's own socket, connected (a lone reply skips the per-datagram route lookup an unconnected socket pays: ~0.24 us
    /// a datagram on this VM, against ~1.7 us a system call saved for each publication after the first).</para>
    internal int DoWork(long nowNs, ControlRead control, bool batchSend)
    {
        if (_isClosed) return 0;
        var channel = batchSend ? _send : _channel;   // where this pass's DATA goes (_send is _channel when not sharing)
        // Data first: it is what the latency path waits for. Control frames (SM, NAK, RTTM) are read
        // at most every 100 µs while connected: each check is a syscall on the thread that also waits
        // for the answer (invoker mode), and none of them is urgent at that scale (a NAK is answered at
        // most 100 µs late, the interval at which the C receiver repeats one; the flow-control window
        // is far larger than what is sent in 100 µs). Measured with `perf transport --quick`, three runs
        // each: every 20 µs gave ratio_p50 1.20-1.22 against the raw UDP floor, every 100 µs 1.12-1.16 (the floor as measured
        // then, before the harness matched each echo to its message: the two settings compared in the same harness).
        // A quiet publication (nothing sent for a millisecond, nothing waiting, never back-pressured since
        // the last look, or no receiver yet) reads them every millisecond: on a node with many streams
        // each idle socket read is a syscall on the engine's duty cycle.
        int work = _connected ? SendData(nowNs, channel) : 0;
        if (control == ControlRead.OwnSchedule)
        {
            if (_controlSchedule.IsDue(nowNs, ControlBusy(nowNs)) || _closing)
            {
                work += ReadControlFrames(nowNs);
            }
        }
        else if (control == ControlRead.Read || _closing)
        {
            work += ReadControlFrames(nowNs);
        }
        else if (control == ControlRead.NothingWaiting)
        {
            _backPressureSeen = Volatile.Read(ref Counters.BackPressureEvents);   // looked at, as a read that found nothing
        }

        if (_receiverCount > 0) ExpireSilentReceivers(nowNs);
        // No receiver for 5 s: offers see NotConnected. As the C driver, no SETUPs resume: heartbeats
        // go on, and a receiver that comes back asks for a SETUP (an SM flagged SETUP).
        if (_connected && nowNs - _timeOfLastSmNs > ConnectionTimeoutNs) _connected = false;
        if (_setupRequested && nowNs - _timeOfLastSetupNs >= SetupIntervalNs) work += SendSetup(nowNs);
        if (_pendingResends > 0) work += Resend(nowNs);
        if (_connected) work += SendData(nowNs, channel);
        // Heartbeats continue once there has been a receiver, connected or not: a receiver that
        // restarts hears them, asks for a SETUP and rejoins (capture 2).
        if (_hadConnection && nowNs - _timeOfLastDataOrHeartbeatNs >= HeartbeatIntervalNs) work += SendHeartbeat(nowNs);

        if (_closing && (_endOfStreamAcknowledged || nowNs - _closedAtNs > LingerNs || (!_connected && _senderPosition == _log.TailPosition)))
        {
            _isClosed = true;
        }
        return work;
    }

    /// <summary>Reads the control frames waiting on the socket (a receive call at least); back-pressure seen up to now counts as looked at.</summary>
    private int ReadControlFrames(long nowNs)
    {
        _backPressureSeen = Volatile.Read(ref Counters.BackPressureEvents);
        int work = 0;
        while (_channel.TryReceive(out var datagram, out _))
        {
            OnControlFrame(datagram, nowNs);
            work++;
            if (_channel.DrainedShortBatch) break;
        }

        return work;
    }

    private void OnControlFrame(Span<byte> datagram, long nowNs)
    {
        if (DatagramValidator.Validate(datagram) != DatagramVerdict.Valid) return;
        var header = new FrameHeader(datagram);
        switch (header.Type)
        {
            case FrameType.StatusMessage: OnStatusMessage(new StatusMessageFrame(datagram), header.Flags, nowNs); break;
            case FrameType.Nak: OnNak(new NakFrame(datagram), nowNs); break;
            case FrameType.Rttm: OnRttm(new RttmFrame(datagram)); break;
            case FrameType.Error: OnError(new ErrorFrame(datagram)); break;
        }
    }

    private void OnStatusMessage(StatusMessageFrame sm, byte flags, long nowNs)
    {
        if (sm.SessionId != _log.SessionId || sm.StreamId != _log.StreamId) return;
        Counters.StatusMessagesReceived++;
        if ((flags & FrameFlags.StatusSetup) != 0)
        {
            _setupRequested = true; // a receiver without our image: answer with SETUP, skip the position check
            _timeOfLastSetupNs = long.MinValue / 2;
            return;
        }
        int offset = sm.ConsumptionTermOffset, window = sm.ReceiverWindow;
        bool sane = (uint)offset < (uint)_log.TermLength && (offset & (Alignment - 1)) == 0 && window >= 0 && window <= _log.TermLength / 2;
        long position = LogBufferDescriptor.ComputePosition(sm.ConsumptionTermId, offset, _positionBitsToShift, _log.InitialTermId);
        // The C sender's window for a believable SM: half a term behind the send position to a term and a half ahead.
        if (!sane || position < _senderPosition - _log.TermLength / 2 || position > _senderPosition + _log.TermLength + _log.TermLength / 2)
        {
            Counters.StatusMessagesRejected++;
            return;
        }
        if ((flags & FrameFlags.StatusEndOfStream) != 0)
        {
            // Unicast: the one receiver left. Multicast: one of many left; the rest keep sending SMs.
            if (_flowControl == FlowControl.Min) ForgetReceiver(sm.ReceiverId);
            if (IsMulticast) return;
            _endOfStreamAcknowledged = _closing;
            _connected = false;
            return;
        }
        _timeOfLastSmNs = nowNs;
        if (!_connected)
        {
            _hadConnection = true;
            _connected = true;
            _setupRequested = false;
        }
        if (_flowControl == FlowControl.Min)
        {
            TrackReceiver(sm.ReceiverId, position, position + window, nowNs);
            return;
        }
        if (position > _lastSmPosition) Volatile.Write(ref _lastSmPosition, position);
        _senderLimit = Math.Max(_senderLimit, position + window);
    }

    private void TrackReceiver(long id, long position, long limit, long nowNs)
    {
        int i = 0;
        while (i < _receiverCount && _receivers[i].Id != id) i++;
        if (i < _receiverCount)
        {
            // SMs can arrive out of order: a receiver's position and limit only move forward.
            _receivers[i] = (id, Math.Max(position, _receivers[i].Position), Math.Max(limit, _receivers[i].Limit), nowNs);
        }
        else if (_receiverCount < MaxTrackedReceivers)
        {
            _receivers[_receiverCount++] = (id, position, limit, nowNs);
        }
        PaceToSlowest();
    }

    private void ForgetReceiver(long id)
    {
        for (int i = 0; i < _receiverCount; i++)
        {
            if (_receivers[i].Id != id) continue;
            _receivers[i] = _receivers[--_receiverCount];
            PaceToSlowest();
            return;
        }
    }

    // Min flow control: send no further than the slowest receiver allows, and hold the writer to its position.
    private void PaceToSlowest()
    {
        if (_receiverCount == 0) return;
        long position = long.MaxValue, limit = long.MaxValue;
        for (int i = 0; i < _receiverCount; i++)
        {
            position = Math.Min(position, _receivers[i].Position);
            limit = Math.Min(limit, _receivers[i].Limit);
        }
        _senderLimit = limit;
        Volatile.Write(ref _lastSmPosition, position);
    }

    private void ExpireSilentReceivers(long nowNs)
    {
        for (int i = _receiverCount - 1; i >= 0; i--)
        {
            if (nowNs - _receivers[i].LastSeenNs <= FlowControlReceiverTimeoutNs) continue;
            _receivers[i] = _receivers[--_receiverCount];
            PaceToSlowest();
        }
    }

    private void OnNak(NakFrame nak, long nowNs)
    {
        if (nak.SessionId != _log.SessionId || nak.StreamId != _log.StreamId) return;
        int offset = nak.TermOffset, length = nak.Length;
        if ((uint)offset >= (uint)_log.TermLength || (offset & (Alignment - 1)) != 0 || length < 0 || (long)offset + length > _log.TermLength) return;
        Counters.NaksReceived++;
        long position = LogBufferDescriptor.ComputePosition(nak.TermId, offset, _positionBitsToShift, _log.InitialTermId);
        long oldest = _senderPosition - _log.TermLength / 2 - _log.MaxMessageLength;
        if (position >= _senderPosition || position < Math.Max(StartPosition, oldest)) return;
        // One unicast action at a time; NAKs inside a range resent in the last 10 ms are ignored.
        int free = -1;
        for (int i = 0; i < _resends.Length; i++)
        {
            ref var action = ref _resends[i];
            bool live = action.Pending || nowNs < action.LingerUntilNs;
            if (live && position >= action.Position && position < action.Position + action.Length) return; // already resent or about to be
            if (!live && free < 0) free = i;
        }
        if (free < 0)
        {
            if (_resends.Length > 1) return; // a group's 16 actions are all busy: the receiver will NAK again
            free = 0;                        // unicast: the new range replaces the lingering one
        }
        ref var slot = ref _resends[free];
        if (!slot.Pending) _pendingResends++;
        slot.Position = position;
        slot.Length = Math.Min(Math.Min(length, _log.TermLength - offset), _senderPosition - position);
        slot.Pending = true;
    }

    // A receiver rejected our image (e.g. its application refused it): it is gone for pacing purposes.
    private void OnError(ErrorFrame error)
    {
        if (error.SessionId != _log.SessionId || error.StreamId != _log.StreamId) return;
        Counters.ErrorsReceived++;
        if (_flowControl == FlowControl.Min) ForgetReceiver(error.ReceiverId);
    }

    private void OnRttm(RttmFrame rttm)
    {
        if ((rttm.Header.Flags & FrameFlags.RttmReply) == 0 || rttm.SessionId != _log.SessionId || rttm.StreamId != _log.StreamId) return;
        _ = new RttmFrame(_frame.AsSpan(0, RttmLength))
        {
            SessionId = _log.SessionId, StreamId = _log.StreamId, EchoTimestamp = rttm.EchoTimestamp, ReceptionDelta = 0, ReceiverId = rttm.ReceiverId,
        };
        WriteHeader(_frame, RttmLength, 0, FrameType.Rttm);
        _channel.Send(_frame.AsSpan(0, RttmLength), _destination);
        Counters.RttmReplies++;
    }

    private int Resend(long nowNs)
    {
        int work = 0;
        for (int i = 0; i < _resends.Length; i++)
        {
            ref var action = ref _resends[i];
            if (!action.Pending) continue;
            long position = action.Position, end = action.Position + action.Length;
            while (position < end)
            {
                // Whole frames up to an MTU from the NAKed position, even when the NAK asked for less than
                // the frame there; never past what was sent.
                var datagram = _log.NextDatagram(position, (int)Math.Min(_log.Mtu, _senderPosition - position), out int advance);
                if (advance == 0) break;
                _channel.QueueSend(datagram, _destination);
                Counters.Retransmits++;
                Counters.RetransmittedBytes += datagram.Length;
                position += advance;
            }
            action.Pending = false;
            action.LingerUntilNs = nowNs + RetransmitLingerNs;
            work++;
        }
        _channel.FlushSends();
        _pendingResends = 0;
        return work;
    }

    /// <summary>What the window allows, queued on <paramref name="channel"/>: this publication's own (flushed here), or the shared send socket (flushed by the sender).</summary>
    private int SendData(long nowNs, UdpChannel channel)
    {
        int datagrams = 0;
        while (_senderPosition < _log.TailPosition && _senderPosition < _senderLimit && datagrams < 16)
        {
            int window = (int)Math.Min(_senderLimit - _senderPosition, int.MaxValue);
            var datagram = _log.NextDatagram(_senderPosition, window, out int advance);
            if (advance == 0) break;
            channel.QueueSend(datagram, _destination, _channel); // batched: one sendmmsg per few datagrams; failures count to this publication's channel
            _senderPosition += advance;
            _timeOfLastDataNs = nowNs;
            Counters.DataDatagramsSent++;
            Counters.BytesSent += datagram.Length;
            _timeOfLastDataOrHeartbeatNs = nowNs;
            datagrams++;
        }
        if (channel == _channel) channel.FlushSends();   // a shared one is flushed by the sender, for every publication on it
        return datagrams;
    }

    private int SendSetup(long nowNs)
    {
        _ = new SetupFrame(_frame.AsSpan(0, SetupLength))
        {
            TermOffset = LogBufferDescriptor.TermOffset(_senderPosition, _log.TermLength),
            SessionId = _log.SessionId, StreamId = _log.StreamId, InitialTermId = _log.InitialTermId,
            ActiveTermId = LogBufferDescriptor.TermId(_senderPosition, _positionBitsToShift, _log.InitialTermId),
            TermLength = _log.TermLength, Mtu = _log.Mtu, Ttl = _ttl,
        };
        WriteHeader(_frame, SetupLength, IsMulticast ? FrameFlags.SetupGroup : (byte)0, FrameType.Setup);
        _channel.Send(_frame.AsSpan(0, SetupLength), _destination);
        _timeOfLastSetupNs = nowNs;
        if (_connected) _setupRequested = false; // answered an SM flagged SETUP
        Counters.SetupsSent++;
        return 1;
    }

    private int SendHeartbeat(long nowNs)
    {
        bool endOfStream = _closing && _senderPosition == _log.TailPosition;
        _ = new DataFrame(_frame.AsSpan(0, DataHeaderLength))
        {
            TermOffset = LogBufferDescriptor.TermOffset(_senderPosition, _log.TermLength), SessionId = _log.SessionId, StreamId = _log.StreamId,
            TermId = LogBufferDescriptor.TermId(_senderPosition, _positionBitsToShift, _log.InitialTermId), ReservedValue = 0,
        };
        WriteHeader(_frame, 0, (byte)(FrameFlags.Unfragmented | (endOfStream ? FrameFlags.EndOfStream : 0)), FrameType.Data);
        _channel.Send(_frame.AsSpan(0, DataHeaderLength), _destination);
        _timeOfLastDataOrHeartbeatNs = nowNs;
        Counters.HeartbeatsSent++;
        return 1;
    }

    private static void WriteHeader(Span<byte> frame, int frameLength, byte flags, FrameType type) =>
        _ = new FrameHeader(frame) { FrameLength = frameLength, Version = CurrentVersion, Flags = flags, Type = type };

    /// <summary>
    /// Closes its socket, and returns its log's partitions to the pool they came from (the sender disposes a publication once
    /// it has closed and lingered: nothing offers to it or sends from it any more). Once only.
    /// </summary>
    public void Dispose()
    {
        _channel.Dispose();
        if (_termBuffers is { } pool && !_logReturned)
        {
            _logReturned = true;
            pool.Return(_log.Partitions);
        }
    }

    private readonly TermBufferPool? _termBuffers;
    private bool _logReturned;
}

/// <summary>
/// When to look for a publication's control frames: every <see cref="NetworkPublication.ControlPollIntervalNs"/> while it is busy
/// (<see cref="NetworkPublication.ControlBusy"/>), every <see cref="NetworkPublication.QuietControlPollIntervalNs"/> when quiet,
/// and at once when it has just become busy. Kept by a publication driven on its own, and by the sender for its readiness poll
/// over all of them (busy while any is).
/// </summary>
internal struct ControlPollSchedule
{
    private long _nextNs;

    /// <summary>Whether a look is due now; when it is, the next one is scheduled from now.</summary>
    public bool IsDue(long nowNs, bool busy)
    {
        if (busy && _nextNs - nowNs > NetworkPublication.ControlPollIntervalNs) _nextNs = nowNs;   // woke up: look now
        if (nowNs < _nextNs) return false;
        _nextNs = nowNs + (busy ? NetworkPublication.ControlPollIntervalNs : NetworkPublication.QuietControlPollIntervalNs);
        return true;
    }
}

/// <summary>How a publication's duty cycle reads its control frames (see <see cref="NetworkPublication.DoWork(long, ControlRead, bool)"/>).</summary>
internal enum ControlRead
{
    /// <summary>Driven alone: a receive call each time its own schedule says.</summary>
    OwnSchedule,

    /// <summary>The sender did not poll the sockets this pass.</summary>
    NotPolled,

    /// <summary>Polled: nothing waiting on its socket (back-pressure so far counts as looked at).</summary>
    NothingWaiting,

    /// <summary>Polled: control frames waiting (or held back by a loss generator): read them.</summary>
    Read,
}
