using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using Aivora.Transport.Driver;
using Aivora.Transport.Native;
using HdrHistogram;

namespace Aivora.Node.Load;

/// <summary>
/// The floor the node's round trip is read against, measured in the same run on the same cores: 32-byte
/// datagrams bounced between two threads over loopback UDP with the same libc I/O the transport uses
/// (recvmmsg / sendto, busy-polled), no protocol and no engine.
/// </summary>
public static class RawUdpFloor
{
    private static readonly double NsPerTick = 1e9 / Stopwatch.Frequency;

    /// <summary>Where a ping-pong datagram carries its number (little-endian, 8 bytes): a round trip ends at its own echo.</summary>
    public const int SequenceOffset = 8;

    /// <summary>Numbers a ping-pong datagram.</summary>
    public static void Number(Span<byte> datagram, long sequence) => BinaryPrimitives.WriteInt64LittleEndian(datagram[SequenceOffset..], sequence);

    /// <summary>True when <paramref name="echo"/> answers the datagram numbered <paramref name="sequence"/>.</summary>
    public static bool IsEchoOf(ReadOnlySpan<byte> echo, long sequence) =>
        echo.Length >= SequenceOffset + 8 && BinaryPrimitives.ReadInt64LittleEndian(echo[SequenceOffset..]) == sequence;

    /// <summary>How long a round trip waits for its echo before it counts as lost.</summary>
    public const long EchoTimeoutNs = 1_000_000_000;

    /// <summary>
    /// <paramref name="roundTrips"/> timed round trips after a fifth as many for warm-up, within 30 s in all (a slower machine
    /// records fewer). With <paramref name="yieldWhenIdle"/> (both ends on one core) each end yields the core while it waits.
    /// A round trip whose echo does not come back within <see cref="EchoTimeoutNs"/> is counted as lost, not recorded: a
    /// datagram dropped by the kernel is no measure of the floor (recorded, it read as a 1 s round trip).
    /// </summary>
    public static FloorMeasurement Measure(int roundTrips, int pingCpu, int pongCpu, bool yieldWhenIdle = false) =>
        Measure(roundTrips, pingCpu, pongCpu, yieldWhenIdle, dropEchoOf: -1);

    /// <summary><see cref="Measure(int, int, int, bool)"/>, with the echo of the datagram numbered <paramref name="dropEchoOf"/>
    /// (counting warm-up) not sent, once: a lost datagram on demand, for tests (-1: none).</summary>
    internal static FloorMeasurement Measure(int roundTrips, int pingCpu, int pongCpu, bool yieldWhenIdle, long dropEchoOf)
    {
        var histogram = new LongHistogram(10_000_000_000, 3);
        long lost = 0;
        using var ping = UdpChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var pong = UdpChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var pingAddress = ping.LocalEndPoint.Serialize();
        var pongAddress = pong.LocalEndPoint.Serialize();
        var stop = false;
        var deadline = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
        var echo = new Thread(() =>
        {
            if (pongCpu >= 0) ThreadAffinity.TryPinCurrentThread(pongCpu, out _);
            while (!Volatile.Read(ref stop) && Stopwatch.GetTimestamp() < deadline)
            {
                if (pong.TryReceive(out var datagram, out _))
                {
                    if (dropEchoOf >= 0 && IsEchoOf(datagram, dropEchoOf))
                    {
                        dropEchoOf = -1;
                    }
                    else
                    {
                        pong.Send(datagram, pingAddress);
                    }
                }
                else if (yieldWhenIdle)
                {
                    Thread.Yield();
                }
            }
        }) { IsBackground = true, Name = "raw-udp-pong" };
        echo.Start();
        if (pingCpu >= 0) ThreadAffinity.TryPinCurrentThread(pingCpu, out _);
        Span<byte> payload = stackalloc byte[32];
        var warmup = roundTrips / 5;
        for (var i = 0; i < roundTrips + warmup && Stopwatch.GetTimestamp() < deadline; i++)
        {
            // Each datagram carries its number and the round trip ends at its own echo: an echo that came after its
            // round trip timed out is dropped, not taken as the next one's (which would leave two in flight from then on).
            Number(payload, i);
            var t0 = Stopwatch.GetTimestamp();
            ping.Send(payload, pongAddress);
            var timeout = t0 + (long)(EchoTimeoutNs / NsPerTick);
            var answered = true;
            while (!(ping.TryReceive(out var reply, out _) && IsEchoOf(reply, i)))
            {
                if (Stopwatch.GetTimestamp() > timeout)
                {
                    answered = false;
                    break;
                }

                if (yieldWhenIdle) Thread.Yield();
            }

            if (i < warmup)
            {
                continue;
            }

            if (answered)
            {
                histogram.RecordValue((long)((Stopwatch.GetTimestamp() - t0) * NsPerTick));
            }
            else
            {
                lost++;
            }
        }

        Volatile.Write(ref stop, true);
        echo.Join();
        return new FloorMeasurement(histogram, lost);
    }
}

/// <summary>The floor's round trips (nanoseconds) and how many were lost (no echo within <see cref="RawUdpFloor.EchoTimeoutNs"/>: not in the histogram).</summary>
public sealed record FloorMeasurement(LongHistogram RoundTrips, long Lost);
