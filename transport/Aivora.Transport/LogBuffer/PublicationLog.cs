namespace Aivora.Transport.LogBuffer;

/// <summary>Outcomes of <see cref="PublicationLog.Append"/> other than a new position (all negative, as in Aeron).</summary>
public static class AppendResult
{
    /// <summary>The message is longer than min(term/8, 16 MiB).</summary>
    public const long MessageTooLong = -10;
    /// <summary>The stream reached term length × 2^31 bytes; nothing more can be written.</summary>
    public const long MaxPositionExceeded = -5;
}

/// <summary>
/// The publisher's three-term log: messages are appended at the tail position, the sender reads
/// datagrams from its send position, and retransmits come from the same bytes. The partition the tail
/// enters next held the term three back (long past any NAK window: the tail is never more than half a
/// term ahead of the receivers), and it is not cleared: nothing reads the log at or past the tail (a frame's
/// header is written before the tail moves past it, a claimed frame's length is negative until committed, and
/// the sender, resends and heartbeats stop at the tail), and each write clears what it leaves unwritten in its
/// frames (a claim's payload, the padding to the 32-byte alignment; see <see cref="TermAppender"/>), so the bytes
/// sent are the same as from a fresh log.
/// Single writer; allocation-free after construction. The sender may run on another thread: frames
/// are published by their frame length (release) and the tail position after them.
/// </summary>
public sealed class PublicationLog
{
    private readonly byte[][] _terms;
    private readonly int _positionBitsToShift;

    public int SessionId { get; }
    public int StreamId { get; }
    public int InitialTermId { get; }
    public int TermLength { get; }
    public int Mtu { get; }
    public int MaxPayloadLength => Mtu - Protocol.FrameLayout.DataHeaderLength;
    public int MaxMessageLength => LogBufferDescriptor.MaxMessageLength(TermLength);
    private long _tailPosition;

    /// <summary>Where the next message goes.</summary>
    public long TailPosition
    {
        get => Volatile.Read(ref _tailPosition);
        private set => Volatile.Write(ref _tailPosition, value);
    }

    /// <param name="termBuffers">Where its partitions come from (zeroed), and go back to when its publication is disposed; null: allocated here.</param>
    public PublicationLog(int sessionId, int streamId, int initialTermId, int termLength, int mtu, TermBufferPool? termBuffers = null)
    {
        if (mtu < 64 || mtu > Protocol.FrameLayout.MaxUdpPayloadLength || mtu % Protocol.FrameLayout.Alignment != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(mtu), mtu, "MTU must be a multiple of 32 in [64, 65504]");
        }
        _terms = termBuffers?.Rent(termLength) ?? LogBufferDescriptor.AllocatePartitions(termLength);
        SessionId = sessionId;
        StreamId = streamId;
        InitialTermId = initialTermId;
        TermLength = termLength;
        Mtu = mtu;
        _positionBitsToShift = LogBufferDescriptor.PositionBitsToShift(termLength);
    }

    /// <summary>Appends one message (fragmenting above the MTU payload); returns the new tail position or an <see cref="AppendResult"/> code.</summary>
    public long Append(ReadOnlySpan<byte> message)
    {
        if (message.Length > MaxMessageLength) return AppendResult.MessageTooLong;
        var write = new MessageWrite(message, this);
        return WriteAtTail(ref write);
    }

    /// <summary>
    /// Starts the stream at <paramref name="position"/> instead of 0 (the channel's init-term-id /
    /// term-id / term-offset): only before anything was appended, 32-aligned, inside the stream.
    /// </summary>
    public void StartAt(long position)
    {
        if (_tailPosition != 0) throw new InvalidOperationException("the log has data; a start position can only be set on an empty log");
        if (position < 0 || position >= MaxPosition || (position & (Protocol.FrameLayout.Alignment - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(position), position, "start position must be 32-aligned and inside the stream");
        }
        TailPosition = position;
    }

    /// <summary>
    /// Reserves an unfragmented frame for <paramref name="length"/> bytes (at most the MTU payload)
    /// and points <paramref name="claim"/> at it; returns the new tail position or an <see cref="AppendResult"/> code.
    /// </summary>
    public long Claim(int length, ref BufferClaim claim)
    {
        if ((uint)length > (uint)MaxPayloadLength) return AppendResult.MessageTooLong;
        var write = new ClaimWrite(length, ref claim, this);
        return WriteAtTail(ref write);
    }

    // What goes at the tail: writes into a term at an offset, returning the next offset or Tripped.
    private interface ITermWrite
    {
        int Write(byte[] term, int termOffset, int termId);
    }

    private readonly ref struct MessageWrite(ReadOnlySpan<byte> message, PublicationLog log) : ITermWrite
    {
        private readonly ReadOnlySpan<byte> _message = message;
        public int Write(byte[] term, int termOffset, int termId) =>
            TermAppender.Append(term, termOffset, log.SessionId, log.StreamId, termId, _message, log.MaxPayloadLength);
    }

    private ref struct ClaimWrite(int length, ref BufferClaim claim, PublicationLog log) : ITermWrite
    {
        private readonly ref BufferClaim _claim = ref claim;
        public readonly int Write(byte[] term, int termOffset, int termId)
        {
            int next = TermAppender.Claim(term, termOffset, log.SessionId, log.StreamId, termId, length);
            if (next != TermAppender.Tripped) _claim = new BufferClaim(term, termOffset, length);
            return next;
        }
    }

    // The one place the tail moves: write, or pad and rotate into the next term.
    private long WriteAtTail<TWrite>(ref TWrite write) where TWrite : ITermWrite, allows ref struct
    {
        while (true)
        {
            long tail = _tailPosition;
            if (tail >= MaxPosition) return AppendResult.MaxPositionExceeded;
            int termId = LogBufferDescriptor.TermId(tail, _positionBitsToShift, InitialTermId);
            int termOffset = LogBufferDescriptor.TermOffset(tail, TermLength);
            int next = write.Write(Term(termId), termOffset, termId);
            if (next != TermAppender.Tripped)
            {
                long newTail = tail + (next - termOffset);
                TailPosition = newTail;
                return newTail;
            }
            TailPosition = tail + (TermLength - termOffset);
        }
    }

    /// <summary>The bytes the next datagram from <paramref name="position"/> carries (at most <paramref name="maxLength"/>), and how far the send position moves.</summary>
    public ReadOnlySpan<byte> NextDatagram(long position, int maxLength, out int advance)
    {
        int termId = LogBufferDescriptor.TermId(position, _positionBitsToShift, InitialTermId);
        int termOffset = LogBufferDescriptor.TermOffset(position, TermLength);
        var term = Term(termId);
        // Never past the tail: what lies beyond it in the term is not this stream's yet.
        int limit = (int)Math.Min(Math.Min(maxLength, Mtu), TailPosition - position);
        TermScanner.ScanForAvailability(term, termOffset, limit, out int available, out int padding);
        advance = available + padding;
        return term.AsSpan(termOffset, available);
    }

    /// <summary>Read access to one term, for retransmission and tests.</summary>
    public ReadOnlySpan<byte> TermFor(int termId) => Term(termId);

    private long MaxPosition => (long)TermLength << 31;

    /// <summary>The three partitions, for their return to the pool they came from once nothing writes or sends from them.</summary>
    internal byte[][] Partitions => _terms;

    private byte[] Term(int termId) => _terms[LogBufferDescriptor.PartitionIndex(termId, InitialTermId)];
}
