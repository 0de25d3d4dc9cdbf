using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Matching;
using Aivora.Gateway;
using Aivora.Gateway.Sessions;
using Aivora.Node.Configuration;
using Aivora.Node.Load;
using Aivora.Transport.Agents;
using Aivora.Transport.Driver;
using Aivora.Transport.Native;
using Aivora.Core.Exchange;

namespace Aivora.Node.Engine;

/// <summary>
/// The node itself: an invoker-mode media driver and the gateway on the engine thread (the single
/// writer of all exchange state), the state machine behind the gateway, and the command log in front
/// of it. <see cref="RunEngine"/> is the engine agent's duty cycle: driver work (receive, send, control
/// frames), then the gateway (orders in, reports and market data out, timers), busy-spinning on its
/// own core.
/// </summary>
public sealed class NodeHost : IDisposable
{
    private volatile bool _stop;

    public NodeHost(EngineConfig config, GatewayOptions gateway, KeyStore keys, long fundingIntervalNs, ICommandLog log, ThreadingMode driverMode = ThreadingMode.Invoker,
        Core.Risk.RiskLimits? limits = null)
    {
        Config = config;
        Limits = limits ?? DefaultConfiguration.Limits;
        Clock = new EpochClock();
        // Invoker: the engine thread runs the driver's duty cycle itself (one core does everything). Any other
        // mode gives the driver threads of its own (backing off when idle), for machines with cores to spare.
        Driver = MediaDriver.Launch(new DriverOptions { ThreadingMode = driverMode });
        StateMachine = NewStateMachine(config, fundingIntervalNs, new GatewaySink(new EventRouter()), Limits);
        Gateway = new ExchangeGateway(Driver, gateway, keys, StateMachine, config, Clock, log);
        _invoked = driverMode == ThreadingMode.Invoker;
    }

    private readonly bool _invoked;

    public EngineConfig Config { get; }

    /// <summary>The pre-trade limits and liquidation parameters the state machine runs with (a replay must use the same).</summary>
    public Core.Risk.RiskLimits Limits { get; }

    public EpochClock Clock { get; }
    public MediaDriver Driver { get; }
    public PerpStateMachine<GatewaySink> StateMachine { get; }
    public ExchangeGateway Gateway { get; }
    public string? PinError { get; private set; }
    public int PinnedCpu { get; private set; } = -1;

    /// <summary>A state machine of the node's configuration (the live one, or a fresh one for a replay).</summary>
    public static PerpStateMachine<TSink> NewStateMachine<TSink>(EngineConfig config, long fundingIntervalNs, TSink sink, Core.Risk.RiskLimits? limits = null)
        where TSink : struct, Core.Events.IEngineEventSink
    {
        var ledger = new Ledger(DefaultConfiguration.Contracts, config.MaxAccounts);
        return new PerpStateMachine<TSink>(config, ledger, limits ?? DefaultConfiguration.Limits, sink,
            [.. config.Instruments.Select(i => DefaultConfiguration.Pricing(i.Id, fundingIntervalNs))]);
    }

    /// <summary>An operator's deposit, run (and recorded) like any command. Call before the engine thread starts.</summary>
    public void Deposit(int accountId, long amount) =>
        Gateway.Run(EngineCommand.Account(CommandKind.Deposit, Clock.NowNs, accountId, amount));

    /// <summary>The engine agent's loop, until <see cref="Stop"/>; pinned to <paramref name="cpu"/> when it can be. It busy-spins
    /// when idle, or yields the core with <paramref name="yieldWhenIdle"/> (a core shared with the load: <see cref="NodeOptions.SharedCore"/>).</summary>
    public void RunEngine(int cpu, bool yieldWhenIdle = false)
    {
        if (cpu >= 0)
        {
            if (ThreadAffinity.TryPinCurrentThread(cpu, out var error)) PinnedCpu = cpu;
            else PinError = error;
        }

        Scheduling = ThreadScheduling.OpenForCurrentThread();
        var idle = new BusySpinIdleStrategy();
        var yielding = new YieldingIdleStrategy();
        var compiledBefore = ThreadCompilations.OnThisThread();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        long cycles = 0;
        while (!_stop)
        {
            var work = DoWork();
            if (yieldWhenIdle) yielding.Idle(work);
            else idle.Idle(work);
            cycles++;
        }

        DutyCycles = cycles;
        EngineSeconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
        CompiledWhileRunning = ThreadCompilations.Since(compiledBefore);
    }

    /// <summary>
    /// What the JIT compiled on the engine thread while its loop ran (set when it stops): each method a stall of the engine for
    /// the message that first took a path no code was prepared for (<see cref="CodePreparation"/>). Nothing is the goal.
    /// </summary>
    public ThreadCompilations CompiledWhileRunning { get; private set; }

    /// <summary>
    /// The engine thread's run-queue figures (<see cref="ThreadScheduling"/>), opened by it as its loop starts, to
    /// read from any thread while it runs: how long another task of this machine held its core. Null before the loop starts or
    /// where the kernel keeps none.
    /// </summary>
    public ThreadScheduling? Scheduling
    {
        get => Volatile.Read(ref _scheduling);
        private set => Volatile.Write(ref _scheduling, value);
    }

    private ThreadScheduling? _scheduling;

    /// <summary>
    /// One duty cycle of the engine agent (<see cref="RunEngine"/>'s loop body; tests drive it from their own thread): the
    /// driver's pass in invoker mode (it sends what the gateway's last pass wrote, the sessions' replies first, then market
    /// data, and then receives), then the gateway's (orders in, reports and market data written, timers). Each order-entry
    /// message's time in the node (<see cref="ExchangeGateway.Turnaround"/>) is marked at the two ends. Returns the work done.
    /// </summary>
    public int DoWork()
    {
        var work = 0;
        if (_invoked)
        {
            var replies = Gateway.Turnaround.Pending > 0;
            var before = replies ? Driver.SendFirstDoneTimestamp : 0;
            work = Driver.DoWork();
            if (replies)
            {
                var after = Driver.SendFirstDoneTimestamp;
                Gateway.Turnaround.Sent(after != before ? Clock.At(after) : Clock.NowNs);
            }
        }

        work += Gateway.DoWork();
        Gateway.Turnaround.Processed(Clock);
        if (!_invoked && Gateway.Turnaround.Pending > 0)
        {
            Gateway.Turnaround.Sent(Clock.NowNs);   // in the publications now: the driver's own threads send them
        }

        return work;
    }

    public void Stop() => _stop = true;

    /// <summary>Duty cycles the engine loop ran, and for how long (set when it stops): the mean cycle is what an order waits for at worst, on average half of it.</summary>
    public long DutyCycles { get; private set; }
    public double EngineSeconds { get; private set; }

    public void Dispose()
    {
        Gateway.Dispose();
        Driver.Dispose();
        Scheduling?.Dispose();
    }
}
