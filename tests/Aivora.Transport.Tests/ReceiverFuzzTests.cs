using System.Buffers.Binary;
using Aivora.Transport.Protocol;
using Aivora.Transport.Subscription;

namespace Aivora.Transport.Tests;

/// <summary>Hostile input: specific verdicts for each malformation, and seeded fuzzing that never crashes or reads out of range.</summary>
public sealed class ReceiverFuzzTests
{
    private static byte[] CaptureOneData() => Captures.Load(1).First(d => d.Payload.Length == 192).Payload; // three batched DATA frames

    [Fact]
    public void Each_malformation_gets_its_own_verdict()
    {
        Assert.Equal(DatagramVerdict.ShorterThanCommonHeader, DatagramValidator.Validate(new byte[7]));

        var data = CaptureOneData();
        Assert.Equal(DatagramVerdict.DataDatagramNotAligned, DatagramValidator.Validate(data.AsSpan(0, 37))); // 5-byte payload without its alignment bytes
        Assert.Equal(DatagramVerdict.Valid, DatagramValidator.Validate(data.AsSpan(0, 64)));

        var badVersion = (byte[])data.Clone();
        badVersion[4] = 1;
        Assert.Equal(DatagramVerdict.UnsupportedVersion, DatagramValidator.Validate(badVersion));

        var negative = (byte[])data.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(negative, -1);
        Assert.Equal(DatagramVerdict.NegativeFrameLength, DatagramValidator.Validate(negative));

        var unknown = (byte[])data.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(unknown.AsSpan(6), 0x0C);
        Assert.Equal(DatagramVerdict.UnknownFrameType, DatagramValidator.Validate(unknown));
        BinaryPrimitives.WriteUInt16LittleEndian(unknown.AsSpan(6), 0x07);
        Assert.Equal(DatagramVerdict.Unsupported, DatagramValidator.Validate(unknown));

        var sm = Captures.Load(1)[1].Payload;
        Assert.Equal(DatagramVerdict.ShorterThanFrameHeader, DatagramValidator.Validate(sm.AsSpan(0, 30)));
        var longSm = (byte[])sm.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(longSm, 44);
        Assert.Equal(DatagramVerdict.FrameLengthBeyondDatagram, DatagramValidator.Validate(longSm));

        // Packet walk: each frame at its real term offset, inside the term, covering the datagram.
        const int term = 65536;
        Assert.Equal(DatagramVerdict.Valid, DatagramValidator.ValidateDataPacket(data, term));
        var shifted = (byte[])data.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(shifted.AsSpan(64 + 8), 96);
        Assert.Equal(DatagramVerdict.TermOffsetMismatch, DatagramValidator.ValidateDataPacket(shifted, term));
        var misaligned = (byte[])data.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(misaligned.AsSpan(8), 16);
        Assert.Equal(DatagramVerdict.TermOffsetNotAligned, DatagramValidator.ValidateDataPacket(misaligned, term));
        var outside = (byte[])data.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(outside.AsSpan(8), term);
        Assert.Equal(DatagramVerdict.TermOffsetOutOfRange, DatagramValidator.ValidateDataPacket(outside, term));
        var hole = (byte[])data.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(hole.AsSpan(64), 0);
        Assert.Equal(DatagramVerdict.EmptyFrameInPacket, DatagramValidator.ValidateDataPacket(hole, term));
        var tiny = (byte[])data.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(tiny.AsSpan(64), 5);
        Assert.Equal(DatagramVerdict.FrameShorterThanHeader, DatagramValidator.ValidateDataPacket(tiny, term));
        var overlong = (byte[])data.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(overlong.AsSpan(128), 100);
        Assert.Equal(DatagramVerdict.FramesDoNotCoverDatagram, DatagramValidator.ValidateDataPacket(overlong, term));
        var control = (byte[])data.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(control.AsSpan(64 + 6), (ushort)FrameType.StatusMessage);
        Assert.Equal(DatagramVerdict.NonDataFrameInPacket, DatagramValidator.ValidateDataPacket(control, term));
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void Mutated_and_random_datagrams_never_crash_the_receiver(int seed)
    {
        var rng = new Random(seed);
        var corpus = Captures.Load(1).Concat(Captures.Load(2)).Select(d => d.Payload).ToArray();
        var setup = Captures.Load(1)[0].Payload;
        var image = ImageReassemblyTests.ImageFromSetup(setup);
        var assembler = new Subscription.FragmentAssembler<ImageReassemblyTests.CollectingHandler>(
            new ImageReassemblyTests.CollectingHandler { Messages = [] }, 8192);
        var outcomes = new long[256];
        const int iterations = 60_000;

        for (int i = 0; i < iterations; i++)
        {
            byte[] datagram = Mutate(corpus[rng.Next(corpus.Length)], rng);
            var verdict = DatagramValidator.Validate(datagram);
            if (verdict == DatagramVerdict.Valid && new FrameHeader(datagram).Type is FrameType.Data or FrameType.Pad)
            {
                outcomes[100 + (int)image.OnDataPacket(datagram)]++;
                image.Poll(ref assembler, 16);
                Assert.True(image.SubscriberPosition <= image.RebuildPosition);
            }
            else if (verdict == DatagramVerdict.Valid)
            {
                // A valid control frame: every field of its flyweight must read within bounds.
                Assert.NotEmpty(Captures.Describe(datagram));
                if (new FrameHeader(datagram).Type == FrameType.Error) Assert.True(new ErrorFrame(datagram).Text.Length <= FrameLayout.ErrorMaxTextLength);
                outcomes[200]++;
            }
            else
            {
                outcomes[(int)verdict]++;
            }
            if (i % 5000 == 4999) image = ImageReassemblyTests.ImageFromSetup(setup); // fresh state now and then
            if (assembler.Handler.Messages.Count > 1000) assembler.Handler.Messages.Clear();
        }

        Assert.Equal(iterations, outcomes.Sum());
        Assert.True(outcomes[200] > 0, "valid control frames were decoded");
        Assert.True(outcomes[100 + (int)PacketOutcome.Malformed] > 0 && outcomes.Take(100).Sum() > 0, "the mutations exercised both layers of validation");
    }

    private static byte[] Mutate(byte[] original, Random rng)
    {
        switch (rng.Next(6))
        {
            case 0: // random bytes of a random length
                var random = new byte[rng.Next(0, 1500)];
                rng.NextBytes(random);
                return random;
            case 1: // truncate
                return original.AsSpan(0, rng.Next(0, original.Length + 1)).ToArray();
            case 2: // extend with junk
                var longer = new byte[original.Length + rng.Next(1, 200)];
                original.CopyTo(longer, 0);
                rng.NextBytes(longer.AsSpan(original.Length));
                return longer;
            default: // flip bytes, favouring the header fields
                var copy = (byte[])original.Clone();
                int flips = rng.Next(1, 4);
                for (int f = 0; f < flips && copy.Length > 0; f++)
                {
                    int at = rng.Next(2) == 0 ? rng.Next(Math.Min(32, copy.Length)) : rng.Next(copy.Length);
                    copy[at] = (byte)rng.Next(256);
                }
                return copy;
        }
    }
}
