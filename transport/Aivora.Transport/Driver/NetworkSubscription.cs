using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using Aivora.Transport.LogBuffer;
using Aivora.Transport.Protocol;
using Aivora.Transport.Subscription;
using static Aivora.Transport.Protocol.FrameLayout;

namespace Aivora.Transport.Driver;

/// <summary>Counters of one subscription's receive endpoint.</summary>
public struct SubscriptionCounters
{
    public long DatagramsReceived, Malformed, SetupsReceived, SetupsRejected, StatusMessagesSent, NaksSent, SetupsElicited,
        ImagesAvailable, ImagesUnavailable, OtherStreams, SetupsIgnoredInCoolDown, GapsFilled;
    /// <summary>Time the receiver spent creating images (each SETUP that made one, to its SM sent and its listener told), in
    /// all and the longest one, ns: in a node's invoker mode a hold of the engine thread.</summary>
    public long ImageCreationNs, LongestImageCreationNs;
    /// <summary>Logs of ended images given back to the driver's pool for the next image (see NetworkSubscription.ImageLogs).</summary>
    public long ImageLogsReturned;
}

/// <summary>Image lifecycle notifications (cold path).</summary>
public interface IImageListener
{
    void OnAvailable(Image image);
    void OnUnavailable(Image image);
}

/// <summary>
/// A subscription bound to a unicast endpoint for one stream (aeron-wire.md §6–§10, checklist §15):
/// a SETUP creates an image at the sender's position and is answered at once with an SM; SMs go
/// every 200 ms or when consumption moves past a quarter window; gaps are NAKed (first at once,
/// repeated every 100 µs while they last); data from an unknown session elicits a SETUP; an image
/// ends on an EOS heartbeat once consumed, or after 10 s of silence; closing sends EOS SMs.
/// <see cref="DoWork(long)"/> belongs to the receiver (a driver agent, or the application in invoker mode)
/// and <see cref="Poll{THandler}"/> to the application: the image list the application sees is an
/// array the receiver replaces (never mutates) when images come and go. Listener callbacks run on
/// the receiver's thread.
/// </summary>
public sealed class NetworkSubscription : IDisposable
{
    public const long StatusMessageIntervalNs = 200_000_000;
    public const long NakRetryNs = 100_000;
    public const long DefaultImageLivenessNs = 10_000_000_000;
    public const long PendingSetupNs = 1_000_000_000;
    /// <summary>How long a session whose image ended is ignored (no new image, no SETUP request).</summary>
    public const long CoolDownNs = 1_000_000_000;
    /// <summary>Multicast NAKs wait a random time up to this, so that one loss seen by many receivers is not NAKed by all at once.</summary>
    public const long MulticastNakMaxBackoffNs = 10_000_000;
    private const int MaxImages = 16;

    private readonly UdpChannel _channel;
    private readonly byte[] _frame = new byte[64];
    private ImageState[] _images = [];   // receiver only
    private Image[] _published = [];      // the application's view: replaced whole, read with acquire
    private readonly IImageListener? _listener;
    private readonly int _initialWindow;
    private int _nextImageToPoll;
    private bool _logPagesUnmapped;   // some image's log has pages its receiver has yet to map (receiver only)
    private long _polls;                // Polls begun (the application's thread writes it, the receiver reads it)
    private readonly List<(byte[][] Log, long DueNs, long Polls)> _retiredLogs = [];   // receiver only
    private long _pendingSetupSession = long.MinValue, _pendingSetupUntilNs;
    private readonly SocketAddress? _controlGroup;   // multicast: where all control frames go
    private readonly Random _nakBackoff = new();
    // Sessions whose image ended recently: their stray packets and SETUPs do not bring the image
    // back for CoolDownNs (the C driver's IMAGE_COOL_DOWN state, here with a fixed span).
    private readonly (int SessionId, long UntilNs)[] _coolDown = new (int, long)[MaxImages];
    public SubscriptionCounters Counters;

    public int StreamId { get; }
    public long ReceiverId { get; } = Random.Shared.NextInt64();
    /// <summary>When set, only this session gets an image; other publishers on the endpoint are ignored.</summary>
    public int? SessionFilter { get; init; }

    /// <summary>False: gaps are not NAKed but filled with padding when found, and delivery moves on (channel <c>reliable=false</c>).</summary>
    public bool Reliable { get; init; } = true;

