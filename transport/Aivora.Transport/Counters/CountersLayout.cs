namespace Aivora.Transport.Counters;

/// <summary>What a counters record describes.</summary>
public enum CounterKind
{
    Free = 0,
    Publication = 1,
    Subscription = 2,
    Image = 3,
    Driver = 4,
}

/// <summary>
/// The counters file: a 64-byte header, then fixed 256-byte records, all little-endian, so another
/// process can map it and read while the driver writes.
/// Header: 0 magic "AIVC", 4 version, 8 record length, 12 max records, 16 pid, 24 start (Unix ms),
/// 32 heartbeat (Unix ms of the last publish), 40 records in use.
/// Record: 0 kind, 4 session id, 8 stream id, 12 value count, 16 label (48 bytes UTF-8, zero padded),
/// 64 values (int64 each, named per kind by <see cref="FieldNames"/>).
/// </summary>
public static class CountersLayout
{
    public const int Magic = 0x43564941; // "AIVC"
    public const int FileVersion = 1;
    public const int HeaderLength = 64;
    public const int RecordLength = 256;
    public const int LabelOffset = 16, LabelLength = 48, ValuesOffset = 64;
    public const int MaxValues = (RecordLength - ValuesOffset) / sizeof(long);
    public const int PidOffset = 16, StartOffset = 24, HeartbeatOffset = 32, RecordCountOffset = 40;

    private static readonly string[] PublicationFields =
    [
        "position", "receiver_position", "connected", "data_datagrams_sent", "bytes_sent", "setups_sent", "heartbeats_sent",
        "status_messages_received", "status_messages_rejected", "naks_received", "retransmits", "retransmitted_bytes",
        "rttm_replies", "errors_received", "back_pressure_events", "send_failures",
    ];

    private static readonly string[] SubscriptionFields =
    [
        "images", "datagrams_received", "malformed", "setups_received", "setups_rejected", "status_messages_sent", "naks_sent",
        "setups_elicited", "images_available", "images_unavailable", "other_streams", "receive_calls", "send_failures",
    ];

    private static readonly string[] DriverFields = ["publications", "subscriptions", "images", "agent_failures"];

    private static readonly string[] ImageFields =
    [
        "subscriber_position", "rebuild_position", "high_water_mark", "packets_inserted", "frames_delivered", "bytes_delivered",
        "heartbeats", "duplicates", "malformed", "under_runs", "over_runs", "corrupt_frames",
    ];

    /// <summary>The names of a record's values, in order.</summary>
    public static IReadOnlyList<string> FieldNames(CounterKind kind) => kind switch
    {
        CounterKind.Publication => PublicationFields,
        CounterKind.Subscription => SubscriptionFields,
        CounterKind.Image => ImageFields,
        CounterKind.Driver => DriverFields,
        _ => [],
    };
}
