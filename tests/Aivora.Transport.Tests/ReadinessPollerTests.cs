using System.Buffers.Binary;
using System.Net;
using Aivora.Transport.Driver;
using Aivora.Transport.Subscription;

namespace Aivora.Transport.Tests;

/// <summary>
/// The receiver with several sockets asks only those with data: one epoll_wait a pass says which (level-triggered, so a
/// socket read in part is reported again), and a quiet socket costs no receive call; the sender reads its publications'
/// control frames the same way, one readiness poll at the interval their own schedules set. Sockets bind ephemeral loopback ports;
/// every wait is bounded.
/// </summary>
[Collection("loopback")]
public sealed class ReadinessPollerTests
{
    [Fact]
    public void ShouldReportOnlyTheSocketsWithDataWaitingUntilTheyAreDrained()
    {
        using var a = UdpChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), batchLength: 1);
        using var b = UdpChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), batchLength: 1);
        using var c = UdpChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), batchLength: 1);
        using var sender = UdpChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var poller = ReadinessPoller.TryCreate([a.Descriptor, b.Descriptor, c.Descriptor]);
        Assert.NotNull(poller);   // Linux, native I/O: the test machines' platform
        var ready = new bool[3];

        Assert.Equal(0, poller.Poll(ready));
        Assert.Equal([false, false, false], ready);

        sender.Send(new byte[32], b.LocalEndPoint.Serialize());
        sender.Send(new byte[32], b.LocalEndPoint.Serialize());
        Assert.True(Eventually(() => poller.Poll(ready) == 1));
        Assert.Equal([false, true, false], ready);

        Assert.True(b.TryReceive(out _, out _));   // one of two read: still reported
        Assert.Equal(1, poller.Poll(ready));
        Assert.True(ready[1]);

        Assert.True(b.TryReceive(out _, out _));   // drained
        Assert.Equal(0, poller.Poll(ready));
        Assert.False(ready[1]);
    }

    [Fact]
    public void ShouldSayAChannelHoldsInputWhileABatchReadFromAnEmptiedSocketIsNotHandedOut()
    {
        // What the receiver asks a channel for besides the poller's answer: a batch already read, its socket empty since.
        using var receiver = UdpChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0), batchLength: 16);
        using var sender = UdpChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var poller = ReadinessPoller.TryCreate([receiver.Descriptor]);
        Assert.NotNull(poller);
        var ready = new bool[1];
        for (var i = 0; i < 5; i++) Assert.True(sender.Send(new[] { (byte)i }, receiver.LocalEndPoint.Serialize()));
        Assert.True(Eventually(() => poller.Poll(ready) == 1));

        Assert.True(receiver.TryReceive(out _, out _));   // one datagram (recvfrom)
        Assert.True(receiver.TryReceive(out _, out _));   // then a batch of the other four
        Assert.Equal(0, poller.Poll(ready));               // the socket is empty now
        Assert.True(receiver.HasPending);                  // three of the batch not handed out yet
        for (var i = 0; i < 3; i++) Assert.True(receiver.TryReceive(out _, out _));
        Assert.False(receiver.HasPending);
    }

    [Fact]
    public void ShouldNotAskQuietSocketsAndStillDeliverEveryMessageOnEachStream()
    {
        using var driver = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker });
        var (subscriptions, publications) = Streams(driver, count: 4, firstStreamId: 10);

        Assert.True(Until(driver, () => publications.All(p => p.IsConnected)), "publications never connected");

        // Quiet: passes with nothing in flight ask none of the sockets (the old receiver asked each one every pass). The
        // images' status messages and the publications' setup frames settle first.
        for (var k = 0; k < 200; k++) driver.DoWork();
        Thread.Sleep(5);
        for (var k = 0; k < 20; k++) driver.DoWork();
        var before = subscriptions.Select(s => s.Channel.ReceiveAttempts).ToArray();
        for (var k = 0; k < 1_000; k++) driver.DoWork();
        var quietAttempts = subscriptions.Select((s, i) => s.Channel.ReceiveAttempts - before[i]).Sum();
        Assert.True(quietAttempts < 20, $"{quietAttempts} receive calls in 1,000 quiet passes over 4 sockets");

        // Busy: 300 messages on stream 0 only (more than a pass takes from one socket), 50 on each of the others, all arrive
        // in order.
        var counts = new[] { 300, 50, 50, 50 };
        for (var s = 0; s < publications.Length; s++)
        {
            for (var m = 0; m < counts[s]; m++)
            {
                var message = new byte[16];
                BinaryPrimitives.WriteInt64LittleEndian(message, m);
                Assert.True(Until(driver, () => publications[s].Offer(message) > 0), "offer back-pressured for a second");
            }
        }

        var handlers = new Sequence[subscriptions.Length];
        Assert.True(Until(driver, () =>
        {
            for (var s = 0; s < subscriptions.Length; s++) subscriptions[s].Poll(ref handlers[s], 64);
            return handlers.Select(h => h.Received).SequenceEqual(counts.Select(c => (long)c));
        }), $"received {string.Join(", ", handlers.Select(h => h.Received))} of {string.Join(", ", counts)}");
        Assert.All(handlers, h => Assert.Equal(0, h.Errors));
    }

    [Fact]
    public void ShouldReadThePublicationsControlFramesOnlyFromTheSocketsThatHaveSome()
    {
        // The sender's side of the same: four publications in one driver, one of them streaming far more than its receiver's
        // window (so it moves only as its status messages are read), the other three quiet. Each publication used to make a
        // receive call on its own socket every 100 us while busy and every 1 ms while quiet, whatever was there.
        using var driver = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker });
        var (subscriptions, publications) = Streams(driver, count: 4, firstStreamId: 30, options: "|term-length=64k");
        Assert.True(Until(driver, () => publications.All(p => p.IsConnected)), "publications never connected");

        var before = publications.Select(p => p.Channel.ReceiveAttempts).ToArray();
        var statusBefore = publications.Select(p => p.Counters.StatusMessagesReceived).ToArray();
        var started = DateTime.UtcNow;
        const int Total = 2_000;   // 2 MB of 1 KB messages through a 128 KB receiver window
        var message = new byte[1_024];
        var sent = 0;
        var handler = new Sequence();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (handler.Received < Total && DateTime.UtcNow < deadline)
        {
            while (sent < Total)
            {
                BinaryPrimitives.WriteInt64LittleEndian(message, sent);
                if (publications[0].Offer(message) < 0) break;
                sent++;
            }

            subscriptions[0].Poll(ref handler, 64);
            if (driver.DoWork() == 0) Thread.Yield();
        }

        var elapsedUs = (DateTime.UtcNow - started).TotalMicroseconds;
        Assert.Equal(Total, handler.Received);
        Assert.Equal(0, handler.Errors);
        var attempts = publications.Select((p, i) => p.Channel.ReceiveAttempts - before[i]).ToArray();
        var statusMessages = publications.Select((p, i) => p.Counters.StatusMessagesReceived - statusBefore[i]).ToArray();
        Assert.True(statusMessages[0] >= 8, $"{statusMessages[0]} status messages read for 2 MB through a 128 KB window");
        // The streaming one asked its socket once for each look that found status messages there, not every 100 us: a look
        // reads one call's batch (up to 4), and one more call only after a full batch, so calls <= messages + messages / 4.
        Assert.True(attempts[0] <= statusMessages[0] + (statusMessages[0] / 4) + 2, $"streaming publication: {attempts[0]} receive calls for {statusMessages[0]} status messages in {elapsedUs:F0} us");
        // The quiet ones only when their receivers' periodic status message (every 200 ms) was there.
        for (var i = 1; i < publications.Length; i++)
        {
            Assert.True(attempts[i] <= statusMessages[i] + (statusMessages[i] / 4) + 2, $"quiet publication {i}: {attempts[i]} receive calls for {statusMessages[i]} status messages in {elapsedUs:F0} us");
        }
    }

    [Fact]
    public void ShouldRepairLossOnEveryStreamWhenTheSocketsAreReadOnlyWhenReady()
    {
        // Drops, duplicates and reordering (the loss generator holds a datagram back: pending input the poller cannot see) on
        // three subscriptions of one driver, and drops on the publications' control frames: every message still arrives once,
        // in order, through NAKs and retransmits.
        using var driver = MediaDriver.Launch(new DriverOptions
        {
            ThreadingMode = ThreadingMode.Invoker,
            DataLoss = i => new LossGenerator(300 + i, dropRate: 0.05, duplicateRate: 0.05, reorderRate: 0.05),
            ControlLoss = i => new LossGenerator(400 + i, dropRate: 0.05),
        });
        var (subscriptions, publications) = Streams(driver, count: 3, firstStreamId: 20, options: "|term-length=64k");

        Assert.True(Until(driver, () => publications.All(p => p.IsConnected) && subscriptions.All(s => s.ImageCount == 1)), "no connection through the lossy driver");
        const int Total = 5_000;
        var sent = new int[subscriptions.Length];
        var handlers = new Sequence[subscriptions.Length];
        var message = new byte[100];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (handlers.Any(h => h.Received < Total) && DateTime.UtcNow < deadline)
        {
            for (var s = 0; s < subscriptions.Length; s++)
            {
                while (sent[s] < Total)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(message, sent[s]);
                    if (publications[s].Offer(message) < 0) break;
                    sent[s]++;
                }

                subscriptions[s].Poll(ref handlers[s], 64);
            }

            if (driver.DoWork() == 0) Thread.Yield();
        }

        Assert.All(handlers, h => Assert.Equal(Total, h.Received));
        Assert.All(handlers, h => Assert.Equal(0, h.Errors));
        Assert.All(subscriptions, s => Assert.True(s.Loss!.Dropped > 0 && s.Loss.Reordered > 0));
        Assert.True(publications.Sum(p => p.Counters.Retransmits) > 0);
    }

    // Streams firstStreamId, firstStreamId + 1, ...: each subscription on its own ephemeral loopback port (bound first), and a
    // publication pointed at the port it got.
    private static (NetworkSubscription[] Subscriptions, NetworkPublication[] Publications) Streams(MediaDriver driver, int count, int firstStreamId, string options = "")
    {
        var subscriptions = new NetworkSubscription[count];
        var publications = new NetworkPublication[count];
        for (var s = 0; s < count; s++)
        {
            subscriptions[s] = driver.AddSubscription("aeron:udp?endpoint=127.0.0.1:0" + options, firstStreamId + s);
            publications[s] = driver.AddPublication($"aeron:udp?endpoint=127.0.0.1:{subscriptions[s].Channel.LocalEndPoint.Port}{options}", firstStreamId + s);
        }

        return (subscriptions, publications);
    }

    private struct Sequence : IFragmentHandler
    {
        public long Received, Errors;

        public void OnFragment(ReadOnlySpan<byte> message, in FragmentHeader header)
        {
            if (BinaryPrimitives.ReadInt64LittleEndian(message) != Received) Errors++;
            Received++;
        }
    }

    private static bool Eventually(Func<bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!done())
        {
            if (DateTime.UtcNow > deadline) return false;
            Thread.Yield();
        }

        return true;
    }

    private static bool Until(MediaDriver driver, Func<bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!done())
        {
            if (DateTime.UtcNow > deadline) return false;
            if (driver.DoWork() == 0) Thread.Yield();
        }

        return true;
    }
}