    /// <summary>
    /// The driver's pool of logs that ended images leave (null: an image's log is left to the collector when it ends): a new
    /// image takes one when there is one, instead of allocating three terms and mapping their pages, and a reconnecting client
    /// allocates nothing. It holds only images' logs: not the publications' pool, which is reserved up front (images on
    /// logs reserved before trading answered the main command's clients 1.6-4 us slower at p50, for a reason not found).
    /// </summary>
    internal TermBufferPool? ImageLogs { get; init; }

    /// <summary>How long after its image ended a log stays out of the pool at least (1 s; see ReturnRetiredLogs).</summary>
    internal long RetiredLogLingerNs { get; init; } = 1_000_000_000;

    /// <summary>Silence after which an image is gone (Aeron's image liveness timeout, 10 s by default).</summary>
    public long ImageLivenessNs { get; init; } = DefaultImageLivenessNs;
    public IPEndPoint LocalEndPoint => _channel.LocalEndPoint;
    public UdpChannel Channel => _channel;
    public bool IsMulticast { get; }
    /// <summary>Where it listens, for counters and logs.</summary>
    public string Label { get; }
    public int ImageCount => Volatile.Read(ref _published).Length;
    public Image ImageAt(int index) => Volatile.Read(ref _published)[index];
    /// <summary>The images now, as one consistent array (do not modify).</summary>
    internal Image[] ImageSnapshot => Volatile.Read(ref _published);

    /// <summary>Test hook: loss injection on the data this subscription receives.</summary>
    public LossGenerator? Loss { get => _channel.Loss; set => _channel.Loss = value; }

    // SourceAddress names the image (with the session); ControlAddress is where its SMs and NAKs go:
    // the sender itself on unicast, the control group on multicast.
    private sealed class ImageState(Image image, SocketAddress sourceAddress, SocketAddress controlAddress, int window)
    {
        public readonly Image Image = image;
        public readonly SocketAddress SourceAddress = sourceAddress;
        public readonly SocketAddress ControlAddress = controlAddress;
        public readonly int Window = window;
        public long LastSmPosition, TimeOfLastSmNs, TimeOfLastPacketNs, NakDueNs;
        public long LastNakPosition = -1;
    }

    /// <param name="networkInterface">Multicast only: the interface to join the group on (default loopback).</param>
    public NetworkSubscription(IPEndPoint endpoint, int streamId, IImageListener? listener = null, int receiverWindow = 128 * 1024,
        DatagramIo io = DatagramIo.Auto, IPAddress? networkInterface = null)
    {
        IsMulticast = UdpChannel.IsMulticast(endpoint.Address);
        _channel = UdpChannel.Bind(endpoint, io, reuseAddress: IsMulticast); // several subscribers on one host may share a group
        if (IsMulticast)
        {
            // Data arrives on the group; SMs, NAKs and SETUP requests go to its control group (aeron-wire.md §12).
            _channel.JoinGroup(endpoint.Address, networkInterface ?? IPAddress.Loopback);
            _channel.SetMulticastSend(networkInterface ?? IPAddress.Loopback, 1);
            _controlGroup = new IPEndPoint(UdpChannel.ControlGroupOf(endpoint.Address), endpoint.Port).Serialize();
        }
        Label = "sub " + _channel.LocalEndPoint;
        StreamId = streamId;
        _listener = listener;
        _initialWindow = receiverWindow;
    }

    /// <summary>Delivers up to <paramref name="fragmentLimit"/> fragments, fairly across images.</summary>
    public int Poll<THandler>(ref THandler handler, int fragmentLimit) where THandler : struct, IFragmentHandler
    {
        Volatile.Write(ref _polls, _polls + 1);   // before the images are read: see ReturnRetiredLogs
        var images = Volatile.Read(ref _published);
        int delivered = 0;
        for (int i = 0; i < images.Length && delivered < fragmentLimit; i++)
        {
            int index = (_nextImageToPoll + i) % images.Length;
            delivered += images[index].Poll(ref handler, fragmentLimit - delivered);
        }
        if (images.Length > 0) _nextImageToPoll = (_nextImageToPoll + 1) % images.Length;
        return delivered;
    }

    /// <summary>One duty cycle: read datagrams, then send SMs and NAKs that are due and retire dead images; a cycle that read
    /// nothing maps one more page of a new image's log (<see cref="Image"/>).</summary>
    public int DoWork(long nowNs)
    {
        int logPages = 1;
        return DoWork(nowNs, receive: true, ref logPages);
    }

