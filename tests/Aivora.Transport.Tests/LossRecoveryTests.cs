using System.Buffers.Binary;
using Aivora.Transport.LogBuffer;
using Aivora.Transport.Protocol;
using Aivora.Transport.Subscription;

namespace Aivora.Transport.Tests;

/// <summary>
/// Publication log → lossy, reordering, duplicating link → image, with NAK-driven retransmission
/// from the log and heartbeats for tail loss: every message arrives intact and in order. This is
/// the log-level half of the protocol; the socket-level drivers are still to come (issue 4).
/// </summary>
public sealed class LossRecoveryTests
{
    private struct SequenceChecker : IMessageHandler
    {
        public long Received;
        public long Errors;
        public void OnMessage(ReadOnlySpan<byte> message, in FragmentHeader header)
        {
            // Each message: 8-byte sequence, length from the sequence, then bytes derived from both.
            bool intact = message.Length >= 8 && BinaryPrimitives.ReadInt64LittleEndian(message) == Received && message.Length == LengthOf(Received);
            for (int i = 8; intact && i < message.Length; i++) intact = message[i] == (byte)(Received * 31 + i);
            if (!intact) Errors++;
            Received++;
        }
    }

    // Fragmentation edges at MTU 1408 (payload 1376) and the 16 KiB maximum of a 128 KiB term.
    private static readonly int[] EdgeLengths = [8, 9, 1375, 1376, 1377, 10 * 1376, 16 * 1024];

    private static int LengthOf(long seq) => seq < EdgeLengths.Length ? EdgeLengths[seq] : 8 + (int)((seq * 2654435761L) % 3000);

    [Theory]
    [InlineData(0.0, 1)]
    [InlineData(0.05, 2)]
    [InlineData(0.10, 3)]
    public void Every_message_arrives_in_order_despite_loss_reordering_and_duplication(double lossRate, int seed)
    {
        const int messages = 4000;
        var rng = new Random(seed);
        var log = new PublicationLog(sessionId: 1234567, streamId: 9, initialTermId: int.MaxValue - 1, termLength: 128 * 1024, mtu: 1408);
        var image = new Image(1234567, 9, int.MaxValue - 1, int.MaxValue - 1, 0, 128 * 1024); // term ids wrap past int.MaxValue
        var assembler = new FragmentAssembler<SequenceChecker>(default, log.MaxMessageLength);
        const int window = 32 * 1024;

        var payload = new byte[log.MaxMessageLength];
        long appended = 0, sendPosition = 0;
        var inFlight = new List<byte[]>();
        int rounds = 0;
        while (assembler.Handler.Received < messages)
        {
            Assert.True(++rounds < 100_000, "no progress: recovery stalled");
            // Fill the log up to a window ahead of the subscriber (the publication limit).
            while (appended < messages && log.TailPosition < image.SubscriberPosition + window)
            {
                int length = LengthOf(appended);
                BinaryPrimitives.WriteInt64LittleEndian(payload, appended);
                for (int i = 8; i < length; i++) payload[i] = (byte)(appended * 31 + i);
                Assert.True(log.Append(payload.AsSpan(0, length)) > 0);
                appended++;
            }
            // Send what the receiver window allows, then a heartbeat at the send position.
            while (sendPosition < log.TailPosition && sendPosition < image.SubscriberPosition + window)
            {
                var datagram = log.NextDatagram(sendPosition, 1408, out int advance);
                inFlight.Add(datagram.ToArray());
                sendPosition += advance;
            }
            inFlight.Add(Heartbeat(log, sendPosition));
            Deliver(image, inFlight, rng, lossRate);

            // NAK → retransmit from the log, also over the lossy link.
            while (image.TryFindGap(out int termId, out int termOffset, out int length))
            {
                long gap = LogBufferDescriptor.ComputePosition(termId, termOffset, 17, log.InitialTermId);
                for (long p = gap; p < gap + length;)
                {
                    var datagram = log.NextDatagram(p, 1408, out int advance);
                    inFlight.Add(datagram.ToArray());
                    p += advance;
                }
                Deliver(image, inFlight, rng, lossRate);
                Assert.True(++rounds < 100_000, "no progress: NAK loop stalled");
            }
            image.Poll(ref assembler, 64);
        }

        Assert.Equal(messages, assembler.Handler.Received);
        Assert.Equal(0, assembler.Handler.Errors);
        Assert.Equal(0, assembler.OrphanFragments);
        Assert.Equal(0, image.Counters.Malformed);
        if (lossRate > 0) Assert.True(image.Counters.Duplicates > 0);
    }

    private static byte[] Heartbeat(PublicationLog log, long position)
    {
        var bytes = new byte[FrameLayout.DataHeaderLength];
        _ = new DataFrame(bytes)
        {
            FrameLength = 0, Flags = FrameFlags.Unfragmented, Type = FrameType.Data,
            TermOffset = LogBufferDescriptor.TermOffset(position, log.TermLength), SessionId = log.SessionId, StreamId = log.StreamId,
            TermId = LogBufferDescriptor.TermId(position, 17, log.InitialTermId),
        };
        return bytes;
    }

    // Drop, duplicate and reorder (adjacent swaps), each at the loss rate, seeded.
    private static void Deliver(Image image, List<byte[]> datagrams, Random rng, double rate)
    {
        for (int i = 0; i + 1 < datagrams.Count; i++)
        {
            if (rng.NextDouble() < rate) (datagrams[i], datagrams[i + 1]) = (datagrams[i + 1], datagrams[i]);
        }
        foreach (var d in datagrams)
        {
            if (rng.NextDouble() < rate) continue;
            Assert.NotEqual(PacketOutcome.Malformed, image.OnDataPacket(d));
            if (rng.NextDouble() < rate) image.OnDataPacket(d);
        }
        datagrams.Clear();
    }
}
