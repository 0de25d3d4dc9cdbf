using Aivora.Transport.LogBuffer;
using Aivora.Transport.Protocol;
using Aivora.Transport.Subscription;

namespace Aivora.Transport.Tests;

/// <summary>
/// Terms are reused every third term, and what a term held must not leak into what it holds next. The publication never
/// clears a term ahead of its tail (nothing reads there: a memset of every byte written, on the writer's path, cost a node's
/// 40-fill sweep about a tenth of its processing, perf/HISTORY.md): each frame clears the bytes its message leaves unwritten. The receiver clears a term
/// the subscriber left a page or a few packet lengths per packet (never 64 KiB at once); it used to clear whole terms: 34 slow
/// round trips in a pass of 12,500 of the transport's ping-pong.
/// </summary>
public sealed class TermCleaningTests
{
    [Theory]
    [InlineData(64 * 1024, 40, 0L)]
    [InlineData(1 << 20, 40, 0L)]
    [InlineData(64 * 1024, 1000, 0L)]                  // frames of ~1 KiB: the tail pads the end of most terms
    [InlineData(64 * 1024, 2000, 0L)]                  // above the MTU payload: offers go out in fragments
    [InlineData(64 * 1024, 40, (5L * 64 * 1024) + 4096)]   // a stream started mid-term, five terms in (the channel's term-id / term-offset)
    public void A_reused_term_sends_only_the_new_frames_bytes_and_keeps_half_a_term_behind_intact(int termLength, int payload, long startPosition)
    {
        const int Mtu = 1408;
        var log = new PublicationLog(5, 6, -7, termLength, Mtu);
        log.StartAt(startPosition);
        int bits = LogBufferDescriptor.PositionBitsToShift(termLength);
        var message = new byte[payload + 6];
        var claim = new BufferClaim();
        var starts = new Queue<(long Position, long Number)>();   // where each recent message went
        var random = new Random(termLength + payload);
        long number = 0, checks = 0;
        while (log.TailPosition < startPosition + (7L * termLength))
        {
            // Lengths vary (so does each frame's padding), and about half the messages are claims that write only their first
            // 8 bytes, at random: a frame lands on what an offer left as often as on what a claim did.
            int length = payload + random.Next(7);
            bool claimed = random.Next(2) == 1 && length <= Mtu - FrameLayout.DataHeaderLength;
            long tail;
            if (!claimed)
            {
                message.AsSpan(0, length).Fill(0xAB);
                BitConverter.TryWriteBytes(message, number);
                tail = log.Append(message.AsSpan(0, length));
            }
            else
            {
                tail = log.Claim(length, ref claim);
                BitConverter.TryWriteBytes(claim.Buffer, number);
                claim.Commit();
            }

            Assert.True(tail > 0);
            long start = tail - FramedLength(length, Mtu);   // after any padding: the message ends at the new tail
            starts.Enqueue((start, number));
            AssertOnlyItsOwnBytes(log, start, number, length, claimed);
            number++;
            if (number % 16 != 0) continue;

            // Behind: every message within half a term of the tail (what a receiver may still NAK) is intact.
            checks++;
            while (starts.Peek().Position < tail - (termLength / 2)) starts.Dequeue();
            foreach (var (position, n) in starts)
            {
                var term = log.TermFor(LogBufferDescriptor.TermId(position, bits, -7));
                Assert.Equal(n, BitConverter.ToInt64(term[(LogBufferDescriptor.TermOffset(position, termLength) + FrameLayout.DataHeaderLength)..]));
            }
        }

        Assert.True(checks >= 10, $"{checks} checks of {number} messages over seven terms: every partition written twice");
    }

    // A message's frames from its first: the payload as written (an offer's bytes, or a claim's first 8 and zeros), and zeros
    // in each frame's padding to the alignment, whatever the term held three terms back.
    private static void AssertOnlyItsOwnBytes(PublicationLog log, long start, long number, int length, bool claimed)
    {
        int bits = LogBufferDescriptor.PositionBitsToShift(log.TermLength);
        var term = log.TermFor(LogBufferDescriptor.TermId(start, bits, log.InitialTermId));
        int offset = LogBufferDescriptor.TermOffset(start, log.TermLength);
        int written = 0;
        while (written < length)
        {
            int frameLength = BitConverter.ToInt32(term[offset..]);
            int payload = frameLength - FrameLayout.DataHeaderLength;
            var bytes = term.Slice(offset + FrameLayout.DataHeaderLength, payload);
            for (int i = 0; i < payload; i++)
            {
                int at = written + i;
                byte expected = at < 8 ? BitConverter.GetBytes(number)[at] : claimed ? (byte)0 : (byte)0xAB;
                Assert.True(bytes[i] == expected, $"message {number}: byte {at} of {length} reads {bytes[i]:x2}, not {expected:x2}");
            }

            Assert.True(term.Slice(offset + frameLength, FrameLayout.Align(frameLength) - frameLength).IndexOfAnyExcept((byte)0) < 0,
                $"message {number}: stale bytes in the padding after its frame at term offset {offset}");
            written += payload;
            offset += FrameLayout.Align(frameLength);
        }
    }

    private static int FramedLength(int length, int mtu) => LogBufferDescriptor.FramedLength(length, mtu - FrameLayout.DataHeaderLength);

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
