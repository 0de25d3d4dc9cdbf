using System.Net;
using System.Runtime.InteropServices;
using Aivora.Transport.Driver;
using Aivora.Transport.LogBuffer;
using Aivora.Transport.Subscription;

namespace Aivora.Transport.Tests;

/// <summary>
/// An image's log is not written when the image is made (3 x 1 MiB of fresh pages took ~8 ms on this VM: a stall of the
/// receiver's thread at every SETUP, the engine thread's in a node): the receiver maps it a page per pass that read nothing,
/// in stream order from the join position, one page per receiver pass across its subscriptions, and what the stream wrote
/// into a page before its turn came is still there after it.
/// </summary>
public sealed partial class ImageLogMappingTests
{
    private static readonly int PageSize = Environment.SystemPageSize;

    /// <summary>Checks each message's length and bytes against its sequence number (every byte odd: never zero).</summary>
    private struct Checker : IFragmentHandler
    {
        public long Received, Errors;
        public void OnFragment(ReadOnlySpan<byte> payload, in FragmentHeader header)
        {
            bool intact = payload.Length == MessageLength(Received);
            for (int i = 0; intact && i < payload.Length; i++) intact = payload[i] == Pattern(Received, i);
            Errors += intact ? 0 : 1;
            Received++;
        }
    }

    private static int MessageLength(long seq) => 200 + (int)(seq % 7 * 97);
    private static byte Pattern(long seq, int i) => (byte)((seq * 31) + (i * 7) | 1);

    private static byte[] Message(long seq)
    {
        var message = new byte[MessageLength(seq)];
        for (int i = 0; i < message.Length; i++) message[i] = Pattern(seq, i);
        return message;
    }

    [Theory]
    [InlineData(64 * 1024, 0L)]
    [InlineData(1 << 20, 0L)]
    [InlineData(64 * 1024, (3L * 64 * 1024) + 8192)]   // joined mid-stream: three terms and two pages in
    public void Mapping_the_log_between_packets_keeps_every_message_the_stream_wrote_there(int termLength, long joinPosition)
    {
        var log = new PublicationLog(5, 6, -7, termLength, 1408);
        log.StartAt(joinPosition);
        int bits = LogBufferDescriptor.PositionBitsToShift(termLength);
        var image = new Image(5, 6, -7, LogBufferDescriptor.TermId(joinPosition, bits, -7), LogBufferDescriptor.TermOffset(joinPosition, termLength), termLength);
        int pages = LogBufferDescriptor.PartitionCount * termLength / PageSize;
        Assert.Equal(pages, image.LogPagesToFault);   // nothing mapped by the image's creation

        var checker = new Checker();
        long seq = 0, delivered = joinPosition;
        void Receive()
        {
            while (delivered < log.TailPosition)
            {
                var datagram = log.NextDatagram(delivered, 1408, out int advance);
                Assert.Equal(PacketOutcome.Inserted, image.OnDataPacket(datagram));
                delivered += advance;
            }
        }

        // Ahead of the mapping: an eighth of a term of packets received and not read yet, then their pages mapped, then read.
        while (log.TailPosition < joinPosition + (termLength / 8)) Assert.True(log.Append(Message(seq++)) > 0);
        Receive();
        for (int i = 0; i < (termLength / 8 / PageSize) + 1; i++) Assert.True(image.FaultInNextLogPage());
        image.Poll(ref checker, int.MaxValue);
        Assert.Equal((seq, 0L), (checker.Received, checker.Errors));

        // Then the stream runs over every page of the log twice with a page mapped every other packet and reads now and then.
        long packets = 0;
        while (log.TailPosition < joinPosition + (7L * termLength))
        {
            if (log.TailPosition + 2048 <= image.SubscriberPosition + (termLength / 2))
            {
                Assert.True(log.Append(Message(seq++)) > 0);
                Receive();
                if (++packets % 2 == 0) image.FaultInNextLogPage();
                if (packets % 16 != 0) continue;
            }
            image.Poll(ref checker, int.MaxValue);
        }
        image.Poll(ref checker, int.MaxValue);

        Assert.Equal((seq, 0L), (checker.Received, checker.Errors));
        Assert.Equal(0, image.LogPagesToFault);
        Assert.False(image.FaultInNextLogPage());
    }

