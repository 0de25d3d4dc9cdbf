using System.Buffers.Binary;
using Aivora.Transport.Protocol;
using static Aivora.Transport.Protocol.FrameLayout;

namespace Aivora.Transport.LogBuffer;

/// <summary>
/// Sender side: how many bytes from <c>termOffset</c> go into the next datagram. Whole aligned
/// frames only, up to <c>maxLength</c> (min of MTU and flow-control window), never across the
/// term end; a PAD frame is sent as its 32-byte header alone (<c>aeron_term_scanner.h</c>).
/// </summary>
public static class TermScanner
{
    /// <summary>The datagram's byte count (<paramref name="available"/>) and how far the send position advances (<paramref name="padding"/> extra for a PAD).</summary>
    public static void ScanForAvailability(ReadOnlySpan<byte> term, int termOffset, int maxLength, out int available, out int padding)
    {
        available = 0;
        padding = 0;
        int limit = Math.Min(term.Length - termOffset, maxLength);
        while (available < limit)
        {
            var frame = term[(termOffset + available)..];
            int frameLength = BinaryPrimitives.ReadInt32LittleEndian(frame);
            if (frameLength <= 0) break;
            int aligned = Align(frameLength);
            if ((FrameType)BinaryPrimitives.ReadUInt16LittleEndian(frame[TypeOffset..]) == FrameType.Pad)
            {
                // The PAD header rides in this datagram only if there is room for it.
                if (available == 0 || available + DataHeaderLength <= limit)
                {
                    padding = aligned - DataHeaderLength;
                    available += DataHeaderLength;
                }
                break;
            }
            if (available + aligned > limit) break;
            available += aligned;
        }
    }
}
