using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Aivora.Transport.Protocol;
using static Aivora.Transport.Protocol.FrameLayout;

namespace Aivora.Transport.LogBuffer;

/// <summary>
/// A frame reserved in the publication's term by <c>TryClaim</c>: encode the message straight into
/// <see cref="Buffer"/>, then <see cref="Commit"/> to make it sendable, or <see cref="Abort"/> to turn
/// it into padding the receiver skips. Until one of them, the sender stops at this frame, so keep
/// the window between claim and commit short. A plain struct: keep it in a local, nothing allocates.
/// </summary>
public struct BufferClaim
{
    private byte[]? _term;
    private readonly int _frameOffset, _length;

    internal BufferClaim(byte[] term, int frameOffset, int length)
    {
        _term = term;
        _frameOffset = frameOffset;
        _length = length;
    }

    /// <summary>The claimed payload bytes.</summary>
    public readonly Span<byte> Buffer => _term is null ? default : _term.AsSpan(_frameOffset + DataHeaderLength, _length);

    /// <summary>True between a successful claim and its commit or abort.</summary>
    public readonly bool IsPending => _term is not null;

    /// <summary>The frame header's reserved value (free for the application: a timestamp, a checksum).</summary>
    public readonly long ReservedValue
    {
        set
        {
            if (_term is not null) _ = new DataFrame(_term.AsSpan(_frameOffset)) { ReservedValue = value };
        }
    }

    /// <summary>Publishes the frame: its length goes in last, with release semantics.</summary>
    public void Commit() => Complete(FrameType.Data);

    /// <summary>Withdraws the frame: it becomes a PAD frame of the same size, which receivers skip.</summary>
    public void Abort() => Complete(FrameType.Pad);

    private void Complete(FrameType type)
    {
        if (_term is null) return;
        var frame = _term.AsSpan(_frameOffset);
        _ = new FrameHeader(frame) { Type = type };
        Volatile.Write(ref Unsafe.As<byte, int>(ref MemoryMarshal.GetReference(frame)), DataHeaderLength + _length);
        _term = null;
    }
}