    [Fact]
    public void Making_an_image_maps_next_to_nothing_of_its_log()
    {
        // Terms this large come from memory the collector has not used before (nothing else in the tests frees 192 MiB of
        // pinned arrays), which the OS maps only when written; writing them at creation would map every page.
        const int TermLength = 64 << 20;
        var image = new Image(5, 6, -7, -7, 0, TermLength);
        long mapped = 0, pages = 0;
        for (int partition = 0; partition < LogBufferDescriptor.PartitionCount; partition++)
        {
            var (partitionMapped, partitionPages) = MappedPages(image.LogPartition(partition), 0, TermLength);
            (mapped, pages) = (mapped + partitionMapped, pages + partitionPages);
        }
        Assert.True(mapped < pages / 100, $"{mapped} of {pages} pages mapped by the image's creation");
        GC.KeepAlive(image);
    }

    [Theory]
    [InlineData(0)]
    [InlineData((64 * 1024) + (5 * 4096) + 96)]   // the join position one term and five pages in (and not on a page boundary)
    public void The_pages_are_mapped_in_stream_order_from_the_join_position(int joinOffsetInLog)
    {
        const int TermLength = 64 * 1024;
        int joinTerm = joinOffsetInLog / TermLength, joinOffset = joinOffsetInLog % TermLength;
        var image = new Image(5, 6, -7, -7 + joinTerm, joinOffset & ~31, TermLength);
        int pages = LogBufferDescriptor.PartitionCount * TermLength / PageSize, pagesPerTerm = TermLength / PageSize;

        // Half the log: from the join position's page onwards, wrapping from the last partition to the first.
        for (int i = 0; i < pages / 2; i++) Assert.True(image.FaultInNextLogPage());
        int first = (joinTerm * pagesPerTerm) + (joinOffset / PageSize);
        for (int i = 0; i < pages / 2; i++)
        {
            int page = (first + i) % pages;
            Assert.True(Resident(image.LogPartition(page / pagesPerTerm), page % pagesPerTerm * PageSize, PageSize),
                $"page {i} in stream order (partition {page / pagesPerTerm}, offset {page % pagesPerTerm * PageSize}) is not mapped");
        }
    }

    [Fact]
    public void A_receiver_pass_maps_a_page_only_when_it_read_nothing_until_the_log_is_mapped()
    {
        // Terms large enough that the handshake's idle passes (the publication reads its SMs every 1 ms until connected) map
        // only part of the log.
        const int TermLength = 16 << 20;
        var listener = new Listener();
        using var sub = new NetworkSubscription(new IPEndPoint(IPAddress.Loopback, 0), 9, listener);
        using var pub = NetworkPublication.Create(sub.LocalEndPoint, 9, TermLength);
        Assert.True(InvokerLoop.Until(() => pub.IsConnected && listener.Available == 1, 5, () => Step(pub, sub)),
            "SETUP/SM handshake did not complete");
        var image = sub.ImageAt(0);

        // A pass that reads a datagram maps nothing.
        int before = image.LogPagesToFault;
        Assert.True(before > 0, "the handshake's idle passes mapped the whole log already");
        Assert.True(pub.Offer(Message(0)) > 0);
        pub.DoWork(NanoClock.Now);   // on loopback the datagram is in the subscription's socket when the send returns
        long received = sub.Counters.DatagramsReceived;
        sub.DoWork(NanoClock.Now);
        Assert.True(sub.Counters.DatagramsReceived > received, "the pass read no datagram");
        Assert.Equal(before, image.LogPagesToFault);

        // Passes that read nothing map one page each, and then nothing is left.
        int passes = 0;
        while (image.LogPagesToFault > 0 && passes < 100_000)
        {
            int left = image.LogPagesToFault;
            sub.DoWork(NanoClock.Now);
            passes++;
            Assert.InRange(left - image.LogPagesToFault, 0, 1);
        }
        Assert.Equal(0, image.LogPagesToFault);
        Assert.InRange(passes, before, before + 100);   // a page a pass (a pass that met a stray datagram maps none)
        for (int partition = 0; partition < LogBufferDescriptor.PartitionCount; partition++)
        {
            Assert.True(Resident(image.LogPartition(partition), 0, TermLength), $"partition {partition} is not all mapped");
        }
    }

