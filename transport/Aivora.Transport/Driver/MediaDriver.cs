using System.Net;
using Aivora.Transport.Agents;
using Aivora.Transport.Counters;
using Aivora.Transport.LogBuffer;
using Aivora.Transport.Uri;

namespace Aivora.Transport.Driver;

/// <summary>How the driver's three agents (conductor, sender, receiver) get threads.</summary>
public enum ThreadingMode
{
    /// <summary>A thread each.</summary>
    Dedicated,
    /// <summary>Sender and receiver share one thread; the conductor has its own.</summary>
    SharedNetwork,
    /// <summary>All three on one thread.</summary>
    Shared,
    /// <summary>No threads: the application calls <see cref="MediaDriver.DoWork"/> from its own loop (the engine's mode on two cores).</summary>
    Invoker,
}

/// <summary>Driver settings. Idle strategies are factories: each thread gets its own instance.</summary>
public sealed class DriverOptions
{
    public ThreadingMode ThreadingMode { get; init; } = ThreadingMode.Invoker;
    public Func<IIdleStrategy> SenderIdle { get; init; } = () => new BackoffIdleStrategy();
    public Func<IIdleStrategy> ReceiverIdle { get; init; } = () => new BackoffIdleStrategy();
    /// <summary>For the thread sender and receiver share (shared-network), or all three share (shared).</summary>
    public Func<IIdleStrategy> SharedIdle { get; init; } = () => new BackoffIdleStrategy();
    public Func<IIdleStrategy> ConductorIdle { get; init; } = () => new SleepingIdleStrategy(1);
    /// <summary>CPUs to pin the sender, receiver and conductor (or shared) threads to; -1 leaves one to the OS.</summary>
    public int SenderCpu { get; init; } = -1;
    public int ReceiverCpu { get; init; } = -1;
    public int ConductorCpu { get; init; } = -1;
    public DatagramIo Io { get; init; } = DatagramIo.Auto;
    /// <summary>Connect unicast publications' sockets to their endpoint (the C driver's <c>connect</c>, on by default).</summary>
    public bool ConnectSendSockets { get; init; } = true;
    /// <summary>
    /// Unicast publications may send their DATA through one socket the driver owns (on by default): in a sender pass where two
    /// or more of them have DATA waiting, it leaves in one <c>sendmmsg</c> instead of one call each; a lone one sends through
    /// its own socket. Each keeps that socket of its own on the same port (SO_REUSEPORT), connected to its endpoint, for the
    /// control frames coming back and its SETUPs, heartbeats and retransmits. Needs Linux, native I/O and connected send
    /// sockets; a publication to an endpoint another sharing publication already sends to gets a port of its own (two
    /// connected sockets on one port with one peer could not tell their control frames apart).
    /// </summary>
    public bool ShareSendSocket { get; init; } = true;
    /// <summary>
    /// Seeded loss injection per direction, as Aeron's loss generators (tests and drills only): on the
    /// data this driver's subscriptions receive, and on the control frames (SM, NAK) its publications
    /// receive. Called once per subscription / publication with a running index, so each gets its own seed.
    /// </summary>
    public Func<int, LossGenerator>? DataLoss { get; init; }
    public Func<int, LossGenerator>? ControlLoss { get; init; }
    /// <summary>Where to publish counters for out-of-process readers; null for none.</summary>
    public string? CountersPath { get; init; }
}

/// <summary>
/// The embedded media driver: publications and subscriptions by channel URI, run by a sender, a
/// receiver and a conductor agent in the chosen <see cref="ThreadingMode"/>. Offer / TryClaim and
/// Poll stay on the application's thread; everything on the wire happens in the agents.
/// </summary>
public sealed class MediaDriver : IDisposable
{
    private readonly DriverOptions _options;
    private readonly List<NetworkPublication> _sharers = [];   // the publications on the shared send socket (closed ones pruned when one is added)
    private readonly SenderAgent _sender = new();
    private readonly ReceiverAgent _receiver = new();
    private readonly ConductorAgent _conductor;
    private readonly IAgent _invoked;
    private readonly List<AgentRunner> _runners = [];
    private readonly CountersFile? _counters;
    private bool _disposed;
    private int _publicationsAdded, _subscriptionsAdded;

    public ThreadingMode ThreadingMode => _options.ThreadingMode;
    public string? CountersPath => _counters?.Path;

    /// <summary>Agents that stopped on an exception (empty while healthy).</summary>
    public IEnumerable<(string Role, Exception Failure)> Failures =>
        _runners.Where(r => r.Failure is not null).Select(r => (r.RoleName, r.Failure!));

    private MediaDriver(DriverOptions options)
    {
        _options = options;
        _conductor = new ConductorAgent(this);
        _invoked = new CompositeAgent(_conductor, _sender, _receiver);
        if (options.CountersPath is { } path) _counters = new CountersFile(path);
    }

