using System.Collections.Concurrent;
using Aivora.Transport.Agents;

namespace Aivora.Transport.Driver;

/// <summary>
/// The sender: every publication's duty cycle (control frames in, DATA / SETUP / heartbeats /
/// retransmits out), the send-first ones (<see cref="NetworkPublication.SendFirst"/>) first.
/// Publications arrive through a queue; the list is this agent's alone and is
/// replaced, never mutated, so the conductor can read a snapshot for counters. A closed
/// publication that finished lingering is disposed here, on the thread that used its socket.
/// With two or more publications, all on native sockets, their control frames (SMs, NAKs) are
/// read after one readiness poll over every socket, every 100 µs while any of them is busy and
/// every millisecond when all are quiet (each publication's own schedule), and only from the
/// sockets it reports: one system call where each publication made its own receive call on its
/// schedule (a node with a dozen sessions: ~50 a millisecond on the engine thread, 10-15 % of its
/// time on this VM).
/// </summary>
internal sealed class SenderAgent : IAgent
{
    private readonly ConcurrentQueue<NetworkPublication> _added = new();
    private NetworkPublication[] _publications = [];
    private int _sendFirstCount;
    private ReadinessPoller? _controlPoller;
    private bool[] _controlReady = [];
    private ControlPollSchedule _controlSchedule;

    public string RoleName => "sender";
    public NetworkPublication[] Publications => Volatile.Read(ref _publications);

    /// <summary>
    /// <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> at the end of the last pass over the send-first publications
    /// that did work (0: none yet): when what they held went out, before the others' turn. Written by the sender's thread.
    /// </summary>
    public long SendFirstDoneTimestamp;

    public void Add(NetworkPublication publication) => _added.Enqueue(publication);

    /// <summary>
    /// The driver's shared send socket (<see cref="DriverOptions.ShareSendSocket"/>), or null: the publications on it queue
    /// their DATA there, and this agent flushes it after the send-first publications and again at the end of each pass.
    /// Set by the driver before the first publication on it is added (the queue hands that one over after it).
    /// </summary>
    internal UdpChannel? SharedSend
    {
        get => Volatile.Read(ref _sharedSend);
        set => Volatile.Write(ref _sharedSend, value);   // written by the thread adding publications, read by this agent's
    }

    private UdpChannel? _sharedSend;

    public int DoWork(long nowNs)
    {
        int work = 0;
        if (!_added.IsEmpty)
        {
            var list = _publications.ToList(); // cold path: a publication came
            while (_added.TryDequeue(out var publication)) list.Add(publication);
            // Visited in this order every cycle: the send-first publications, then the others, each in the order added.
            Replace([.. list.Where(p => p.SendFirst), .. list.Where(p => !p.SendFirst)]);
            work++;
        }
        var publications = _publications;
        var polled = _controlPoller is not null && PollControlIfDue(nowNs, publications);
        // Each group (send-first, then the rest) batches its DATA on the shared send socket only when two or more of its
        // publications on that socket have some waiting: a lone one sends through its own connected socket.
        var shared = SharedSend;
        bool batchFirst = shared is not null && SharersWithData(publications, 0, _sendFirstCount) > 1;
        bool batchRest = shared is not null && SharersWithData(publications, _sendFirstCount, publications.Length) > 1;
        bool anyClosed = false;
        for (int i = 0; i < publications.Length; i++)
        {
            var publication = publications[i];
            var batch = i < _sendFirstCount ? batchFirst : batchRest;
            work += publication.DoWork(nowNs, _controlPoller is null ? ControlRead.OwnSchedule : !polled ? ControlRead.NotPolled
                    : _controlReady[i] || publication.Channel.HasPending ? ControlRead.Read : ControlRead.NothingWaiting, batch);
            anyClosed |= publication.IsClosed;
            if (i == _sendFirstCount - 1)
            {
                shared?.FlushSends();   // the send-first publications' DATA, in one call
                if (work > 0) Volatile.Write(ref SendFirstDoneTimestamp, System.Diagnostics.Stopwatch.GetTimestamp());
            }
        }
        shared?.FlushSends();
        if (anyClosed)
        {
            foreach (var publication in publications.Where(p => p.IsClosed)) publication.Dispose();
            Replace(publications.Where(p => !p.IsClosed).ToArray());
        }
        return work;
    }

    private static int SharersWithData(NetworkPublication[] publications, int from, int to)
    {
        int n = 0;
        for (int i = from; i < to; i++) n += publications[i].SharesSendSocket && publications[i].HasDataToSend ? 1 : 0;
        return n;
    }

    // Whether the publications' sockets were polled for readiness this pass (_controlReady then says which have frames): at
    // the busy interval while any publication is busy (at once when one has just become so), at the quiet one otherwise.
    private bool PollControlIfDue(long nowNs, NetworkPublication[] publications)
    {
        var busy = false;
        foreach (var publication in publications) busy |= publication.ControlBusy(nowNs);
        if (!_controlSchedule.IsDue(nowNs, busy)) return false;
        _controlPoller!.Poll(_controlReady);   // on failure every entry is set: each socket is asked, as without a poller
        return true;
    }

