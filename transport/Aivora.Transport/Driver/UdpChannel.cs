using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Aivora.Transport.Native;
using static Aivora.Transport.Protocol.FrameLayout;

namespace Aivora.Transport.Driver;

/// <summary>How a <see cref="UdpChannel"/> moves datagrams.</summary>
public enum DatagramIo
{
    /// <summary>Native on Linux, managed elsewhere.</summary>
    Auto,
    /// <summary>libc <c>recvmmsg</c> / <c>recvfrom</c> / <c>sendmmsg</c> / <c>sendto</c> with MSG_DONTWAIT: one syscall per attempt, batches where there is more than one datagram.</summary>
    Native,
    /// <summary>System.Net.Sockets: an "available?" ioctl, then a read; the fallback where libc is not there.</summary>
    Managed,
}

/// <summary>
/// One non-blocking UDP socket, used allocation-free. Received datagrams land in a pinned batch of
/// slots (filled by one <c>recvmmsg</c> on the native path) and are handed out one at a time as spans
/// with their source in a reused <see cref="SocketAddress"/>; "nothing to read" is false, not an
/// exception. Sends go one by one, or queued and flushed as one <c>sendmmsg</c>.
/// A publication sends and receives its control frames on the same socket (aeron-wire.md §6).
/// </summary>
public sealed unsafe class UdpChannel : IDisposable
{
    /// <summary>Datagrams per sendmmsg, as the C driver's default (aeron-wire.md §5); a send socket several publications share queues more (<see cref="Bind"/>).</summary>
    public const int SendBatchLength = 4;
    private const int NameLength = 16; // sockaddr_in

    private readonly Socket _socket;
    private readonly int _fd;
    private readonly int _slotLength;
    private readonly byte[] _slots;                 // pinned: receive buffers, one per batch entry
    private readonly byte[] _names;                 // pinned: sockaddr per batch entry
    private readonly LibC.MMsgHdr[] _receiveVector; // pinned
    private readonly LibC.IoVec[] _receiveIov;      // pinned
    private readonly int[] _lengths;
    private readonly SocketAddress[] _sources;
    private int _received, _next;
    private bool _burst;   // the last receive call found data: more may be waiting, so the next one reads a batch

    private readonly LibC.MMsgHdr[] _sendVector;   // pinned, one per queued datagram
    private readonly LibC.IoVec[] _sendIov;         // pinned
    private readonly byte[] _sendNames;             // pinned: each queued datagram's destination (sockaddr_in)
    private readonly SocketAddress?[] _sendDestinations;   // the same, for the managed path and single sends
    private readonly UdpChannel?[] _sendOwners;    // whose SendFailures a queued datagram's failure counts to (a shared socket's: its publication's own channel)

    /// <summary>Longest datagram <see cref="QueueSend"/> copies into <see cref="_sendStaging"/> (any MTU up to a page; a longer one goes out from where it is).</summary>
    internal const int SendStagingSlotLength = 4096;

    // Pinned: one slot per batch entry. A queued datagram is copied here, so the kernel reads the same few pages on every
    // send instead of a new page of the log's terms every 4 KiB of stream. On this VM the kernel's first read of a page
    // costs ~11 us (a C probe sending from a 3 MiB ring: 98 % of the sends that began a page over 8 us, none elsewhere,
    // none on the second lap); a 32-byte ping-pong paid it once per 64 round trips on each side. The copy is a few tens of
    // nanoseconds for an MTU.
    private readonly byte[] _sendStaging;
    private int _queued;
    private bool _connected;

    /// <summary>Loss injection on receive (tests); null in production.</summary>
    public LossGenerator? Loss { get; set; }

    public DatagramIo Io { get; }
    public int ReceiveBatchLength => _lengths.Length;
    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;
    /// <summary>The underlying socket, for socket options (multicast membership, buffers).</summary>
    public Socket Socket => _socket;
    /// <summary>Datagrams the OS refused to send: this channel's own, and those queued on a shared send socket for it.</summary>
    public long SendFailures { get; private set; }
    /// <summary>Receive system calls that returned at least one datagram, and the datagrams they returned.</summary>
    public long ReceiveCalls { get; private set; }
    /// <summary>Receive calls made, whether or not they found data (a busy-polling receiver's cost: one system call each).</summary>
    public long ReceiveAttempts { get; private set; }
    public long ReceivedDatagrams { get; private set; }
    /// <summary>Send system calls made (a <c>sendmmsg</c> of a batch counts once).</summary>
    public long SendCalls { get; private set; }

