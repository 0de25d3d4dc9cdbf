using System.Buffers.Binary;
using Aivora.Transport.LogBuffer;
using Aivora.Transport.Protocol;
using static Aivora.Transport.Protocol.FrameLayout;

namespace Aivora.Transport.Subscription;

/// <summary>Why a packet offered to an <see cref="Image"/> was or was not taken.</summary>
public enum PacketOutcome : byte
{
    Inserted = 0,
    Heartbeat = 1,
    Duplicate = 2,
    Malformed = 3,
    OtherStream = 4,
    /// <summary>Already consumed (below the subscriber position).</summary>
    UnderRun = 5,
    /// <summary>Beyond the acceptance window (subscriber position + term/2).</summary>
    OverRun = 6,
    /// <summary>The image is closed (its receiver retired it): its log may be another image's by now, so nothing is written.</summary>
    Closed = 7,
}

/// <summary>Counters of one image, readable at any time.</summary>
public struct ImageCounters
{
    public long PacketsInserted, FramesDelivered, BytesDelivered, Heartbeats, Duplicates, Malformed, UnderRuns, OverRuns;
    /// <summary>Times Poll met a frame in the term that is not a well-formed DATA/PAD frame (only hostile overlapping packets produce one).</summary>
    public long CorruptFrames;
    /// <summary>Bytes given up by an unreliable subscription (gaps filled with padding).</summary>
    public long BytesLost;
}

/// <summary>
/// One publisher session as this receiver sees it: three term buffers rebuilt from DATA packets at
/// their term offsets (any order, duplicates ignored), a rebuild position (end of the contiguous
/// prefix), a high-water mark raised by data and heartbeats, and the subscriber's position that
/// <see cref="Poll{THandler}"/> advances.
/// Two threads may share it: the receiver (<see cref="OnDataPacket"/>, <see cref="TryFindGap"/>) and
/// the subscriber (<see cref="Poll{THandler}"/>). The rebuild position is published with release
/// semantics after the frames below it are written, the subscriber position likewise, and only the
/// receiver writes the terms: it also clears terms the subscriber has left (before reusing them).
/// </summary>
public sealed class Image
{
    private readonly byte[][] _terms;
    private readonly int _termLength;
    private readonly int _positionBitsToShift;
    private long _endOfStreamPosition = long.MaxValue;
    private long _subscriberPosition, _rebuildPosition;
    private long _cleanPosition; // how far the terms the subscriber left are cleared for reuse (receiver only)

    /// <summary>How far the receiver has cleared the terms the subscriber left (for tests: a packet's share of the cleaning).</summary>
    internal long CleanPosition => _cleanPosition;
    public ImageCounters Counters;

    public int SessionId { get; }
    public int StreamId { get; }
    public int InitialTermId { get; }
    public int TermLength => _termLength;
    public int PositionBitsToShift => _positionBitsToShift;
    public long JoinPosition { get; }
    public long SubscriberPosition
    {
        get => Volatile.Read(ref _subscriberPosition);
        private set => Volatile.Write(ref _subscriberPosition, value);
    }

    public long RebuildPosition
    {
        get => Volatile.Read(ref _rebuildPosition);
        private set => Volatile.Write(ref _rebuildPosition, value);
    }

    public long HighWaterMark { get; private set; }

    /// <summary>The sender flagged end of stream and everything up to it has been consumed.</summary>
    public bool IsEndOfStream => SubscriberPosition >= _endOfStreamPosition;

    /// <summary>Creates the image at the join position a SETUP announced (active term id, term offset).</summary>
    public Image(int sessionId, int streamId, int initialTermId, int activeTermId, int termOffset, int termLength)
        : this(sessionId, streamId, initialTermId, activeTermId, termOffset, termLength, reusedLog: null)
    {
    }

    /// <summary>
    /// The image on <paramref name="reusedLog"/> when it is given: the zeroed partitions of an image that ended (their pages
    /// mapped already: nothing to map ahead of the stream, nothing allocated), else on new unwritten ones.
    /// </summary>
    internal Image(int sessionId, int streamId, int initialTermId, int activeTermId, int termOffset, int termLength, byte[][]? reusedLog)
    {
        if (reusedLog is not null && (reusedLog.Length != LogBufferDescriptor.PartitionCount || reusedLog[0].Length != termLength))
        {
            throw new ArgumentException($"a reused log must be {LogBufferDescriptor.PartitionCount} partitions of the term length", nameof(reusedLog));
        }
        _terms = reusedLog ?? LogBufferDescriptor.AllocateUnwrittenPartitions(termLength);
        _pagesPerTerm = termLength / PageSize;
        _firstPageToFault = (LogBufferDescriptor.PartitionIndex(activeTermId, initialTermId) * _pagesPerTerm) + (termOffset / PageSize);
        if (reusedLog is not null) _pagesFaulted = LogBufferDescriptor.PartitionCount * _pagesPerTerm;
        SessionId = sessionId;
        StreamId = streamId;
        InitialTermId = initialTermId;
        _termLength = termLength;
        _positionBitsToShift = LogBufferDescriptor.PositionBitsToShift(termLength);
        JoinPosition = LogBufferDescriptor.ComputePosition(activeTermId, termOffset, _positionBitsToShift, initialTermId);
        SubscriberPosition = RebuildPosition = HighWaterMark = JoinPosition;
        _cleanPosition = JoinPosition - LogBufferDescriptor.TermOffset(JoinPosition, termLength);
    }