    /// <summary>The socket's descriptor, for the receiver's readiness poller.</summary>
    internal int Descriptor => _channel.Descriptor;

    /// <summary>Native datagram I/O: a socket a readiness poller can watch.</summary>
    internal bool IsNative => _channel.Io == DatagramIo.Native;

    /// <summary>Datagrams already read from the socket (or held back by the loss generator) and not yet handed out.</summary>
    internal bool HasPendingInput => _channel.HasPending;

    /// <summary>One duty cycle; with <paramref name="receive"/> false (the receiver's poller saw no data on the socket and
    /// nothing is pending) the socket is not asked, and only the images' timers run (SMs, NAKs, liveness). A cycle that read
    /// nothing maps a page of a new image's log if <paramref name="logPagesToFault"/> (the receiver's budget for its pass:
    /// one page, ~10 us when the memory is fresh on this VM) allows, and takes it from the budget.</summary>
    internal int DoWork(long nowNs, bool receive, ref int logPagesToFault)
    {
        int work = 0;
        while (receive && work < 64 && _channel.TryReceive(out var datagram, out var source))
        {
            OnDatagram(datagram, source, nowNs);
            work++;
            if (_channel.DrainedShortBatch) break; // the socket was empty just now: poll before asking again
        }
        if (work == 0 && logPagesToFault > 0 && _logPagesUnmapped && FaultInLogPage())
        {
            logPagesToFault--;
            work++;
        }
        for (int i = _images.Length - 1; i >= 0; i--) work += Service(i, nowNs);
        if (_retiredLogs.Count > 0) work += ReturnRetiredLogs(nowNs);
        return work;
    }

    /// <summary>Sends EOS SMs to every image's sender and drops the images.</summary>
    public void Close()
    {
        for (int i = _images.Length - 1; i >= 0; i--)
        {
            SendStatusMessage(_images[i], FrameFlags.StatusEndOfStream, NanoClock.Now);
            Retire(i);
        }
    }

    private void OnDatagram(Span<byte> datagram, SocketAddress source, long nowNs)
    {
        Counters.DatagramsReceived++;
        if (DatagramValidator.Validate(datagram) != DatagramVerdict.Valid)
        {
            Counters.Malformed++;
            return;
        }
        var type = new FrameHeader(datagram).Type;
        if (type == FrameType.Setup)
        {
            OnSetup(new SetupFrame(datagram), source, nowNs);
            return;
        }
        if (type is not (FrameType.Data or FrameType.Pad)) return;

        int sessionId = BinaryPrimitives.ReadInt32LittleEndian(datagram[SessionIdOffset..]);
        if (BinaryPrimitives.ReadInt32LittleEndian(datagram[StreamIdOffset..]) != StreamId)
        {
            Counters.OtherStreams++;
            return;
        }
        int index = Find(sessionId, source);
        if (index < 0)
        {
            // A stream that is ending (EOS flag) or whose image just ended is not asked back (as the C driver).
            bool endOfStream = (datagram[FlagsOffset] & FrameFlags.EndOfStream) != 0;
            bool wanted = SessionFilter is not { } only || only == sessionId;
            if (wanted && !endOfStream && !InCoolDown(sessionId, nowNs)) ElicitSetup(sessionId, source, nowNs);
            return;
        }
        var state = _images[index];
        var outcome = state.Image.OnDataPacket(datagram);
        if (outcome == PacketOutcome.Malformed) Counters.Malformed++;
        else state.TimeOfLastPacketNs = nowNs;
    }

