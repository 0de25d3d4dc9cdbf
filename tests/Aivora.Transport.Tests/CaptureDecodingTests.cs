using Aivora.Transport.Protocol;

namespace Aivora.Transport.Tests;

/// <summary>Every datagram two real Aeron C drivers exchanged passes our validation and decodes to the reference decoder's fields.</summary>
public sealed class CaptureDecodingTests
{
    [Theory]
    [InlineData(1, 131)]
    [InlineData(2, 548)]
    public void Every_captured_datagram_is_valid_and_decodes_to_the_reference_fields(int capture, int expectedDatagrams)
    {
        var datagrams = Captures.Load(capture);
        Assert.Equal(expectedDatagrams, datagrams.Count);
        foreach (var d in datagrams)
        {
            Assert.Equal(DatagramVerdict.Valid, DatagramValidator.Validate(d.Payload));
            // "   0.0013s 40301->53584 len=  36 | SM fl=36 ..."
            string[] parts = d.Decoded.Split(" | ", 2);
            Assert.Contains($"{d.SourcePort}->{d.DestinationPort} len={d.Payload.Length,4}", parts[0], StringComparison.Ordinal);
            Assert.Equal(parts[1], Captures.Describe(d.Payload));
        }
    }

    [Theory]
    [InlineData(1, 65536)]
    [InlineData(2, 16 * 1024 * 1024)]
    public void Every_captured_data_packet_passes_the_per_frame_walk(int capture, int termLength)
    {
        foreach (var d in Captures.Load(capture))
        {
            var type = new FrameHeader(d.Payload).Type;
            if (type is FrameType.Data or FrameType.Pad && !DataFrame.IsHeartbeat(d.Payload))
                Assert.Equal(DatagramVerdict.Valid, DatagramValidator.ValidateDataPacket(d.Payload, termLength));
        }
    }

    [Fact]
    public void Capture_one_shows_the_handshake_batching_pad_nak_and_both_end_of_stream_signals()
    {
        var datagrams = Captures.Load(1);
        var setup = new SetupFrame(datagrams[0].Payload);
        Assert.Equal((1891022533, 9, 264401094, 65536, 1408), (setup.SessionId, setup.StreamId, setup.InitialTermId, setup.TermLength, setup.Mtu));

        var sm = new StatusMessageFrame(datagrams[1].Payload);
        Assert.Equal(3794222359488501939L, sm.ReceiverId);
        Assert.False(sm.HasGroupTag);

        var nak = datagrams.Single(d => new FrameHeader(d.Payload).Type == FrameType.Nak);
        var n = new NakFrame(nak.Payload);
        Assert.Equal((264401094, 63552, 1984), (n.TermId, n.TermOffset, n.Length));

        Assert.Contains(datagrams, d => new FrameHeader(d.Payload).Type == FrameType.StatusMessage
            && (new FrameHeader(d.Payload).Flags & FrameFlags.StatusEndOfStream) != 0);
        var last = datagrams[^1].Payload;
        Assert.True(DataFrame.IsHeartbeat(last));
        Assert.Equal(0xE0, new DataFrame(last).Flags);
    }
}