    public static MediaDriver Launch(DriverOptions? options = null)
    {
        var driver = new MediaDriver(options ?? new DriverOptions());
        var o = driver._options;
        switch (o.ThreadingMode)
        {
            case ThreadingMode.Dedicated:
                driver._runners.Add(new AgentRunner(driver._sender, o.SenderIdle(), o.SenderCpu));
                driver._runners.Add(new AgentRunner(driver._receiver, o.ReceiverIdle(), o.ReceiverCpu));
                driver._runners.Add(new AgentRunner(driver._conductor, o.ConductorIdle(), o.ConductorCpu));
                break;
            case ThreadingMode.SharedNetwork:
                driver._runners.Add(new AgentRunner(new CompositeAgent(driver._sender, driver._receiver), o.SharedIdle(), o.SenderCpu));
                driver._runners.Add(new AgentRunner(driver._conductor, o.ConductorIdle(), o.ConductorCpu));
                break;
            case ThreadingMode.Shared:
                driver._runners.Add(new AgentRunner(driver._invoked, o.SharedIdle(), o.SenderCpu));
                break;
        }
        return driver;
    }

    /// <summary>
    /// A publication on <paramref name="channel"/> (<c>aeron:udp?endpoint=host:port|mtu=|term-length=|session-id=</c>;
    /// a multicast endpoint takes <c>interface=</c> and <c>ttl=</c>).
    /// Bad URIs throw <see cref="FormatException"/> with the reason. With <paramref name="sendFirst"/> the sender visits it
    /// before the publications added without it, in every duty cycle (<see cref="NetworkPublication.SendFirst"/>).
    /// </summary>
    public NetworkPublication AddPublication(string channel, int streamId, bool sendFirst = false)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var uri = ChannelUri.Parse(channel);
        var endpoint = uri.Endpoint ?? throw new FormatException($"'{channel}': a publication needs endpoint=host:port");
        int initialTermId = uri.InitialTermId ?? Random.Shared.Next(int.MinValue, int.MaxValue);
        var publication = new NetworkPublication(endpoint, streamId, uri.SessionId ?? NetworkPublication.RandomSessionId(), initialTermId,
            uri.TermLength, uri.Mtu, _options.Io, uri.InterfaceAddress, uri.Ttl, uri.FlowControl, _options.ConnectSendSockets, SharedSendFor(endpoint), TermBuffers)
        {
            LingerNs = uri.LingerNs ?? NetworkPublication.DefaultLingerNs,
            SendFirst = sendFirst,
            // init-term-id, term-id and term-offset together: start the stream at that exact position.
            StartPosition = uri.TermId is { } termId
                ? LogBuffer.LogBufferDescriptor.ComputePosition(termId, uri.TermOffset!.Value, LogBuffer.LogBufferDescriptor.PositionBitsToShift(uri.TermLength), initialTermId)
                : 0,
        };
        if (publication.SharesSendSocket) _sharers.Add(publication);
        ApplySocketBuffers(publication.Channel, uri);
        if (_options.ControlLoss is { } controlLoss) publication.ControlLoss = controlLoss(_publicationsAdded);
        _publicationsAdded++;
        _sender.Add(publication);
        return publication;
    }

    // The driver's shared send socket for a new unicast publication to this endpoint, or null: sharing is off, not possible
    // here, or a live sharing publication already sends there (cold path: a publication is being added).
    private UdpChannel? SharedSendFor(IPEndPoint endpoint)
    {
        // SO_REUSEPORT's value and the kernel's preference for the connected socket whose peer matches are Linux's.
        var possible = _options.ShareSendSocket && _options.ConnectSendSockets && !UdpChannel.IsMulticast(endpoint.Address)
            && _options.Io != DatagramIo.Managed && OperatingSystem.IsLinux();
        if (!possible) return null;
        _sharers.RemoveAll(p => p.IsClosed);
        if (_sharers.Any(p => p.Endpoint.Equals(endpoint))) return null;
        if (_sender.SharedSend is null)
        {
            var channel = UdpChannel.BindSharedSend(_options.Io, SharedSendBatchLength);
            if (channel.Io != DatagramIo.Native)
            {
                channel.Dispose();   // managed I/O sends one datagram a call anyway: nothing to share
                return null;
            }

            _sender.SharedSend = channel;   // created with the first sharing publication, before it reaches the sender (through its queue)
        }

        return _sender.SharedSend;
    }

    /// <summary>
    /// The logs of this driver's publications, kept for reuse when they end (<see cref="TermBufferPool"/>): a publication added
    /// after another ended, or after <see cref="TermBufferPool.Reserve"/>, finds its partitions allocated and written already,
    /// instead of paying for every page on the thread that adds it. Images do not take theirs from here: a node whose images
    /// took reserved logs answered its clients 1.6-4 us slower at p50 in the main command (the time before decode; cause not
    /// found; 2026-12-02 and 12-03): an image allocates its log unwritten and maps it a page per idle receiver pass, or takes
    /// an ended image's (<see cref="ImageLogs"/>).
    /// </summary>
    public TermBufferPool TermBuffers { get; } = new();

    /// <summary>
    /// The logs of the images that ended, for the next images of this driver's subscriptions (a client that reconnects takes
    /// its last one's instead of a new allocation: three 1 MiB pinned terms a time, which set off full collections every few
    /// allocations and took up to ~13 ms each when the collector reused and zeroed memory, in a probe on this VM). Apart from
    /// <see cref="TermBuffers"/>: nothing is reserved here.
    /// </summary>
    public TermBufferPool ImageLogs { get; } = new();

    /// <summary>The shared send socket (<see cref="DriverOptions.ShareSendSocket"/>), once a publication uses it; tests read its send calls.</summary>
    internal UdpChannel? SharedSend => _sender.SharedSend;

    /// <summary>Datagrams the shared send socket queues before a full queue flushes itself: several sessions' replies in one call.</summary>
    public const int SharedSendBatchLength = 32;

    /// <summary>
    /// A subscription bound to <paramref name="channel"/>'s endpoint (<c>session-id=</c> admits one publisher,
    /// <c>reliable=false</c> fills gaps instead of NAKing, <c>rcv-wnd=</c> sets the window); image
    /// notifications arrive on the receiver's thread.
    /// </summary>
    public NetworkSubscription AddSubscription(string channel, int streamId, IImageListener? listener = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var uri = ChannelUri.Parse(channel);
        var endpoint = uri.Endpoint ?? throw new FormatException($"'{channel}': a subscription needs endpoint=host:port");
        var subscription = new NetworkSubscription(endpoint, streamId, listener, uri.ReceiverWindow ?? 128 * 1024, _options.Io, uri.InterfaceAddress)
        {
            SessionFilter = uri.SessionId, // session-id= on a subscription: only that publisher's images
            Reliable = uri.Reliable,
            ImageLogs = ImageLogs,
        };
        ApplySocketBuffers(subscription.Channel, uri);
        if (_options.DataLoss is { } dataLoss) subscription.Loss = dataLoss(_subscriptionsAdded);
        _subscriptionsAdded++;
        _receiver.Add(subscription);
        return subscription;
    }

    // so-rcvbuf= / so-sndbuf= from the channel, over the channel's 2 MiB defaults.
    private static void ApplySocketBuffers(UdpChannel channel, ChannelUri uri)
    {
        if (uri.SocketReceiveBuffer is { } receive) channel.Socket.ReceiveBufferSize = receive;
        if (uri.SocketSendBuffer is { } send) channel.Socket.SendBufferSize = send;
    }

    /// <summary>Closes a publication: end of stream is sent and lingers; the sender disposes it when done.</summary>
    public void Remove(NetworkPublication publication) => publication.Close();

    /// <summary>Closes a subscription: its senders get EOS SMs, then the receiver disposes it.</summary>
    public void Remove(NetworkSubscription subscription) => _receiver.Remove(subscription);

    /// <summary>
    /// <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> at which the sender last finished its send-first publications
    /// having done work on them (0: not yet): an application that writes replies to send-first publications reads when they
    /// left, before the other publications' turn in the same pass. Written by the sender (in invoker mode, <see cref="DoWork"/>).
    /// </summary>
    public long SendFirstDoneTimestamp => Volatile.Read(ref _sender.SendFirstDoneTimestamp);

    /// <summary>Invoker mode: one duty cycle of all three agents on the caller's thread. Returns the work done.</summary>
    public int DoWork()
    {
        if (_options.ThreadingMode != ThreadingMode.Invoker) throw new InvalidOperationException($"the driver runs its own threads ({_options.ThreadingMode}); DoWork is for invoker mode");
        return _invoked.DoWork(NanoClock.Now);
    }

    internal void PublishCounters() => _counters?.Publish(_sender.Publications, _receiver.Subscriptions, AgentFailureCount());

    private int AgentFailureCount()
    {
        int failures = 0;
        foreach (var runner in _runners) failures += runner.Failure is null ? 0 : 1;
        return failures;
    }

    /// <summary>Stops the agents (bounded wait), closes every publication and subscription, and releases the counters file.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        bool allStopped = true;
        foreach (var runner in _runners) allStopped &= runner.Stop(TimeSpan.FromSeconds(5));
        if (_runners.Count == 0) _invoked.OnClose();
        // An agent thread that did not stop may still write counters: leave the mapping to the process
        // rather than unmap memory under it.
        if (allStopped) _counters?.Dispose();
    }
}
