using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Aivora.Transport.Protocol;
using static Aivora.Transport.Protocol.FrameLayout;

namespace Aivora.Transport.LogBuffer;

/// <summary>
/// Writes messages into one term as 32-byte-aligned DATA frames, fragmenting above the MTU
/// payload, and pads the term's tail when a message does not fit (a message never spans terms).
/// The frame length goes in last, with release semantics, so a concurrent scanner sees whole frames.
/// A term is reused every third term without being cleared first: each frame's bytes that the message does not
/// fill (the padding to the alignment, and a claim's whole payload before the claimer writes it) are cleared here,
/// so every byte a datagram carries is this frame's, and a claimed buffer reads zero, as in a fresh term.
/// <code>
///   one frame: | header (32) | payload (length - 32) | zeros to the 32-byte alignment |
///              the header's length goes in last; a claim's stays negative until it is committed
/// </code>
/// </summary>
public static class TermAppender
{
    /// <summary>Returned when the message did not fit: the rest of the term is now a PAD frame.</summary>
    public const int Tripped = -1;

    /// <summary>Appends <paramref name="message"/> at <paramref name="termOffset"/>; returns the next offset or <see cref="Tripped"/>.</summary>
    public static int Append(Span<byte> term, int termOffset, int sessionId, int streamId, int termId,
        ReadOnlySpan<byte> message, int maxPayloadLength)
    {
        int framedLength = LogBufferDescriptor.FramedLength(message.Length, maxPayloadLength);
        if (PaddedForLackOfRoom(term, termOffset, framedLength, sessionId, streamId, termId)) return Tripped;

        if (message.Length <= maxPayloadLength)
        {
            message.CopyTo(term[(termOffset + DataHeaderLength)..]);
            ClearPadding(term, termOffset, DataHeaderLength + message.Length);
            WriteHeader(term[termOffset..], DataHeaderLength + message.Length, FrameFlags.Unfragmented, FrameType.Data,
                termOffset, sessionId, streamId, termId);
            return termOffset + framedLength;
        }

        int offset = termOffset;
        int remaining = message.Length;
        byte flags = FrameFlags.Begin;
        while (remaining > 0)
        {
            int payload = Math.Min(remaining, maxPayloadLength);
            if (payload == remaining) flags |= FrameFlags.End;
            message.Slice(message.Length - remaining, payload).CopyTo(term[(offset + DataHeaderLength)..]);
            ClearPadding(term, offset, DataHeaderLength + payload);
            WriteHeader(term[offset..], DataHeaderLength + payload, flags, FrameType.Data, offset, sessionId, streamId, termId);
            offset += Align(DataHeaderLength + payload);
            remaining -= payload;
            flags = 0;
        }
        return offset;
    }

    /// <summary>
    /// Reserves one unfragmented frame of <paramref name="length"/> payload bytes at
    /// <paramref name="termOffset"/> for writing in place. Its frame length stays negative (not yet
    /// sendable: scanners stop there) until <see cref="BufferClaim.Commit"/>. Returns the next offset or <see cref="Tripped"/>.
    /// </summary>
    public static int Claim(Span<byte> term, int termOffset, int sessionId, int streamId, int termId, int length)
    {
        int framedLength = Align(DataHeaderLength + length);
        if (PaddedForLackOfRoom(term, termOffset, framedLength, sessionId, streamId, termId)) return Tripped;
        term.Slice(termOffset + DataHeaderLength, framedLength - DataHeaderLength).Clear();   // the payload and its padding
        WriteHeader(term[termOffset..], -(DataHeaderLength + length), FrameFlags.Unfragmented, FrameType.Data, termOffset, sessionId, streamId, termId);
        return termOffset + framedLength;
    }

    // The bytes between a frame's end and its 32-byte alignment (0 to 31): the term's earlier use left them.
    private static void ClearPadding(Span<byte> term, int frameOffset, int frameLength) =>
        term.Slice(frameOffset + frameLength, Align(frameLength) - frameLength).Clear();

    // A message never spans terms: when it does not fit, the rest of the term becomes one PAD frame.
    private static bool PaddedForLackOfRoom(Span<byte> term, int termOffset, int framedLength, int sessionId, int streamId, int termId)
    {
        if (termOffset + framedLength <= term.Length) return false;
        if (termOffset < term.Length)
        {
            WriteHeader(term[termOffset..], term.Length - termOffset, FrameFlags.Unfragmented, FrameType.Pad, termOffset, sessionId, streamId, termId);
        }
        return true;
    }

    private static void WriteHeader(Span<byte> frame, int frameLength, byte flags, FrameType type,
        int termOffset, int sessionId, int streamId, int termId)
    {
        var header = new DataFrame(frame) { TermOffset = termOffset, SessionId = sessionId, StreamId = streamId, TermId = termId, ReservedValue = 0 };
        frame[VersionOffset] = CurrentVersion;
        header.Flags = flags;
        header.Type = type;
        Volatile.Write(ref Unsafe.As<byte, int>(ref MemoryMarshal.GetReference(frame)), frameLength);
    }
}
