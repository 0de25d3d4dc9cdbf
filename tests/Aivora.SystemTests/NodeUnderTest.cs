using System.Diagnostics;
using Aivora.Client.MarketData;
using Aivora.Client.Session;
using Aivora.Core.Matching;
using Aivora.Gateway;
using Aivora.Gateway.Sessions;
using Aivora.Node.Configuration;
using Aivora.Node.Engine;
using Aivora.Transport.Driver;

namespace Aivora.SystemTests;

/// <summary>
/// A real node (the node host: invoker-mode driver, gateway, state machine, command recorder) and real
/// SDK clients over loopback sockets, all driven from the test's own thread: <see cref="PumpUntil"/>
/// runs the node's duty cycle and every client driver's in turn until a condition holds or a bound
/// passes. One thread, no spinning beyond it. Each instance takes its own block of ports (unicast market
/// data unless asked for the multicast default), so tests never share a socket.
/// </summary>
public sealed class NodeUnderTest : IDisposable
{
    private static int s_nextPortBlock;
    private readonly List<MediaDriver> _clientDrivers = [];
    private readonly List<IDisposable> _owned = [];

    public NodeUnderTest(Func<GatewayOptions, GatewayOptions>? tune = null, int fundingIntervalS = 8 * 3_600, IEnumerable<ApiKey>? keys = null)
    {
        // Below the ephemeral range (32768+), so an OS-chosen port never takes one of ours.
        var basePort = 20_000 + (Environment.ProcessId % 50 * 200) + (Interlocked.Increment(ref s_nextPortBlock) % 10 * 20);
        Gateway = new GatewayOptions
        {
            OrderChannel = $"aeron:udp?endpoint=127.0.0.1:{basePort}|term-length=1m",
            BookChannel = $"aeron:udp?endpoint=127.0.0.1:{basePort + 1}|term-length=1m",
            TradesChannel = $"aeron:udp?endpoint=127.0.0.1:{basePort + 2}|term-length=1m",
            OrdersChannel = $"aeron:udp?endpoint=127.0.0.1:{basePort + 3}|term-length=1m",
            StatusChannel = $"aeron:udp?endpoint=127.0.0.1:{basePort + 4}|term-length=1m",
            SnapshotChannel = $"aeron:udp?endpoint=127.0.0.1:{basePort + 5}|term-length=4m",
            SnapshotIntervalMs = 100,
        };
        Gateway = tune?.Invoke(Gateway) ?? Gateway;
        Recorder = new CommandRecorder(1 << 20);
        // The node's limits, and never the cap from visible depth (off in the node's defaults too): it is re-measured on
        // engine-time second boundaries, which the wall clock these tests run on would place at random points of a test.
        Host = new NodeHost(DefaultConfiguration.Engine, Gateway, new KeyStore(keys ?? DefaultConfiguration.DemoKeys), fundingIntervalS * 1_000_000_000L, Recorder,
            limits: Limits);
        MarketDataOptions = new MarketDataOptions
        {
            BookChannel = Gateway.BookChannel,
            TradesChannel = Gateway.TradesChannel,
            StatusChannel = Gateway.StatusChannel,
            SnapshotChannel = Gateway.SnapshotChannel,
        };
    }

    /// <summary>The limits every node under test runs with (a replay in a test must use them too).</summary>
    public static Core.Risk.RiskLimits Limits { get; } = DefaultConfiguration.Limits with { BookDepthCapRate = 0 };

    public GatewayOptions Gateway { get; }
    public NodeHost Host { get; }
    public CommandRecorder Recorder { get; }
    public MarketDataOptions MarketDataOptions { get; }
    public long NowNs => Host.Clock.NowNs;
    public MatchingEngine<GatewaySink, Core.Accounts.LedgerPositions> Engine => Host.StateMachine.Engine;

    public MediaDriver NewClientDriver(DriverOptions? options = null)
    {
        var driver = MediaDriver.Launch(options ?? new DriverOptions { ThreadingMode = ThreadingMode.Invoker });
        _clientDrivers.Add(driver);
        return driver;
    }

    /// <summary>A client of a demo key (key id = account, unless <paramref name="keyId"/> names another key), on its own or a given driver.</summary>
    public ExchangeClient Client(int account, MediaDriver? driver = null, bool cancelOnDisconnect = true, byte[]? secret = null, int heartbeatMs = 1_000, ulong? keyId = null)
    {
        var client = new ExchangeClient(driver ?? NewClientDriver(), new ClientOptions
        {
            OrderChannel = Gateway.OrderChannel,
            OrderStreamId = Gateway.OrderStreamId,
            ApiKeyId = keyId ?? (ulong)account,
            Secret = secret ?? DefaultConfiguration.DemoSecret((int)(keyId ?? (ulong)account)),
            CancelOnDisconnect = cancelOnDisconnect,
            HeartbeatIntervalMs = heartbeatMs,
        });
        _owned.Add(client);
        return client;
    }

