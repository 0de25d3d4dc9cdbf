using System.Diagnostics;
using Aivora.Client.Examples;
using Aivora.Client.MarketData;
using Aivora.Client.Session;
using Aivora.Core.Instruments;
using Aivora.Exchange;
using Aivora.Node.Configuration;
using Aivora.Node.Engine;
using Aivora.Transport.Agents;
using Aivora.Transport.Driver;
using Aivora.Transport.Native;
using HdrHistogram;

namespace Aivora.Node.Load;

/// <summary>
/// The market-maker load the main command runs against the node, on its own thread with its own
/// invoker-mode media driver, speaking only the SDK (schema + transport) over loopback UDP: sample
/// market makers quoting both sides of every instrument, takers sending IOC orders at a paced rate
/// (intended send times, so a slow node does not slow the offered load), a price feeder (three sources
/// per instrument) walking each fair price, and a market-data client rebuilding every book.
/// </summary>
public sealed class WireLoad : IDisposable
{
    private readonly MediaDriver _driver;
    private readonly IReadOnlyList<InstrumentSpec> _instruments;
    private readonly List<(ExchangeClient Client, SampleMarketMaker[] Quoters)> _makers = [];
    private readonly List<ExchangeClient> _takers = [];
    private readonly ExchangeClient _feeder;
    private readonly Random _random;
    private readonly long[] _fair;
    private readonly long _takerIntervalNs;
    private volatile bool _stop, _quiet;
    private bool _recording;

    /// <summary>The shock: this long after the load starts, the feeders move the first instrument's fair price down <see cref="ShockBps"/> (0: never).</summary>
    public TimeSpan ShockAfter { get; init; }

    public int ShockBps { get; init; }

    /// <summary>Engine-clock time the shock was fed (0: not yet).</summary>
    public long ShockFedNs { get; private set; }

    /// <summary>Round trips are recorded only after this long (JIT tiering and first-touch costs stay out of the percentiles).</summary>
    public TimeSpan WarmUp { get; init; } = TimeSpan.FromSeconds(1);

