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

    // Rate limit: a fixed one-second window (orders counted since WindowStartNs).
    public long WindowStartNs { get; set; }
    public int OrdersInWindow { get; set; }

    // AccountStatus requests: their own one-second window (GatewayOptions.StatusRequestsPerSecond).
    public long StatusWindowStartNs { get; set; }
    public int StatusRequestsInWindow { get; set; }

    /// <summary>Messages that did not decode (counted per session, answered with a reject when logged on).</summary>
    public long Malformed { get; set; }
}
