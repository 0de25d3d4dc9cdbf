using Aivora.Client.Session;
using Aivora.Exchange;
using Aivora.Gateway;
using Aivora.Gateway.Diagnostics;

namespace Aivora.SystemTests;

/// <summary>
/// Each order-entry message's time in the node, from its decode to its reply sent, and to its reports written: what an
/// operator and a latency engineer read beside a client's round trip to tell the node's share from the client's and the
/// kernel's. The recorder on its own, then through a real node's duty cycle and a real client over loopback.
/// </summary>
[Collection("node")]
public sealed class TurnaroundTests
{
    [Fact]
    public void ShouldRecordEachMessageFromItsDecodeToItsReportsWrittenAndToItsReplySent()
    {
        var clock = new EpochClock();
        var recorder = new TurnaroundRecorder();
        recorder.StartRecording(0);
        var decodedNs = clock.NowNs;
        recorder.Received(decodedNs - 5_000);
        recorder.Received(decodedNs);

        recorder.Processed(clock);
        recorder.Sent(decodedNs + 20_000);

        Assert.Equal(2, recorder.Processing.Count);
        Assert.True(recorder.Processing.MaxNs >= 5_000, $"processing max {recorder.Processing.MaxNs} ns: the earlier message's 5 us before its pass ended");
        Assert.Equal(2, recorder.InNode.Count);
        Assert.Equal(25_000, recorder.InNode.MaxNs);    // decoded 5 us before the stamp, sent 20 us after it
        Assert.Equal(0, recorder.Pending);
    }

    [Fact]
    public void ShouldRecordOnlyTheMessagesDecodedWhileRecording()
    {
        var clock = new EpochClock();
        var recorder = new TurnaroundRecorder();
        var t = clock.NowNs;
        recorder.Received(t - 1);   // before any start: not recorded
        recorder.Processed(clock);
        recorder.Sent(t + 10);

        recorder.StartRecording(t);
        recorder.StopRecording(t + 100);
        recorder.Received(t - 1);     // before the start
        recorder.Received(t);         // recorded
        recorder.Received(t + 50);    // recorded
        recorder.Received(t + 100);   // at the stop: not recorded
        recorder.Processed(clock);
        recorder.Sent(t + 1_000);

        Assert.Equal(2, recorder.InNode.Count);
        Assert.Equal(2, recorder.Processing.Count);
    }

    [Fact]
    public void ShouldCountTheStampsItHasNoRoomForAsUnrecorded()
    {
        var clock = new EpochClock();
        var recorder = new TurnaroundRecorder();
        recorder.StartRecording(0);
        for (var i = 0; i <= TurnaroundRecorder.PendingCapacity; i++)
        {
            recorder.Received(clock.NowNs);
        }

        recorder.Processed(clock);
        recorder.Sent(clock.NowNs);

        Assert.Equal(1, recorder.Unrecorded);
        Assert.Equal(TurnaroundRecorder.PendingCapacity, recorder.InNode.Count);
    }

    [Fact]
    public void ShouldTimeAnOrderThroughTheNodesDutyCycleFromDecodeToItsAcknowledgementSent()
    {
        using var node = new NodeUnderTest();
        node.StartPriceFeeder();
        node.Deposit(1001, 100_000);
        var log = new ReportLog();
        var taker = node.Client(1001);
        node.LogOn(taker, log);
        Assert.True(node.PumpUntil(() => node.Host.StateMachine.Pricing(1)!.LastIndex.State == Core.Pricing.IndexState.Healthy));
        var turnaround = node.Host.Gateway.Turnaround;
        Assert.Equal(0, turnaround.InNode.Count);   // not recording yet
        var sentNs = node.NowNs;
        turnaround.StartRecording(sentNs);

        Assert.True(taker.SendNewOrder(node.NowNs, 42, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 649_000, 10));
        Assert.True(log.Await(node, taker, r => r.Kind == ReportKind.Accepted));
        var ackedNs = node.NowNs;
        node.PumpFor(20);   // passes after the acknowledgement: nothing more to record

        Assert.Equal(1, turnaround.InNode.Count);
        Assert.Equal(1, turnaround.Processing.Count);
        Assert.True(turnaround.Processing.MaxNs <= turnaround.InNode.MaxNs, $"reports written after {turnaround.Processing.MaxNs} ns, reply sent after {turnaround.InNode.MaxNs} ns");
        Assert.True(turnaround.InNode.MaxNs > 0 && turnaround.InNode.MaxNs <= ackedNs - sentNs, $"{turnaround.InNode.MaxNs} ns in the node, {ackedNs - sentNs} ns from send to acknowledgement at the client");
    }
}
