using Aivora.Client.Session;
using Aivora.Exchange;

namespace Aivora.SystemTests;

/// <summary>Malformed frames never crash or stall the node and never reach the book; a logged-on session hears why.</summary>
[Collection("node")]
public sealed class BadInputTests : IDisposable
{
    private readonly NodeUnderTest _node = new();
    private readonly ExchangeClient _client;
    private readonly ReportLog _log = new();

    public BadInputTests()
    {
        _node.StartPriceFeeder();
        _node.Deposit(1, 1_000_000);
        _client = _node.Client(1);
        _node.LogOn(_client, _log);
    }

    public void Dispose() => _node.Dispose();

    public static TheoryData<string, byte[]> Frames()
    {
        var order = new byte[SbeSchema.HeaderSize + NewOrderEncoder.BlockLength];
        var m = NewOrderEncoder.Wrap(order);
        m.AccountId(1);
        m.InstrumentId(1);
        m.Price(649_000);
        m.Quantity(1);
        var wrongSchema = (byte[])order.Clone();
        wrongSchema[4] = 99;
        var unknownTemplate = (byte[])order.Clone();
        unknownTemplate[2] = 250;
        var shortBlock = (byte[])order.Clone();
        shortBlock[0] = 10;
        var snapshot = new byte[SbeSchema.HeaderSize + BookSnapshotEncoder.BlockLength + 8];
        var s = BookSnapshotEncoder.Wrap(snapshot);
        s.Bids(0);
        s.Asks(0);
        var absurdGroup = (byte[])snapshot.Clone();
        absurdGroup[SbeSchema.HeaderSize + BookSnapshotEncoder.BlockLength + 2] = 0xFF;   // numInGroup 65535+ with no bytes behind it
        absurdGroup[SbeSchema.HeaderSize + BookSnapshotEncoder.BlockLength + 3] = 0xFF;
        var setup = new byte[SbeSchema.HeaderSize + SetParameterEncoder.BlockLength + 6];
        return new TheoryData<string, byte[]>
        {
            { "truncated header", order[..5] },
            { "truncated block", order[..30] },
            { "wrong schema id", wrongSchema },
            { "unknown template", unknownTemplate },
            { "block shorter than the version's fields", shortBlock },
            { "absurd group count", absurdGroup },
            { "a message the node sends, not takes", snapshot },
            { "empty", [] },
        };
    }

    [Theory]
    [MemberData(nameof(Frames))]
    public void ShouldRejectMalformedFramesFromALoggedOnSessionAndChangeNothing(string what, byte[] frame)
    {
        var recorded = _node.Recorder.Count;
        var resting = _node.Engine.RestingOrderCount;
        Assert.True(_client.SendRaw(frame) > 0, what);
        Assert.True(_log.Await(_node, _client, r => r.Kind == ReportKind.Rejected), $"{what}: no reject");
        var reject = _log.Of(ReportKind.Rejected).Single();
        Assert.True(reject.RejectReason is RejectReason.MalformedMessage or RejectReason.UnsupportedMessage, $"{what}: {reject.RejectReason}");
        Assert.True(_node.OnlyClockTicksSince(recorded), $"{what}: a command reached the state machine");
        Assert.Equal(resting, _node.Engine.RestingOrderCount);

        // The node is still serving: a good order right after is acknowledged.
        Assert.True(_client.SendNewOrder(_node.NowNs, 9, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 649_000, 1));
        Assert.True(_log.Await(_node, _client, r => r.Kind == ReportKind.Accepted), $"{what}: the node stopped serving");
    }

    [Theory]
    [MemberData(nameof(Frames))]
    public void ShouldCountMalformedFramesFromAnUnknownImageAndChangeNothing(string what, byte[] frame)
    {
        var stranger = _node.Client(2);
        Assert.True(_node.PumpUntil(() => stranger.IsConnected));
        var recorded = _node.Recorder.Count;
        var before = _node.Host.Gateway.Counters.Malformed + _node.Host.Gateway.Counters.NotLoggedOn;
        Assert.True(stranger.SendRaw(frame) > 0, what);
        Assert.True(_node.PumpUntil(() => _node.Host.Gateway.Counters.Malformed + _node.Host.Gateway.Counters.NotLoggedOn > before), $"{what}: not counted");
        Assert.True(_node.OnlyClockTicksSince(recorded), $"{what}: a command reached the state machine");
    }

    [Fact]
    public void ShouldRejectAnOrderWithAFlagTheSchemaDoesNotDefineWithTheBoundAndTheValue()
    {
        var recorded = _node.Recorder.Count;
        Assert.True(_client.SendNewOrder(_node.NowNs, 5, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 649_000, 1, OrderFlags.NoWhatIfs | (OrderFlags)0x10));
        Assert.True(_log.Await(_node, _client, r => r.Kind == ReportKind.Rejected && r.ClientOrderId == 5));
        var reject = _log.Of(ReportKind.Rejected).Single();
        Assert.Equal((RejectReason.FieldOutOfRange, 0b1111L, 0x18L), (reject.RejectReason, reject.LimitValue, reject.ActualValue));
        Assert.True(_node.OnlyClockTicksSince(recorded), "a command reached the state machine");
        Assert.Equal(0, _node.Engine.RestingOrderCount);
    }

    [Fact]
    public void ShouldSurviveThousandsOfRandomFramesFromALoggedOnSession()
    {
        var random = new Random(3);
        var buffer = new byte[200];
        for (var i = 0; i < 5_000; i++)
        {
            var length = random.Next(buffer.Length);
            random.NextBytes(buffer.AsSpan(0, length));
            if (length >= 8)
            {
                buffer[4] = 100;   // the schema id, so frames get past the header often
                buffer[5] = 0;
                var template = random.Next(1, 70);
                buffer[2] = (byte)(template == LogoutEncoder.TemplateId ? HeartbeatEncoder.TemplateId : template);   // not a logout: the session must live
                buffer[3] = 0;
            }

            while (_client.SendRaw(buffer.AsSpan(0, length)) < 0) _node.Pump();
            if (i % 16 == 0) _node.PumpUntil(() => { _client.Poll(_node.NowNs, ref _log.Handler); return false; }, 1);
        }

        _node.PumpFor(200);
        Assert.True(_client.SendNewOrder(_node.NowNs, 1, 1, Side.Buy, OrdType.Limit, TimeInForce.GTC, 649_000, 1));
        Assert.True(_log.Await(_node, _client, r => r.Kind == ReportKind.Accepted && r.ClientOrderId == 1 && r.AccountId == 1));
        Assert.True(_node.Host.Gateway.Counters.Malformed > 0);
        Assert.Null(_node.Engine.ValidateInvariants());
    }
}
