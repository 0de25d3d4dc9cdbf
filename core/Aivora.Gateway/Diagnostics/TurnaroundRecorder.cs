using Aivora.Core.Diagnostics;

namespace Aivora.Gateway.Diagnostics;

/// <summary>
/// The node's own share of a client's round trip, in two figures for each order-entry message of a logged-on session
/// (anything but a heartbeat or a logout), both from its decode, when the gateway stamps it: <see cref="Processing"/> to
/// the end of the gateway's pass that ran it (decoded, checked, matched, its reports and market data written into the
/// publications), and <see cref="InNode"/> to when its reply left: with an invoker-mode driver, the engine thread's next pass
/// of the driver, when its sender has been through the send-first publications (the sessions' execution reports, each
/// with data a <c>sendmmsg</c>), before the market data's turn. With a driver of its own the two figures are one (the
/// gateway's pass ends with the reports in the publications; the driver thread's send is not seen here).
/// <para>
/// A client's round trip less <see cref="InNode"/> is the client's side and the kernel's: its send, both loopback
/// crossings, and the time the order waited in the socket for the engine's next receive. Not in either figure: the time a
/// message received by the driver waits in its image for the gateway's poll. That is the rest of the same duty cycle's
/// driver pass, unless a poll's limit (64 fragments) left it for a later pass: a smaller limit (8, tried on 2026-12-02)
/// made both figures' tails shorter and the clients' round trips' longer. One writer (the engine thread);
/// nothing allocated after construction. Records nothing until <see cref="StartRecording"/> (a run's warm-up stays out) and nothing after <see cref="StopRecording"/>;
/// read it once the engine thread has stopped.
/// </para>
/// </summary>
public sealed class TurnaroundRecorder
{
    /// <summary>Stamps held between a gateway pass and the driver pass that sends its output (a pass polls at most 64 fragments).</summary>
    public const int PendingCapacity = 256;

    private readonly long[] _pending = new long[PendingCapacity];
    private int _pendingCount, _processedCount;
    private long _recordFromNs = long.MaxValue, _recordUntilNs = long.MaxValue;

    /// <summary>Decode to the end of the gateway's pass, nanoseconds, one value per message decoded at or after the start of recording.</summary>
    public LatencyHistogram Processing { get; } = new();

    /// <summary>
    /// Decode to its reply sent, nanoseconds, one value per message recorded in <see cref="Processing"/>. A message with no
    /// reply of its own (a price feed) ends with the other messages of its pass, or with the driver's pass when none had one.
    /// </summary>
    public LatencyHistogram InNode { get; } = new();

    /// <summary>Messages whose stamp found no room (more than <see cref="PendingCapacity"/> decoded between two sends): not recorded.</summary>
    public long Unrecorded { get; private set; }

    /// <summary>Messages decoded since the last send, waiting for it.</summary>
    public int Pending => _pendingCount;

    /// <summary>Records the messages decoded from <paramref name="fromNs"/> (engine time) on. Any thread: the engine thread reads it at each pass.</summary>
    public void StartRecording(long fromNs) => Volatile.Write(ref _recordFromNs, fromNs);

    /// <summary>Records none of the messages decoded from <paramref name="atNs"/> (engine time) on. Any thread, as <see cref="StartRecording"/>.</summary>
    public void StopRecording(long atNs) => Volatile.Write(ref _recordUntilNs, atNs);

    /// <summary>An order-entry message decoded at <paramref name="decodedNs"/> (engine thread).</summary>
    internal void Received(long decodedNs)
    {
        if (_pendingCount < _pending.Length)
        {
            _pending[_pendingCount++] = decodedNs;
        }
        else
        {
            Unrecorded++;
        }
    }

    /// <summary>The gateway's pass is over (engine thread): the messages it decoded are processed, their output written.</summary>
    public void Processed(EpochClock clock)
    {
        if (_processedCount < _pendingCount)
        {
            Record(Processing, _processedCount, clock.NowNs);   // a pass that decoded nothing reads no clock
            _processedCount = _pendingCount;
        }
    }

    /// <summary>
    /// What the messages decoded since the last call produced left the node at <paramref name="sentNs"/> (engine time; engine
    /// thread): with an invoker-mode driver, when its sender finished the send-first publications (the sessions' replies).
    /// </summary>
    public void Sent(long sentNs)
    {
        Record(InNode, 0, sentNs);
        _pendingCount = 0;
        _processedCount = 0;
    }

    private void Record(LatencyHistogram into, int from, long nowNs)
    {
        var fromNs = Volatile.Read(ref _recordFromNs);
        var untilNs = Volatile.Read(ref _recordUntilNs);
        for (var i = from; i < _pendingCount; i++)
        {
            if (_pending[i] >= fromNs && _pending[i] < untilNs)
            {
                into.Record(nowNs - _pending[i]);
            }
        }
    }
}
