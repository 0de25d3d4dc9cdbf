using Aivora.Transport.LogBuffer;
using Aivora.Transport.Protocol;
using Aivora.Transport.Subscription;

namespace Aivora.Transport.Tests;

/// <summary>TryClaim / commit / abort at the log level: in-place frames equal offered ones, and an unfinished claim holds the sender back.</summary>
public sealed class BufferClaimTests
{
    private const int TermLength = 64 * 1024;

    private static PublicationLog NewLog() => new(sessionId: 77, streamId: 9, initialTermId: 1000, TermLength, mtu: 1408);

    [Fact]
    public void A_committed_claim_is_byte_identical_to_the_same_message_offered()
    {
        var offered = NewLog();
        var claimed = NewLog();
        var message = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();

        long offeredTail = offered.Append(message);
        var claim = default(BufferClaim);
        long claimedTail = claimed.Claim(message.Length, ref claim);
        message.CopyTo(claim.Buffer);
        claim.Commit();

        Assert.Equal(offeredTail, claimedTail);
        Assert.False(claim.IsPending);
        Assert.Equal(offered.TermFor(1000)[..(int)offeredTail].ToArray(), claimed.TermFor(1000)[..(int)claimedTail].ToArray());
    }

    [Fact]
    public void The_sender_stops_at_a_pending_claim_and_sends_it_once_committed()
    {
        var log = NewLog();
        Assert.True(log.Append(new byte[10]) > 0);
        var claim = default(BufferClaim);
        Assert.True(log.Claim(20, ref claim) > 0);
        Assert.True(log.Append(new byte[30]) > 0);

        var before = log.NextDatagram(0, int.MaxValue, out int advance);
        Assert.Equal(64, advance);                  // the first frame only: the claim is not sendable yet
        Assert.Equal(64, before.Length);

        claim.Commit();
        var after = log.NextDatagram(64, int.MaxValue, out advance);
        Assert.Equal(128, advance);                 // the committed claim and the frame behind it
        Assert.Equal(52, new DataFrame(after.ToArray()).FrameLength);
    }

    [Fact]
    public void An_aborted_claim_becomes_padding_that_the_receiver_skips()
    {
        var log = NewLog();
        var claim = default(BufferClaim);
        Assert.True(log.Claim(100, ref claim) > 0);
        claim.Buffer.Fill(0xEE);
        claim.Abort();
        Assert.True(log.Append([1, 2, 3]) > 0);

        // Sent as the PAD header alone, then the DATA frame: an image delivers only the message.
        var image = new Image(77, 9, 1000, 1000, 0, TermLength);
        for (long position = 0; position < log.TailPosition;)
        {
            var datagram = log.NextDatagram(position, int.MaxValue, out int advance);
            Assert.Equal(PacketOutcome.Inserted, image.OnDataPacket(datagram));
            position += advance;
        }
        var handler = new Collect();
        Assert.Equal(1, image.Poll(ref handler, 10));
        Assert.Equal([1, 2, 3], handler.Last);
        Assert.Equal(log.TailPosition, image.SubscriberPosition);
    }

    [Fact]
    public void A_claim_that_does_not_fit_pads_the_term_and_lands_at_the_start_of_the_next()
    {
        var log = NewLog();
        var filler = new byte[1000];
        while (log.TailPosition % TermLength < TermLength - 1056) Assert.True(log.Append(filler) > 0);
        var claim = default(BufferClaim);
        long tail = log.Claim(1300, ref claim);
        Assert.Equal(TermLength + 1344, tail);
        claim.Commit();
        Assert.Equal(FrameType.Data, new DataFrame(log.TermFor(1001).ToArray()).Type);
        Assert.Equal(1332, new DataFrame(log.TermFor(1001).ToArray()).FrameLength);
    }

    [Fact]
    public void A_claim_longer_than_the_mtu_payload_is_refused_with_a_code()
    {
        var log = NewLog();
        var claim = default(BufferClaim);
        Assert.Equal(AppendResult.MessageTooLong, log.Claim(log.MaxPayloadLength + 1, ref claim));
        Assert.Equal(AppendResult.MessageTooLong, log.Claim(-1, ref claim));
        Assert.False(claim.IsPending);
        Assert.Equal(0, log.TailPosition);
    }

    private struct Collect : IFragmentHandler
    {
        public byte[]? Last;
        public void OnFragment(ReadOnlySpan<byte> payload, in FragmentHeader header) => Last = payload.ToArray();
    }
}

/// <summary>Terms are reused every third term: the receiver clears them in slices, and never lets a packet land on stale bytes.</summary>
public sealed class TermReuseTests
{
    private struct Sequence : IFragmentHandler
    {
        public long Received, Errors;
        public void OnFragment(ReadOnlySpan<byte> payload, in FragmentHeader header)
        {
            if (payload.Length != 40 || BitConverter.ToInt64(payload) != Received || payload[^1] != (byte)Received) Errors++;
            Received++;
        }
    }

    [Theory]
    [InlineData(1 << 20, 1)]     // a big term: cleaning runs in slices of a few packet lengths
    [InlineData(64 * 1024, 1)]
    [InlineData(1 << 20, 4096)]  // the subscriber polls rarely: whole terms wait to be cleaned
    public void Seven_terms_of_messages_arrive_intact_through_reused_partitions(int termLength, int pollEvery)
    {
        var log = new PublicationLog(5, 6, -7, termLength, 1408);
        var image = new Image(5, 6, -7, -7, 0, termLength);
        var handler = new Sequence();
        var message = new byte[40];
        long sent = 0, target = 7L * termLength / 96, rounds = 0;
        while (handler.Received < target)
        {
            Assert.True(++rounds < 100_000, $"stalled at {handler.Received} of {target} (rebuild {image.RebuildPosition}, tail {log.TailPosition})");
            // Write what the window allows, move it as the sender would, poll now and then.
            while (sent < target && log.TailPosition + 96 <= image.SubscriberPosition + termLength / 2)
            {
                BitConverter.TryWriteBytes(message, sent);
                message[^1] = (byte)sent;
                Assert.True(log.Append(message) > 0);
                sent++;
            }
            for (long position = image.RebuildPosition; position < log.TailPosition;)
            {
                var datagram = log.NextDatagram(position, 1408, out int advance);
                Assert.Equal(PacketOutcome.Inserted, image.OnDataPacket(datagram));
                position += advance;
                if ((position / 1408) % pollEvery == 0) image.Poll(ref handler, int.MaxValue);
            }
            image.Poll(ref handler, int.MaxValue);
        }
        Assert.Equal(0, handler.Errors);
        Assert.True(image.SubscriberPosition > 6L * termLength);
    }
}
