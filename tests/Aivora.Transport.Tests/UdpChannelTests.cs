using System.Net;
using Aivora.Transport.Driver;

namespace Aivora.Transport.Tests;

/// <summary>
/// The socket layer on both paths: libc recvmmsg / sendmmsg (native) and System.Net.Sockets
/// (managed) must agree on bytes, order and source addresses, so either can sit under the driver.
/// </summary>
[Collection("loopback")]
public sealed class UdpChannelTests
{
    private static readonly IPEndPoint AnyLoopback = new(IPAddress.Loopback, 0);

    private static List<byte[]> ReceiveAll(UdpChannel channel, int expected, out List<SocketAddress> sources)
    {
        var received = new List<byte[]>();
        sources = [];
        long deadline = NanoClock.Now + 5_000_000_000;
        while (received.Count < expected && NanoClock.Now < deadline)
        {
            while (channel.TryReceive(out var datagram, out var source))
            {
                received.Add(datagram.ToArray());
                var copy = new SocketAddress(source.Family, source.Size);
                source.Buffer.Span.CopyTo(copy.Buffer.Span);
                sources.Add(copy);
            }
        }
        return received;
    }

    [Theory]
    [InlineData(DatagramIo.Native, DatagramIo.Native)]
    [InlineData(DatagramIo.Native, DatagramIo.Managed)]
    [InlineData(DatagramIo.Managed, DatagramIo.Native)]
    public void Datagrams_arrive_whole_in_order_with_the_senders_address(DatagramIo sendIo, DatagramIo receiveIo)
    {
        using var receiver = UdpChannel.Bind(AnyLoopback, receiveIo);
        using var sender = UdpChannel.Bind(AnyLoopback, sendIo);
        var destination = receiver.LocalEndPoint.Serialize();
        for (int i = 0; i < 40; i++) Assert.True(sender.Send(Enumerable.Range(0, 1 + i * 37).Select(b => (byte)(b + i)).ToArray(), destination));

        var received = ReceiveAll(receiver, 40, out var sources);

        Assert.Equal(40, received.Count);
        for (int i = 0; i < 40; i++) Assert.Equal(Enumerable.Range(0, 1 + i * 37).Select(b => (byte)(b + i)), received[i]);
        Assert.All(sources, source => Assert.Equal(sender.LocalEndPoint.Serialize(), source));
        Assert.Equal(40, receiver.ReceivedDatagrams);
        if (receiveIo == DatagramIo.Native) Assert.True(receiver.ReceiveCalls < 40, $"recvmmsg batched: {receiver.ReceiveCalls} calls for 40 datagrams");
    }

    [Fact]
    public void After_finding_the_socket_empty_it_reads_one_datagram_then_the_rest_in_batches()
    {
        // A busy-polling duty cycle mostly finds its socket empty: it asks with recvfrom (cheaper than recvmmsg to say
        // "nothing"), hands the first datagram over at once (the cycle stops reading there), and reads what follows it in
        // batches.
        using var receiver = UdpChannel.Bind(AnyLoopback, DatagramIo.Native, batchLength: 16);
        using var sender = UdpChannel.Bind(AnyLoopback, DatagramIo.Native);
        var destination = receiver.LocalEndPoint.Serialize();
        Assert.False(receiver.TryReceive(out _, out _));
        for (int i = 0; i < 20; i++) Assert.True(sender.Send(new[] { (byte)i }, destination));
        Thread.Sleep(50); // loopback delivers at once; this only makes sure all 20 are queued

        Assert.True(receiver.TryReceive(out var first, out _));
        Assert.Equal(0, first[0]);
        Assert.True(receiver.DrainedShortBatch);
        Assert.Equal(1, receiver.ReceiveCalls);

        var rest = ReceiveAll(receiver, 19, out _);
        Assert.Equal(Enumerable.Range(1, 19), rest.Select(d => (int)d[0]));
        Assert.Equal(3, receiver.ReceiveCalls);   // 16 and 3
    }