    private void OnSetup(SetupFrame setup, SocketAddress source, long nowNs)
    {
        if (setup.StreamId != StreamId || (SessionFilter is { } only && only != setup.SessionId)) return;
        Counters.SetupsReceived++;
        int termLength = setup.TermLength, termOffset = setup.TermOffset, mtu = setup.Mtu;
        bool valid = LogBufferDescriptor.IsValidTermLength(termLength) && (uint)termOffset < (uint)termLength && (termOffset & (Alignment - 1)) == 0
            && mtu >= DataHeaderLength && mtu <= MaxUdpPayloadLength && (mtu & (Alignment - 1)) == 0;
        int window = Math.Min(_initialWindow, termLength / 2);
        if (!valid || mtu > window)
        {
            Counters.SetupsRejected++;
            return;
        }
        int existing = Find(setup.SessionId, source);
        if (existing >= 0)
        {
            SendStatusMessage(_images[existing], 0, nowNs); // a repeated SETUP: our SM was lost
            return;
        }
        if (InCoolDown(setup.SessionId, nowNs))
        {
            Counters.SetupsIgnoredInCoolDown++; // a lingering sender of an image that just ended: no new image for it
            return;
        }
        if (_images.Length == MaxImages)
        {
            Counters.SetupsRejected++;
            return;
        }

        // Cold path: a new image and a copy of the sender's address.
        long creating = Stopwatch.GetTimestamp();
        var sourceCopy = new SocketAddress(source.Family, source.Size);
        source.Buffer.Span.CopyTo(sourceCopy.Buffer.Span);
        var image = new Image(setup.SessionId, setup.StreamId, setup.InitialTermId, setup.ActiveTermId, termOffset, termLength,
            ImageLogs is { } pool && pool.TryRent(termLength, out var reused) ? reused : null);
        var state = new ImageState(image, sourceCopy, _controlGroup ?? sourceCopy, window) { TimeOfLastPacketNs = nowNs };
        Publish([.. _images, state]);
        _logPagesUnmapped = true;
        if (_pendingSetupSession == setup.SessionId) _pendingSetupSession = long.MinValue;
        Counters.ImagesAvailable++;
        SendStatusMessage(state, 0, nowNs);
        _listener?.OnAvailable(image);
        long took = (long)Stopwatch.GetElapsedTime(creating).TotalNanoseconds;
        Counters.ImageCreationNs += took;
        Counters.LongestImageCreationNs = Math.Max(Counters.LongestImageCreationNs, took);
    }

    // The first image (in order of creation) whose log has pages left takes its next one; none: nothing is left to map.
    private bool FaultInLogPage()
    {
        foreach (var state in _images)
        {
            if (state.Image.FaultInNextLogPage()) return true;
        }
        _logPagesUnmapped = false;
        return false;
    }

    private int Service(int index, long nowNs)
    {
        var state = _images[index];
        var image = state.Image;
        if (image.IsEndOfStream || nowNs - state.TimeOfLastPacketNs > ImageLivenessNs)
        {
            SendStatusMessage(state, FrameFlags.StatusEndOfStream, nowNs);
            Retire(index);
            return 1;
        }

        int work = 0;
        if (image.SubscriberPosition - state.LastSmPosition > state.Window / 4 || nowNs - state.TimeOfLastSmNs >= StatusMessageIntervalNs)
        {
            SendStatusMessage(state, 0, nowNs);
            work++;
        }
        if (image.TryFindGap(out int termId, out int termOffset, out int length))
        {
            long gap = LogBufferDescriptor.ComputePosition(termId, termOffset, image.PositionBitsToShift, image.InitialTermId);
            if (gap != state.LastNakPosition)
            {
                // A new gap: NAK at once on unicast, after a random back-off on multicast.
                state.LastNakPosition = gap;
                state.NakDueNs = nowNs + NakDelay();
            }
            if (nowNs >= state.NakDueNs && !Reliable)
            {
                // Unreliable: what is missing when the NAK would go is given up, and delivery moves on.
                image.FillGap(termId, termOffset, length);
                Counters.GapsFilled++;
                work++;
            }
            else if (nowNs >= state.NakDueNs)
            {
                _ = new NakFrame(_frame.AsSpan(0, NakLength)) { SessionId = image.SessionId, StreamId = StreamId, TermId = termId, TermOffset = termOffset, Length = length };
                _ = new FrameHeader(_frame) { FrameLength = NakLength, Version = CurrentVersion, Flags = 0, Type = FrameType.Nak };
                _channel.Send(_frame.AsSpan(0, NakLength), state.ControlAddress);
                state.NakDueNs = nowNs + (IsMulticast ? NakDelay() : NakRetryNs); // repeated while the gap stays
                Counters.NaksSent++;
                work++;
            }
        }
        return work;
    }

    private void SendStatusMessage(ImageState state, byte flags, long nowNs)
    {
        var image = state.Image;
        long position = image.SubscriberPosition;
        _ = new StatusMessageFrame(_frame.AsSpan(0, StatusMessageLength))
        {
            SessionId = image.SessionId, StreamId = StreamId,
            ConsumptionTermId = LogBufferDescriptor.TermId(position, image.PositionBitsToShift, image.InitialTermId),
            ConsumptionTermOffset = LogBufferDescriptor.TermOffset(position, image.TermLength),
            ReceiverWindow = state.Window, ReceiverId = ReceiverId,
        };
        _ = new FrameHeader(_frame) { FrameLength = StatusMessageLength, Version = CurrentVersion, Flags = flags, Type = FrameType.StatusMessage };
        _channel.Send(_frame.AsSpan(0, StatusMessageLength), state.ControlAddress);
        state.LastSmPosition = position;
        state.TimeOfLastSmNs = nowNs;
        Counters.StatusMessagesSent++;
    }

