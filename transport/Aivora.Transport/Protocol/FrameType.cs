namespace Aivora.Transport.Protocol;

/// <summary>The <c>type</c> field of the common 8-byte header (aeron-wire.md §2).</summary>
public enum FrameType : ushort
{
    Pad = 0x00,
    Data = 0x01,
    Nak = 0x02,
    StatusMessage = 0x03,
    Error = 0x04,
    Setup = 0x05,
    Rttm = 0x06,
    Resolution = 0x07,
    ResponseSetup = 0x0B,
    Extension = 0xFFFF,
}

/// <summary>Flag bits, per frame type (aeron-wire.md §3).</summary>
public static class FrameFlags
{
    /// <summary>DATA: first fragment of a message.</summary>
    public const byte Begin = 0x80;
    /// <summary>DATA: last fragment of a message.</summary>
    public const byte End = 0x40;
    /// <summary>DATA (heartbeat only): end of stream.</summary>
    public const byte EndOfStream = 0x20;
    /// <summary>DATA (heartbeat, with EOS): the publication was revoked.</summary>
    public const byte Revoked = 0x10;
    /// <summary>DATA: an unfragmented message.</summary>
    public const byte Unfragmented = Begin | End;

    /// <summary>SM: "send me a SETUP" (elicit setup).</summary>
    public const byte StatusSetup = 0x80;
    /// <summary>SM: the receiver is going away.</summary>
    public const byte StatusEndOfStream = 0x40;

    /// <summary>SETUP: response-channel setup requested.</summary>
    public const byte SetupSendResponse = 0x80;
    /// <summary>SETUP: the channel has group semantics (multicast, MDC).</summary>
    public const byte SetupGroup = 0x40;

    /// <summary>RTTM: please reply.</summary>
    public const byte RttmReply = 0x80;

    /// <summary>ERR: the group tag field is present.</summary>
    public const byte ErrorGroupTag = 0x08;
}
