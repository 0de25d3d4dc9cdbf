using System.Buffers.Binary;
using Aivora.Transport.Driver;
using Aivora.Transport.LogBuffer;
using Aivora.Transport.Subscription;

namespace Aivora.Transport.Tests;

/// <summary>
/// Channel parameters that change behaviour, through an invoker-mode driver: a publication started
/// at an exact position, a subscription admitting one session, an unreliable subscription, linger.
/// </summary>
[Collection("loopback")]
public sealed class ChannelOptionTests
{
    private static int _port = 49_000 + Environment.ProcessId % 1000;
    private static string Endpoint() => $"127.0.0.1:{Interlocked.Increment(ref _port)}";

    private struct InOrder : IMessageHandler
    {
        public long Received, Last, Errors;
        public FragmentHeader First;
        public void OnMessage(ReadOnlySpan<byte> message, in FragmentHeader header)
        {
            long sequence = BinaryPrimitives.ReadInt64LittleEndian(message);
            for (int i = 8; i < message.Length; i++)
            {
                if (message[i] != (byte)(sequence + i)) Errors++;
            }
            if (Received == 0) First = header;
            else if (sequence <= Last) Errors++; // increasing: gaps allowed only on an unreliable stream
            Last = sequence;
            Received++;
        }
    }

    private static void Fill(byte[] buffer, int length, long sequence)
    {
        BinaryPrimitives.WriteInt64LittleEndian(buffer, sequence);
        for (int i = 8; i < length; i++) buffer[i] = (byte)(sequence + i);
    }

    /// <summary>A subscription and a publication on one fresh endpoint, each with its extra channel parameters, connected.</summary>
    private static (NetworkSubscription Sub, NetworkPublication Pub) Connect(MediaDriver driver, string subscriptionParameters, string publicationParameters)
    {
        string endpoint = Endpoint();
        var sub = driver.AddSubscription($"aeron:udp?endpoint={endpoint}{subscriptionParameters}", 3);
        var pub = driver.AddPublication($"aeron:udp?endpoint={endpoint}{publicationParameters}", 3);
        Assert.True(InvokerLoop.Until(driver, () => pub.IsConnected && sub.ImageCount == 1, 5), "no connection");
        return (sub, pub);
    }

    [Fact]
    public void A_publication_given_init_term_id_term_id_and_term_offset_starts_exactly_there()
    {
        using var driver = MediaDriver.Launch();
        var (sub, pub) = Connect(driver, "", "|term-length=64k|session-id=4242|init-term-id=100|term-id=102|term-offset=4096");

        Assert.Equal(4242, pub.Log.SessionId);
        Assert.Equal(2L * 65536 + 4096, pub.Position);
        Assert.Equal(pub.Position, sub.ImageAt(0).JoinPosition); // the SETUP carried term 102, offset 4096
        var handler = new FragmentAssembler<InOrder>(new InOrder(), pub.Log.MaxMessageLength);
        var buffer = new byte[100];
        Fill(buffer, 100, 1);
        Assert.True(pub.Offer(buffer) > 0);
        Assert.True(InvokerLoop.Until(driver, () => handler.Handler.Received == 1, 5, () => sub.Poll(ref handler, 10)));
        Assert.Equal(102, handler.Handler.First.TermId);
        Assert.Equal(4096, handler.Handler.First.TermOffset);
    }

    [Fact]
    public void A_subscription_with_a_session_id_admits_only_that_publisher()
    {
        using var driver = MediaDriver.Launch();
        string endpoint = Endpoint();
        var sub = driver.AddSubscription($"aeron:udp?endpoint={endpoint}|session-id=777", 3);
        var other = driver.AddPublication($"aeron:udp?endpoint={endpoint}|session-id=555", 3);
        var wanted = driver.AddPublication($"aeron:udp?endpoint={endpoint}|session-id=777", 3);
        Assert.True(InvokerLoop.Until(driver, () => wanted.IsConnected, 5));
        InvokerLoop.Until(driver, () => false, 0.3); // give the other one time to (not) connect
        Assert.False(other.IsConnected);
        Assert.Equal(777, Assert.Single(Enumerable.Range(0, sub.ImageCount).Select(sub.ImageAt)).SessionId);
    }

