using System.Buffers.Binary;
using static Aivora.Transport.Protocol.FrameLayout;

namespace Aivora.Transport.Protocol;

/// <summary>Why a received datagram was dropped; <see cref="Valid"/> when it was not.</summary>
public enum DatagramVerdict : byte
{
    Valid = 0,
    ShorterThanCommonHeader = 1,
    NegativeFrameLength = 2,
    UnsupportedVersion = 3,
    UnknownFrameType = 4,
    /// <summary>DATA/PAD datagram shorter than 32 bytes or not a multiple of 32.</summary>
    DataDatagramNotAligned = 5,
    /// <summary>Control datagram shorter than its type's fixed header.</summary>
    ShorterThanFrameHeader = 6,
    FrameLengthBeyondDatagram = 7,
    // Packet walk (needs the image's term length):
    TermOffsetOutOfRange = 8,
    TermOffsetNotAligned = 9,
    EmptyFrameInPacket = 10,
    NonDataFrameInPacket = 11,
    TermOffsetMismatch = 12,
    FrameRunsPastTermEnd = 13,
    FramesDoNotCoverDatagram = 14,
    /// <summary>Recognised but not spoken here (RES, ATS, RSP_SETUP, EXT): ignored, not malformed.</summary>
    Unsupported = 15,
    /// <summary>A DATA/PAD frame in a packet whose length is below its 32-byte header.</summary>
    FrameShorterThanHeader = 16,
}

/// <summary>
/// Every check a datagram passes before any flyweight reads it (aeron-wire.md §1, the C
/// <c>aeron_is_frame_valid</c> and <c>aeron_publication_image_validate_packet</c>). A datagram that
/// fails is dropped whole and counted; nothing here throws or reads out of range.
/// </summary>
public static class DatagramValidator
{
    /// <summary>Structural checks that need no stream state.</summary>
    public static DatagramVerdict Validate(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length < CommonHeaderLength) return DatagramVerdict.ShorterThanCommonHeader;
        int frameLength = BinaryPrimitives.ReadInt32LittleEndian(datagram);
        if (frameLength < 0) return DatagramVerdict.NegativeFrameLength;
        if (datagram[VersionOffset] != CurrentVersion) return DatagramVerdict.UnsupportedVersion;

        var type = (FrameType)BinaryPrimitives.ReadUInt16LittleEndian(datagram[TypeOffset..]);
        int fixedLength;
        switch (type)
        {
            case FrameType.Data:
            case FrameType.Pad:
                return datagram.Length >= DataHeaderLength && (datagram.Length & (Alignment - 1)) == 0
                    ? DatagramVerdict.Valid
                    : DatagramVerdict.DataDatagramNotAligned;
            case FrameType.Setup: fixedLength = SetupLength; break;
            case FrameType.StatusMessage: fixedLength = StatusMessageLength; break;
            case FrameType.Nak: fixedLength = NakLength; break;
            case FrameType.Rttm: fixedLength = RttmLength; break;
            case FrameType.Error: fixedLength = ErrorHeaderLength; break;
            case FrameType.ResponseSetup: fixedLength = ResponseSetupLength; break;
            case FrameType.Resolution:
            case FrameType.Extension:
            case (FrameType)0x08:
            case (FrameType)0x09:
            case (FrameType)0x0A:
                return DatagramVerdict.Unsupported;
            default:
                return DatagramVerdict.UnknownFrameType;
        }

        if (datagram.Length < fixedLength) return DatagramVerdict.ShorterThanFrameHeader;
        if (frameLength > datagram.Length) return DatagramVerdict.FrameLengthBeyondDatagram;
        return DatagramVerdict.Valid;
    }

    /// <summary>
    /// Walks every frame of a DATA/PAD datagram that already passed <see cref="Validate"/> and is not
    /// a heartbeat: each frame non-empty, DATA or PAD, at its real term offset, inside the term; the
    /// aligned frames cover the datagram exactly, except that a final PAD (sent as its header only)
    /// may claim more than the datagram holds.
    /// </summary>
    public static DatagramVerdict ValidateDataPacket(ReadOnlySpan<byte> datagram, int termLength)
    {
        int firstTermOffset = BinaryPrimitives.ReadInt32LittleEndian(datagram[TermOffsetOffset..]);
        if ((uint)firstTermOffset >= (uint)termLength) return DatagramVerdict.TermOffsetOutOfRange;
        if ((firstTermOffset & (Alignment - 1)) != 0) return DatagramVerdict.TermOffsetNotAligned;

        int offset = 0;
        while (offset < datagram.Length)
        {
            if (datagram.Length - offset < DataHeaderLength) return DatagramVerdict.FramesDoNotCoverDatagram;
            var frame = datagram[offset..];
            int frameLength = BinaryPrimitives.ReadInt32LittleEndian(frame);
            if (frameLength <= 0) return DatagramVerdict.EmptyFrameInPacket;
            if (frameLength < DataHeaderLength) return DatagramVerdict.FrameShorterThanHeader;
            var type = (FrameType)BinaryPrimitives.ReadUInt16LittleEndian(frame[TypeOffset..]);
            if (type != FrameType.Data && type != FrameType.Pad) return DatagramVerdict.NonDataFrameInPacket;
            int termOffset = BinaryPrimitives.ReadInt32LittleEndian(frame[TermOffsetOffset..]);
            if (termOffset != firstTermOffset + offset) return DatagramVerdict.TermOffsetMismatch;
            if ((long)termOffset + frameLength > termLength) return DatagramVerdict.FrameRunsPastTermEnd;

            int aligned = Align(frameLength);
            if (aligned > datagram.Length - offset)
            {
                // Only a trailing PAD header may claim the rest of the term beyond the datagram.
                bool trailingPadHeader = type == FrameType.Pad && datagram.Length - offset == DataHeaderLength;
                return trailingPadHeader ? DatagramVerdict.Valid : DatagramVerdict.FramesDoNotCoverDatagram;
            }
            offset += aligned;
        }
        return DatagramVerdict.Valid;
    }
}