    // The log's pages are taken ahead of the stream, a page at a time, by the receiver between packets (NetworkSubscription
    // asks in its idle passes), instead of all at the image's creation: writing 3 x 1 MiB of fresh pages took ~8 ms on this
    // VM (the host backs a guest page at its first write), a stall of the receiver's thread at every SETUP, which in a node's
    // invoker mode is the engine's. In stream order from the join position: the join term from there, the next term, the
    // one after, then the join term's start. A page the stream reaches first is taken by the packet's own write, as any
    // fresh page would be (~10 us here). A page is taken by writing back a byte it holds: only the receiver writes the
    // terms, so the value cannot change under it, and a subscriber reading it meanwhile reads the same.
    private static readonly int PageSize = Environment.SystemPageSize;
    private readonly int _pagesPerTerm, _firstPageToFault;
    private int _pagesFaulted;

    // Set by the receiver when it retires the image, before its log can go to another image (a second later at the earliest:
    // NetworkSubscription); a Poll from then on delivers nothing.
    private volatile bool _closed;

    /// <summary>The receiver retired the image: it delivers nothing more, and its log may serve another image.</summary>
    public bool IsClosed => _closed;

    internal void Close() => _closed = true;

    /// <summary>The log's partitions (receiver: to give them back for reuse once the image is retired).</summary>
    internal byte[][] Log => _terms;

    /// <summary>One of the log's three partitions (for tests: which of its pages are mapped).</summary>
    internal byte[] LogPartition(int index) => _terms[index];

    /// <summary>Pages of the log the receiver has yet to take (0: all of them mapped; receiver only).</summary>
    internal int LogPagesToFault => (LogBufferDescriptor.PartitionCount * _pagesPerTerm) - _pagesFaulted;

    /// <summary>Takes the next page of the log in stream order from the join position; false when none is left (receiver only).</summary>
    internal bool FaultInNextLogPage()
    {
        int pages = LogBufferDescriptor.PartitionCount * _pagesPerTerm;
        if (_pagesFaulted >= pages) return false;
        int page = _firstPageToFault + _pagesFaulted;
        if (page >= pages) page -= pages;
        var term = _terms[page / _pagesPerTerm];
        int offset = (page % _pagesPerTerm) * PageSize;
        // Both ends of the page-long span: the array's data need not start on a page boundary, so the span may cross one.
        WriteBack(ref term[offset]);
        WriteBack(ref term[offset + PageSize - 1]);
        _pagesFaulted++;
        return true;
    }

    private static void WriteBack(ref byte location) => Volatile.Write(ref location, Volatile.Read(ref location));

