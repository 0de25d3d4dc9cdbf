using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Aivora.Transport.Driver;
using Aivora.Transport.Native;
using Aivora.Transport.Subscription;

namespace Aivora.Perf.Transport;

/// <summary>
/// Sustained one-way throughput through our transport over loopback UDP: a publication and a
/// subscription in one process, both duty cycles and the offer / poll loop on one pinned thread
/// (invoker mode; one spinning thread). Messages must arrive in order; the run fails otherwise.
/// Each size runs on the libc path (recvmmsg / sendmmsg) and on the managed-socket fallback, and
/// prints their ratio: batching is kept only where it measurably helps.
/// </summary>
public static class TransportThroughput
{
    public static int Run(string[] args)
    {
        double seconds = args.Contains("--quick") ? 5 : 15;
        int at = Array.IndexOf(args, "--counters");
        string? countersPath = at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
        if (!ThreadAffinity.TryPinCurrentThread(0, out var error)) Console.Error.WriteLine($"not pinned: {error}");
        foreach (int payload in new[] { 32, 1024 })
        {
            double managed = Measure(payload, seconds, DatagramIo.Managed, countersPath);
            double native = Measure(payload, seconds, DatagramIo.Native, countersPath);
            if (managed <= 0 || native <= 0) return 1;
            Console.WriteLine(FormattableString.Invariant(
                $"RESULT bench=transport-throughput payload={payload} ratio_native_over_managed={native / managed:F2}"));
        }
        return 0;
    }

    private struct InOrder : IFragmentHandler
    {
        public long Received, OutOfOrder;
        public void OnFragment(ReadOnlySpan<byte> payload, in FragmentHeader header)
        {
            if (BitConverter.ToInt64(payload) != Received) OutOfOrder++;
            Received++;
        }
    }

    /// <summary>Messages per second, or -1 when the run failed.</summary>
    private static double Measure(int payload, double seconds, DatagramIo io, string? countersPath)
    {
        // An invoker-mode driver: its duty cycle runs on this thread, between offers and polls.
        using var driver = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker, Io = io, CountersPath = countersPath });
        var channel = FormattableString.Invariant($"aeron:udp?endpoint=127.0.0.1:{FreePort()}");
        var sub = driver.AddSubscription(channel, 7);
        var pub = driver.AddPublication(channel, 7);
        var handler = new InOrder();
        var message = new byte[payload];
        long deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 10;
        while (!(pub.IsConnected && sub.ImageCount > 0))
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                Console.Error.WriteLine("transport-throughput: no connection within 10 s");
                return -1;
            }
            driver.DoWork();
        }

        // Untimed first: the stream once through the image's whole log (three terms), so that the window measures the steady
        // state: the image maps its log's pages as the stream first reaches them (or in the receiver's idle passes), not when
        // it is created. Bounded like the connection.
        long sent = 0;
        var image = sub.ImageAt(0);
        deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 30;
        while (image.SubscriberPosition - image.JoinPosition < 3L * image.TermLength && Stopwatch.GetTimestamp() < deadline)
        {
            Pump();
        }

        long before = handler.Received, start = Stopwatch.GetTimestamp(), end = start + (long)(Stopwatch.Frequency * seconds);
        while (Stopwatch.GetTimestamp() < end)
        {
            Pump();
        }
        double elapsed = (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
        long received = handler.Received - before;
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=transport-throughput io={io.ToString().ToLowerInvariant()} payload={payload} msgs={received} seconds={elapsed:F1} msgs_per_sec={received / elapsed:F0} mb_per_sec={received * payload / elapsed / 1e6:F1} out_of_order={handler.OutOfOrder}"));
        return handler.OutOfOrder == 0 ? received / elapsed : -1;

        void Pump()
        {
            for (int i = 0; i < 64; i++)
            {
                BitConverter.TryWriteBytes(message, sent);
                if (pub.Offer(message) < 0) break;
                sent++;
            }
            driver.DoWork();
            sub.Poll(ref handler, 256);
        }
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
