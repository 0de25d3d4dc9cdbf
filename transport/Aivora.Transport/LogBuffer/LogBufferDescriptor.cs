using System.Numerics;

namespace Aivora.Transport.LogBuffer;

/// <summary>Term and position arithmetic (aeron-wire.md §4–§5). Term ids wrap as int32.</summary>
public static class LogBufferDescriptor
{
    public const int PartitionCount = 3;
    public const int TermMinLength = 64 * 1024;
    public const int TermMaxLength = 1024 * 1024 * 1024;
    public const int DefaultTermLength = 16 * 1024 * 1024;
    public const int MaxMessageLengthCap = 16 * 1024 * 1024;

    public static bool IsValidTermLength(int termLength) =>
        termLength >= TermMinLength && termLength <= TermMaxLength && BitOperations.IsPow2(termLength);

    /// <summary>The three partitions of a log, every page written (cold path); throws on a term length Aeron would not accept.</summary>
    public static byte[][] AllocatePartitions(int termLength)
    {
        // Pinned: the sender hands a datagram longer than its send slots to sendmmsg by address (see
        // UdpChannel.QueueSend: shorter ones are copied out first). Written once here (cold path): the OS
        // maps zero pages lazily, and a publication that first touches each page of its terms as the
        // stream advances pays a page fault per 4 KiB (or a huge-page zeroing) on the send path; measured
        // as 1-47 ms stalls of a saturated client loop before this. The cost moves to whoever allocates:
        // ~8 ms for three 1 MiB terms on this VM (see TermBufferPool; an image faults its pages in slices).
        var terms = AllocateUnwrittenPartitions(termLength);
        foreach (var term in terms) Array.Clear(term);
        return terms;
    }

    /// <summary>
    /// The three partitions of a log, zeroed but not written here: the collector hands out fresh memory the OS maps only at
    /// its first write, so their pages are taken when something first writes them (an image's receiver, ahead of its
    /// stream: <see cref="Subscription.Image"/>). Cold path; throws on a term length Aeron would not accept.
    /// </summary>
    public static byte[][] AllocateUnwrittenPartitions(int termLength)
    {
        if (!IsValidTermLength(termLength))
        {
            throw new ArgumentOutOfRangeException(nameof(termLength), termLength, "term length must be a power of two in [64 KiB, 1 GiB]");
        }
        return [GC.AllocateArray<byte>(termLength, pinned: true), GC.AllocateArray<byte>(termLength, pinned: true), GC.AllocateArray<byte>(termLength, pinned: true)];
    }

    public static int PositionBitsToShift(int termLength) => BitOperations.TrailingZeroCount(termLength);

    public static long ComputePosition(int termId, int termOffset, int positionBitsToShift, int initialTermId)
    {
        long termCount = unchecked(termId - initialTermId);
        return (termCount << positionBitsToShift) + termOffset;
    }

    public static int TermId(long position, int positionBitsToShift, int initialTermId) =>
        unchecked(initialTermId + (int)(position >> positionBitsToShift));

    public static int TermOffset(long position, int termLength) => (int)(position & (termLength - 1));

    public static int PartitionIndex(int termId, int initialTermId) =>
        (int)((uint)unchecked(termId - initialTermId) % PartitionCount);

    /// <summary>min(term/8, 16 MiB) (<c>aeron_compute_max_message_length</c>).</summary>
    public static int MaxMessageLength(int termLength) => Math.Min(termLength / 8, MaxMessageLengthCap);

    /// <summary>Bytes a message occupies in the term once framed: <c>n_full × MTU + align32(rest + 32)</c>.</summary>
    public static int FramedLength(int messageLength, int maxPayloadLength)
    {
        int fullFrames = messageLength / maxPayloadLength;
        int rest = messageLength % maxPayloadLength;
        int last = rest > 0 ? Protocol.FrameLayout.Align(rest + Protocol.FrameLayout.DataHeaderLength) : 0;
        int framed = fullFrames * (maxPayloadLength + Protocol.FrameLayout.DataHeaderLength) + last;
        return framed == 0 ? Protocol.FrameLayout.DataHeaderLength : framed;
    }
}
