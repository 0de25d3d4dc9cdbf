using System.Runtime.InteropServices;

namespace Aivora.Transport.Native;

/// <summary>
/// The libc socket calls the datagram path uses on Linux. One syscall per receive attempt
/// (<c>recvfrom</c> / <c>recvmmsg</c> with MSG_DONTWAIT) instead of the managed socket's
/// "bytes available?" ioctl followed by a read, and no exception when nothing is waiting.
/// Layouts are the LP64 Linux ones (x64 and arm64).
/// </summary>
internal static unsafe partial class LibC
{
    public const int MsgDontWait = 0x40;
    public const int MsgTrunc = 0x20;
    public const int EAgain = 11;
    public const int EIntr = 4;
    public const int EConnRefused = 111;

    // SOL_SOCKET / IPPROTO_IP options used for socket tuning and multicast.
    public const int SolSocket = 1;
    public const int SoBusyPoll = 46;
    public const int SoReusePort = 15;
    public const int IpProtoIp = 0;
    public const int IpMulticastTtl = 33;
    public const int IpMulticastLoop = 34;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public byte* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>One entry of a recvmmsg / sendmmsg vector: the header and the byte count the kernel fills in.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    [LibraryImport("libc", EntryPoint = "recvfrom", SetLastError = true)]
    public static partial nint RecvFrom(int fd, byte* buffer, nuint length, int flags, byte* address, uint* addressLength);

    [LibraryImport("libc", EntryPoint = "sendto", SetLastError = true)]
    public static partial nint SendTo(int fd, byte* buffer, nuint length, int flags, byte* address, uint addressLength);

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    public static partial int RecvMMsg(int fd, MMsgHdr* vector, uint count, int flags, void* timeout);

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    public static partial int SendMMsg(int fd, MMsgHdr* vector, uint count, int flags);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int name, void* value, uint valueLength);

    // epoll: which of many sockets have data, in one call (Driver/ReadinessPoller). An event is { u32 events; u64 data; },
    // packed to 12 bytes on x86-64 and 16 (data at 8) on arm64, so it is read and written as bytes.
    public const int EpollCloExec = 0x80000;
    public const int EpollCtlAdd = 1;
    public const uint EpollIn = 0x001;

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(int epfd, int op, int fd, byte* @event);

    // No errno kept: a failed wait is answered by asking every socket, and the stub then saves two calls a pass.
    [LibraryImport("libc", EntryPoint = "epoll_wait")]
    public static partial int EpollWait(int epfd, byte* events, int maxEvents, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "close")]
    public static partial int Close(int fd);
}
