using System.Buffers.Binary;
using Aivora.Transport.Driver;
using Aivora.Transport.Subscription;

namespace Aivora.Transport.Tests;

/// <summary>
/// Reassembly is per image: two publishers sending fragmented messages to one subscription, polled
/// together, lose nothing (one reassembly state for the whole subscription interleaved their fragments
/// and lost ~12% of the messages).
/// </summary>
[Collection("loopback")]
public sealed class FragmentAssemblerTests
{
    private struct PerSession : IMessageHandler
    {
        public Dictionary<int, long> Next;
        public long Delivered, Corrupt;

        public void OnMessage(ReadOnlySpan<byte> message, in FragmentHeader header)
        {
            Next.TryGetValue(header.SessionId, out var expected);
            var sequence = BinaryPrimitives.ReadInt64LittleEndian(message);
            var intact = message.Length == 4_096 && sequence == expected;
            for (var i = 8; intact && i < message.Length; i++) intact = message[i] == (byte)(sequence + header.SessionId + i);
            if (!intact) Corrupt++;
            Next[header.SessionId] = sequence + 1;
            Delivered++;
        }
    }

    [Fact]
    public void ShouldDeliverEveryFragmentedMessageOfTwoPublishersOnOneSubscription()
    {
        var port = 43_000 + (Environment.ProcessId % 2_000);
        using var driver = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker });
        var sub = driver.AddSubscription($"aeron:udp?endpoint=127.0.0.1:{port}", 7);
        var a = driver.AddPublication($"aeron:udp?endpoint=127.0.0.1:{port}|term-length=1m", 7);
        var b = driver.AddPublication($"aeron:udp?endpoint=127.0.0.1:{port}|term-length=1m", 7);
        var assembler = new FragmentAssembler<PerSession>(new PerSession { Next = [] }, 64 * 1024);
        const int perPublisher = 2_000;
        var buffer = new byte[4_096];
        long sentA = 0, sentB = 0;
        var deadline = NanoClock.Now + 20_000_000_000;
        while (assembler.Handler.Delivered < 2 * perPublisher && NanoClock.Now < deadline)
        {
            driver.DoWork();
            foreach (var (pub, sent) in new[] { (a, sentA), (b, sentB) })
            {
                if (sent >= perPublisher || !pub.IsConnected) continue;
                BinaryPrimitives.WriteInt64LittleEndian(buffer, sent);
                for (var i = 8; i < buffer.Length; i++) buffer[i] = (byte)(sent + pub.Log.SessionId + i);
                if (pub.Offer(buffer) > 0)
                {
                    if (pub == a) sentA++;
                    else sentB++;
                }
            }

            sub.Poll(ref assembler, 5);   // a limit that stops mid-message, so the next poll starts on the other image
        }

        Assert.Equal(2 * perPublisher, assembler.Handler.Delivered);
        Assert.Equal(0, assembler.Handler.Corrupt);
        Assert.Equal(0, assembler.OrphanFragments);
        Assert.Equal(2, sub.ImageCount);
    }
}
