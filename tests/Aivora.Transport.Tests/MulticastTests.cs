using System.Buffers.Binary;
using System.Net;
using Aivora.Transport.Driver;
using Aivora.Transport.Protocol;
using Aivora.Transport.Subscription;
using Aivora.Transport.Uri;

namespace Aivora.Transport.Tests;

/// <summary>
/// Multicast on loopback (aeron-wire.md §12): data and SETUP to the data group, SMs and NAKs to the
/// control group (data + 1), the group flag in SETUP, several receivers on one group, each repaired
/// through NAKs on its own loss. Driven from the test thread; every wait is bounded.
/// </summary>
[Collection("loopback")]
public sealed class MulticastTests
{
    private static int _port = 47_000 + Environment.ProcessId % 1000;
    private static IPEndPoint NextGroup() => new(IPAddress.Parse("239.255.90.1"), Interlocked.Increment(ref _port));

    private struct InOrder : IFragmentHandler
    {
        public long Received, Errors;
        public void OnFragment(ReadOnlySpan<byte> payload, in FragmentHeader header)
        {
            if (BinaryPrimitives.ReadInt64LittleEndian(payload) != Received) Errors++;
            Received++;
        }
    }

    private static bool RunUntil(Func<bool> done, double seconds, Action each)
    {
        long deadline = NanoClock.Now + (long)(seconds * 1e9);
        while (!done())
        {
            if (NanoClock.Now > deadline) return false;
            each();
        }
        return true;
    }

    [Fact]
    public void With_min_flow_control_two_receivers_both_get_every_message_in_order_and_loss_on_one_is_repaired()
    {
        // fc=min: the lossy receiver holds the publisher back, so its NAKs stay inside the retransmit
        // window. (Under fc=max the fast receiver sets the pace and a lossy one may fall behind.)
        var group = NextGroup();
        using var first = new NetworkSubscription(group, 4);
        using var second = new NetworkSubscription(group, 4);
        using var pub = NetworkPublication.Create(group, 4, 64 * 1024, ttl: 1, flowControl: FlowControl.Min);
        second.Loss = new LossGenerator(9, dropRate: 0.05, reorderRate: 0.05);

        void Duty()
        {
            long now = NanoClock.Now;
            pub.DoWork(now);
            first.DoWork(now);
            second.DoWork(now);
        }

        Assert.True(RunUntil(() => pub.IsConnected && first.ImageCount == 1 && second.ImageCount == 1, 5, Duty), "multicast SETUP / SM handshake did not complete");
        for (int i = 0; i < 100; i++) Duty(); // both receivers' first SMs in: pacing counts both
        Assert.True(pub.IsMulticast && first.IsMulticast);

        var a = new InOrder();
        var b = new InOrder();
        var message = new byte[200];
        long sent = 0;
        const int Total = 20_000;
        bool done = RunUntil(() => a.Received == Total && b.Received == Total, 60, () =>
        {
            while (sent < Total)
            {
                BinaryPrimitives.WriteInt64LittleEndian(message, sent);
                if (pub.Offer(message) < 0) break;
                sent++;
            }
            Duty();
            first.Poll(ref a, 256);
            second.Poll(ref b, 256);
        });

        Assert.True(done, $"first {a.Received}, second {b.Received} of {Total} (sent {sent}); NAKs {second.Counters.NaksSent}, received {pub.Counters.NaksReceived}, retransmits {pub.Counters.Retransmits}, sm {pub.Counters.StatusMessagesReceived}/{pub.Counters.StatusMessagesRejected}, pub malformed? {pub.Counters.ErrorsReceived}");
        Assert.Equal(0, a.Errors + b.Errors);
        Assert.True(second.Loss.Dropped > 0 && second.Counters.NaksSent > 0 && pub.Counters.NaksReceived > 0 && pub.Counters.Retransmits > 0);
    }

