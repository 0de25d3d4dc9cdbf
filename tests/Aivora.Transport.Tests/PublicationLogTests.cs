using Aivora.Transport.LogBuffer;
using Aivora.Transport.Protocol;
using Aivora.Transport.Subscription;

namespace Aivora.Transport.Tests;

/// <summary>Our publication log, given capture 1's stream identity and messages, writes the frames the Aeron C driver sent.</summary>
public sealed class PublicationLogTests
{
    [Fact]
    public void Capture_one_messages_produce_byte_identical_frames_and_the_same_pad_datagram()
    {
        var datagrams = Captures.Load(1);
        var setup = new SetupFrame(datagrams[0].Payload);
        var log = new PublicationLog(setup.SessionId, setup.StreamId, setup.InitialTermId, setup.TermLength, setup.Mtu);

        // Captured frames by (term id, term offset); retransmits repeat them byte for byte.
        var captured = new Dictionary<(int TermId, int TermOffset), byte[]>();
        foreach (var d in datagrams.Where(d => d.SourcePort == 53584 && !DataFrame.IsHeartbeat(d.Payload)))
        {
            if (new FrameHeader(d.Payload).Type is not (FrameType.Data or FrameType.Pad)) continue;
            for (int offset = 0; offset < d.Payload.Length;)
            {
                var frame = new DataFrame(d.Payload.AsSpan(offset));
                int onWire = frame.Type == FrameType.Pad ? FrameLayout.DataHeaderLength : FrameLayout.Align(frame.FrameLength);
                captured[(frame.TermId, frame.TermOffset)] = d.Payload.AsSpan(offset, onWire).ToArray();
                offset += onWire;
            }
        }

        foreach (var message in CaptureOneMessages(datagrams)) Assert.True(log.Append(message) > 0);

        // Walk our log as the sender would, with the MTU as the only limit.
        var ours = new Dictionary<(int, int), byte[]>();
        byte[]? padDatagram = null;
        for (long position = 0; position < log.TailPosition;)
        {
            var datagram = log.NextDatagram(position, int.MaxValue, out int advance);
            Assert.True(advance > 0);
            Assert.Equal(DatagramVerdict.Valid, DatagramValidator.Validate(datagram));
            Assert.Equal(DatagramVerdict.Valid, DatagramValidator.ValidateDataPacket(datagram, log.TermLength));
            Assert.True(datagram.Length <= log.Mtu);
            for (int offset = 0; offset < datagram.Length;)
            {
                var frame = new DataFrame(datagram[offset..].ToArray());
                int onWire = frame.Type == FrameType.Pad ? FrameLayout.DataHeaderLength : FrameLayout.Align(frame.FrameLength);
                ours[(frame.TermId, frame.TermOffset)] = datagram.Slice(offset, onWire).ToArray();
                if (frame.Type == FrameType.Pad) padDatagram = datagram.ToArray();
                offset += onWire;
            }
            position += advance;
        }

        Assert.Equal(captured.Count, ours.Count);
        foreach (var (key, bytes) in captured) Assert.Equal(bytes, ours[key]);
        // The captured DATA+PAD datagram (1056 + 32 bytes) is exactly what our scanner batches at the term's end.
        var capturedPad = datagrams.First(d => d.Payload.Length == 1088).Payload;
        Assert.Equal(capturedPad, padDatagram);
    }

    [Fact]
    public void A_message_never_spans_terms_and_the_tail_is_padded()
    {
        var log = new PublicationLog(7, 1, -5, 64 * 1024, 1408);
        var message = new byte[5000];
        long position = 0;
        for (int i = 0; i < 14; i++) position = log.Append(message);
        // 5000 bytes = 3 full 1376-byte fragments + 872: 3 × 1408 + align32(872 + 32) = 5152 framed.
        int framed = LogBufferDescriptor.FramedLength(5000, 1376);
        Assert.Equal(5152, framed);
        int perTerm = 65536 / framed; // 12 fit; the 13th goes to the next term behind a PAD
        Assert.Equal(65536 + (14 - perTerm) * framed, position);
        var pad = new DataFrame(log.TermFor(-5)[(perTerm * framed)..].ToArray());
        Assert.Equal(FrameType.Pad, pad.Type);
        Assert.Equal(65536 - perTerm * framed, pad.FrameLength);
    }

    [Fact]
    public void Oversized_messages_are_refused_with_a_code_not_an_exception()
    {
        var log = new PublicationLog(7, 1, 0, 64 * 1024, 1408);
        Assert.Equal(8192, log.MaxMessageLength);
        Assert.True(log.Append(new byte[8192]) > 0);
        Assert.Equal(AppendResult.MessageTooLong, log.Append(new byte[8193]));
    }

    internal static List<byte[]> CaptureOneMessages(IReadOnlyList<CapturedDatagram> datagrams)
    {
        var image = ImageReassemblyTests.ImageFromSetup(datagrams[0].Payload);
        var assembler = new FragmentAssembler<ImageReassemblyTests.CollectingHandler>(
            new ImageReassemblyTests.CollectingHandler { Messages = [] }, 8192);
        foreach (var d in datagrams.Where(d => d.SourcePort == 53584))
        {
            if (new FrameHeader(d.Payload).Type is FrameType.Data or FrameType.Pad)
            {
                image.OnDataPacket(d.Payload);
                image.Poll(ref assembler, int.MaxValue);
            }
        }
        return assembler.Handler.Messages;
    }
}