    public WireLoad(IReadOnlyList<InstrumentSpec> instruments, int makers, int takers, int takerOrdersPerSecond, int seed)
    {
        _instruments = instruments;
        _random = new Random(seed);
        _fair = [.. instruments.Select(i => i.ReferencePriceTicks)];
        _takerIntervalNs = 1_000_000_000L / takerOrdersPerSecond;
        _driver = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker });
        MarketData = new MarketDataClient(_driver, new MarketDataOptions(), instruments.Select(i => i.Id));
        for (var m = 0; m < makers; m++)
        {
            var account = DefaultConfiguration.FirstMakerAccount + m;
            var client = Client(account);
            var quoters = instruments.Select((spec, k) => new SampleMarketMaker(client, MarketData, spec.Id, spec.ReferencePriceTicks, spec.TickSize,
                spreadTicks: 2 + m, qtyLots: 5 + m, levels: 5, firstClientOrderId: (k + 1) * 1_000_000_000L)
            {
                OnRoundTrip = ns =>
                {
                    if (_recording) RoundTrip.RecordValue(ns);
                },
            }).ToArray();
            _makers.Add((client, quoters));
        }

        for (var t = 0; t < takers; t++)
        {
            _takers.Add(Client(DefaultConfiguration.FirstTakerAccount + t));
        }

        _feeder = Client(DefaultConfiguration.FeederAccount);
    }

    public MarketDataClient MarketData { get; }

    /// <summary>Order → acknowledgement round trips measured at the makers (ns).</summary>
    public LongHistogram RoundTrip { get; } = new(10_000_000_000, 3);

    /// <summary>The load loop after warm-up: passes, their total and longest time, passes over 1 ms (a preempted thread shows here).</summary>
    public long LoopPasses { get; private set; }
    public long LoopNs { get; private set; }
    public long LongestPassNs { get; private set; }
    public long PassesOver1Ms { get; private set; }

    public long TakerOrdersSent { get; private set; }
    public long TakerFills { get; private set; }
    public long ReportsReceived => _makers.Sum(m => m.Client.ReportsReceived) + _takers.Sum(t => t.ReportsReceived);
    public long LogonAcksReceived => _makers.Sum(m => m.Client.LogonAcksReceived) + _takers.Sum(t => t.LogonAcksReceived);
    public long SequenceGaps => _makers.Sum(m => m.Client.SequenceGaps) + _takers.Sum(t => t.SequenceGaps);
    public long MakerOrdersSent => _makers.Sum(m => m.Quoters.Sum(q => q.OrdersSent));
    public long MakerRejects => _makers.Sum(m => m.Quoters.Sum(q => q.Rejects));
    public int LoggedOn => _makers.Count(m => m.Client.State == ClientState.LoggedOn) + _takers.Count(t => t.State == ClientState.LoggedOn) + (_feeder.State == ClientState.LoggedOn ? 1 : 0);
    public int Sessions => _makers.Count + _takers.Count + 1;

    /// <summary>Yield the core when a pass finds nothing to do, instead of spinning (the core is shared with the engine:
    /// <see cref="NodeOptions.SharedCore"/>); the logon's waits too.</summary>
    public bool YieldWhenIdle { get; init; }

    /// <summary>What one pass of the load's loop polls: each session's response subscription, and the market-data client's
    /// four (L2, trades, status, snapshots: <see cref="MarketDataClient.Poll"/>).</summary>
    public int SubscriptionsPolled => Sessions + 4;
    public IEnumerable<ExchangeClient> Clients => _makers.Select(m => m.Client).Concat(_takers).Append(_feeder);
    public string? PinError { get; private set; }

    /// <summary>The core the load's thread runs pinned to (-1: not pinned; see <see cref="PinError"/>).</summary>
    public int PinnedCpu { get; private set; } = -1;

    private ExchangeClient Client(int account) => new(_driver, new ClientOptions
    {
        ApiKeyId = (ulong)account,
        Secret = DefaultConfiguration.DemoSecret(account),
        HeartbeatIntervalMs = 500,
        CancelOnDisconnect = true,
    });

    /// <summary>Logs every client on (bounded); false with the reason when one does not make it.</summary>
    public bool LogOn(Func<long> nowNs, TimeSpan timeout, out string? problem)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var sink = new Ignore();
        var clients = Clients.ToArray();
        while (Stopwatch.GetTimestamp() < deadline)
        {
            _driver.DoWork();
            var now = nowNs();
            var done = 0;
            foreach (var c in clients)
            {
                if (c.State == ClientState.Disconnected && c.IsConnected) c.TryLogon(now);
                c.Poll(now, ref sink);
                if (c.State == ClientState.Rejected)
                {
                    problem = $"account {c.AccountId}: logon rejected ({c.LogonRejectReason}: {c.LogonRejectText})";
                    return false;
                }

                if (c.State == ClientState.LoggedOn) done++;
            }

            MarketData.Poll();
            if (YieldWhenIdle) Thread.Yield();   // the engine answers on this core
            if (done == clients.Length && MarketData.AllSynced)
            {
                // First prices, so the index is healthy before anyone trades (three sources, as in the run).
                for (var k = 0; k < _instruments.Count; k++)
                {
                    for (var source = 1; source <= 3; source++) _feeder.SendPriceFeed(now, source, _instruments[k].Id, _fair[k]);
                }

                var settle = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 20);
                while (Stopwatch.GetTimestamp() < settle)
                {
                    _driver.DoWork();
                    foreach (var c in clients) c.Poll(nowNs(), ref sink);
                    MarketData.Poll();
                    if (YieldWhenIdle) Thread.Yield();
                }

                problem = null;
                return true;
            }
        }

        problem = $"{clients.Count(c => c.State == ClientState.LoggedOn)} of {clients.Length} sessions logged on, market data {(MarketData.AllSynced ? "synced" : "not synced")} within {timeout.TotalSeconds:0} s";
        return false;
    }

    private ThreadCompilations _compiledAtTradingStart;

    /// <summary>
    /// What the JIT compiled on the load's thread from the end of its warm-up until it stopped sending (set at the quiesce; null
    /// until the load has seen it): each method a stall of every client the load thread serves.
    /// </summary>
    public ThreadCompilations? CompiledWhileTrading { get; private set; }

    /// <summary>The load's loop until <see cref="Stop"/>; after <see cref="Quiesce"/> it only polls (reports and market data drain).</summary>
    public void Run(Func<long> nowNs, int cpu)
    {
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        if (cpu >= 0)
        {
            if (ThreadAffinity.TryPinCurrentThread(cpu, out var error)) PinnedCpu = cpu;
            else PinError = error;
        }

        Scheduling = ThreadScheduling.OpenForCurrentThread();
        IIdleStrategy idle = YieldWhenIdle ? new YieldingIdleStrategy() : new BusySpinIdleStrategy();
        var makerHandlers = _makers.Select(m => new MakerHandler(m.Quoters)).ToArray();
        var takerHandler = new TakerHandler(this);
        var ignore = new Ignore();
        var start = nowNs();
        var recordFromNs = start + (long)(WarmUp.TotalSeconds * 1e9);
        var nextTakerNs = start;
        var nextFeedNs = start;
        long clientOrderId = 1;
        long lastPassNs = 0;
        while (!_stop)
        {
            var work = _driver.DoWork();
            var now = nowNs();
            _recording = now >= recordFromNs;
            if (_recording && lastPassNs != 0)
            {
                var gap = now - lastPassNs;
                LoopPasses++;
                LoopNs += gap;
                if (gap > LongestPassNs) LongestPassNs = gap;
                if (gap > 1_000_000) PassesOver1Ms++;
            }

            lastPassNs = now;
            if (_recording && !TradingStarted)
            {
                // The steady state the gc line measures starts here: after the warm-up, the load's code compiled.
                _allocatedAtTradingStart = GC.GetAllocatedBytesForCurrentThread();
                _compiledAtTradingStart = ThreadCompilations.OnThisThread();
                TradingStarted = true;
                _tradingStarted.Set();
            }

            // The feeder: three sources per instrument every 20 ms around a fair price that walks (and, once, falls by the shock).
            if (!_quiet && now >= nextFeedNs)
            {
                nextFeedNs += 20_000_000;
                if (ShockBps > 0 && ShockFedNs == 0 && now >= start + (long)(ShockAfter.TotalSeconds * 1e9))
                {
                    var fall = _fair[0] * ShockBps / 10_000;
                    _fair[0] -= fall - (fall % _instruments[0].TickSize);
                    ShockFedNs = now;
                }

                for (var k = 0; k < _instruments.Count; k++)
                {
                    var spec = _instruments[k];
                    _fair[k] += (_random.Next(3) - 1) * spec.TickSize;
                    for (var source = 1; source <= 3; source++)
                    {
                        _feeder.SendPriceFeed(now, source, spec.Id, _fair[k] + ((_random.Next(3) - 1) * spec.TickSize));
                    }
                }
            }

            for (var i = 0; i < _makers.Count; i++)
            {
                makerHandlers[i].NowNs = now;
                work += _makers[i].Client.Poll(now, ref makerHandlers[i]);
                if (!_quiet) foreach (var q in _makers[i].Quoters) q.Step(now);
            }

            foreach (var t in _takers) work += t.Poll(now, ref takerHandler);
            work += _feeder.Poll(now, ref ignore);
            work += MarketData.Poll();
            if (_quiet)
            {
                if (!QuietSeen)
                {
                    TradingAllocatedBytes = TradingStarted ? GC.GetAllocatedBytesForCurrentThread() - _allocatedAtTradingStart : 0;
                    CompiledWhileTrading = TradingStarted ? ThreadCompilations.Since(_compiledAtTradingStart) : default(ThreadCompilations);
                    QuietSeen = true;
                    _quietSeen.Set();
                }

                idle.Idle(work);
                continue;
            }

            // Takers: open-loop pacing on intended send times (a late loop catches up, never skips).
            if (_takers.Count > 0 && now >= nextTakerNs)
            {
                var taker = _takers[_random.Next(_takers.Count)];
                var k = _random.Next(_instruments.Count);
                var spec = _instruments[k];
                var side = _random.Next(2) == 0 ? Side.Buy : Side.Sell;
                var through = (4 + _random.Next(6)) * spec.TickSize;
                // Takers price off the mark the makers quote around (the mark carries the funding basis, up to
                // ~0.01 % away from the index the feeder walks, depending on the time to the next funding).
                var mark = MarketData.MarkOf(spec.Id);
                var reference = mark > 0 ? mark / spec.TickSize * spec.TickSize : _fair[k];
                var price = side == Side.Buy ? reference + through : reference - through;
                if (taker.SendNewOrder(now, clientOrderId++, spec.Id, side, OrdType.Limit, TimeInForce.IOC, price, 1 + _random.Next(4)))
                {
                    TakerOrdersSent++;
                    nextTakerNs += _takerIntervalNs / _takers.Count;
                }
            }

            idle.Idle(work);
        }

        AllocatedBytes = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
    }

    /// <summary>Bytes the load's own thread allocated in <see cref="Run"/> (its clients, market-data client and driver): the
    /// part of the process's allocations that is not the node's. Set when <see cref="Run"/> returns.</summary>
    public long AllocatedBytes { get; private set; }

    /// <summary>
    /// The load thread's run-queue figures (<see cref="ThreadScheduling"/>), opened by it as its loop starts, to read from any
    /// thread while it runs. Null before the loop starts or where the kernel keeps none.
    /// </summary>
    public ThreadScheduling? Scheduling
    {
        get => Volatile.Read(ref _scheduling);
        private set => Volatile.Write(ref _scheduling, value);
    }

    private ThreadScheduling? _scheduling;

    // Set with TradingStarted and QuietSeen, for a thread that waits for them: it sleeps until then instead of polling, which
    // woke it every millisecond on whichever core it was given, the load's among them (~900 turns taken from the load thread in
    // its one-second warm-up, seen with `perf sched`).
    private readonly ManualResetEventSlim _tradingStarted = new(), _quietSeen = new();

    /// <summary>Waits until <see cref="TradingStarted"/>, <paramref name="orStop"/> is set or <paramref name="timeout"/> has
    /// passed (a negative one: not at all); returns <see cref="TradingStarted"/>.</summary>
    public bool WaitUntilTradingStarted(TimeSpan timeout, ManualResetEventSlim orStop)
    {
        if (timeout > TimeSpan.Zero)
        {
            WaitHandle.WaitAny([_tradingStarted.WaitHandle, orStop.WaitHandle], timeout);
        }

        return TradingStarted;
    }

    /// <summary>Waits until <see cref="QuietSeen"/> or <paramref name="timeout"/> has passed; returns <see cref="QuietSeen"/>.</summary>
    public bool WaitUntilQuietSeen(TimeSpan timeout) => _quietSeen.Wait(timeout) || QuietSeen;

    /// <summary>Set on the load's first pass after its warm-up (read by the thread that measures the steady state).</summary>
    public volatile bool TradingStarted;

    /// <summary>Set on the load's first pass after <see cref="Quiesce"/>, once <see cref="TradingAllocatedBytes"/> is.</summary>
    public volatile bool QuietSeen;

    private long _allocatedAtTradingStart;

    /// <summary>Bytes the load's own thread allocated from its first pass after the warm-up to its first pass after
    /// <see cref="Quiesce"/>: the steady-state part of <see cref="AllocatedBytes"/>. Set before <see cref="QuietSeen"/>.</summary>
    public long TradingAllocatedBytes { get; private set; }

    /// <summary>Stops sending; keeps polling so every report and market-data message in flight arrives.</summary>
    public void Quiesce() => _quiet = true;

    public void Stop() => _stop = true;

    public void Dispose()
    {
        MarketData.Dispose();
        foreach (var c in Clients) c.Dispose();
        _driver.Dispose();
        Scheduling?.Dispose();
        _tradingStarted.Dispose();
        _quietSeen.Dispose();
    }

    private struct Ignore : IExecutionReportHandler
    {
        public readonly void OnReport(in ExecutionReport report) { }
    }

    private struct MakerHandler(SampleMarketMaker[] quoters) : IExecutionReportHandler
    {
        public long NowNs;

        public readonly void OnReport(in ExecutionReport report)
        {
            foreach (var q in quoters) q.OnReport(in report, NowNs);
        }
    }

    private readonly struct TakerHandler(WireLoad load) : IExecutionReportHandler
    {
        public void OnReport(in ExecutionReport report)
        {
            if (report.Kind == ReportKind.Filled) load.TakerFills++;
        }
    }
}