    [Theory]
    [InlineData(true, 2)]   // a group keeps concurrent retransmit actions: both ranges go
    [InlineData(false, 1)]  // unicast keeps one: the second NAK's range replaces the first
    public void Naks_for_two_ranges_in_one_duty_cycle(bool multicast, int rangesResent)
    {
        var endpoint = multicast ? NextGroup() : new IPEndPoint(IPAddress.Loopback, Interlocked.Increment(ref _port));
        using var sub = new NetworkSubscription(endpoint, 4);
        using var pub = NetworkPublication.Create(endpoint, 4, 64 * 1024, ttl: 1);
        Assert.True(RunUntil(() => pub.IsConnected && sub.ImageCount == 1, 5, () =>
        {
            pub.DoWork(NanoClock.Now);
            sub.DoWork(NanoClock.Now);
        }));
        for (int i = 0; i < 8; i++) Assert.True(pub.Offer(new byte[1000]) > 0);
        var handler = new InOrder();
        long deadline = NanoClock.Now + 1_000_000_000;
        while (pub.ReceiverPosition < pub.Position && NanoClock.Now < deadline)
        {
            pub.DoWork(NanoClock.Now);
            sub.DoWork(NanoClock.Now);
            sub.Poll(ref handler, 64);
        }

        // Two NAKs for different frames, sent back to back to where the publication listens, from the
        // receiver's own socket (a unicast publication's socket is connected to it and hears nobody else).
        var receiver = sub.Channel;
        var control = multicast
            ? new IPEndPoint(UdpChannel.ControlGroupOf(endpoint.Address), endpoint.Port)
            : new IPEndPoint(IPAddress.Loopback, pub.LocalEndPoint.Port);
        var nak = new byte[FrameLayout.NakLength];
        foreach (int offset in new[] { 0, 2112 }) // the first and third 1,056-byte frames; each NAK asks for less than its frame
        {
            _ = new NakFrame(nak) { SessionId = pub.Log.SessionId, StreamId = 4, TermId = pub.Log.InitialTermId, TermOffset = offset, Length = 1024 };
            _ = new FrameHeader(nak) { FrameLength = FrameLayout.NakLength, Version = 0, Flags = 0, Type = FrameType.Nak };
            receiver.Send(nak, control.Serialize());
        }
        long retransmitsBefore = pub.Counters.Retransmits;
        deadline = NanoClock.Now + 1_000_000_000;
        while (pub.Counters.NaksReceived < 2 && NanoClock.Now < deadline) pub.DoWork(NanoClock.Now);

        Assert.Equal(2, pub.Counters.NaksReceived);
        Assert.Equal(rangesResent, pub.Counters.Retransmits - retransmitsBefore);
    }

    [Fact]
    public void Setup_goes_to_the_data_group_with_the_group_flag_and_ttl()
    {
        var group = NextGroup();
        using var listener = UdpChannel.Bind(group, reuseAddress: true);
        listener.JoinGroup(group.Address, IPAddress.Loopback);
        using var pub = NetworkPublication.Create(group, 4, 64 * 1024, ttl: 3);
        pub.DoWork(NanoClock.Now);

        byte[]? setup = null;
        Assert.True(RunUntil(() => setup is not null, 5, () =>
        {
            if (listener.TryReceive(out var datagram, out _) && new FrameHeader(datagram).Type == FrameType.Setup) setup = datagram.ToArray();
        }));
        Assert.Equal(FrameFlags.SetupGroup, new FrameHeader(setup).Flags);
        Assert.Equal(3, new SetupFrame(setup).Ttl);
    }

    [Fact]
    public void A_multicast_group_with_an_even_last_octet_is_refused_with_the_reason()
    {
        Assert.False(ChannelUri.TryParse("aeron:udp?endpoint=239.255.90.2:40000", out _, out var error));
        Assert.Contains("odd", error);
        Assert.False(ChannelUri.TryParse("aeron:udp?endpoint=239.255.90.1:40000|interface=eth0", out _, out error));
        Assert.Contains("interface=eth0", error);
        Assert.True(ChannelUri.TryParse("aeron:udp?endpoint=239.255.90.1:40000|interface=127.0.0.1/8|ttl=4|fc=min,t:5s", out var uri, out _));
        Assert.Equal(IPAddress.Loopback, uri!.InterfaceAddress);
        Assert.Equal(FlowControl.Min, uri.FlowControl);
        Assert.False(ChannelUri.TryParse("aeron:udp?endpoint=239.255.90.1:40000|fc=tagged,g:1", out _, out error));
        Assert.Contains("fc=tagged", error);
    }
}
