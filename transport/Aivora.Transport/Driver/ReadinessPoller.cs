using System.Runtime.InteropServices;
using Aivora.Transport.Native;

namespace Aivora.Transport.Driver;

/// <summary>
/// Which of the receiver's sockets have datagrams waiting, from one <c>epoll_wait</c> with no timeout, so a receiver with
/// several subscriptions (a market maker's responses and four market-data streams) pays one system call a pass when
/// nothing came, not one receive call per socket. The set is level-triggered: a socket read only in part (a duty cycle
/// takes at most 64 datagrams) is reported again. Linux with native datagram I/O only; elsewhere
/// <see cref="TryCreate"/> returns null and the receiver asks each socket, as before.
/// <code>
///   epoll_event, as the kernel lays it out:
///   x86-64 (packed, 12 bytes)      arm64 (16 bytes)
///   0..3   u32 events              0..3   u32 events
///   4..11  u64 data (our index)    8..15  u64 data (our index)
/// </code>
/// </summary>
internal sealed unsafe class ReadinessPoller : IDisposable
{
    private static readonly int s_stride = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
    private static readonly int s_dataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

    private readonly int _epfd;
    private readonly byte[] _events;   // pinned: the kernel writes the ready events here
    private bool _disposed;

    private ReadinessPoller(int epfd, int capacity)
    {
        _epfd = epfd;
        _events = GC.AllocateArray<byte>(capacity * s_stride, pinned: true);
    }

    /// <summary>
    /// A poller over the sockets of <paramref name="owners"/> (a sender's publications, a receiver's subscriptions), each reported
    /// by its index. The descriptors are gathered by a plain loop: LINQ's iterator for a projection to int has no precompiled
    /// code, and this runs on the engine thread (invoker mode) when a session's publication or subscription comes.
    /// </summary>
    public static ReadinessPoller? TryCreateFor<T>(T[] owners, Func<T, int> descriptorOf)
    {
        var fds = new int[owners.Length];
        for (int i = 0; i < owners.Length; i++) fds[i] = descriptorOf(owners[i]);
        return TryCreate(fds);
    }

    /// <summary>The sockets' descriptors, in the order of the receiver's subscriptions (each reported by its index); null
    /// when epoll is not there or a descriptor cannot be added (the receiver then asks each socket).</summary>
    public static ReadinessPoller? TryCreate(ReadOnlySpan<int> fds)
    {
        if (!OperatingSystem.IsLinux() || fds.Length == 0) return null;
        int epfd;
        try
        {
            epfd = LibC.EpollCreate1(LibC.EpollCloExec);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }

        if (epfd < 0) return null;
        var poller = new ReadinessPoller(epfd, fds.Length);
        byte* entry = stackalloc byte[16];
        for (int i = 0; i < fds.Length; i++)
        {
            new Span<byte>(entry, 16).Clear();
            *(uint*)entry = LibC.EpollIn;
            *(ulong*)(entry + s_dataOffset) = (ulong)i;
            if (LibC.EpollCtl(epfd, LibC.EpollCtlAdd, fds[i], entry) != 0)
            {
                poller.Dispose();
                return null;
            }
        }

        return poller;
    }

    /// <summary>
    /// Sets <paramref name="ready"/>[i] for each socket with data waiting (clearing the others) and returns how many; -1 when
    /// the call failed (then every entry is set: the caller asks each socket).
    /// </summary>
    public int Poll(Span<bool> ready)
    {
        ready.Clear();
        int count;
        fixed (byte* events = _events)
        {
            count = LibC.EpollWait(_epfd, events, ready.Length, 0);
            for (int k = 0; k < count; k++)
            {
                var index = *(ulong*)(events + (k * s_stride) + s_dataOffset);
                if (index < (ulong)ready.Length) ready[(int)index] = true;
            }
        }

        if (count < 0) ready.Fill(true);
        return count;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _ = LibC.Close(_epfd);   // nothing to do if it fails: the descriptor is not used again
    }
}
