using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static Aivora.Transport.Protocol.FrameLayout;

namespace Aivora.Transport.LogBuffer;

/// <summary>
/// Receiver side: places a validated DATA/PAD packet into its term at its term offset, only if that
/// slot is still empty (duplicates and retransmits of data already held are ignored). A trailing
/// PAD arrives as its header alone; copying those 32 bytes is enough, since its frame length
/// carries readers to the end of the term.
/// </summary>
public static class TermRebuilder
{
    /// <summary>Returns false when the slot was already filled (a duplicate).</summary>
    public static bool Insert(Span<byte> term, int termOffset, ReadOnlySpan<byte> packet)
    {
        ref int slot = ref Unsafe.As<byte, int>(ref term[termOffset]);
        if (Volatile.Read(ref slot) != 0) return false;

        // Everything but the first frame's length, then that length with release semantics.
        packet[sizeof(int)..].CopyTo(term[(termOffset + sizeof(int))..]);
        Volatile.Write(ref slot, BinaryPrimitives.ReadInt32LittleEndian(packet));
        return true;
    }

    /// <summary>Length of the filled run starting at <paramref name="termOffset"/>, frame by frame (for rebuild position).</summary>
    public static int FilledLength(ReadOnlySpan<byte> term, int termOffset)
    {
        int offset = termOffset;
        while (offset < term.Length)
        {
            int frameLength = Volatile.Read(ref Unsafe.As<byte, int>(ref MemoryMarshal.GetReference(term[offset..])));
            // A length that runs past the term can only be bytes a hostile overlapping packet
            // wrote over a header: stop there rather than walk off the buffer.
            if (frameLength < DataHeaderLength || frameLength > term.Length - offset) break;
            offset += Align(frameLength);
        }
        return Math.Min(offset, term.Length) - termOffset;
    }
}
