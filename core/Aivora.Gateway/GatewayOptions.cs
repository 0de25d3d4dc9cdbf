namespace Aivora.Gateway;

/// <summary>
/// Where the node listens and publishes, and the session rules. Defaults are the embedded default
/// configuration: order entry unicast on 127.0.0.1, market data on a multicast group on the loopback
/// interface (unicast by setting the channels), one stream per kind of market data.
/// </summary>
public sealed record GatewayOptions
{
    // Terms of 1 MiB (the transport's default is 16 MiB): three per publication and per image, written
    // through once when created, so a stream's memory is resident from the start and never faults later.

    /// <summary>Clients publish logons, orders, cancels, amends, heartbeats (and feeders their prices) here.</summary>
    public string OrderChannel { get; init; } = "aeron:udp?endpoint=127.0.0.1:40100";
    public int OrderStreamId { get; init; } = 10;

    /// <summary>L2 incrementals (BookLevelUpdates), one message per command that changed levels of an instrument.</summary>
    public string BookChannel { get; init; } = "aeron:udp?endpoint=239.255.20.1:40111|interface=127.0.0.1|ttl=0|term-length=1m";
    public int BookStreamId { get; init; } = 101;

    /// <summary>Public trades (Trades), one message per command that traded on an instrument.</summary>
    public string TradesChannel { get; init; } = "aeron:udp?endpoint=239.255.20.3:40113|interface=127.0.0.1|ttl=0|term-length=1m";
    public int TradesStreamId { get; init; } = 102;

    /// <summary>L3 order-by-order events (BookOrderEvents), no account ids.</summary>
    public string OrdersChannel { get; init; } = "aeron:udp?endpoint=239.255.20.5:40115|interface=127.0.0.1|ttl=0|term-length=1m";
    public int OrdersStreamId { get; init; } = 103;

    /// <summary>Instrument status, index / mark / funding prints and funding settlements.</summary>
    public string StatusChannel { get; init; } = "aeron:udp?endpoint=239.255.20.7:40117|interface=127.0.0.1|ttl=0|term-length=1m";
    public int StatusStreamId { get; init; } = 104;

    /// <summary>Full-depth BookSnapshot of every instrument, every <see cref="SnapshotIntervalMs"/>, each carrying the L2 sequence it reflects.</summary>
    public string SnapshotChannel { get; init; } = "aeron:udp?endpoint=239.255.20.9:40119|interface=127.0.0.1|ttl=0|term-length=4m";
    public int SnapshotStreamId { get; init; } = 105;

    public int SnapshotIntervalMs { get; init; } = 500;

    /// <summary>How far a logon's timestamp may be from the node's clock.</summary>
    public long MaxClockSkewNs { get; init; } = 5_000_000_000;

    /// <summary>Heartbeat interval bounds a client may ask for; silence for 3 intervals ends a session.</summary>
    public int MinHeartbeatIntervalMs { get; init; } = 100;
    public int MaxHeartbeatIntervalMs { get; init; } = 30_000;

    /// <summary>How long a session's responses may stay back-pressured before the node drops it (the engine never waits).</summary>
    public long MaxBackPressureNs { get; init; } = 1_000_000_000;

    /// <summary>How long the node waits for a client's response channel to connect before giving up on the logon.</summary>
    public long ResponseConnectTimeoutNs { get; init; } = 3_000_000_000;

    /// <summary>How long an image may stay without a logon before its session slot is freed (its later messages start a new one).</summary>
    public long LogonTimeoutNs { get; init; } = 5_000_000_000;

    /// <summary>Sessions at once (the order subscription holds at most 16 images).</summary>
    public int MaxSessions { get; init; } = 16;

    /// <summary>AccountStatus requests a session may send a second (a fixed one-second window, as the orders' limit): each one
    /// encodes every resting order of the account on the engine thread, so an unbounded stream of them would stall every
    /// other session's orders. Beyond it a request is answered RateLimited with the limit and the count admitting it would make.</summary>
    public int StatusRequestsPerSecond { get; init; } = 10;

    /// <summary>Term length of each session's response publication.</summary>
    public string ResponseTermLength { get; init; } = "1m";

    /// <summary>Hosts a client may name as its response endpoint (the node sends nowhere else). Default: loopback only.</summary>
    public IReadOnlyList<System.Net.IPAddress> ResponseHosts { get; init; } = [System.Net.IPAddress.Loopback];

    public bool AllowsResponseHost(System.Net.IPAddress address)
    {
        foreach (var host in ResponseHosts)
        {
            if (host.Equals(address)) return true;
        }

        return false;
    }

    /// <summary>Null when the options can run; otherwise what is wrong.</summary>
    public string? Validate()
    {
        if (SnapshotIntervalMs <= 0) return $"snapshot interval must be positive (got {SnapshotIntervalMs} ms)";
        if (MinHeartbeatIntervalMs <= 0 || MaxHeartbeatIntervalMs < MinHeartbeatIntervalMs) return "heartbeat interval bounds must be positive and ordered";
        if (MaxBackPressureNs <= 0 || ResponseConnectTimeoutNs <= 0 || MaxClockSkewNs <= 0 || LogonTimeoutNs <= 0) return "timeouts must be positive";
        if (StatusRequestsPerSecond <= 0) return $"status requests per second must be positive (got {StatusRequestsPerSecond})";
        return MaxSessions is <= 0 or > 16 ? $"sessions must be 1..16 (got {MaxSessions})" : null;
    }
}