    // The list, send-first publications first, and how many of them lead it, and the readiness poller over their sockets:
    // replaced together, on the sender's thread (cold).
    private void Replace(NetworkPublication[] publications)
    {
        Volatile.Write(ref _publications, publications);
        _sendFirstCount = publications.Count(p => p.SendFirst);
        _controlPoller?.Dispose();
        _controlPoller = publications.Length < 2 || publications.Any(p => p.Channel.Io != DatagramIo.Native) ? null
            : ReadinessPoller.TryCreateFor(publications, p => p.Channel.Descriptor);
        _controlReady = new bool[publications.Length];
        _controlSchedule = default;
    }

    public void OnClose()
    {
        while (_added.TryDequeue(out var publication)) publication.Dispose();
        foreach (var publication in _publications) publication.Dispose();
        Replace([]);
        SharedSend?.FlushSends();
        SharedSend?.Dispose();
    }
}

/// <summary>
/// The receiver: every subscription's duty cycle (datagrams into images, SMs, NAKs, image
/// lifecycle); with two or more sockets, only those a readiness poller reports (or with datagrams
/// pending) are read. Subscriptions come and go through queues; closing one (EOS SMs, dispose)
/// happens here, on the thread that owns its socket.
/// </summary>
internal sealed class ReceiverAgent : IAgent
{
    private readonly ConcurrentQueue<NetworkSubscription> _added = new(), _removed = new();
    private NetworkSubscription[] _subscriptions = [];
    // Two or more native sockets: one epoll_wait says which have data (ReadinessPoller), instead of a receive call on each.
    private ReadinessPoller? _poller;
    private bool[] _ready = [];

    public string RoleName => "receiver";
    public NetworkSubscription[] Subscriptions => Volatile.Read(ref _subscriptions);

    public void Add(NetworkSubscription subscription) => _added.Enqueue(subscription);
    public void Remove(NetworkSubscription subscription) => _removed.Enqueue(subscription);

    public int DoWork(long nowNs)
    {
        int work = 0;
        if (!_added.IsEmpty || !_removed.IsEmpty)
        {
            var list = _subscriptions.ToList(); // cold path
            while (_added.TryDequeue(out var subscription)) list.Add(subscription);
            while (_removed.TryDequeue(out var subscription))
            {
                if (!list.Remove(subscription)) continue;
                subscription.Close();
                subscription.Dispose();
            }
            Volatile.Write(ref _subscriptions, [.. list]);
            WatchSockets();
            work++;
        }

        var subscriptions = _subscriptions;
        int logPages = 1;   // a new image's log is mapped a page a pass, by a subscription that read nothing in it
        if (_poller is null)
        {
            foreach (var subscription in subscriptions) work += subscription.DoWork(nowNs, receive: true, ref logPages);
            return work;
        }

        _poller.Poll(_ready);
        for (int i = 0; i < subscriptions.Length; i++)
        {
            work += subscriptions[i].DoWork(nowNs, receive: _ready[i] || subscriptions[i].HasPendingInput, ref logPages);
        }
        return work;
    }

    // Cold path (a subscription came or went): a poller over every socket when there are two or more, all native.
    private void WatchSockets()
    {
        _poller?.Dispose();
        _poller = null;
        var subscriptions = _subscriptions;
        if (subscriptions.Length < 2 || subscriptions.Any(s => !s.IsNative)) return;
        _poller = ReadinessPoller.TryCreateFor(subscriptions, s => s.Descriptor);
        _ready = new bool[subscriptions.Length];
    }

    public void OnClose()
    {
        while (_added.TryDequeue(out var subscription)) subscription.Dispose();
        foreach (var subscription in _subscriptions)
        {
            subscription.Close();
            subscription.Dispose();
        }
        Volatile.Write(ref _subscriptions, []);
        _poller?.Dispose();
        _poller = null;
    }
}

/// <summary>
/// The conductor: the driver's slow clock. It publishes every counter to the counters file (when
/// there is one) each <see cref="CountersIntervalNs"/>, with a heartbeat a stat tool uses to tell a
/// live driver from a stale file.
/// </summary>
internal sealed class ConductorAgent(MediaDriver driver) : IAgent
{
    public const long CountersIntervalNs = 100_000_000;
    private long _nextCountersNs;

    public string RoleName => "conductor";

    public int DoWork(long nowNs)
    {
        if (nowNs < _nextCountersNs) return 0;
        _nextCountersNs = nowNs + CountersIntervalNs;
        driver.PublishCounters();
        return 1;
    }

    public void OnClose() => driver.PublishCounters();
}
