using System.Buffers.Binary;
using static Aivora.Transport.Protocol.FrameLayout;

namespace Aivora.Transport.Protocol;

// Flyweights over a frame's bytes: no copies, no allocation. Each is valid only as long as the span;
// bounds are the caller's business (DatagramValidator checks them before any flyweight is made).

/// <summary>The common 8-byte header every frame starts with.</summary>
public readonly ref struct FrameHeader(Span<byte> bytes)
{
    private readonly Span<byte> _bytes = bytes;

    public int FrameLength { get => I32(_bytes, FrameLengthOffset); set => I32(_bytes, FrameLengthOffset, value); }
    public byte Version { get => _bytes[VersionOffset]; set => _bytes[VersionOffset] = value; }
    public byte Flags { get => _bytes[FlagsOffset]; set => _bytes[FlagsOffset] = value; }
    public FrameType Type
    {
        get => (FrameType)BinaryPrimitives.ReadUInt16LittleEndian(_bytes[TypeOffset..]);
        set => BinaryPrimitives.WriteUInt16LittleEndian(_bytes[TypeOffset..], (ushort)value);
    }

    internal static int I32(Span<byte> b, int offset) => BinaryPrimitives.ReadInt32LittleEndian(b[offset..]);
    internal static void I32(Span<byte> b, int offset, int value) => BinaryPrimitives.WriteInt32LittleEndian(b[offset..], value);
    internal static long I64(Span<byte> b, int offset) => BinaryPrimitives.ReadInt64LittleEndian(b[offset..]);
    internal static void I64(Span<byte> b, int offset, long value) => BinaryPrimitives.WriteInt64LittleEndian(b[offset..], value);
}

/// <summary>DATA, PAD and heartbeat frames: the 32-byte data header, then the payload.</summary>
public readonly ref struct DataFrame(Span<byte> bytes)
{
    private readonly Span<byte> _bytes = bytes;

    public FrameHeader Header => new(_bytes);
    public int FrameLength { get => FrameHeader.I32(_bytes, FrameLengthOffset); set => FrameHeader.I32(_bytes, FrameLengthOffset, value); }
    public byte Flags { get => _bytes[FlagsOffset]; set => _bytes[FlagsOffset] = value; }
    public FrameType Type { get => Header.Type; set => new FrameHeader(_bytes).Type = value; }
    public int TermOffset { get => FrameHeader.I32(_bytes, TermOffsetOffset); set => FrameHeader.I32(_bytes, TermOffsetOffset, value); }
    public int SessionId { get => FrameHeader.I32(_bytes, SessionIdOffset); set => FrameHeader.I32(_bytes, SessionIdOffset, value); }
    public int StreamId { get => FrameHeader.I32(_bytes, StreamIdOffset); set => FrameHeader.I32(_bytes, StreamIdOffset, value); }
    public int TermId { get => FrameHeader.I32(_bytes, TermIdOffset); set => FrameHeader.I32(_bytes, TermIdOffset, value); }
    public long ReservedValue { get => FrameHeader.I64(_bytes, ReservedValueOffset); set => FrameHeader.I64(_bytes, ReservedValueOffset, value); }

    /// <summary>A heartbeat is a lone 32-byte DATA header with frame length 0 (image.h).</summary>
    public static bool IsHeartbeat(ReadOnlySpan<byte> datagram) =>
        datagram.Length == DataHeaderLength && BinaryPrimitives.ReadInt32LittleEndian(datagram) == 0;
}

/// <summary>SETUP (0x05), 40 bytes: announces a stream and the position a new receiver joins at.</summary>
public readonly ref struct SetupFrame(Span<byte> bytes)
{
    private readonly Span<byte> _bytes = bytes;

    public FrameHeader Header => new(_bytes);
    public int TermOffset { get => FrameHeader.I32(_bytes, 8); set => FrameHeader.I32(_bytes, 8, value); }
    public int SessionId { get => FrameHeader.I32(_bytes, 12); set => FrameHeader.I32(_bytes, 12, value); }
    public int StreamId { get => FrameHeader.I32(_bytes, 16); set => FrameHeader.I32(_bytes, 16, value); }
    public int InitialTermId { get => FrameHeader.I32(_bytes, 20); set => FrameHeader.I32(_bytes, 20, value); }
    public int ActiveTermId { get => FrameHeader.I32(_bytes, 24); set => FrameHeader.I32(_bytes, 24, value); }
    public int TermLength { get => FrameHeader.I32(_bytes, 28); set => FrameHeader.I32(_bytes, 28, value); }
    public int Mtu { get => FrameHeader.I32(_bytes, 32); set => FrameHeader.I32(_bytes, 32, value); }
    public int Ttl { get => FrameHeader.I32(_bytes, 36); set => FrameHeader.I32(_bytes, 36, value); }
}

