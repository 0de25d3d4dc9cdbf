using Aivora.Exchange;
using Aivora.Transport.Driver;

namespace Aivora.Gateway.Sessions;

/// <summary>Where a session is in its life.</summary>
public enum SessionState : byte
{
    /// <summary>An image is there; no valid logon yet. Nothing it sends reaches the state machine.</summary>
    AwaitingLogon = 0,

    /// <summary>The logon checked out; the node waits for the client's response channel to connect to send LogonAck.</summary>
    Connecting = 1,

    /// <summary>Logged on: orders flow.</summary>
    Active = 2,

    /// <summary>The logon failed; the reject waits for the response channel, then the session ends.</summary>
    Rejecting = 3,

    Closed = 4,
}

/// <summary>
/// One client connection: the image it publishes on (its Aeron session id), and once logged on the
/// key, account and response publication it is bound to. Written by the engine thread only.
/// </summary>
public sealed class Session(int imageSessionId, long createdNs)
{
    public int ImageSessionId { get; } = imageSessionId;
    public SessionState State { get; set; }
    public long CreatedNs { get; } = createdNs;
    public ulong SessionId { get; set; }
    public ApiKey? Key { get; set; }
    public int AccountId { get; set; }
    public NetworkPublication? Responses { get; set; }
    public long ResponseSequence { get; set; }
    public long LastHeardNs { get; set; } = createdNs;
    public long LastSentNs { get; set; }
    public long HeartbeatIntervalNs { get; set; }
    public bool CancelOnDisconnect { get; set; }
    public long StateSinceNs { get; set; } = createdNs;
    public LogonRejectReason PendingReject { get; set; }
    public string? PendingRejectText { get; set; }

    /// <summary>When responses started failing to go out (0 while they go out).</summary>
    public long BackPressuredSinceNs { get; set; }
    public long ResponsesDropped { get; set; }

    /// <summary>New orders and amends in the current second (the key's OrdersPerSecond).</summary>
    public RateWindow Orders;

    /// <summary>AccountStatus requests in the current second, a window of their own (GatewayOptions.StatusRequestsPerSecond).</summary>
    public RateWindow StatusRequests;

    /// <summary>Messages that did not decode (counted per session, answered with a reject when logged on).</summary>
    public long Malformed { get; set; }
}

/// <summary>A rate limit's fixed one-second window: what was taken since it started.</summary>
public struct RateWindow
{
    private long _startNs;
    private int _taken;

    /// <summary>Takes one more within <paramref name="perSecond"/> (a new window once a second has passed since this one
    /// began); false when the window is full. <paramref name="count"/>: the window's count with this one (the figure a
    /// RateLimited reject carries beside the limit).</summary>
    public bool TryTake(int perSecond, long nowNs, out int count)
    {
        if (nowNs - _startNs >= 1_000_000_000)
        {
            _startNs = nowNs;
            _taken = 0;
        }

        count = _taken + 1;
        if (_taken >= perSecond)
        {
            return false;
        }

        _taken++;
        return true;
    }
}
