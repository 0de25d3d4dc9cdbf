using System.Collections.Concurrent;
using Aivora.Transport.Agents;

namespace Aivora.Transport.Driver;

/// <summary>
/// The sender: every publication's duty cycle (control frames in, DATA / SETUP / heartbeats /
/// retransmits out), the send-first ones (<see cref="NetworkPublication.SendFirst"/>) first. Publications arrive through a queue; the list is this agent's alone and is
/// replaced, never mutated, so the conductor can read a snapshot for counters. A closed
/// publication that finished lingering is disposed here, on the thread that used its socket.
/// </summary>
internal sealed class SenderAgent : IAgent
{
    private readonly ConcurrentQueue<NetworkPublication> _added = new();
    private NetworkPublication[] _publications = [];

    public string RoleName => "sender";
    public NetworkPublication[] Publications => Volatile.Read(ref _publications);

    public void Add(NetworkPublication publication) => _added.Enqueue(publication);

    public int DoWork(long nowNs)
    {
        int work = 0;
        if (!_added.IsEmpty)
        {
            var list = _publications.ToList(); // cold path: a publication came
            while (_added.TryDequeue(out var publication)) list.Add(publication);
            // Visited in this order every cycle: the send-first publications, then the others, each in the order added.
            Volatile.Write(ref _publications, [.. list.Where(p => p.SendFirst), .. list.Where(p => !p.SendFirst)]);
            work++;
        }
        var publications = _publications;
        bool anyClosed = false;
        foreach (var publication in publications)
        {
            work += publication.DoWork(nowNs);
            anyClosed |= publication.IsClosed;
        }
        if (anyClosed)
        {
            foreach (var publication in publications.Where(p => p.IsClosed)) publication.Dispose();
            Volatile.Write(ref _publications, publications.Where(p => !p.IsClosed).ToArray());
        }
        return work;
    }

    public void OnClose()
    {
        while (_added.TryDequeue(out var publication)) publication.Dispose();
        foreach (var publication in _publications) publication.Dispose();
        Volatile.Write(ref _publications, []);
    }
}

/// <summary>
/// The receiver: every subscription's duty cycle (datagrams into images, SMs, NAKs, image
/// lifecycle). Subscriptions come and go through queues; closing one (EOS SMs, dispose) happens
/// here, on the thread that owns its socket.
/// </summary>
internal sealed class ReceiverAgent : IAgent
{
    private readonly ConcurrentQueue<NetworkSubscription> _added = new(), _removed = new();
    private NetworkSubscription[] _subscriptions = [];

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
            work++;
        }
        foreach (var subscription in _subscriptions) work += subscription.DoWork(nowNs);
        return work;
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
