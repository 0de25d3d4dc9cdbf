using System.Net;
using System.Net.Sockets;

namespace Aivora.Transport.Driver;

/// <summary>
/// One non-blocking UDP socket, used allocation-free: receives go into the caller's buffer with the
/// source in a reused <see cref="SocketAddress"/>, and "nothing to read" is a zero, not an exception.
/// A publication sends and receives its control frames on the same socket (aeron-wire.md §6).
/// </summary>
public sealed class UdpChannel : IDisposable
{
    private readonly Socket _socket;
    private readonly SocketAddress _source;

    /// <summary>Loss injection on receive (tests); null in production.</summary>
    public LossGenerator? Loss { get; set; }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    private UdpChannel(Socket socket)
    {
        _socket = socket;
        _source = new SocketAddress(AddressFamily.InterNetwork);
    }

    /// <summary>A socket bound to <paramref name="endpoint"/> (a subscription's endpoint, or port 0 for a publication).</summary>
    public static UdpChannel Bind(IPEndPoint endpoint, int receiveBufferBytes = 2 * 1024 * 1024)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { Blocking = false };
        socket.ReceiveBufferSize = receiveBufferBytes;
        socket.SendBufferSize = receiveBufferBytes;
        socket.Bind(endpoint);
        return new UdpChannel(socket);
    }

    /// <summary>Reads one datagram if one is waiting; returns its length (0 when none). <paramref name="source"/> is reused on the next call.</summary>
    public int TryReceive(Span<byte> buffer, out SocketAddress source)
    {
        source = _source;
        while (true)
        {
            if (Loss is { } loss && loss.TryTakeHeld(buffer, _source, out int held)) return held;
            if (_socket.Available == 0) return 0;
            int length;
            try
            {
                length = _socket.ReceiveFrom(buffer, SocketFlags.None, _source);
            }
            catch (SocketException)
            {
                // ICMP port unreachable from an earlier send surfaces here on Linux: not data, read on.
                continue;
            }
            if (Loss is not { } lossy || lossy.Accept(buffer[..length], _source)) return length;
        }
    }

    /// <summary>Sends one datagram; a full socket buffer or an unreachable peer counts as a drop (UDP semantics), never an exception.</summary>
    public bool Send(ReadOnlySpan<byte> datagram, SocketAddress destination)
    {
        try
        {
            return _socket.SendTo(datagram, SocketFlags.None, destination) == datagram.Length;
        }
        catch (SocketException)
        {
            SendFailures++;
            return false;
        }
    }

    /// <summary>Datagrams the OS refused to send.</summary>
    public long SendFailures { get; private set; }

    public void Dispose() => _socket.Dispose();
}
