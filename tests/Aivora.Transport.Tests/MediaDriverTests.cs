using System.Buffers.Binary;
using Aivora.Transport.Agents;
using Aivora.Transport.Counters;
using Aivora.Transport.Driver;
using Aivora.Transport.LogBuffer;
using Aivora.Transport.Subscription;

namespace Aivora.Transport.Tests;

/// <summary>
/// The embedded driver in every threading mode: agents on their own threads (or the caller's),
/// the application offering, claiming and polling on the test thread. Agents back off to sleeping
/// when idle, so no more threads spin than the machine has cores; every wait is bounded.
/// </summary>
[Collection("loopback")]
public sealed class MediaDriverTests
{
    private static int _port = 45_000 + Environment.ProcessId % 2000;
    private static string NextChannel(string extra = "") => $"aeron:udp?endpoint=127.0.0.1:{Interlocked.Increment(ref _port)}{extra}";

    private static DriverOptions Options(ThreadingMode mode, string? countersPath = null) => new()
    {
        ThreadingMode = mode,
        SenderIdle = () => new BackoffIdleStrategy(maxSpins: 20, maxYields: 20),
        ReceiverIdle = () => new BackoffIdleStrategy(maxSpins: 20, maxYields: 20),
        SharedIdle = () => new BackoffIdleStrategy(maxSpins: 20, maxYields: 20),
        CountersPath = countersPath,
    };

    private struct Sequence : IMessageHandler
    {
        public long Received, Errors;
        public void OnMessage(ReadOnlySpan<byte> message, in FragmentHeader header)
        {
            if (message.Length < 9 || BinaryPrimitives.ReadInt64LittleEndian(message) != Received || message[^1] != (byte)message.Length) Errors++;
            Received++;
        }
    }

    private sealed class Listener : IImageListener
    {
        public volatile int Available, Unavailable;
        public void OnAvailable(Image image) => Available++;
        public void OnUnavailable(Image image) => Unavailable++;
    }

    /// <summary>Runs <paramref name="step"/> (and the driver, in invoker mode) until <paramref name="done"/> or the deadline.</summary>
    private static bool Until(MediaDriver driver, Func<bool> done, double seconds, Func<bool>? step = null)
    {
        long deadline = NanoClock.Now + (long)(seconds * 1e9);
        while (!done())
        {
            if (NanoClock.Now > deadline || driver.Failures.Any()) return false;
            int work = driver.ThreadingMode == ThreadingMode.Invoker ? driver.DoWork() : 0;
            bool progressed = step?.Invoke() ?? false;
            if (work == 0 && !progressed) Thread.Yield();
        }
        return true;
    }

    [Theory]
    [InlineData(ThreadingMode.Dedicated)]
    [InlineData(ThreadingMode.SharedNetwork)]
    [InlineData(ThreadingMode.Shared)]
    [InlineData(ThreadingMode.Invoker)]
    public void Offered_and_claimed_messages_arrive_in_order_in_every_threading_mode(ThreadingMode mode)
    {
        using var driver = MediaDriver.Launch(Options(mode));
        var channel = NextChannel("|term-length=64k");
        var listener = new Listener();
        var sub = driver.AddSubscription(channel, 5, listener);
        var pub = driver.AddPublication(channel, 5);
        Assert.True(Until(driver, () => pub.IsConnected && listener.Available == 1, 10), "no connection");

        var assembler = new FragmentAssembler<Sequence>(new Sequence(), pub.Log.MaxMessageLength);
        var rng = new Random(11);
        var buffer = new byte[8 * 1024];
        var claim = default(BufferClaim);
        const int Total = 30_000;
        int sent = 0;
        bool finished = Until(driver, () => assembler.Handler.Received == Total, 60, () =>
        {
            bool progressed = false;
            while (sent < Total)
            {
                // Every fourth message is claimed in place; the rest are offered, some fragmented.
                int length = sent % 4 == 3 ? rng.Next(9, pub.Log.MaxPayloadLength + 1) : rng.Next(9, buffer.Length);
                BinaryPrimitives.WriteInt64LittleEndian(buffer, sent);
                buffer[length - 1] = (byte)length;
                long result;
                if (sent % 4 == 3)
                {
                    result = pub.TryClaim(length, ref claim);
                    if (result > 0)
                    {
                        buffer.AsSpan(0, length).CopyTo(claim.Buffer);
                        claim.Commit();
                    }
                }
                else
                {
                    result = pub.Offer(buffer.AsSpan(0, length));
                }
                if (result < 0) break;
                sent++;
                progressed = true;
            }
            return sub.Poll(ref assembler, 128) > 0 || progressed;
        });

        Assert.True(finished, $"{mode}: received {assembler.Handler.Received} of {Total}, sent {sent}; failures: {string.Join("; ", driver.Failures)}");
        Assert.Equal(0, assembler.Handler.Errors);

        driver.Remove(pub);
        Assert.True(Until(driver, () => listener.Unavailable == 1, 10, () => sub.Poll(ref assembler, 16) > 0), "image not unavailable after the publication closed");
    }

