using Aivora.Transport.LogBuffer;
using Aivora.Transport.Protocol;
using Aivora.Transport.Subscription;

namespace Aivora.Transport.Tests;

/// <summary>
/// Terms are reused every third term, and what a term held must be cleared before it is written again. Neither side pays
/// for that at once: the publication keeps a term ahead of its tail clear a page at a time as it appends (never a whole term
/// when the tail enters one), the receiver clears a term the subscriber left a page or a few packet lengths per packet (never
/// 64 KiB at once). Both used to: 34 slow round trips in a pass of 12,500 of the transport's ping-pong.
/// </summary>
public sealed class TermCleaningTests
{
    [Theory]
    [InlineData(64 * 1024, 40, 0L)]
    [InlineData(1 << 20, 40, 0L)]
    [InlineData(64 * 1024, 1000, 0L)]                  // frames of ~1 KiB: the tail pads the end of most terms
    [InlineData(64 * 1024, 40, (5L * 64 * 1024) + 4096)]   // a stream started mid-term, five terms in (the channel's term-id / term-offset)
    public void The_publication_keeps_a_term_ahead_of_its_tail_clear_and_half_a_term_behind_it_intact(int termLength, int payload, long startPosition)
    {
        var log = new PublicationLog(5, 6, -7, termLength, 1408);
        log.StartAt(startPosition);
        var message = new byte[payload];
        int frameLength = FrameLayout.Align(FrameLayout.DataHeaderLength + payload);
        int checkEvery = Math.Max(1, termLength / 16 / frameLength);   // sixteen checks a term
        var starts = new Queue<(long Position, long Number)>();        // where each recent message went
        long number = 0, checks = 0;
        while (log.TailPosition < startPosition + (7L * termLength))
        {
            BitConverter.TryWriteBytes(message, number);
            long tail = log.Append(message);
            Assert.True(tail > 0);
            starts.Enqueue((tail - frameLength, number));   // after any padding: the frame ends at the new tail
            number++;
            if (number % checkEvery != 0) continue;

            checks++;
            // Ahead: everything the tail may move into within a term reads zero, in whichever partitions that is.
            Assert.True(ZeroFrom(log, tail, termLength), $"stale bytes within a term ahead of the tail at {tail}");

            // Behind: every message within half a term of the tail (what a receiver may still NAK) is intact.
            while (starts.Peek().Position < tail - (termLength / 2)) starts.Dequeue();
            foreach (var (position, n) in starts)
            {
                var term = log.TermFor(LogBufferDescriptor.TermId(position, LogBufferDescriptor.PositionBitsToShift(termLength), -7));
                int offset = LogBufferDescriptor.TermOffset(position, termLength);
                Assert.Equal(FrameLayout.DataHeaderLength + payload, BitConverter.ToInt32(term[offset..]));   // the frame length, first
                Assert.Equal(n, BitConverter.ToInt64(term[(offset + FrameLayout.DataHeaderLength)..]));
            }
        }

        Assert.True(checks >= 100, $"{checks} checks");
    }

    private static bool ZeroFrom(PublicationLog log, long from, int length)
    {
        int bits = LogBufferDescriptor.PositionBitsToShift(log.TermLength);
        for (long position = from; position < from + length;)
        {
            int offset = LogBufferDescriptor.TermOffset(position, log.TermLength);
            int span = (int)Math.Min(log.TermLength - offset, from + length - position);
            if (log.TermFor(LogBufferDescriptor.TermId(position, bits, log.InitialTermId)).Slice(offset, span).IndexOfAnyExcept((byte)0) >= 0) return false;
            position += span;
        }
        return true;
    }

    private struct Count : IFragmentHandler
    {
        public long Received;
        public void OnFragment(ReadOnlySpan<byte> payload, in FragmentHeader header) => Received++;
    }

    [Theory]
    [InlineData(64 * 1024, 1)]
    [InlineData(1 << 20, 1)]
    [InlineData(1 << 20, 2048)]   // the subscriber polls rarely: it leaves a term with packets half a term on
    public void A_packet_clears_at_most_a_page_or_four_times_its_length_of_a_term_left_behind(int termLength, int pollEvery)
    {
        var log = new PublicationLog(5, 6, -7, termLength, 1408);
        var image = new Image(5, 6, -7, -7, 0, termLength);
        var handler = new Count();
        var message = new byte[40];
        long sent = 0, target = 7L * termLength / 96, packets = 0, cleaned = 0;
        while (handler.Received < target)
        {
            while (sent < target && log.TailPosition + 96 <= image.SubscriberPosition + termLength / 2)
            {
                Assert.True(log.Append(message) > 0);
                sent++;
            }
            for (long position = image.RebuildPosition; position < log.TailPosition;)
            {
                var datagram = log.NextDatagram(position, 96, out int advance);   // one frame a packet
                long cleanBefore = image.CleanPosition;
                Assert.Equal(PacketOutcome.Inserted, image.OnDataPacket(datagram));
                long step = image.CleanPosition - cleanBefore;
                Assert.True(step <= Math.Max(4096, 4L * datagram.Length), $"one {datagram.Length}-byte packet cleared {step} bytes");
                cleaned += step;
                position += advance;
                if (++packets % pollEvery == 0) image.Poll(ref handler, int.MaxValue);
            }
            image.Poll(ref handler, int.MaxValue);
        }

        Assert.Equal(target, handler.Received);
        Assert.True(cleaned >= 4L * termLength, $"cleared {cleaned} bytes over seven terms");   // terms 0-3 at least, all of them reused
    }
}