    [Fact]
    public void An_unreliable_subscription_gives_up_lost_data_delivers_the_rest_in_order_and_never_naks()
    {
        using var driver = MediaDriver.Launch();
        var (sub, pub) = Connect(driver, "|reliable=false", "|term-length=64k");
        sub.Loss = new LossGenerator(21, dropRate: 0.05, reorderRate: 0.02);

        var handler = new FragmentAssembler<InOrder>(new InOrder(), pub.Log.MaxMessageLength);
        var buffer = new byte[pub.Log.MaxMessageLength];
        var rng = new Random(4);
        long sent = 0;
        // Small and fragmented messages; done when the image has consumed everything sent.
        Assert.True(InvokerLoop.Until(driver, () => sent == 20_000 && sub.ImageAt(0).SubscriberPosition == pub.Position, 30, () =>
        {
            while (sent < 20_000)
            {
                int length = rng.Next(8, 4000);
                Fill(buffer, length, sent);
                if (pub.Offer(buffer.AsSpan(0, length)) < 0) break;
                sent++;
            }
            sub.Poll(ref handler, 256);
        }), $"stalled: received {handler.Handler.Received}, gaps filled {sub.Counters.GapsFilled}");

        Assert.Equal(0, handler.Handler.Errors);                     // whatever arrives is whole and in order
        Assert.InRange(handler.Handler.Received, 10_000, 19_999);    // and some was given up
        Assert.True(sub.Counters.GapsFilled > 0 && sub.ImageAt(0).Counters.BytesLost > 0);
        Assert.Equal(0, sub.Counters.NaksSent);
        Assert.Equal(0, pub.Counters.Retransmits);
    }

    [Fact]
    public void Linger_from_the_channel_bounds_how_long_a_closed_publication_lingers()
    {
        using var driver = MediaDriver.Launch();
        string endpoint = Endpoint();
        var pub = driver.AddPublication($"aeron:udp?endpoint={endpoint}|linger=300ms", 3);
        Assert.Equal(300_000_000, pub.LingerNs);
        // A live receiver that never consumes: it keeps sending SMs but never reaches the EOS, so it
        // never acknowledges it; only the linger ends the publication (the default would be 5 s).
        _ = driver.AddSubscription($"aeron:udp?endpoint={endpoint}", 3);
        Assert.True(InvokerLoop.Until(driver, () => pub.IsConnected, 5));
        var buffer = new byte[64];
        Fill(buffer, 64, 0);
        Assert.True(pub.Offer(buffer) > 0);
        long closedAt = NanoClock.Now;
        driver.Remove(pub);
        Assert.True(InvokerLoop.Until(driver, () => pub.IsClosed, 3));
        Assert.InRange((NanoClock.Now - closedAt) / 1e9, 0.29, 1.5);
    }

    [Fact]
    public void Socket_buffer_sizes_from_the_channel_reach_the_sockets_and_bad_ones_are_refused()
    {
        using var driver = MediaDriver.Launch();
        string endpoint = Endpoint();
        var defaults = driver.AddSubscription($"aeron:udp?endpoint={Endpoint()}", 3);
        var sub = driver.AddSubscription($"aeron:udp?endpoint={endpoint}|so-rcvbuf=64k", 3);
        var pub = driver.AddPublication($"aeron:udp?endpoint={endpoint}|so-sndbuf=32k", 3);
        // Linux doubles what is asked (and caps it at its maximum); the 2 MiB default is capped the same way.
        Assert.InRange(sub.Channel.Socket.ReceiveBufferSize, 64 * 1024, 2 * 64 * 1024);
        Assert.True(sub.Channel.Socket.ReceiveBufferSize <= defaults.Channel.Socket.ReceiveBufferSize);
        Assert.InRange(pub.Channel.Socket.SendBufferSize, 32 * 1024, 2 * 32 * 1024);

        Assert.False(Uri.ChannelUri.TryParse("aeron:udp?endpoint=127.0.0.1:1|so-rcvbuf=100", out _, out var error));
        Assert.Contains("so-rcvbuf=100", error);
        Assert.False(Uri.ChannelUri.TryParse("aeron:udp?endpoint=127.0.0.1:1|so-sndbuf=lots", out _, out error));
        Assert.Contains("so-sndbuf", error);
    }

    [Fact]
    public void A_start_position_can_only_be_set_on_an_empty_log_and_must_be_aligned()
    {
        var log = new PublicationLog(1, 2, 3, 64 * 1024, 1408);
        Assert.Throws<ArgumentOutOfRangeException>(() => log.StartAt(100));
        log.StartAt(64 * 1024 + 32);
        Assert.True(log.Append(new byte[10]) > 0);
        Assert.Throws<InvalidOperationException>(() => log.StartAt(0));
    }
}