    [Fact]
    public void Loss_injected_by_the_driver_in_both_directions_is_repaired_with_agents_on_their_own_threads()
    {
        var options = Options(ThreadingMode.Dedicated);
        using var driver = MediaDriver.Launch(new DriverOptions
        {
            ThreadingMode = options.ThreadingMode, SenderIdle = options.SenderIdle, ReceiverIdle = options.ReceiverIdle,
            DataLoss = i => new LossGenerator(100 + i, dropRate: 0.05, duplicateRate: 0.05, reorderRate: 0.05),
            ControlLoss = i => new LossGenerator(200 + i, dropRate: 0.05),
        });
        var channel = NextChannel("|term-length=64k");
        var sub = driver.AddSubscription(channel, 8);
        var pub = driver.AddPublication(channel, 8);
        Assert.True(Until(driver, () => pub.IsConnected && sub.ImageCount == 1, 10), "no connection through the lossy driver");

        var assembler = new FragmentAssembler<Sequence>(new Sequence(), pub.Log.MaxMessageLength);
        var buffer = new byte[3000];
        var rng = new Random(5);
        int sent = 0;
        bool finished = Until(driver, () => assembler.Handler.Received == 20_000, 60, () =>
        {
            bool progressed = false;
            while (sent < 20_000)
            {
                int length = rng.Next(9, buffer.Length);
                BinaryPrimitives.WriteInt64LittleEndian(buffer, sent);
                buffer[length - 1] = (byte)length;
                if (pub.Offer(buffer.AsSpan(0, length)) < 0) break;
                sent++;
                progressed = true;
            }
            return sub.Poll(ref assembler, 128) > 0 || progressed;
        });
        Assert.True(finished, $"received {assembler.Handler.Received} of 20,000; NAKs {sub.Counters.NaksSent}, retransmits {pub.Counters.Retransmits}");
        Assert.Equal(0, assembler.Handler.Errors);
        Assert.True(sub.Loss!.Dropped > 0 && pub.ControlLoss!.Dropped > 0 && pub.Counters.Retransmits > 0);
    }

