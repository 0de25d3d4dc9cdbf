using System.Buffers.Binary;
using Aivora.Transport.Driver;
using Aivora.Transport.LogBuffer;
using Aivora.Transport.Subscription;
using static Aivora.Transport.Tests.InvokerLoop;

namespace Aivora.Transport.Tests;

/// <summary>
/// The driver's pool of logs (<see cref="TermBufferPool"/>): a publication's log goes back, cleared, when the sender disposes
/// it, and the next publication of that term length takes it instead of writing fresh pages. What a reused log held before
/// must never reach the next stream's subscriber.
/// </summary>
[Collection("loopback")]
public sealed class TermBufferPoolTests
{
    private static int _port = 37_000 + Environment.ProcessId % 1000;
    private static string NextChannel() => $"aeron:udp?endpoint=127.0.0.1:{Interlocked.Increment(ref _port)}|term-length=64k";

    private const int MessageLength = 200;

    private struct Numbered : IFragmentHandler
    {
        public long Messages, Errors;
        public int SessionId;
        public void OnFragment(ReadOnlySpan<byte> buffer, in FragmentHeader header)
        {
            if (buffer.Length != MessageLength || BinaryPrimitives.ReadInt64LittleEndian(buffer) != Messages || header.SessionId != SessionId) Errors++;
            Messages++;
        }
    }

    [Fact]
    public void A_returned_log_is_cleared_and_handed_out_again_before_anything_new_is_allocated()
    {
        var pool = new TermBufferPool { MaxKeptPerLength = 2 };
        var first = pool.Rent(64 * 1024);
        Assert.Equal((1L, 0L), (pool.Allocated, pool.Reused));
        first[0][100] = 7;
        first[2][^1] = 9;

        pool.Return(first);
        var again = pool.Rent(64 * 1024);
        Assert.Same(first, again);
        Assert.All(again, term => Assert.True(term.AsSpan().IndexOfAnyExcept((byte)0) < 0));
        Assert.Equal((1L, 1L), (pool.Allocated, pool.Reused));

        Assert.NotSame(again, pool.Rent(128 * 1024));   // another term length: allocated
        pool.Reserve(64 * 1024, 3);                     // kept up to the bound
        Assert.Equal(2, pool.Available(64 * 1024));
        Assert.Throws<ArgumentException>(() => pool.Return([new byte[64 * 1024]]));
    }

    [Fact]
    public void A_stream_on_reused_logs_delivers_its_own_messages_and_nothing_its_predecessor_left()
    {
        using var driver = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker });
        var channel = NextChannel();
        var subscription = driver.AddSubscription(channel, 7);

        // The first stream: 100 messages (20 KiB of the first term) through a publication and the subscriber's image.
        var first = driver.AddPublication(channel, 7);
        var handler = new Numbered { SessionId = first.Log.SessionId };
        var sentFirst = 0;
        Assert.True(Until(driver, () => handler.Messages == 100, 10, () =>
        {
            var message = new byte[MessageLength];
            BinaryPrimitives.WriteInt64LittleEndian(message, sentFirst);
            if (first.IsConnected && sentFirst < 100 && first.Offer(message) > 0) sentFirst++;
            subscription.Poll(ref handler, 64);
        }) && handler.Errors == 0, $"first stream: {handler.Messages} messages, {handler.Errors} errors");

        // It ends: its log goes back when the sender disposes it.
        driver.Remove(first);
        Assert.True(Until(driver, () => driver.TermBuffers.Available(64 * 1024) == 1, 10, () => subscription.Poll(ref handler, 64)),
            $"{driver.TermBuffers.Available(64 * 1024)} logs back in the pool");
        var allocated = driver.TermBuffers.Allocated;

        // The second stream takes it and sends 5 messages: the subscriber gets those 5, numbered from 0 again, and none of the
        // 95 the log held beyond them.
        var second = driver.AddPublication(channel, 7);
        var next = new Numbered { SessionId = second.Log.SessionId };
        var sent = 0;
        Until(driver, () => next.Messages >= 5 && sent == 5, 10, () =>
        {
            var message = new byte[MessageLength];
            BinaryPrimitives.WriteInt64LittleEndian(message, sent);
            if (second.IsConnected && sent < 5 && second.Offer(message) > 0) sent++;
            subscription.Poll(ref next, 64);
        });
        Until(driver, () => false, 0.2, () => subscription.Poll(ref next, 64));   // anything more would arrive now
        Assert.Equal((5L, 0L), (next.Messages, next.Errors));
        Assert.Equal(allocated, driver.TermBuffers.Allocated);
        Assert.Equal(1, driver.TermBuffers.Reused);
    }
}
