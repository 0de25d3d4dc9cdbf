using System.Buffers.Binary;
using Aivora.Transport.Driver;
using Aivora.Transport.Subscription;
using static Aivora.Transport.Tests.InvokerLoop;

namespace Aivora.Transport.Tests;

/// <summary>
/// The driver's shared send socket (<see cref="DriverOptions.ShareSendSocket"/>): in a pass where two or more unicast
/// publications have DATA waiting, they queue it on one socket the sender flushes once (a lone one sends through its own), and
/// each hears its own receiver's control frames on a socket of its own, bound to the same port and connected to its endpoint. Invoker mode: everything runs on the test thread; every wait is bounded.
/// </summary>
[Collection("loopback")]
public sealed class SharedSendSocketTests
{
    private static int _port = 39_000 + Environment.ProcessId % 1000;
    private static string NextChannel() => $"aeron:udp?endpoint=127.0.0.1:{Interlocked.Increment(ref _port)}|term-length=64k";

    private struct Counting : IFragmentHandler
    {
        public long Messages, Errors;
        public void OnFragment(ReadOnlySpan<byte> buffer, in FragmentHeader header)
        {
            if (buffer.Length != 1000 || BinaryPrimitives.ReadInt64LittleEndian(buffer) != Messages) Errors++;
            Messages++;
        }
    }

    /// <summary>Streams <paramref name="total"/> messages of 1,000 bytes through each publication at once (several times the
    /// receivers' 128 KiB window, so each publication moves only as its own receiver's status messages reach it).</summary>
    private static (long A, long B, long Errors) StreamBoth(MediaDriver driver, NetworkPublication a, NetworkSubscription subA, NetworkPublication b, NetworkSubscription subB, int total)
    {
        var handlerA = new Counting();
        var handlerB = new Counting();
        var message = new byte[1000];
        int sentA = 0, sentB = 0;
        Until(driver, () => handlerA.Messages == total && handlerB.Messages == total, 30, () =>
        {
            BinaryPrimitives.WriteInt64LittleEndian(message, sentA);
            if (sentA < total && a.Offer(message) > 0) sentA++;
            BinaryPrimitives.WriteInt64LittleEndian(message, sentB);
            if (sentB < total && b.Offer(message) > 0) sentB++;
            subA.Poll(ref handlerA, 64);
            subB.Poll(ref handlerB, 64);
        });
        return (handlerA.Messages, handlerB.Messages, handlerA.Errors + handlerB.Errors);
    }