    public MarketDataClient MarketData(MediaDriver? driver = null, MarketDataOptions? options = null)
    {
        var md = new MarketDataClient(driver ?? NewClientDriver(), options ?? MarketDataOptions, DefaultConfiguration.Engine.Instruments.Select(i => i.Id));
        _owned.Add(md);
        return md;
    }

    /// <summary>
    /// True when every command the node ran since the recorder held <paramref name="recordedBefore"/> commands was a
    /// clock tick: nothing a client sent reached the state machine. (A state hash would also move with a tick:
    /// engine time and the mark's funding basis are part of the state.)
    /// </summary>
    public bool OnlyClockTicksSince(int recordedBefore)
    {
        foreach (ref readonly var c in Recorder.Commands[recordedBefore..])
        {
            if (c.Kind != Core.Commands.CommandKind.AdvanceTime) return false;
        }

        return true;
    }

    /// <summary>One duty cycle of the node and of every client driver.</summary>
    public void Pump()
    {
        Host.DoWork();
        foreach (var d in _clientDrivers) d.DoWork();
    }

    /// <summary>Pumps until <paramref name="done"/> holds; false when <paramref name="timeoutMs"/> passes first.</summary>
    public bool PumpUntil(Func<bool> done, int timeoutMs = 5_000)
    {
        var deadline = Stopwatch.GetTimestamp() + (timeoutMs * Stopwatch.Frequency / 1_000);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            Pump();
            if (done()) return true;
        }

        return done();
    }

    /// <summary>Pumps for a while regardless (lets in-flight traffic land).</summary>
    public void PumpFor(int ms) => PumpUntil(() => false, ms);

    public void Deposit(int account, long usdt) => Host.Deposit(account, usdt * DefaultConfiguration.UsdtUnit);

    /// <summary>The price feeder (its account), logged on, with every instrument's index fed from three sources at its
    /// reference price: what a test of trading needs first. Returns the feeder, for later prices.</summary>
    public ExchangeClient StartPriceFeeder()
    {
        var feeder = Client(DefaultConfiguration.FeederAccount);
        LogOn(feeder);
        FeedPrices(feeder);
        return feeder;
    }

    /// <summary>Feeds the three index sources of every instrument at the reference price, so the index is healthy and orders pass risk.</summary>
    public void FeedPrices(ExchangeClient feeder)
    {
        foreach (var spec in DefaultConfiguration.Engine.Instruments)
        {
            for (var source = 1; source <= 3; source++) Assert.True(feeder.SendPriceFeed(NowNs, source, spec.Id, spec.ReferencePriceTicks));
        }
    }

    /// <summary>Logs the client on and waits for the ack (or reject).</summary>
    public void LogOn(ExchangeClient client, ReportLog? log = null)
    {
        log ??= new ReportLog();
        Assert.True(PumpUntil(() => client.IsConnected), "order channel never connected");
        Assert.True(client.TryLogon(NowNs));
        Assert.True(PumpUntil(() => { client.Poll(NowNs, ref log.Handler); return client.State is ClientState.LoggedOn or ClientState.Rejected; }), "no answer to the logon");
    }

    /// <summary>Sends Logout and waits for the node's answer (the account may then log on again, with this key or another).</summary>
    public void LogOut(ExchangeClient client, ReportLog log)
    {
        Assert.True(client.SendLogout(NowNs));
        Assert.True(log.Await(this, client, r => r.Kind == ReportKind.Logout), "no answer to the logout");
    }

    public void Dispose()
    {
        foreach (var o in _owned) o.Dispose();
        Host.Dispose();
        foreach (var d in _clientDrivers) d.Dispose();
    }
}

/// <summary>Collects every report a client receives (tests only: a list is fine here).</summary>
public sealed class ReportLog
{
    public ReportLog() => Handler = new Collect(this);

    public Collect Handler;

    public List<ExecutionReport> Reports { get; } = [];

    public IEnumerable<ExecutionReport> Of(ReportKind kind) => Reports.Where(r => r.Kind == kind);

    public struct Collect(ReportLog log) : IExecutionReportHandler
    {
        public readonly void OnReport(in ExecutionReport report) => log.Reports.Add(report);
    }

    /// <summary>Polls the client into this log until a report matching <paramref name="match"/> arrives.</summary>
    public bool Await(NodeUnderTest node, ExchangeClient client, Func<ExecutionReport, bool> match, int timeoutMs = 5_000) =>
        node.PumpUntil(() =>
        {
            client.Poll(node.NowNs, ref Handler);
            return Reports.Any(match);
        }, timeoutMs);
}
