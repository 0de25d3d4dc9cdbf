using System.Diagnostics;
using Aivora.Client.MarketData;
using Aivora.Client.Session;
using Aivora.Exchange;
using Aivora.Gateway;
using Aivora.Gateway.Sessions;
using Aivora.Node.Configuration;
using Aivora.Node.Engine;
using Aivora.Node.Load;
using Aivora.Transport.Driver;
using Aivora.Transport.Native;
using HdrHistogram;

namespace Aivora.Perf.Wire;

/// <summary>
/// Order → acknowledgement through the whole node over loopback UDP, risk on, against the raw UDP
/// floor measured in the same run on the same two cores:
/// <list type="bullet">
/// <item>ping-pong: one client sends one post-only order, waits for its OrderAccepted, cancels it,
/// waits for the cancel, and so on; the floor (a libc ping-pong with no protocol and no engine) is
/// measured before and after the node (mirrored), so drift weighs on both alike;</item>
/// <item>saturation: a client offers orders on an open-loop schedule (intended send times; latency is
/// measured from the intended time, so a stalled node cannot hide queueing: no coordinated omission)
/// and counts every acknowledgement; lost = orders sent - orders answered.</item>
/// </list>
/// The engine thread (node driver + gateway + state machine) is pinned to CPU 1, the client to CPU 0;
/// exactly two threads spin.
/// </summary>
public static partial class WireBenchmark
{
    private const int Account = DefaultConfiguration.FirstTakerAccount;   // its key allows 100,000 orders/s

