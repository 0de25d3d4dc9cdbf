using Aivora.Transport.LogBuffer;
using Aivora.Transport.Subscription;

namespace Aivora.Transport.Tests;

/// <summary>Append, scan, insert, poll and reassembly allocate nothing once warm.</summary>
public sealed class SteadyStateAllocationTests
{
    private struct CountingHandler : IMessageHandler
    {
        public long Messages, Bytes;
        public void OnMessage(ReadOnlySpan<byte> message, in FragmentHeader header)
        {
            Messages++;
            Bytes += message.Length;
        }
    }

    [Fact]
    public void The_publish_to_poll_path_allocates_zero_bytes()
    {
        var log = new PublicationLog(42, 9, 1000, 64 * 1024, 1408);
        var image = new Image(42, 9, 1000, 1000, 0, 64 * 1024);
        var assembler = new FragmentAssembler<CountingHandler>(default, log.MaxMessageLength);
        var small = new byte[32];
        var large = new byte[5000]; // fragmented
        long sendPosition = 0;

        void Round(int count)
        {
            for (int i = 0; i < count; i++)
            {
                log.Append(i % 8 == 0 ? large : small);
                while (sendPosition < log.TailPosition)
                {
                    var datagram = log.NextDatagram(sendPosition, 1408, out int advance);
                    image.OnDataPacket(datagram);
                    image.OnDataPacket(datagram); // a duplicate, ignored
                    sendPosition += advance;
                }
                image.Poll(ref assembler, 100);
            }
        }

        Round(20_000); // warm-up: JIT tiers, several term rotations
        long before = GC.GetAllocatedBytesForCurrentThread();
        Round(50_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(70_000, assembler.Handler.Messages);
        Assert.True(image.SubscriberPosition > 4L * 64 * 1024, "the run crossed several terms");
    }
}