    [Theory]
    [InlineData(DatagramIo.Native)]
    [InlineData(DatagramIo.Managed)]
    public void Queued_sends_go_out_in_batches_and_in_order(DatagramIo io)
    {
        using var receiver = UdpChannel.Bind(AnyLoopback, DatagramIo.Native);
        using var sender = UdpChannel.Bind(AnyLoopback, io);
        var destination = receiver.LocalEndPoint.Serialize();
        var pinned = GC.AllocateArray<byte>(10 * 64, pinned: true);
        for (int i = 0; i < pinned.Length; i++) pinned[i] = (byte)(i / 64);
        for (int i = 0; i < 10; i++) sender.QueueSend(pinned.AsSpan(i * 64, 64), destination); // flushes at 4 and 8
        sender.FlushSends();                                                       // the last 2

        var received = ReceiveAll(receiver, 10, out _);

        Assert.Equal(Enumerable.Range(0, 10), received.Select(d => (int)d[0]));
        Assert.All(received, d => Assert.Equal(64, d.Length));
        Assert.Equal(0, sender.SendFailures);
    }

    /// <summary>
    /// A queued datagram of up to a page leaves from the channel's own send slots (copied when queued), so the kernel reads
    /// the same few pages on every send and never the log's terms page by page (each page's first kernel read costs ~11 us
    /// on this VM); a longer one still leaves whole, from where it is.
    /// </summary>
    [Theory]
    [InlineData(DatagramIo.Native)]
    [InlineData(DatagramIo.Managed)]
    public void A_queued_datagram_up_to_a_page_leaves_as_it_was_when_queued_and_a_longer_one_whole(DatagramIo io)
    {
        using var receiver = UdpChannel.Bind(AnyLoopback, DatagramIo.Native, slotLength: 8192);
        using var sender = UdpChannel.Bind(AnyLoopback, io);
        var destination = receiver.LocalEndPoint.Serialize();
        var pinned = GC.AllocateArray<byte>(3 * UdpChannel.SendStagingSlotLength, pinned: true);
        pinned.AsSpan().Fill(1);
        sender.QueueSend(pinned.AsSpan(0, 64), destination);
        sender.QueueSend(pinned.AsSpan(64, UdpChannel.SendStagingSlotLength), destination);
        pinned.AsSpan(0, 64 + UdpChannel.SendStagingSlotLength).Fill(2);   // after queueing, before the flush
        sender.QueueSend(pinned.AsSpan(0, UdpChannel.SendStagingSlotLength + 1), destination);   // too long to copy: sent from here
        sender.FlushSends();

        var received = ReceiveAll(receiver, 3, out _);

        Assert.Equal([64, UdpChannel.SendStagingSlotLength, UdpChannel.SendStagingSlotLength + 1], received.Select(d => d.Length));
        Assert.All(received[0], b => Assert.Equal(1, b));
        Assert.All(received[1], b => Assert.Equal(1, b));
        Assert.All(received[2], b => Assert.Equal(2, b));
        Assert.Equal(0, sender.SendFailures);
    }

    [Fact]
    public void A_datagram_longer_than_a_slot_arrives_cut_to_the_slot_and_the_next_one_is_whole()
    {
        using var receiver = UdpChannel.Bind(AnyLoopback, DatagramIo.Native, batchLength: 2, slotLength: 128);
        using var sender = UdpChannel.Bind(AnyLoopback, DatagramIo.Native);
        var destination = receiver.LocalEndPoint.Serialize();
        sender.Send(new byte[500], destination);
        sender.Send(new byte[100], destination);

        var received = ReceiveAll(receiver, 2, out _);

        Assert.Equal([128, 100], received.Select(d => d.Length));
    }

