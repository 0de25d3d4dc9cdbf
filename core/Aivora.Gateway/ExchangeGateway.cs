using System.Collections.Concurrent;
using Aivora.Core.Commands;
using Aivora.Core.Matching;
using Aivora.Exchange;
using Aivora.Gateway.MarketData;
using Aivora.Gateway.Outbound;
using Aivora.Gateway.Sessions;
using Aivora.Transport.Driver;
using Aivora.Transport.LogBuffer;
using Aivora.Transport.Subscription;
using Aivora.Transport.Uri;
using RejectReason = Aivora.Core.Events.RejectReason;
using Aivora.Core.Exchange;

namespace Aivora.Gateway;

/// <summary>Gateway counters (engine thread is the only writer).</summary>
public struct GatewayCounters
{
    public long MessagesIn, CommandsRun, LogonsAccepted, LogonsRejected, SessionsEnded, Malformed, Unsupported, NotLoggedOn,
        GatewayRejects, Heartbeats, Ticks;

    /// <summary>Of <see cref="Ticks"/>, those sent because the state machine had work due
    /// (<see cref="PerpStateMachine{TSink}.NextWorkDueNs"/>), not for 100 ms without a command.</summary>
    public long WorkDueTicks;

    /// <summary>Logon messages handled (accepted or not), and the engine thread's time on them: in all, and the longest one
    /// (a logon creates the session's reply publication: socket, and a log from the driver's pool or freshly written).</summary>
    public long LogonsHandled, LogonNs, LongestLogonNs;
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
public sealed partial class ExchangeGateway : IImageListener, IDisposable
{
    private const int MaxMessageLength = 64 * 1024;
    private const long HousekeepingIntervalNs = 1_000_000;
    private const long TickIntervalNs = 100_000_000;

    // While the state machine has work due (a ranking or funding pass: a slice a command) and no order arrives, a tick at most
    // this often: a pass goes on at a few us of every 20 (a million positions ranked in about 0.35 s), and the log records
    // ~50,000 ticks a second only while such a pass runs in a quiet market.
    private const long WorkDueTickSpacingNs = 20_000;

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

    /// <summary>The order-entry subscription's counters (its images: one per client's order stream). Written by the receiver's
    /// thread: a copy, consistent once nothing connects.</summary>
    public SubscriptionCounters OrderEntryCounters => _orders.Counters;

    /// <summary>Each order-entry message's time in the node, decode to send: the caller of <see cref="DoWork"/> marks the sends.</summary>
    public Diagnostics.TurnaroundRecorder Turnaround { get; } = new();

    public MarketDataPublisher MarketData { get; }

    /// <summary>The sessions' response publications (tests read their send order: each is send-first).</summary>
    internal IEnumerable<Transport.Driver.NetworkPublication> ResponsePublications =>
        _sessions.Values.Select(s => s.Responses).OfType<Transport.Driver.NetworkPublication>();

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
            id => stateMachine.Pricing(id)?.LastIndex.State ?? Core.Pricing.IndexState.Healthy);
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
        if (work == 0)
        {
            _stateMachine.ReleaseFilledMakers();   // the last sweep's makers, now that its reports went out (the driver's pass before)
        }

        var now = _clock.NowNs;
        if (work == 0 && now - _lastCommandNs >= WorkDueTickSpacingNs && now >= _stateMachine.NextWorkDueNs)
        {
            // Time alone has work due (an expiry, a sample, funding, a cooldown over, the ranking pass): a quiet market does
            // not hold it back until the next order or the 100 ms tick.
            Counters.Ticks++;
            Counters.WorkDueTicks++;
            Run(EngineCommand.Tick(now));
            work++;
        }

        if (now >= _nextHousekeepingNs)
        {
            _nextHousekeepingNs = now + HousekeepingIntervalNs;
            work += Housekeeping(now);
        }

        return work;
    }

    /// <summary>
    /// Allocates, before trading, the log of every session's reply publication (<see cref="TermBufferPool.Reserve"/>, at
    /// <see cref="GatewayOptions.ResponseTermLength"/>). Without them a logon writes a fresh log on the engine thread (invoker
    /// mode): 3 x 1 MiB, ~9 ms on this VM, a stall of every other session's orders. (The client's image at the node, created
    /// at its SETUP, does not take one of these: see <see cref="MediaDriver.TermBuffers"/> and <see cref="MediaDriver.ImageLogs"/>.)
    /// Cold path; returns the logs reserved and their term length.
    /// </summary>
    public (int Logs, int TermLength) ReserveSessionLogs()
    {
        var termLength = ChannelUri.Parse("aeron:udp?endpoint=127.0.0.1:0|term-length=" + _options.ResponseTermLength).TermLength;
        var logs = _options.MaxSessions;
        _driver.TermBuffers.Reserve(termLength, logs);
        return (logs, termLength);
    }

    /// <summary>Runs one command: recorded first, then the state machine, then the command's market data goes out.</summary>
    public void Run(in EngineCommand command)
    {
        _log?.Append(in command);
        _reports.Current = command;
        _reports.JournalSequence = MarketData.JournalSequence = Counters.CommandsRun + 1;
        _stateMachine.Process(in command);
        MarketData.EndOfCommand();
        _lastCommandNs = command.NowNs;
        Counters.CommandsRun++;
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