    private long NakDelay() => IsMulticast ? _nakBackoff.NextInt64(MulticastNakMaxBackoffNs) : 0;

    // Data from a session we have no image for: ask its sender for a SETUP, at most once a second.
    private void ElicitSetup(int sessionId, SocketAddress source, long nowNs)
    {
        if (_pendingSetupSession == sessionId && nowNs < _pendingSetupUntilNs) return;
        _ = new StatusMessageFrame(_frame.AsSpan(0, StatusMessageLength))
        {
            SessionId = sessionId, StreamId = StreamId, ConsumptionTermId = 0, ConsumptionTermOffset = 0, ReceiverWindow = 0, ReceiverId = ReceiverId,
        };
        _ = new FrameHeader(_frame) { FrameLength = StatusMessageLength, Version = CurrentVersion, Flags = FrameFlags.StatusSetup, Type = FrameType.StatusMessage };
        _channel.Send(_frame.AsSpan(0, StatusMessageLength), _controlGroup ?? source);
        _pendingSetupSession = sessionId;
        _pendingSetupUntilNs = nowNs + PendingSetupNs;
        Counters.SetupsElicited++;
    }

    private int Find(int sessionId, SocketAddress source)
    {
        for (int i = 0; i < _images.Length; i++)
        {
            if (_images[i].Image.SessionId == sessionId && _images[i].SourceAddress.Equals(source)) return i;
        }
        return -1;
    }

    private bool InCoolDown(int sessionId, long nowNs)
    {
        foreach (var (session, until) in _coolDown)
        {
            if (session == sessionId && nowNs < until) return true;
        }
        return false;
    }

    private void StartCoolDown(int sessionId, long nowNs)
    {
        int slot = 0;
        for (int i = 1; i < _coolDown.Length; i++)
        {
            if (_coolDown[i].UntilNs < _coolDown[slot].UntilNs) slot = i; // reuse the oldest
        }
        _coolDown[slot] = (sessionId, nowNs + CoolDownNs);
    }

    private void Retire(int index)
    {
        var image = _images[index].Image;
        long nowNs = NanoClock.Now;
        StartCoolDown(image.SessionId, nowNs);
        Publish([.. _images.AsSpan(0, index), .. _images.AsSpan(index + 1)]);
        image.Close();
        if (ImageLogs is not null)
        {
            Interlocked.MemoryBarrier();   // the new image list out before the poll count is read (ReturnRetiredLogs)
            _retiredLogs.Add((image.Log, nowNs + RetiredLogLingerNs, Volatile.Read(ref _polls)));
        }
        Counters.ImagesUnavailable++;
        _listener?.OnUnavailable(image);
    }

    // A retired image's log goes back to the driver's pool for the next image once nothing can still be reading it: the
    // application has started a Poll since the retirement (so it holds the image list without it: Poll counts itself before
    // it reads the list, and Retire counts after it published the list, with a full fence between), and a linger has passed
    // (RetiredLogLingerNs, for whoever holds the Image itself from ImageAt: it is closed, and a Poll begun before that ends
    // long before). Returning clears the log on this thread (its pages mapped: ~30 us for 3 x 1 MiB here).
    private int ReturnRetiredLogs(long nowNs)
    {
        int returned = 0;
        long polls = Volatile.Read(ref _polls);
        for (int i = _retiredLogs.Count - 1; i >= 0; i--)
        {
            var (log, dueNs, pollsAtRetirement) = _retiredLogs[i];
            if (nowNs < dueNs || polls == pollsAtRetirement) continue;
            _retiredLogs.RemoveAt(i);
            ImageLogs!.Return(log);
            Counters.ImageLogsReturned++;
            returned++;
        }
        return returned;
    }

    // Cold path: images come and go by replacing both arrays, so a concurrent Poll sees one whole list.
    private void Publish(ImageState[] images)
    {
        _images = images;
        var published = new Image[images.Length];
        for (int i = 0; i < images.Length; i++) published[i] = images[i].Image;
        Volatile.Write(ref _published, published);
    }

    public void Dispose() => _channel.Dispose();
}