    [Theory]
    [InlineData(DatagramIo.Native)]
    [InlineData(DatagramIo.Managed)]
    public void Sending_to_a_closed_port_is_neither_an_exception_nor_a_stuck_receive(DatagramIo io)
    {
        using var channel = UdpChannel.Bind(AnyLoopback, io);
        IPEndPoint closed;
        using (var probe = UdpChannel.Bind(AnyLoopback)) closed = probe.LocalEndPoint;
        for (int i = 0; i < 5; i++) channel.Send(new byte[32], closed.Serialize()); // ICMP port unreachable comes back
        Assert.False(channel.TryReceive(out _, out _));

        using var peer = UdpChannel.Bind(AnyLoopback, io);
        peer.Send(new byte[40], channel.LocalEndPoint.Serialize());
        Assert.Equal(40, Assert.Single(ReceiveAll(channel, 1, out _)).Length);
    }

    [Theory]
    [InlineData(DatagramIo.Native)]
    [InlineData(DatagramIo.Managed)]
    public void A_connected_channel_sends_to_its_peer_and_hears_only_its_peer(DatagramIo io)
    {
        using var peer = UdpChannel.Bind(AnyLoopback, io);
        using var stranger = UdpChannel.Bind(AnyLoopback, io);
        using var channel = UdpChannel.Bind(AnyLoopback, io);
        channel.ConnectTo(peer.LocalEndPoint);
        Assert.True(channel.IsConnected);

        var pinned = GC.AllocateArray<byte>(64, pinned: true);
        Assert.True(channel.Send(new byte[10], stranger.LocalEndPoint.Serialize())); // the destination is ignored once connected
        channel.QueueSend(pinned, stranger.LocalEndPoint.Serialize());
        channel.QueueSend(pinned, stranger.LocalEndPoint.Serialize());
        channel.FlushSends();
        Assert.Equal([10, 64, 64], ReceiveAll(peer, 3, out _).Select(d => d.Length));

        stranger.Send(new byte[20], channel.LocalEndPoint.Serialize()); // filtered by the kernel
        peer.Send(new byte[30], channel.LocalEndPoint.Serialize());
        Assert.Equal(30, Assert.Single(ReceiveAll(channel, 1, out _)).Length);
        Assert.False(channel.TryReceive(out _, out _));
    }

    [Fact]
    public void A_datagram_the_kernel_refuses_from_a_shared_queue_costs_only_itself_and_counts_to_the_channel_it_was_queued_for()
    {
        // One publication's bad datagram (here too long; in production an unroutable or firewalled client) must not take the
        // datagrams queued after it, other publications' replies, down with it: refused in the middle of the queue or last.
        using var receiver = UdpChannel.Bind(AnyLoopback, DatagramIo.Native);
        using var shared = UdpChannel.Bind(AnyLoopback, DatagramIo.Native, sendBatchLength: 8);
        using var first = UdpChannel.Bind(AnyLoopback, DatagramIo.Native);
        using var second = UdpChannel.Bind(AnyLoopback, DatagramIo.Native);
        var destination = receiver.LocalEndPoint.Serialize();
        var small = GC.AllocateArray<byte>(64, pinned: true);
        var other = GC.AllocateArray<byte>(80, pinned: true);
        var tooLong = GC.AllocateArray<byte>(70_000, pinned: true);   // over UDP's 65,507-byte payload: EMSGSIZE

        shared.QueueSend(small, destination, first);
        shared.QueueSend(tooLong, destination, second);
        shared.QueueSend(other, destination, first);
        shared.QueueSend(tooLong, destination, second);
        shared.QueueSend(small, destination, first);
        shared.QueueSend(tooLong, destination, second);
        shared.FlushSends();

        Assert.Equal([64, 80, 64], ReceiveAll(receiver, 3, out _).Select(d => d.Length));
        Assert.Equal((0L, 3L, 0L), (first.SendFailures, second.SendFailures, shared.SendFailures));
    }
}