/// <summary>SM (0x03), 36 bytes, or 44 with the optional group tag.</summary>
public readonly ref struct StatusMessageFrame(Span<byte> bytes)
{
    private readonly Span<byte> _bytes = bytes;

    public FrameHeader Header => new(_bytes);
    public int SessionId { get => FrameHeader.I32(_bytes, 8); set => FrameHeader.I32(_bytes, 8, value); }
    public int StreamId { get => FrameHeader.I32(_bytes, 12); set => FrameHeader.I32(_bytes, 12, value); }
    public int ConsumptionTermId { get => FrameHeader.I32(_bytes, 16); set => FrameHeader.I32(_bytes, 16, value); }
    public int ConsumptionTermOffset { get => FrameHeader.I32(_bytes, 20); set => FrameHeader.I32(_bytes, 20, value); }
    public int ReceiverWindow { get => FrameHeader.I32(_bytes, 24); set => FrameHeader.I32(_bytes, 24, value); }
    /// <summary>At offset 28: 64-bit fields sit at 4-byte offsets (pack(4)).</summary>
    public long ReceiverId { get => FrameHeader.I64(_bytes, 28); set => FrameHeader.I64(_bytes, 28, value); }
    /// <summary>Present exactly when the frame length is 44.</summary>
    public bool HasGroupTag => Header.FrameLength == StatusMessageWithGroupTagLength;
    public long GroupTag { get => FrameHeader.I64(_bytes, 36); set => FrameHeader.I64(_bytes, 36, value); }
}

/// <summary>NAK (0x02), 28 bytes: a gap the receiver wants resent.</summary>
public readonly ref struct NakFrame(Span<byte> bytes)
{
    private readonly Span<byte> _bytes = bytes;

    public FrameHeader Header => new(_bytes);
    public int SessionId { get => FrameHeader.I32(_bytes, 8); set => FrameHeader.I32(_bytes, 8, value); }
    public int StreamId { get => FrameHeader.I32(_bytes, 12); set => FrameHeader.I32(_bytes, 12, value); }
    public int TermId { get => FrameHeader.I32(_bytes, 16); set => FrameHeader.I32(_bytes, 16, value); }
    public int TermOffset { get => FrameHeader.I32(_bytes, 20); set => FrameHeader.I32(_bytes, 20, value); }
    public int Length { get => FrameHeader.I32(_bytes, 24); set => FrameHeader.I32(_bytes, 24, value); }
}

/// <summary>RTTM (0x06), 40 bytes: round-trip measurement request or reply.</summary>
public readonly ref struct RttmFrame(Span<byte> bytes)
{
    private readonly Span<byte> _bytes = bytes;

    public FrameHeader Header => new(_bytes);
    public int SessionId { get => FrameHeader.I32(_bytes, 8); set => FrameHeader.I32(_bytes, 8, value); }
    public int StreamId { get => FrameHeader.I32(_bytes, 12); set => FrameHeader.I32(_bytes, 12, value); }
    public long EchoTimestamp { get => FrameHeader.I64(_bytes, 16); set => FrameHeader.I64(_bytes, 16, value); }
    public long ReceptionDelta { get => FrameHeader.I64(_bytes, 24); set => FrameHeader.I64(_bytes, 24, value); }
    public long ReceiverId { get => FrameHeader.I64(_bytes, 32); set => FrameHeader.I64(_bytes, 32, value); }
}

/// <summary>ERR (0x04): 40-byte header plus up to 1023 bytes of text.</summary>
public readonly ref struct ErrorFrame(Span<byte> bytes)
{
    private readonly Span<byte> _bytes = bytes;

    public FrameHeader Header => new(_bytes);
    public int SessionId { get => FrameHeader.I32(_bytes, 8); set => FrameHeader.I32(_bytes, 8, value); }
    public int StreamId { get => FrameHeader.I32(_bytes, 12); set => FrameHeader.I32(_bytes, 12, value); }
    public long ReceiverId { get => FrameHeader.I64(_bytes, 16); set => FrameHeader.I64(_bytes, 16, value); }
    public long GroupTag { get => FrameHeader.I64(_bytes, 24); set => FrameHeader.I64(_bytes, 24, value); }
    public int ErrorCode { get => FrameHeader.I32(_bytes, 32); set => FrameHeader.I32(_bytes, 32, value); }
    public int ErrorLength { get => FrameHeader.I32(_bytes, 36); set => FrameHeader.I32(_bytes, 36, value); }

    /// <summary>The error text, clamped to what the frame actually holds (never an out-of-range read).</summary>
    public ReadOnlySpan<byte> Text
    {
        get
        {
            int available = Math.Max(0, Math.Min(_bytes.Length, Header.FrameLength) - ErrorHeaderLength);
            int length = Math.Clamp(ErrorLength, 0, Math.Min(available, ErrorMaxTextLength));
            return _bytes.Slice(ErrorHeaderLength, length);
        }
    }
}
