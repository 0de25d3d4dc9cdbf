using System.Buffers.Binary;
using Aivora.Transport.LogBuffer;
using Aivora.Transport.Protocol;
using Aivora.Transport.Subscription;

namespace Aivora.Transport.Tests;

/// <summary>Captured DATA traffic fed to our image: every message comes out whole, in order.</summary>
public sealed class ImageReassemblyTests
{
    internal struct CollectingHandler : IMessageHandler
    {
        public List<byte[]> Messages;
        public void OnMessage(ReadOnlySpan<byte> message, in FragmentHeader header) => Messages.Add(message.ToArray());
    }

    internal static Image ImageFromSetup(byte[] setupDatagram)
    {
        var s = new SetupFrame(setupDatagram);
        return new Image(s.SessionId, s.StreamId, s.InitialTermId, s.ActiveTermId, s.TermOffset, s.TermLength);
    }

    [Fact]
    public void Capture_one_reassembles_exactly_the_75_messages_and_ends_cleanly()
    {
        var datagrams = Captures.Load(1);
        var image = ImageFromSetup(datagrams[0].Payload);
        var assembler = new FragmentAssembler<CollectingHandler>(new CollectingHandler { Messages = [] },
            LogBufferDescriptor.MaxMessageLength(image.TermLength));

        foreach (var d in datagrams.Where(d => d.SourcePort == 53584))
        {
            var type = new FrameHeader(d.Payload).Type;
            if (type is FrameType.Data or FrameType.Pad)
            {
                Assert.NotEqual(PacketOutcome.Malformed, image.OnDataPacket(d.Payload));
                image.Poll(ref assembler, 10);
            }
        }

        var messages = assembler.Handler.Messages;
        Assert.Equal(75, messages.Count);
        Assert.All(messages.Take(3), m => Assert.Equal(5, m.Length));
        Assert.All(messages.Skip(3), m => Assert.Equal(1000, m.Length));
        Assert.Equal(72015, messages.Sum(m => m.Length));
        // We took the DATA+PAD datagram the C receiver dropped as an over-run, so its retransmit is old news.
        Assert.True(image.Counters.Duplicates + image.Counters.UnderRuns >= 1, "the retransmit of the NAKed range is recognised as already held");
        Assert.True(image.IsEndOfStream);
        Assert.Equal(0, assembler.OrphanFragments);
        // The stream rotated into the next term and ended where the EOS heartbeat said.
        Assert.Equal(LogBufferDescriptor.ComputePosition(264401095, 11616, 16, 264401094), image.SubscriberPosition);
    }

    [Fact]
    public void Capture_two_delivers_the_sequence_to_both_images_and_the_late_joiner_starts_at_the_senders_position()
    {
        var datagrams = Captures.Load(2);
        var images = new List<(Image Image, FragmentAssembler<CollectingHandler> Assembler)>();
        bool setupElicited = true; // the first SETUP after start-up, and any after an SM flagged 0x80, opens an image
        foreach (var d in datagrams)
        {
            var header = new FrameHeader(d.Payload);
            if (header.Type == FrameType.StatusMessage && (header.Flags & FrameFlags.StatusSetup) != 0)
            {
                setupElicited = true;
            }
            else if (header.Type == FrameType.Setup && setupElicited && HasAnswer(datagrams, d))
            {
                images.Add((ImageFromSetup(d.Payload), new FragmentAssembler<CollectingHandler>(new CollectingHandler { Messages = [] }, 2 << 20)));
                setupElicited = false;
            }
            else if (header.Type is FrameType.Data or FrameType.Pad && images.Count > 0)
            {
                var (image, _) = images[^1];
                Assert.NotEqual(PacketOutcome.Malformed, image.OnDataPacket(d.Payload));
                var assembler = images[^1].Assembler;
                image.Poll(ref assembler, int.MaxValue);
                images[^1] = (image, assembler);
            }
        }

        Assert.Equal(2, images.Count);
        Assert.Equal(25056, LogBufferDescriptor.TermOffset(images[1].Image.JoinPosition, images[1].Image.TermLength));
        long expectedSeq = 0;
        foreach (var (image, assembler) in images)
        {
            var messages = assembler.Handler.Messages;
            Assert.NotEmpty(messages);
            // Each 64-byte message takes a 96-byte slot: the late joiner's first sequence follows from its join offset.
            expectedSeq = image.JoinPosition / 96;
            foreach (var m in messages)
            {
                Assert.Equal(64, m.Length);
                Assert.Equal(expectedSeq, (long)BinaryPrimitives.ReadUInt64LittleEndian(m));
                for (int i = 8; i < 64; i++) Assert.Equal((byte)(expectedSeq + i), m[i]);
                expectedSeq++;
            }
        }
    }

    // A SETUP opens an image only if the receiver answered it (an SM soon after); unanswered ones found nobody listening.
    private static bool HasAnswer(IReadOnlyList<CapturedDatagram> all, CapturedDatagram setup) =>
        all.Any(d => d.Seconds >= setup.Seconds && d.Seconds < setup.Seconds + 0.05 && d.SourcePort == setup.DestinationPort
            && new FrameHeader(d.Payload).Type == FrameType.StatusMessage && (new FrameHeader(d.Payload).Flags & FrameFlags.StatusSetup) == 0);
}
