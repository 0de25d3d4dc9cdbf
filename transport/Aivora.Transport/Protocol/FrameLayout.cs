namespace Aivora.Transport.Protocol;

/// <summary>Sizes and offsets of the Aeron UDP frames (aeron-wire.md §2–§3). All fields are little-endian.</summary>
public static class FrameLayout
{
    public const byte CurrentVersion = 0;
    public const int Alignment = 32;

    // Common header.
    public const int FrameLengthOffset = 0;
    public const int VersionOffset = 4;
    public const int FlagsOffset = 5;
    public const int TypeOffset = 6;
    public const int CommonHeaderLength = 8;

    // DATA / PAD / heartbeat.
    public const int DataHeaderLength = 32;
    public const int TermOffsetOffset = 8;
    public const int SessionIdOffset = 12;
    public const int StreamIdOffset = 16;
    public const int TermIdOffset = 20;
    public const int ReservedValueOffset = 24;

    public const int SetupLength = 40;
    public const int StatusMessageLength = 36;
    public const int StatusMessageWithGroupTagLength = 44;
    public const int NakLength = 28;
    public const int RttmLength = 40;
    public const int ErrorHeaderLength = 40;
    public const int ErrorMaxTextLength = 1023;
    public const int ResponseSetupLength = 20;

    /// <summary>Largest UDP payload Aeron produces (and the largest MTU).</summary>
    public const int MaxUdpPayloadLength = 65504;
    public const int DefaultMtu = 1408;

    /// <summary>Rounds up to the 32-byte frame alignment.</summary>
    public static int Align(int length) => (length + (Alignment - 1)) & ~(Alignment - 1);
}