    /// <summary>Takes one received DATA/PAD/heartbeat datagram for this image.</summary>
    public PacketOutcome OnDataPacket(ReadOnlySpan<byte> datagram)
    {
        if (_closed) return PacketOutcome.Closed;
        if (DatagramValidator.Validate(datagram) != DatagramVerdict.Valid)
            return Count(ref Counters.Malformed, PacketOutcome.Malformed);
        var type = (FrameType)BinaryPrimitives.ReadUInt16LittleEndian(datagram[TypeOffset..]);
        if (type != FrameType.Data && type != FrameType.Pad)
            return Count(ref Counters.Malformed, PacketOutcome.Malformed);
        bool ours = BinaryPrimitives.ReadInt32LittleEndian(datagram[SessionIdOffset..]) == SessionId
            && BinaryPrimitives.ReadInt32LittleEndian(datagram[StreamIdOffset..]) == StreamId;
        if (!ours) return PacketOutcome.OtherStream;

        int termId = BinaryPrimitives.ReadInt32LittleEndian(datagram[TermIdOffset..]);
        int termOffset = BinaryPrimitives.ReadInt32LittleEndian(datagram[TermOffsetOffset..]);

        if (DataFrame.IsHeartbeat(datagram))
        {
            if ((uint)termOffset > (uint)_termLength || (termOffset & (Alignment - 1)) != 0)
                return Count(ref Counters.Malformed, PacketOutcome.Malformed);
            long heartbeatPosition = LogBufferDescriptor.ComputePosition(termId, termOffset, _positionBitsToShift, InitialTermId);
            if (heartbeatPosition < SubscriberPosition - _termLength || heartbeatPosition > SubscriberPosition + _termLength / 2)
                return Count(ref Counters.OverRuns, PacketOutcome.OverRun);
            HighWaterMark = Math.Max(HighWaterMark, heartbeatPosition);
            if ((datagram[FlagsOffset] & FrameFlags.EndOfStream) != 0) _endOfStreamPosition = heartbeatPosition;
            return Count(ref Counters.Heartbeats, PacketOutcome.Heartbeat);
        }

        if (DatagramValidator.ValidateDataPacket(datagram, _termLength) != DatagramVerdict.Valid)
            return Count(ref Counters.Malformed, PacketOutcome.Malformed);

        long position = LogBufferDescriptor.ComputePosition(termId, termOffset, _positionBitsToShift, InitialTermId);
        long subscriberPosition = SubscriberPosition;
        if (position < subscriberPosition) return Count(ref Counters.UnderRuns, PacketOutcome.UnderRun);
        if (position + datagram.Length > subscriberPosition + _termLength / 2)
            return Count(ref Counters.OverRuns, PacketOutcome.OverRun);
        CleanTermsBehind(subscriberPosition, position, datagram.Length);

        var term = _terms[LogBufferDescriptor.PartitionIndex(termId, InitialTermId)];
        if (!TermRebuilder.Insert(term, termOffset, datagram)) return Count(ref Counters.Duplicates, PacketOutcome.Duplicate);

        HighWaterMark = Math.Max(HighWaterMark, position + datagram.Length);
        AdvanceRebuildPosition();
        return Count(ref Counters.PacketsInserted, PacketOutcome.Inserted);
    }

    /// <summary>
    /// Delivers up to <paramref name="fragmentLimit"/> fragments from the subscriber position, in
    /// order; PAD frames are consumed silently. Returns the number of fragments delivered.
    /// </summary>
    public int Poll<THandler>(ref THandler handler, int fragmentLimit) where THandler : struct, IFragmentHandler
    {
        if (_closed) return 0;   // its log may be another image's by now
        int delivered = 0;
        long position = _subscriberPosition, rebuildPosition = RebuildPosition; // acquire: frames below it are whole
        while (delivered < fragmentLimit && position < rebuildPosition)
        {
            int termId = LogBufferDescriptor.TermId(position, _positionBitsToShift, InitialTermId);
            int termOffset = LogBufferDescriptor.TermOffset(position, _termLength);
            var term = _terms[LogBufferDescriptor.PartitionIndex(termId, InitialTermId)];
            int frameLength = BinaryPrimitives.ReadInt32LittleEndian(term.AsSpan(termOffset));
            var frame = new DataFrame(term.AsSpan(termOffset));
            if (frameLength < DataHeaderLength || frameLength > _termLength - termOffset || frame.Type is not (FrameType.Data or FrameType.Pad))
            {
                // Never read past the term: the image stops here, visibly, instead of delivering garbage.
                Counters.CorruptFrames++;
                break;
            }
            if (frame.Type == FrameType.Data)
            {
                var header = new FragmentHeader(frame.SessionId, frame.StreamId, termId, termOffset, frame.Flags, frame.ReservedValue);
                handler.OnFragment(term.AsSpan(termOffset + DataHeaderLength, frameLength - DataHeaderLength), header);
                delivered++;
                Counters.FramesDelivered++;
                Counters.BytesDelivered += frameLength - DataHeaderLength;
            }
            position += Math.Min(Align(frameLength), _termLength - termOffset);
        }
        SubscriberPosition = position; // release: the receiver may now reuse what lies behind
        return delivered;
    }

    /// <summary>
    /// Gives up on a gap (an unreliable subscription): a PAD frame covering it goes into the term, so
    /// the rebuild position, and delivery, move past it. Data that arrives for it later is a duplicate.
    /// </summary>
    public void FillGap(int termId, int termOffset, int length)
    {
        if (_closed) return;   // its log may be another image's by now
        if (length < DataHeaderLength || (length & (Alignment - 1)) != 0 || (uint)termOffset > (uint)(_termLength - length)) return;
        Span<byte> pad = stackalloc byte[DataHeaderLength];
        _ = new DataFrame(pad) { TermOffset = termOffset, SessionId = SessionId, StreamId = StreamId, TermId = termId, ReservedValue = 0 };
        _ = new FrameHeader(pad) { FrameLength = length, Version = CurrentVersion, Flags = FrameFlags.Unfragmented, Type = FrameType.Pad };
        var term = _terms[LogBufferDescriptor.PartitionIndex(termId, InitialTermId)];
        if (!TermRebuilder.Insert(term, termOffset, pad)) return;
        Counters.BytesLost += length;
        AdvanceRebuildPosition();
    }