    private UdpChannel(Socket socket, DatagramIo io, int batchLength, int slotLength, int sendBatchLength)
    {
        _socket = socket;
        Io = io;
        _fd = (int)socket.SafeHandle.DangerousGetHandle();
        _slotLength = slotLength;
        _slots = GC.AllocateArray<byte>(batchLength * slotLength, pinned: true);
        _names = GC.AllocateArray<byte>(batchLength * NameLength, pinned: true);
        _receiveVector = GC.AllocateArray<LibC.MMsgHdr>(batchLength, pinned: true);
        _receiveIov = GC.AllocateArray<LibC.IoVec>(batchLength, pinned: true);
        _lengths = new int[batchLength];
        _sources = new SocketAddress[batchLength];
        for (int i = 0; i < batchLength; i++)
        {
            _sources[i] = new SocketAddress(AddressFamily.InterNetwork);
            _receiveIov[i] = new LibC.IoVec { Base = Pin(_slots, i * slotLength), Length = (nuint)slotLength };
            _receiveVector[i].Header = new LibC.MsgHdr { Name = Pin(_names, i * NameLength), Iov = (LibC.IoVec*)Unsafe.AsPointer(ref _receiveIov[i]), IovLength = 1 };
        }
        _sendVector = GC.AllocateArray<LibC.MMsgHdr>(sendBatchLength, pinned: true);
        _sendIov = GC.AllocateArray<LibC.IoVec>(sendBatchLength, pinned: true);
        _sendNames = GC.AllocateArray<byte>(sendBatchLength * NameLength, pinned: true);
        _sendDestinations = new SocketAddress?[sendBatchLength];
        _sendOwners = new UdpChannel?[sendBatchLength];
        _sendStaging = GC.AllocateArray<byte>(sendBatchLength * SendStagingSlotLength, pinned: true);
        for (int i = 0; i < sendBatchLength; i++)
        {
            _sendVector[i].Header.Iov = (LibC.IoVec*)Unsafe.AsPointer(ref _sendIov[i]);
            _sendVector[i].Header.IovLength = 1;
        }
    }