    public static int Run(string[] args)
    {
        var quick = args.Contains("--quick");
        var marketData = args.Contains("--market-data");
        var roundTrips = quick ? 20_000 : 100_000;
        var warmup = quick ? 10_000 : 30_000;
        if (!CommandLine.TryInt("wire", args, "--rate", quick ? 50_000 : 80_000, 1, 10_000_000, out var rate, out var rateError)
            || !CommandLine.TryInt("wire", args, "--sweeps", quick ? 200 : 1_000, 10, 100_000, out var sweeps, out rateError))
        {
            Console.Error.WriteLine(rateError);
            return 2;
        }

        var seconds = quick ? 3 : 10;
        var (clientCpu, engineCpu) = Environment.ProcessorCount > 1 ? (0, 1) : (-1, -1);

        var floor = new LongHistogram(10_000_000_000, 3);
        var floorLost = AddFloor(floor, roundTrips / 2, clientCpu, engineCpu);

        var gateway = new GatewayOptions
        {
            OrderChannel = "aeron:udp?endpoint=127.0.0.1:40300|term-length=1m",
            BookChannel = "aeron:udp?endpoint=127.0.0.1:40301|term-length=1m",
            TradesChannel = "aeron:udp?endpoint=127.0.0.1:40302|term-length=1m",
            OrdersChannel = "aeron:udp?endpoint=127.0.0.1:40303|term-length=1m",
            StatusChannel = "aeron:udp?endpoint=127.0.0.1:40304|term-length=1m",
            SnapshotChannel = "aeron:udp?endpoint=127.0.0.1:40305|term-length=4m",
        };
        if (marketData)
        {
            // As the node publishes market data: multicast groups on loopback (groups and ports of this benchmark's own).
            gateway = gateway with
            {
                BookChannel = "aeron:udp?endpoint=239.255.21.1:40311|interface=127.0.0.1|ttl=0|term-length=1m",
                TradesChannel = "aeron:udp?endpoint=239.255.21.3:40313|interface=127.0.0.1|ttl=0|term-length=1m",
                StatusChannel = "aeron:udp?endpoint=239.255.21.7:40317|interface=127.0.0.1|ttl=0|term-length=1m",
                SnapshotChannel = "aeron:udp?endpoint=239.255.21.9:40319|interface=127.0.0.1|ttl=0|term-length=4m",
            };
        }

        var recorder = new CommandRecorder(1 << 16);   // overflows harmlessly: the replay check is the node's job, not this benchmark's
        var node = new NodeHost(DefaultConfiguration.Engine, gateway, new KeyStore(DefaultConfiguration.DemoKeys), 8 * 3_600_000_000_000L, recorder);
        node.Deposit(Account, 1_000_000 * DefaultConfiguration.UsdtUnit);
        node.Deposit(SweepMaker, 1_000_000 * DefaultConfiguration.UsdtUnit);
        CodePreparation.PrepareEngineCode();   // as the node does before trading
        var engine = new Thread(() => node.RunEngine(engineCpu)) { Name = "engine", IsBackground = true };
        engine.Start();
        if (clientCpu >= 0) ThreadAffinity.TryPinCurrentThread(clientCpu, out _);

        var driver = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker });
        var client = new ExchangeClient(driver, Options(gateway, Account));
        // The sweeps' maker (it rests the orders the sweeps take) is another client: a driver of its own, serviced while the
        // sweeps wait for the maker's reports, so the measured client's receive loop reads only its own replies (sharing one
        // driver, the client would read the maker's fill reports too before its own when both arrive together).
        var makerDriver = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker });
        var maker = new ExchangeClient(makerDriver, Options(gateway, SweepMaker));
        s_marketData = marketData
            ? new MarketDataClient(driver, new MarketDataOptions
            {
                BookChannel = gateway.BookChannel, BookStreamId = gateway.BookStreamId, TradesChannel = gateway.TradesChannel, TradesStreamId = gateway.TradesStreamId,
                StatusChannel = gateway.StatusChannel, StatusStreamId = gateway.StatusStreamId, SnapshotChannel = gateway.SnapshotChannel, SnapshotStreamId = gateway.SnapshotStreamId,
            }, DefaultConfiguration.Engine.Instruments.Select(i => i.Id))
            : null;
        // The feeder has a driver of its own, serviced from a timer thread-free check in the loops (every
        // 50 ms), so the measured client polls one socket per pass, as the raw floor does.
        s_feederDriver = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker });
        var feeder = new ExchangeClient(s_feederDriver, Options(gateway, DefaultConfiguration.FeederAccount));
        s_feeder = feeder;
        if (!LogOn(driver, node, client) || !LogOn(s_feederDriver, node, feeder))
        {
            Console.Error.WriteLine("wire: the clients could not log on");
            return 1;
        }

        foreach (var spec in DefaultConfiguration.Engine.Instruments)
        {
            for (var source = 1; source <= 3; source++) feeder.SendPriceFeed(node.Clock.NowNs, source, spec.Id, spec.ReferencePriceTicks);
        }

        // Ready when an order is accepted (the index needs the feeds, which travel on another session).
        var handler = new Acks();
        var ready = Stopwatch.GetTimestamp() + (5 * Stopwatch.Frequency);
        while (handler.Accepted == 0 && Stopwatch.GetTimestamp() < ready)
        {
            handler.Rejected = 0;
            PingPong(driver, node, client, ref handler, 1, null);
            Thread.Sleep(1);
        }

        handler.Rejected = 0;
        var nodeRt = new LongHistogram(10_000_000_000, 3);
        var measured = PingPong(driver, node, client, ref handler, warmup, null);
        node.Gateway.Turnaround.StartRecording(node.Clock.NowNs);   // each measured order's time in the node, decode to reply sent
        measured = measured && PingPong(driver, node, client, ref handler, roundTrips, nodeRt);
        node.Gateway.Turnaround.StopRecording(node.Clock.NowNs);
        if (!measured)
        {
            Console.Error.WriteLine($"wire: an order went unanswered for a second or was rejected ({handler.Rejected} rejects)");
            return 1;
        }

        var inNode = node.Gateway.Turnaround.InNode;
        var processing = node.Gateway.Turnaround.Processing;
        var inNodeLine = FormattableString.Invariant(
            $"RESULT bench=wire case=in-node messages={inNode.Count} p50_ns={inNode.Percentile(50)} p99_ns={inNode.Percentile(99)} p999_ns={inNode.Percentile(99.9)} processing_p50_ns={processing.Percentile(50)} processing_p99_ns={processing.Percentile(99)}");

        // Sweeps of one fill and of many (the turnaround's histograms are the sweeps' from here on). The maker logs on now: a
        // session not polled through the ping-pong would miss its heartbeats.
        if (!LogOn(makerDriver, node, maker))
        {
            Console.Error.WriteLine("wire: the sweeps' maker could not log on");
            return 1;
        }

        if (!Sweeps(driver, makerDriver, node, client, maker, 1, sweeps) || !Sweeps(driver, makerDriver, node, client, maker, SweepFills, sweeps))
        {
            return 1;   // Sweeps said what failed
        }

        AddSweepSlope(SweepFills);

        // A first second of the same offered load, not recorded: its code paths reach tier-1 JIT before the
        // measured run (on two cores a background JIT thread preempts a spinning one for milliseconds).
        Saturate(driver, node, client, ref handler, rate, 1);
        // What this machine's other tasks took from the two spinning threads over the measured saturation (the kernel's count
        // of each one's run-queue wait): the part of its tail that is not the node's nor the host's.
        using var clientScheduling = Aivora.Node.Load.ThreadScheduling.OpenForCurrentThread();
        var (engineBefore, clientBefore) = (node.Scheduling?.Read(), clientScheduling?.Read());
        var (sent, answered, achieved, saturation) = Saturate(driver, node, client, ref handler, rate, seconds);
        var engineWaits = Aivora.Node.Load.SchedulingSample.Between(engineBefore, node.Scheduling?.Read());
        var clientWaits = Aivora.Node.Load.SchedulingSample.Between(clientBefore, clientScheduling?.Read());
        node.Stop();
        engine.Join();
        client.Dispose();
        maker.Dispose();
        makerDriver.Dispose();
        s_marketData?.Dispose();
        feeder.Dispose();
        s_feederDriver.Dispose();
        driver.Dispose();
        node.Dispose();
        floorLost += AddFloor(floor, roundTrips / 2, clientCpu, engineCpu);
        if (floorLost > 0)
        {
            Console.WriteLine($"# raw-udp: {floorLost:N0} round trips lost (no echo within {RawUdpFloor.EchoTimeoutNs / 1_000_000_000} s), not counted in its line");
        }

        Console.WriteLine(FormattableString.Invariant($"engine duty cycle: {node.DutyCycles:N0} cycles in {node.EngineSeconds:F1} s, mean {node.EngineSeconds * 1e9 / Math.Max(1, node.DutyCycles):F0} ns; compiled on the engine thread while it ran (warm-up included): {node.CompiledWhileRunning}"));
        Print("raw-udp", floor);
        Print("node", nodeRt);
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=wire case=split round_trips={s_clientToGateway.TotalCount} client_to_gateway_p50_ns={s_clientToGateway.GetValueAtPercentile(50)} client_to_gateway_p99_ns={s_clientToGateway.GetValueAtPercentile(99)} gateway_to_client_p50_ns={s_gatewayToClient.GetValueAtPercentile(50)} gateway_to_client_p99_ns={s_gatewayToClient.GetValueAtPercentile(99)}"));
        Console.WriteLine(inNodeLine);
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=wire ratio_p50={(double)nodeRt.GetValueAtPercentile(50) / floor.GetValueAtPercentile(50):F2} ratio_p99={(double)nodeRt.GetValueAtPercentile(99) / floor.GetValueAtPercentile(99):F2}"));
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=wire-throughput offered_per_sec={rate} orders_per_sec={achieved:F0} p50_ns={saturation.GetValueAtPercentile(50)} p99_ns={saturation.GetValueAtPercentile(99)} p999_ns={saturation.GetValueAtPercentile(99.9)} lost={sent - answered} engine_waited_us={KernelFigures.OrUnseen(engineWaits?.WaitedNs / 1000)} engine_switched_out={KernelFigures.OrUnseen(engineWaits?.TimesRun)} client_waited_us={KernelFigures.OrUnseen(clientWaits?.WaitedNs / 1000)} client_switched_out={KernelFigures.OrUnseen(clientWaits?.TimesRun)}"));
        Console.WriteLine("# wire-throughput: *_waited_us is the time the engine's and the client's spinning threads waited on their run queues while another task of this machine had their core, *_switched_out how many times (the kernel's count; unseen where it keeps none): a tail that does not come from it is the node's or the host's");
        foreach (var line in s_sweepLines) Console.WriteLine(line);
        return 0;
    }

    /// <summary>Half the floor's round trips into <paramref name="floor"/>; returns how many it lost (not recorded).</summary>
    private static long AddFloor(LongHistogram floor, int roundTrips, int clientCpu, int engineCpu)
    {
        var measured = RawUdpFloor.Measure(roundTrips, clientCpu, engineCpu);
        floor.Add(measured.RoundTrips);
        return measured.Lost;
    }

    private static ClientOptions Options(GatewayOptions gateway, int account) => new()
    {
        OrderChannel = gateway.OrderChannel,
        OrderStreamId = gateway.OrderStreamId,
        ApiKeyId = (ulong)account,
        Secret = DefaultConfiguration.DemoSecret(account),
        HeartbeatIntervalMs = 1_000,
    };

    private static void Print(string impl, LongHistogram h) => Console.WriteLine(FormattableString.Invariant(
        $"RESULT bench=wire impl={impl} round_trips={h.TotalCount} p50_ns={h.GetValueAtPercentile(50)} p90_ns={h.GetValueAtPercentile(90)} p99_ns={h.GetValueAtPercentile(99)} p999_ns={h.GetValueAtPercentile(99.9)} max_ns={h.GetMaxValue()}"));

    private static bool LogOn(MediaDriver driver, NodeHost node, ExchangeClient client)
    {
        var deadline = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
        var acks = new Acks();
        while (Stopwatch.GetTimestamp() < deadline && client.State is not (ClientState.LoggedOn or ClientState.Rejected))
        {
            driver.DoWork();
            if (client.State == ClientState.Disconnected && client.IsConnected) client.TryLogon(node.Clock.NowNs);
            client.Poll(node.Clock.NowNs, ref acks);
        }

        return client.State == ClientState.LoggedOn;
    }

    private struct Acks : IExecutionReportHandler
    {
        public long Accepted, Cancelled, Rejected, Filled, LastClientOrderId, LastTransactNs;
        public RejectReason LastReject;
        public long[]? IntendedNs;
        public LongHistogram? Latency;
        public long NowNs;

        public void OnReport(in ExecutionReport r)
        {
            switch (r.Kind)
            {
                case ReportKind.Accepted:
                    Accepted++;
                    LastTransactNs = r.TransactTimeNs;
                    LastClientOrderId = r.ClientOrderId;
                    if (IntendedNs is not null) Latency!.RecordValue(Math.Max(0, NowNs - IntendedNs[r.ClientOrderId & (IntendedNs.Length - 1)]));
                    break;
                case ReportKind.Rejected:
                    Rejected++;
                    LastReject = r.RejectReason;
                    break;
                case ReportKind.Filled:
                    Filled++;
                    break;
                case ReportKind.Cancelled:
                    Cancelled++;
                    break;
            }
        }
    }

    private static long s_clientOrderId = 1;
    private static readonly LongHistogram s_clientToGateway = new(10_000_000_000, 3), s_gatewayToClient = new(10_000_000_000, 3);
    private static MarketDataClient? s_marketData;
    private static MediaDriver s_feederDriver = null!;
    private static ExchangeClient s_feeder = null!;
    private static long s_nextFeederWorkNs, s_nextFeedNs;

    /// <summary>Keeps the feeder's session and the index alive: its driver every 50 ms, prices every second.</summary>
    private static void KeepFeeding(long nowNs)
    {
        if (nowNs < s_nextFeederWorkNs) return;
        s_nextFeederWorkNs = nowNs + 50_000_000;
        s_feederDriver.DoWork();
        var ignore = new Acks();
        s_feeder.Poll(nowNs, ref ignore);
        if (nowNs >= s_nextFeedNs)
        {
            s_nextFeedNs = nowNs + 1_000_000_000;
            foreach (var spec in DefaultConfiguration.Engine.Instruments)
            {
                for (var source = 1; source <= 3; source++) s_feeder.SendPriceFeed(nowNs, source, spec.Id, spec.ReferencePriceTicks);
            }

            s_feederDriver.DoWork();
        }
    }

    /// <summary>One order at a time: order → ack (recorded), cancel → cancelled (not recorded, keeps the book flat).</summary>
    private static bool PingPong(MediaDriver driver, NodeHost node, ExchangeClient client, ref Acks acks, int count, LongHistogram? histogram)
    {
        for (var i = 0; i < count; i++)
        {
            KeepFeeding(node.Clock.NowNs);   // outside the timed part
            var id = s_clientOrderId++;
            var t0 = Stopwatch.GetTimestamp();
            while (!client.SendNewOrder(0, id, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 640_000, 1, OrderFlags.PostOnly)) driver.DoWork();
            var accepted = acks.Accepted + acks.Rejected;
            var timeout = t0 + Stopwatch.Frequency;
            while (acks.Accepted + acks.Rejected == accepted)
            {
                driver.DoWork();
                client.Poll(0, ref acks);
                s_marketData?.Poll();
                if (Stopwatch.GetTimestamp() > timeout) return false;
            }

            var t1 = Stopwatch.GetTimestamp();
            if (histogram is not null)
            {
                histogram.RecordValue((long)((t1 - t0) * (1e9 / Stopwatch.Frequency)));
                // The ack's transact time is the gateway's stamp on the order: it splits the round trip in two.
                s_clientToGateway.RecordValue(Math.Max(0, acks.LastTransactNs - node.Clock.At(t0)));
                s_gatewayToClient.RecordValue(Math.Max(0, node.Clock.At(t1) - acks.LastTransactNs));
            }
            var cancelled = acks.Cancelled;
            while (!client.SendCancel(0, id + (1L << 40), 1, id)) driver.DoWork();
            while (acks.Cancelled == cancelled && acks.Rejected == 0)
            {
                driver.DoWork();
                client.Poll(0, ref acks);
                s_marketData?.Poll();
                if (Stopwatch.GetTimestamp() > timeout) return false;
            }
        }

        return acks.Rejected == 0;
    }

    /// <summary>Open-loop offered load: order i is due at start + i / rate; each is cancelled a few orders later.</summary>
    private static (long Sent, long Answered, double Achieved, LongHistogram Latency) Saturate(MediaDriver driver, NodeHost node, ExchangeClient client, ref Acks acks, int rate, int seconds)
    {
        var latency = new LongHistogram(10_000_000_000, 3);
        var intended = new long[1 << 20];
        acks.IntendedNs = intended;
        acks.Latency = latency;
        var answeredBefore = acks.Accepted + acks.Rejected;
        var start = node.Clock.NowNs + 1_000_000;
        var end = start + (seconds * 1_000_000_000L);
        var intervalNs = 1_000_000_000.0 / rate;
        long sent = 0, cancelsPending = 0;
        var firstId = s_clientOrderId;
        long lastLoopNs = 0, maxGapNs = 0, gapsOver1Ms = 0;
        while (true)
        {
            driver.DoWork();
            var now = node.Clock.NowNs;
            if (lastLoopNs != 0)
            {
                var gap = now - lastLoopNs;
                if (gap > maxGapNs) maxGapNs = gap;
                if (gap > 1_000_000) gapsOver1Ms++;
            }

            lastLoopNs = now;
            KeepFeeding(now);
            acks.NowNs = now;
            client.Poll(now, ref acks);
            s_marketData?.Poll();
            if (now >= end) break;
            var due = start + (long)(sent * intervalNs);
            if (now >= due)
            {
                var id = firstId + sent;
                if (client.SendNewOrder(now, id, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 640_000 - (sent % 16 * 5), 1, OrderFlags.PostOnly))
                {
                    intended[id & (intended.Length - 1)] = due;
                    sent++;
                    cancelsPending++;
                }
            }

            // Keep at most 64 resting: cancel the oldest (cancels are not timed).
            if (cancelsPending > 64 && client.SendCancel(now, (1L << 41) + sent, 1, firstId + sent - cancelsPending))
            {
                cancelsPending--;
            }
        }

        // Drain: answers still in flight arrive (bounded).
        var drainUntil = Stopwatch.GetTimestamp() + Stopwatch.Frequency;
        while (acks.Accepted + acks.Rejected - answeredBefore < sent && Stopwatch.GetTimestamp() < drainUntil)
        {
            driver.DoWork();
            acks.NowNs = node.Clock.NowNs;
            client.Poll(acks.NowNs, ref acks);
        }

        s_clientOrderId = firstId + sent;
        Console.WriteLine(FormattableString.Invariant($"# saturation client loop: longest gap between passes {maxGapNs / 1000} us, {gapsOver1Ms} gaps over 1 ms"));
        var answered = acks.Accepted + acks.Rejected - answeredBefore;
        return (sent, answered, answered / (double)seconds, latency);
    }
}