    /// <summary>The first gap between the rebuild position and the high-water mark, in the rebuild term (what a NAK asks for).</summary>
    public bool TryFindGap(out int termId, out int termOffset, out int length)
    {
        termId = termOffset = length = 0;
        if (RebuildPosition >= HighWaterMark) return false;
        termId = LogBufferDescriptor.TermId(RebuildPosition, _positionBitsToShift, InitialTermId);
        termOffset = LogBufferDescriptor.TermOffset(RebuildPosition, _termLength);
        var term = _terms[LogBufferDescriptor.PartitionIndex(termId, InitialTermId)];
        long hwmInTerm = Math.Min(HighWaterMark - RebuildPosition + termOffset, _termLength);
        int end = termOffset;
        while (end < hwmInTerm && BinaryPrimitives.ReadInt32LittleEndian(term.AsSpan(end)) == 0) end += Alignment;
        length = (int)Math.Min(end, hwmInTerm) - termOffset;
        return length > 0;
    }

    // A term the subscriber has left becomes the partition three terms on, so it must read empty
    // before the receiver writes there. Only the receiver writes terms, so it clears them too: a
    // slice per packet of a page or four times the packet's length, whichever is more, and all that
    // is left at once should a packet need a partition not yet clean. The slices keep pace: the term
    // left behind must be clean before packets reach the term after the next, at least half a term of
    // packets later (they run at most half a term ahead of the subscriber), and four bytes cleared a
    // byte received clear a term within a quarter term of packets. A page takes ~0.1-0.3 us; a slice
    // of 64 KiB a packet took 2-4 us on the receive path, sixteen packets in a row for a 1 MiB term.
    private const int CleanBytesPerPacketByte = 4;
    private const int CleanSliceMin = 4096;

    private void CleanTermsBehind(long subscriberPosition, long packetPosition, int packetLength)
    {
        long subscriberTermStart = subscriberPosition - LogBufferDescriptor.TermOffset(subscriberPosition, _termLength);
        long packetTermStart = packetPosition - LogBufferDescriptor.TermOffset(packetPosition, _termLength);
        // The packet's term and the one after it (the rebuild walk may step into it) must be clean:
        // their partitions last held the terms three back, so everything before the term ahead of
        // the packet's, less three terms, i.e. before (packet term - 1 term), must be cleared.
        long mustBeClean = packetTermStart - _termLength;
        long budget = Math.Max(CleanSliceMin, (long)CleanBytesPerPacketByte * packetLength);
        while (_cleanPosition < subscriberTermStart && (budget > 0 || _cleanPosition < mustBeClean))
        {
            int termId = LogBufferDescriptor.TermId(_cleanPosition, _positionBitsToShift, InitialTermId);
            int offset = LogBufferDescriptor.TermOffset(_cleanPosition, _termLength);
            int length = (int)Math.Min(_termLength - offset, Math.Max(budget, mustBeClean - _cleanPosition));
            _terms[LogBufferDescriptor.PartitionIndex(termId, InitialTermId)].AsSpan(offset, length).Clear();
            _cleanPosition += length;
            budget -= length;
        }
    }

    private void AdvanceRebuildPosition()
    {
        while (true)
        {
            int termId = LogBufferDescriptor.TermId(RebuildPosition, _positionBitsToShift, InitialTermId);
            int termOffset = LogBufferDescriptor.TermOffset(RebuildPosition, _termLength);
            var term = _terms[LogBufferDescriptor.PartitionIndex(termId, InitialTermId)];
            int filled = TermRebuilder.FilledLength(term, termOffset);
            if (filled == 0) return;
            RebuildPosition += filled; // release: the subscriber may read up to here
            // Into the next term only if something there has been received: the walk never runs
            // ahead of the high-water mark across terms, whatever the bytes in a partition say.
            if (LogBufferDescriptor.TermOffset(RebuildPosition, _termLength) != 0 || RebuildPosition >= HighWaterMark) return;
        }
    }

    private static PacketOutcome Count(ref long counter, PacketOutcome outcome)
    {
        counter++;
        return outcome;
    }
}