    /// <summary>
    /// A socket bound to <paramref name="endpoint"/> (a subscription's endpoint, or port 0 for a publication).
    /// <paramref name="batchLength"/> datagrams of up to <paramref name="slotLength"/> bytes are read per receive call, and
    /// <paramref name="sendBatchLength"/> are queued per <c>sendmmsg</c>. With <paramref name="reusePort"/> (SO_REUSEPORT) other
    /// sockets may bind the same port: a connected one among them receives its peer's datagrams (see
    /// <see cref="MediaDriver"/>'s shared send socket).
    /// </summary>
    public static UdpChannel Bind(IPEndPoint endpoint, DatagramIo io = DatagramIo.Auto, int batchLength = 16,
        int slotLength = MaxUdpPayloadLength, int socketBufferBytes = 2 * 1024 * 1024, bool reuseAddress = false,
        bool reusePort = false, int sendBatchLength = SendBatchLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(slotLength, 64);
        ArgumentOutOfRangeException.ThrowIfLessThan(sendBatchLength, 1);
        if (endpoint.AddressFamily != AddressFamily.InterNetwork) throw new NotSupportedException($"{endpoint}: only IPv4 endpoints are supported");
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { Blocking = false };
        try
        {
            socket.ReceiveBufferSize = socketBufferBytes;
            socket.SendBufferSize = socketBufferBytes;
            if (reuseAddress) socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            if (reusePort) socket.SetRawSocketOption(LibC.SolSocket, LibC.SoReusePort, BitConverter.GetBytes(1));
            socket.Bind(endpoint);
            return new UdpChannel(socket, Resolve(io), batchLength, slotLength, sendBatchLength);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A socket with SO_REUSEPORT on a port no other socket holds, for the driver's shared send socket (its publications'
    /// own sockets join it there, each connected to its peer). A reuseport bind to port 0 may be handed a port another
    /// reuseport socket of the same user already holds (a probe here: 69 of 2,000 such binds were), and two drivers on one
    /// port, each with a publication connected to the same peer, could not tell their control frames apart. A plain bind to
    /// port 0 never lands on a port a socket holds: the port comes from one, closed at once, then the reuseport bind takes it
    /// (another one, should something take it in between).
    /// </summary>
    internal static UdpChannel BindSharedSend(DatagramIo io, int sendBatchLength)
    {
        for (var attempt = 0; ; attempt++)
        {
            int port;
            using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            {
                probe.Bind(new IPEndPoint(IPAddress.Any, 0));
                port = ((IPEndPoint)probe.LocalEndPoint!).Port;
            }

            try
            {
                // Nothing is read from it (a datagram from a peer no publication is connected to lands here): a small buffer.
                return Bind(new IPEndPoint(IPAddress.Any, port), io, batchLength: 1, slotLength: 64, socketBufferBytes: 4096, reusePort: true,
                    sendBatchLength: sendBatchLength);
            }
            catch (SocketException) when (attempt < 16)
            {
                // taken between the probe and the bind: another port
            }
        }
    }

    private static DatagramIo Resolve(DatagramIo io) => io switch
    {
        DatagramIo.Auto => NativeAvailable.Value ? DatagramIo.Native : DatagramIo.Managed,
        DatagramIo.Native when !NativeAvailable.Value => throw new PlatformNotSupportedException("native datagram I/O needs Linux libc (recvmmsg, sendmmsg)"),
        _ => io,
    };

    // Probe once: libc present and the entry points bound (a call on fd -1 fails with EBADF, not a load error).
    private static readonly Lazy<bool> NativeAvailable = new(() =>
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            _ = LibC.RecvMMsg(-1, null, 0, LibC.MsgDontWait, null);
            _ = LibC.SendMMsg(-1, null, 0, LibC.MsgDontWait);
            _ = LibC.RecvFrom(-1, null, 0, LibC.MsgDontWait, null, null);
            _ = LibC.SendTo(-1, null, 0, LibC.MsgDontWait, null, 0);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    });

    /// <summary>The socket's descriptor (the receiver's readiness poller watches it).</summary>
    internal int Descriptor => _fd;

    /// <summary>Datagrams already read from the socket and not yet handed out (the rest of a batch, or held back by the
    /// loss generator): the receiver asks this channel even when its socket reads empty.</summary>
    internal bool HasPending => _next < _received || (Loss is { } loss && loss.HasHeld);

    /// <summary>
    /// True when the datagrams handed out so far used up a receive call that came back short of a
    /// full batch: the socket was empty a moment ago, so asking again now would most likely be a
    /// wasted syscall. Duty cycles stop reading there and come back next cycle. (A single datagram read
    /// after the socket was found empty counts as such a call: the next cycle reads a batch.)
    /// </summary>
    public bool DrainedShortBatch => _next == _received && Io == DatagramIo.Native && _received < _lengths.Length
        && (Loss is null || !Loss.HasHeld);

    /// <summary>
    /// The next received datagram, if one is waiting. The span points into this channel's batch and
    /// <paramref name="source"/> is reused: both are valid until the next call.
    /// </summary>
    public bool TryReceive(out Span<byte> datagram, out SocketAddress source)
    {
        while (true)
        {
            if (Loss is { } loss && loss.TryTakeHeld(out datagram, out source)) return true;
            if (_next == _received && !Fill())
            {
                datagram = default;
                source = _sources[0];
                return false;
            }
            int i = _next++;
            datagram = _slots.AsSpan(i * _slotLength, _lengths[i]);
            source = _sources[i];
            if (Loss is not { } lossy || lossy.Accept(datagram, source)) return true;
        }
    }

    // Native: a socket found empty is asked again with recvfrom, one datagram, and a batch (recvmmsg) is read only after a
    // call that found data. A busy-polling duty cycle mostly finds the socket empty, and recvmmsg costs more than recvfrom
    // to say so (the kernel copies the vector's first header and its iovec in from user space first): the cheaper empty poll
    // shortens the cycle, and with it how long a datagram waits to be seen. Under load nothing changes: every call after
    // one that found data reads a batch.
    private bool Fill()
    {
        _next = _received = 0;
        ReceiveAttempts++;
        int count = Io == DatagramIo.Native ? (_lengths.Length == 1 || !_burst ? ReceiveOne() : ReceiveBatch()) : ReceiveManaged();
        _burst = count > 0;
        if (count == 0) return false;
        _received = count;
        ReceiveCalls++;
        ReceivedDatagrams += count;
        return true;
    }

    private int ReceiveBatch()
    {
        fixed (LibC.MMsgHdr* vector = _receiveVector)
        {
            for (int i = 0; i < _receiveVector.Length; i++) vector[i].Header.NameLength = NameLength;
            while (true)
            {
                int count = LibC.RecvMMsg(_fd, vector, (uint)_receiveVector.Length, LibC.MsgDontWait, null);
                if (count > 0)
                {
                    for (int i = 0; i < count; i++)
                    {
                        // A datagram longer than a slot arrives cut: report the slot length so validation rejects it.
                        _lengths[i] = (int)vector[i].Length;
                        CopyName(i, (int)vector[i].Header.NameLength);
                    }
                    return count;
                }
                if (count == 0 || !Retry(Marshal.GetLastPInvokeError())) return 0;
            }
        }
    }

    private int ReceiveOne()
    {
        while (true)
        {
            uint nameLength = NameLength;
            nint length = LibC.RecvFrom(_fd, _receiveIov[0].Base, (nuint)_slotLength, LibC.MsgDontWait, _receiveVector[0].Header.Name, &nameLength);
            if (length >= 0)
            {
                _lengths[0] = (int)length;
                CopyName(0, (int)nameLength);
                return 1;
            }
            if (!Retry(Marshal.GetLastPInvokeError())) return 0;
        }
    }

    // ICMP port unreachable from an earlier send surfaces as ECONNREFUSED on the next read: not data, read on.
    private static bool Retry(int errno) => errno is LibC.EConnRefused or LibC.EIntr;

    private void CopyName(int slot, int length) =>
        _names.AsSpan(slot * NameLength, Math.Min(length, NameLength)).CopyTo(_sources[slot].Buffer.Span);

    private int ReceiveManaged()
    {
        while (true)
        {
            if (_socket.Available == 0) return 0;
            try
            {
                _lengths[0] = _socket.ReceiveFrom(_slots.AsSpan(0, _slotLength), SocketFlags.None, _sources[0]);
                return 1;
            }
            catch (SocketException)
            {
                continue; // as Retry above
            }
        }
    }

    /// <summary>Sends one datagram; a full socket buffer or an unreachable peer counts as a drop (UDP semantics), never an exception.</summary>
    public bool Send(ReadOnlySpan<byte> datagram, SocketAddress destination)
    {
        if (SendOne(datagram, destination)) return true;
        SendFailures++;
        return false;
    }

    // One datagram, one system call; a failure is the caller's to count (to this channel, or to the one a queued datagram
    // is charged to).
    private bool SendOne(ReadOnlySpan<byte> datagram, SocketAddress destination)
    {
        SendCalls++;
        if (Io == DatagramIo.Native)
        {
            fixed (byte* bytes = datagram)
            fixed (byte* name = destination.Buffer.Span)
            {
                // Connected: no address (the kernel uses the peer and its cached route).
                byte* to = _connected ? null : name;
                return LibC.SendTo(_fd, bytes, (nuint)datagram.Length, LibC.MsgDontWait, to, _connected ? 0 : (uint)destination.Size) == datagram.Length;
            }
        }
        try
        {
            return (_connected ? _socket.Send(datagram, SocketFlags.None) : _socket.SendTo(datagram, SocketFlags.None, destination)) == datagram.Length;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>
    /// Queues a datagram to <paramref name="destination"/> for <see cref="FlushSends"/>, flushing when the queue is full
    /// (<see cref="Bind"/>'s sendBatchLength). Datagrams to different destinations may share one flush (one <c>sendmmsg</c>: each
    /// entry carries its own address; a connected socket sends every one to its peer). One of up to
    /// <see cref="SendStagingSlotLength"/> bytes is copied into the channel's own send slots (see <see cref="_sendStaging"/>);
    /// a longer one is sent from where it is, so its bytes must stay there until flushed: pass only spans over pinned
    /// memory (the log's terms are).
    /// </summary>
    internal void QueueSend(ReadOnlySpan<byte> pinnedDatagram, SocketAddress destination, UdpChannel? chargeFailuresTo = null)
    {
        byte* from;
        if (pinnedDatagram.Length <= SendStagingSlotLength)
        {
            int offset = _queued * SendStagingSlotLength;
            pinnedDatagram.CopyTo(_sendStaging.AsSpan(offset, SendStagingSlotLength));
            from = Pin(_sendStaging, offset);
        }
        else
        {
            from = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(pinnedDatagram));
        }
        _sendIov[_queued] = new LibC.IoVec { Base = from, Length = (nuint)pinnedDatagram.Length };
        _sendDestinations[_queued] = destination;
        _sendOwners[_queued] = chargeFailuresTo ?? this;
        var name = destination.Buffer.Span[..Math.Min(destination.Size, NameLength)];
        name.CopyTo(_sendNames.AsSpan(_queued * NameLength, NameLength));
        _sendVector[_queued].Header.Name = _connected ? null : Pin(_sendNames, _queued * NameLength);
        _sendVector[_queued].Header.NameLength = _connected ? 0 : (uint)name.Length;
        if (++_queued == _sendVector.Length) FlushSends();
    }

    /// <summary>Sends the queued datagrams, each to its own destination: one sendmmsg on the native path.</summary>
    internal void FlushSends()
    {
        if (_queued == 0) return;
        int queued = _queued;
        _queued = 0;
        if (Io != DatagramIo.Native || queued == 1)
        {
            for (int i = 0; i < queued; i++)
            {
                if (!SendOne(new ReadOnlySpan<byte>(_sendIov[i].Base, (int)_sendIov[i].Length), _sendDestinations[i]!)) _sendOwners[i]!.SendFailures++;
            }

            return;
        }
        fixed (LibC.MMsgHdr* vector = _sendVector)
        {
            int sent = 0;
            while (sent < queued)
            {
                SendCalls++;
                int n = LibC.SendMMsg(_fd, vector + sent, (uint)(queued - sent), LibC.MsgDontWait);
                if (n > 0)
                {
                    sent += n;
                    continue;
                }

                // The kernel refused the datagram at `sent` (sendmmsg stops at the first it refuses). A full send buffer would
                // refuse the rest too: they are dropped, as a full buffer drops a datagram. Any other refusal is that datagram's
                // own (too long, its destination unroutable or firewalled): it alone is dropped and the rest still go. Each
                // drop counts to the channel it was queued for.
                if (Marshal.GetLastPInvokeError() == LibC.EAgain)
                {
                    for (int i = sent; i < queued; i++) _sendOwners[i]!.SendFailures++;
                    break;
                }

                _sendOwners[sent++]!.SendFailures++;
            }
        }
    }

    /// <summary>
    /// Connects the socket to its one peer, as the C driver does for a unicast publication's socket
    /// (its <c>connect</c> setting, on by default): sends skip the per-call route lookup and only that
    /// peer's datagrams are received. From here every send goes to the peer, whatever destination is passed.
    /// </summary>
    public void ConnectTo(IPEndPoint peer)
    {
        _socket.Connect(peer);
        _connected = true;
    }

    public bool IsConnected => _connected;

    /// <summary>Joins a multicast group on an interface (cold path; aeron-wire.md §12).</summary>
    public void JoinGroup(IPAddress group, IPAddress networkInterface) =>
        _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.AddMembership, new MulticastOption(group, networkInterface));

    /// <summary>Multicast sends leave through <paramref name="networkInterface"/> with <paramref name="ttl"/> hops, and loop back to this host's members.</summary>
    public void SetMulticastSend(IPAddress networkInterface, int ttl)
    {
        _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastInterface, networkInterface.GetAddressBytes());
        _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastTimeToLive, Math.Max(ttl, 1));
        _socket.SetSocketOption(SocketOptionLevel.IP, SocketOptionName.MulticastLoopback, true);
    }

    /// <summary>True for 224.0.0.0/4.</summary>
    public static bool IsMulticast(IPAddress address) => address.GetAddressBytes() is [>= 224 and <= 239, _, _, _];

    /// <summary>The control group of a multicast data group: the next address (the data group's last octet is odd).</summary>
    public static IPAddress ControlGroupOf(IPAddress dataGroup)
    {
        var bytes = dataGroup.GetAddressBytes();
        bytes[3]++;
        return new IPAddress(bytes);
    }

    private static byte* Pin(byte[] pinned, int offset) => (byte*)Unsafe.AsPointer(ref pinned[offset]);

    public void Dispose() => _socket.Dispose();
}