    [Fact]
    public void A_drivers_receiver_maps_one_page_a_pass_across_all_its_subscriptions()
    {
        using var driver = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker });
        var subs = new[] { driver.AddSubscription("aeron:udp?endpoint=127.0.0.1:0", 9), driver.AddSubscription("aeron:udp?endpoint=127.0.0.1:0", 9) };
        foreach (var sub in subs) driver.AddPublication($"aeron:udp?endpoint=127.0.0.1:{sub.LocalEndPoint.Port}|term-length=4m", 9);
        Assert.True(InvokerLoop.Until(driver, () => subs.All(s => s.ImageCount == 1), 5), "no image on both subscriptions");

        int Left() => subs.Sum(s => s.ImageAt(0).LogPagesToFault);
        Assert.True(subs.All(s => s.ImageAt(0).LogPagesToFault > 0), "a log was mapped before the passes watched");
        int passes = 0;
        while (Left() > 0 && passes < 100_000)
        {
            int left = Left();
            driver.DoWork();
            passes++;
            Assert.InRange(left - Left(), 0, 1);
        }
        Assert.Equal(0, Left());
    }

    [Fact]
    public void A_reconnecting_publisher_gets_the_ended_images_log_back_cleared()
    {
        // The first stream fills part of a term; each later one sends a single message on the same log: a log handed back
        // without clearing would deliver the first stream's frames after it.
        var pool = new TermBufferPool();
        var listener = new Listener();
        using var sub = new NetworkSubscription(new IPEndPoint(IPAddress.Loopback, 0), 9, listener) { ImageLogs = pool, RetiredLogLingerNs = 0 };
        var checker = new Checker();
        byte[][]? firstLog = null;
        for (int cycle = 0; cycle < 4; cycle++)
        {
            using var pub = NetworkPublication.Create(sub.LocalEndPoint, 9, 64 * 1024);
            Assert.True(InvokerLoop.Until(() => pub.IsConnected && listener.Available == cycle + 1, 5, () => Step(pub, sub)), $"cycle {cycle}: no image");
            var image = sub.ImageAt(0);
            firstLog ??= image.Log;
            Assert.Same(firstLog, image.Log);
            if (cycle > 0) Assert.Equal(0, image.LogPagesToFault);   // a reused log's pages are mapped already

            checker = new Checker();
            int messages = cycle == 0 ? 50 : 1;
            for (int m = 0; m < messages; m++) Assert.True(pub.Offer(Message(m)) > 0);
            pub.Close();
            Assert.True(InvokerLoop.Until(() => listener.Unavailable == cycle + 1, 5, () => { Step(pub, sub); sub.Poll(ref checker, 100); }), $"cycle {cycle}: the image did not end");
            Assert.True(image.IsClosed);
            Assert.Equal((messages, 0L), (checker.Received, checker.Errors));
            Assert.True(InvokerLoop.Until(() => sub.Counters.ImageLogsReturned == cycle + 1, 5, () => { sub.DoWork(NanoClock.Now); sub.Poll(ref checker, 100); }),
                $"cycle {cycle}: the ended image's log did not go back to the pool");
        }
        Assert.Equal(3, pool.Reused);
    }

    [Fact]
    public void An_ended_images_log_waits_for_the_applications_next_poll_and_the_linger()
    {
        const long Linger = 2_000_000_000;
        var (sub, pub, pool, retiredAt) = EndAnImage(Linger);
        using var _ = sub;
        using var __ = pub;
        var checker = new Checker();

        // No poll since the pass that retired it: past the linger, the log stays out.
        Assert.True(InvokerLoop.Until(() => NanoClock.Now > retiredAt + Linger + 100_000_000, 5, () => sub.DoWork(NanoClock.Now)));
        Assert.Equal(0, sub.Counters.ImageLogsReturned);
        // A poll, then the receiver's next pass gives it back.
        sub.Poll(ref checker, 100);
        sub.DoWork(NanoClock.Now);
        Assert.Equal(1, sub.Counters.ImageLogsReturned);
        Assert.Equal(1, pool.Available(64 * 1024));
    }

    [Fact]
    public void An_ended_image_is_not_given_back_before_the_linger_however_much_the_application_polls()
    {
        const long Linger = 2_000_000_000;
        var (sub, pub, _, retiredAt) = EndAnImage(Linger);
        using var _s = sub;
        using var _p = pub;
        var checker = new Checker();
        bool returnedEarly = false;
        Assert.True(InvokerLoop.Until(() => sub.Counters.ImageLogsReturned == 1, 5, () =>
        {
            sub.Poll(ref checker, 100);
            sub.DoWork(NanoClock.Now);
            returnedEarly |= sub.Counters.ImageLogsReturned > 0 && NanoClock.Now < retiredAt + (Linger / 2);
        }), "the log never went back");
        Assert.False(returnedEarly, "the log went back within half the linger");
    }

    /// <summary>A subscription with a pool of images' logs and the linger given, whose one image has just ended (end of
    /// stream consumed by the application's polls; the receiver's pass that retired it came after the last of them).</summary>
    private static (NetworkSubscription Sub, NetworkPublication Pub, TermBufferPool Pool, long RetiredAt) EndAnImage(long lingerNs)
    {
        var pool = new TermBufferPool();
        var listener = new Listener();
        var sub = new NetworkSubscription(new IPEndPoint(IPAddress.Loopback, 0), 9, listener) { ImageLogs = pool, RetiredLogLingerNs = lingerNs };
        var pub = NetworkPublication.Create(sub.LocalEndPoint, 9, 64 * 1024);
        Assert.True(InvokerLoop.Until(() => pub.IsConnected && listener.Available == 1, 5, () => Step(pub, sub)), "no image");
        var checker = new Checker();
        pub.Close();
        long retiredAt = 0;
        Assert.True(InvokerLoop.Until(() => listener.Unavailable == 1, 5, () =>
        {
            sub.Poll(ref checker, 100);
            Step(pub, sub);
            if (listener.Unavailable == 1) retiredAt = NanoClock.Now;
        }), "the image did not end");
        return (sub, pub, pool, retiredAt);
    }

    [Fact]
    public void An_image_that_ended_with_data_unread_delivers_none_of_it()
    {
        // A publisher that vanished (no end of stream): the image ends on silence with what it received still unread, and
        // its log may serve the next image: a Poll of the Image the application kept must not read it.
        var listener = new Listener();
        using var sub = new NetworkSubscription(new IPEndPoint(IPAddress.Loopback, 0), 9, listener) { ImageLivenessNs = 200_000_000 };
        var pub = NetworkPublication.Create(sub.LocalEndPoint, 9, 64 * 1024);
        Assert.True(InvokerLoop.Until(() => pub.IsConnected && listener.Available == 1, 5, () => Step(pub, sub)), "no image");
        var image = sub.ImageAt(0);
        for (int m = 0; m < 5; m++) Assert.True(pub.Offer(Message(m)) > 0);
        Assert.True(InvokerLoop.Until(() => image.RebuildPosition > image.SubscriberPosition, 5, () => Step(pub, sub)), "nothing received");
        pub.Dispose();   // gone without a word
        Assert.True(InvokerLoop.Until(() => listener.Unavailable == 1, 5, () => sub.DoWork(NanoClock.Now)), "the silent image did not end");

        var checker = new Checker();
        Assert.True(image.IsClosed);
        Assert.Equal(0, image.Poll(ref checker, 100));
        Assert.Equal(0, checker.Received);
    }

    [Fact]
    public void A_closed_image_writes_nothing_into_its_log()
    {
        // Packets or a gap fill handed to an Image kept past its end must not land in a log another image may hold by now.
        var log = new PublicationLog(5, 6, -7, 64 * 1024, 1408);
        var image = new Image(5, 6, -7, -7, 0, 64 * 1024);
        Assert.True(log.Append(Message(0)) > 0);
        var datagram = log.NextDatagram(0, 1408, out _);
        image.Close();

        Assert.Equal(PacketOutcome.Closed, image.OnDataPacket(datagram));
        image.FillGap(-7, 0, 1024);
        for (int partition = 0; partition < LogBufferDescriptor.PartitionCount; partition++)
        {
            Assert.Equal(-1, image.LogPartition(partition).AsSpan().IndexOfAnyExcept((byte)0));
        }
        Assert.Equal(0L, image.RebuildPosition);
    }

    private static void Step(NetworkPublication pub, NetworkSubscription sub)
    {
        long now = NanoClock.Now;
        pub.DoWork(now);
        sub.DoWork(now);
    }

    private sealed class Listener : IImageListener
    {
        public int Available, Unavailable;
        public void OnAvailable(Image image) => Available++;
        public void OnUnavailable(Image image) => Unavailable++;
    }

    /// <summary>Whether every page holding <paramref name="length"/> bytes of the pinned <paramref name="array"/> from
    /// <paramref name="offset"/> is in memory.</summary>
    private static bool Resident(byte[] array, int offset, int length)
    {
        var (mapped, pages) = MappedPages(array, offset, length);
        return mapped == pages;
    }

    /// <summary>How many of the pages holding <paramref name="length"/> bytes of the pinned <paramref name="array"/> from
    /// <paramref name="offset"/> are in memory, of how many (mincore(2)).</summary>
    private static (long Mapped, long Pages) MappedPages(byte[] array, int offset, int length)
    {
        nint start = Marshal.UnsafeAddrOfPinnedArrayElement(array, offset);
        nint first = start & ~(nint)(PageSize - 1);
        nint end = start + length;
        int pages = (int)((end - first + PageSize - 1) / PageSize);
        var vector = new byte[pages];
        Assert.Equal(0, MinCore(first, (nuint)(end - first), vector));
        return (vector.Count(v => (v & 1) != 0), pages);
    }

    [LibraryImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static partial int MinCore(nint address, nuint length, [Out] byte[] vector);
}