    [Fact]
    public void Counters_are_readable_from_the_file_while_the_driver_runs()
    {
        var path = Path.Combine(Path.GetTempPath(), $"aivora-counters-{Environment.ProcessId}-{Guid.NewGuid():N}.dat");
        try
        {
            using var driver = MediaDriver.Launch(Options(ThreadingMode.SharedNetwork, path));
            var channel = NextChannel("|term-length=64k");
            var sub = driver.AddSubscription(channel, 6);
            var pub = driver.AddPublication(channel, 6);
            Assert.True(Until(driver, () => pub.IsConnected && sub.ImageCount == 1, 10));
            var handler = new FragmentAssembler<Sequence>(new Sequence(), 1024);
            var message = new byte[100]; // sequence first, its length last
            int sent = 0;
            Assert.True(Until(driver, () => handler.Handler.Received == 1_000, 20, () =>
            {
                message[^1] = 100;
                BinaryPrimitives.WriteInt64LittleEndian(message, sent);
                if (sent < 1_000 && pub.Offer(message) > 0) sent++;
                return sub.Poll(ref handler, 64) > 0;
            }));

            // The conductor publishes every 100 ms: wait (bounded) for the file to show all of it.
            CountersSnapshot? snapshot = null;
            Assert.True(Until(driver, () =>
            {
                snapshot = CountersReader.Read(path);
                return snapshot.Records.Any(r => r.Kind == CounterKind.Image && r.Values["frames_delivered"] == 1_000);
            }, 5), "the counters file never showed the delivered frames");

            Assert.Equal(Environment.ProcessId, snapshot!.ProcessId);
            var publication = Assert.Single(snapshot.Records, r => r.Kind == CounterKind.Publication);
            Assert.Equal(pub.Log.SessionId, publication.SessionId);
            Assert.StartsWith("pub 127.0.0.1:", publication.Label);
            Assert.True(publication.Values["bytes_sent"] >= 1_000 * 128 && publication.Values["connected"] == 1);
            var driverRecord = Assert.Single(snapshot.Records, r => r.Kind == CounterKind.Driver);
            Assert.Equal(1, driverRecord.Values["publications"]);
            Assert.Equal(1, driverRecord.Values["subscriptions"]);
            Assert.Equal(1, driverRecord.Values["images"]);
            Assert.Equal(0, driverRecord.Values["agent_failures"]);
            var subscription = Assert.Single(snapshot.Records, r => r.Kind == CounterKind.Subscription);
            Assert.Equal(1, subscription.Values["images"]);
            Assert.True(subscription.Values["status_messages_sent"] > 0);
            Assert.True((DateTimeOffset.UtcNow - snapshot.Heartbeat).TotalSeconds < 5);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_file_that_is_not_a_counters_file_gets_a_clear_error()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[100]);
            Assert.Contains("not a counters file", Assert.Throws<InvalidDataException>(() => CountersReader.Read(path)).Message);
            File.WriteAllBytes(path, new byte[10]);
            Assert.Contains("shorter than", Assert.Throws<InvalidDataException>(() => CountersReader.Read(path)).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class Failing : IAgent
    {
        public volatile bool Closed;
        public int Cycles;
        public string RoleName => "failing";
        public int DoWork(long nowNs) => ++Cycles < 3 ? 1 : throw new InvalidOperationException("boom");
        public void OnClose() => Closed = true;
    }

    [Fact]
    public void An_agent_that_throws_stops_with_its_failure_kept_and_is_closed()
    {
        var agent = new Failing();
        using var runner = new AgentRunner(agent, new SleepingIdleStrategy(1));
        long deadline = NanoClock.Now + 5_000_000_000;
        while (runner.IsRunning && NanoClock.Now < deadline) Thread.Sleep(1);
        Assert.False(runner.IsRunning);
        Assert.True(agent.Closed);
        Assert.Equal("boom", Assert.IsType<InvalidOperationException>(runner.Failure).Message);
        Assert.Equal(3, agent.Cycles);
    }

    [Fact]
    public void DoWork_outside_invoker_mode_and_bad_channels_are_clear_errors()
    {
        using var driver = MediaDriver.Launch(Options(ThreadingMode.Shared));
        Assert.Throws<InvalidOperationException>(() => driver.DoWork());
        Assert.True(driver.AddPublication(NextChannel(), 1).Channel.IsConnected); // unicast: connected, as the C driver
        using var unconnected = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Shared, ConnectSendSockets = false });
        Assert.False(unconnected.AddPublication(NextChannel(), 1).Channel.IsConnected);
        Assert.Contains("endpoint", Assert.Throws<FormatException>(() => driver.AddPublication("aeron:udp?mtu=1408", 1)).Message);
        Assert.Throws<FormatException>(() => driver.AddSubscription("aeron:ipc", 1));
        Assert.Contains("IPv4", Assert.Throws<NotSupportedException>(() => driver.AddSubscription("aeron:udp?endpoint=[::1]:40999", 1)).Message);
    }
}