    [Fact]
    public void Two_publications_data_leaves_in_one_send_call_a_lone_one_through_its_own_socket_and_each_hears_its_own_receiver()
    {
        using var driver = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker });
        string channelA = NextChannel(), channelB = NextChannel();
        var subA = driver.AddSubscription(channelA, 1);
        var subB = driver.AddSubscription(channelB, 2);
        var a = driver.AddPublication(channelA, 1, sendFirst: true);
        var b = driver.AddPublication(channelB, 2, sendFirst: true);
        Assert.True(Until(driver, () => a.IsConnected && b.IsConnected, 10), "not connected");
        Assert.True(a.SharesSendSocket && b.SharesSendSocket);
        Assert.Equal(a.LocalEndPoint.Port, b.LocalEndPoint.Port);
        Assert.Equal(driver.SharedSend!.LocalEndPoint.Port, a.LocalEndPoint.Port);   // the receivers see one source port

        // One message on each, one duty cycle: both go out in one sendmmsg on the shared socket.
        Assert.True(a.Offer(new byte[1000]) > 0 && b.Offer(new byte[1000]) > 0);
        var calls = driver.SharedSend.SendCalls;
        driver.DoWork();
        Assert.Equal(calls + 1, driver.SharedSend.SendCalls);
        var first = new Counting();
        var second = new Counting();
        Assert.True(Until(driver, () => first.Messages == 1 && second.Messages == 1, 5, () =>
        {
            subA.Poll(ref first, 8);
            subB.Poll(ref second, 8);
        }), "the two messages sent in one call did not both arrive");

        // 2 MB each, both at once: each publication's window moves only with the status messages of its own receiver.
        var (gotA, gotB, errors) = StreamBoth(driver, a, subA, b, subB, 2_000);
        Assert.Equal((2_000L, 2_000L, 0L), (gotA, gotB, errors));

        // A message on one of them alone goes out through its own connected socket (no route lookup), not the shared one.
        Assert.True(Until(driver, () => !a.HasDataToSend && !b.HasDataToSend, 5), "the stream did not drain");
        var (sharedCalls, ownCalls) = (driver.SharedSend.SendCalls, a.Channel.SendCalls);
        Assert.True(a.Offer(new byte[1000]) > 0);
        driver.DoWork();
        Assert.Equal((sharedCalls, ownCalls + 1), (driver.SharedSend.SendCalls, a.Channel.SendCalls));
    }

    [Fact]
    public void A_publication_to_an_endpoint_already_sent_to_from_the_shared_port_gets_a_port_of_its_own()
    {
        using var driver = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker });
        var channel = NextChannel();
        var sub = driver.AddSubscription(channel, 3);
        var first = driver.AddPublication(channel, 3);
        var second = driver.AddPublication(channel, 3);   // another session to the same receiver: two images
        Assert.True(Until(driver, () => first.IsConnected && second.IsConnected, 10), "not connected");
        Assert.True(first.SharesSendSocket);
        Assert.False(second.SharesSendSocket);
        Assert.NotEqual(first.LocalEndPoint.Port, second.LocalEndPoint.Port);

        // Both streams move past the window: each hears its own image's status messages.
        var handler = new Counting();
        var message = new byte[1000];
        int sentFirst = 0, sentSecond = 0;
        var handled = Until(driver, () => handler.Messages == 4_000, 30, () =>
        {
            if (sentFirst < 2_000 && first.Offer(message) > 0) sentFirst++;
            if (sentSecond < 2_000 && second.Offer(message) > 0) sentSecond++;
            sub.Poll(ref handler, 64);
        });
        Assert.True(handled, $"received {handler.Messages} of 4,000 (sent {sentFirst} and {sentSecond})");
    }

    [Fact]
    public void A_shared_send_socket_never_takes_a_port_another_reuseport_socket_holds()
    {
        // 600 sockets of this user with SO_REUSEPORT on ports the kernel chose: a reuseport bind to port 0 lands on one of
        // them now and then (about one bind in a hundred here), a plain one never.
        var foreign = new List<System.Net.Sockets.Socket>();
        try
        {
            for (int i = 0; i < 600; i++)
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
                foreign.Add(socket);
                socket.SetRawSocketOption(1, 15, BitConverter.GetBytes(1));   // SOL_SOCKET, SO_REUSEPORT
                socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Any, 0));
            }

            var held = foreign.Select(s => ((System.Net.IPEndPoint)s.LocalEndPoint!).Port).ToHashSet();
            for (int i = 0; i < 400; i++)
            {
                using var shared = UdpChannel.BindSharedSend(DatagramIo.Native, 4);
                Assert.DoesNotContain(shared.LocalEndPoint.Port, held);
            }
        }
        finally
        {
            foreach (var socket in foreign) socket.Dispose();
        }
    }

    [Fact]
    public void With_sharing_off_each_publication_sends_from_its_own_port()
    {
        using var driver = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker, ShareSendSocket = false });
        var a = driver.AddPublication(NextChannel(), 1);
        var b = driver.AddPublication(NextChannel(), 1);
        Assert.False(a.SharesSendSocket || b.SharesSendSocket);
        Assert.NotEqual(a.LocalEndPoint.Port, b.LocalEndPoint.Port);
        Assert.Null(driver.SharedSend);
    }
}
