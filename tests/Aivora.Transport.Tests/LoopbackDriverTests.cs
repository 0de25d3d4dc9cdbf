using System.Buffers.Binary;
using System.Net;
using Aivora.Transport.Driver;
using Aivora.Transport.LogBuffer;
using Aivora.Transport.Subscription;

namespace Aivora.Transport.Tests;

/// <summary>
/// A publication and a subscription over real UDP sockets on loopback, both driven from the test
/// thread (invoker mode: no extra threads, nothing spins but us). Every wait is bounded.
/// </summary>
[Collection("loopback")]
public sealed class LoopbackDriverTests
{
    private struct Checker : IMessageHandler
    {
        public List<int>? Lengths;
        public long Received, Errors;
        public void OnMessage(ReadOnlySpan<byte> message, in FragmentHeader header)
        {
            bool intact = message.Length == 0 || (message.Length >= 8 ? BinaryPrimitives.ReadInt64LittleEndian(message) == Received : message[0] == (byte)Received);
            for (int i = 8; intact && i < message.Length; i++) intact = message[i] == (byte)(Received + i);
            if (!intact) Errors++;
            Lengths?.Add(message.Length);
            Received++;
        }
    }

    private sealed class Listener : IImageListener
    {
        public int Available, Unavailable;
        public void OnAvailable(Image image) => Available++;
        public void OnUnavailable(Image image) => Unavailable++;
    }

    private static int _port = 41_000 + Environment.ProcessId % 2000;
    private static IPEndPoint NextEndpoint() => new(IPAddress.Loopback, Interlocked.Increment(ref _port));

    private static void Fill(byte[] buffer, int length, long seq)
    {
        if (length >= 8) BinaryPrimitives.WriteInt64LittleEndian(buffer, seq);
        else if (length > 0) buffer[0] = (byte)seq;
        for (int i = 8; i < length; i++) buffer[i] = (byte)(seq + i);
    }

    /// <summary>Runs both duty cycles until <paramref name="done"/> or the deadline; false on timeout.</summary>
    private static bool RunUntil(NetworkPublication pub, NetworkSubscription sub, Func<bool> done, double seconds, Action? each = null) =>
        InvokerLoop.Until(done, seconds, () =>
        {
            long now = NanoClock.Now;
            pub.DoWork(now);
            sub.DoWork(now);
            each?.Invoke();
        });

    private static (long Received, long Errors, List<int> Lengths) Send(NetworkPublication pub, NetworkSubscription sub, IReadOnlyList<int> lengths, double seconds, bool recordLengths = true)
    {
        var assembler = new FragmentAssembler<Checker>(new Checker { Lengths = recordLengths ? [] : null }, pub.Log.MaxMessageLength);
        var buffer = new byte[pub.Log.MaxMessageLength];
        int next = 0;
        bool finished = RunUntil(pub, sub, () => assembler.Handler.Received >= lengths.Count, seconds, () =>
        {
            while (next < lengths.Count)
            {
                Fill(buffer, lengths[next], next);
                long result = pub.Offer(buffer.AsSpan(0, lengths[next]));
                if (result < 0) break;
                next++;
            }
            sub.Poll(ref assembler, 256);
        });
        Assert.True(finished, $"timed out: offered {next}, received {assembler.Handler.Received} of {lengths.Count}; {Describe(pub, sub)}");
        return (assembler.Handler.Received, assembler.Handler.Errors, assembler.Handler.Lengths ?? []);
    }

    private static string Describe(NetworkPublication pub, NetworkSubscription sub)
    {
        var image = sub.ImageCount > 0 ? sub.ImageAt(0) : null;
        return $"pub tail {pub.Position} receiver {pub.ReceiverPosition} connected {pub.IsConnected} naks {pub.Counters.NaksReceived} retransmits {pub.Counters.Retransmits} sms {pub.Counters.StatusMessagesReceived}/{pub.Counters.StatusMessagesRejected}; "
            + $"sub images {sub.ImageCount} naks {sub.Counters.NaksSent} malformed {sub.Counters.Malformed}; image sub {image?.SubscriberPosition} rebuild {image?.RebuildPosition} hwm {image?.HighWaterMark} "
            + $"dup {image?.Counters.Duplicates} under {image?.Counters.UnderRuns} over {image?.Counters.OverRuns} corrupt {image?.Counters.CorruptFrames}";
    }

    private static (NetworkPublication, NetworkSubscription, Listener) Connect(int termLength = 64 * 1024, int mtu = 1408, DatagramIo io = DatagramIo.Auto)
    {
        var listener = new Listener();
        var endpoint = NextEndpoint();
        var sub = new NetworkSubscription(endpoint, 9, listener, io: io);
        var pub = NetworkPublication.Create(endpoint, 9, termLength, mtu, io);
        Assert.True(RunUntil(pub, sub, () => pub.IsConnected && listener.Available == 1, 5), "SETUP/SM handshake did not complete");
        return (pub, sub, listener);
    }

    [Theory]
    [InlineData(DatagramIo.Native)]
    [InlineData(DatagramIo.Managed)]
    public void Messages_at_every_fragmentation_edge_arrive_intact_and_in_order(DatagramIo io)
    {
        var (pub, sub, _) = Connect(termLength: 128 * 1024, io: io);
        Assert.Equal(io, sub.Channel.Io);
        using var _p = pub;
        using var _s = sub;
        int payload = pub.Log.MaxPayloadLength;
        int[] lengths = [0, 1, payload - 1, payload, payload + 1, 10 * payload, pub.Log.MaxMessageLength];
        var (received, errors, seen) = Send(pub, sub, lengths, 10);
        Assert.Equal(lengths.Length, received);
        Assert.Equal(0, errors);
        Assert.Equal(lengths, seen);
    }

    [Fact]
    public void A_million_messages_arrive_in_order_across_many_terms()
    {
        var (pub, sub, _) = Connect();
        using var _p = pub;
        using var _s = sub;
        var lengths = new int[1_000_000];
        Array.Fill(lengths, 32);
        var (received, errors, _) = Send(pub, sub, lengths, 120, recordLengths: false);
        Assert.True(received == 1_000_000 && errors == 0, $"received {received} errors {errors}; {Describe(pub, sub)}");
        Assert.True(pub.Position > 900L * 64 * 1024, "the stream rotated through many terms");
    }

    [Fact]
    public void A_publisher_that_goes_silent_leaves_an_unavailable_image_after_the_liveness_timeout()
    {
        var listener = new Listener();
        var endpoint = NextEndpoint();
        using var sub = new NetworkSubscription(endpoint, 9, listener) { ImageLivenessNs = 300_000_000 };
        using var pub = NetworkPublication.Create(endpoint, 9, 64 * 1024);
        Assert.True(RunUntil(pub, sub, () => pub.IsConnected && listener.Available == 1, 5));
        // The publisher stops running (a crash, a cable): no data, no heartbeats, no EOS.
        long silentSince = NanoClock.Now;
        long deadline = silentSince + 5_000_000_000;
        while (listener.Unavailable == 0 && NanoClock.Now < deadline) sub.DoWork(NanoClock.Now);
        double seconds = (NanoClock.Now - silentSince) / 1e9;
        Assert.Equal(1, listener.Unavailable);
        Assert.Equal(0, sub.ImageCount);
        Assert.InRange(seconds, 0.25, 2.0);
    }

    [Theory]
    [InlineData(0.05, 5, DatagramIo.Native)]
    [InlineData(0.10, 6, DatagramIo.Native)]
    [InlineData(0.10, 7, DatagramIo.Managed)]
    public void With_seeded_loss_reordering_and_duplication_everything_still_arrives_in_order(double rate, int seed, DatagramIo io)
    {
        var (pub, sub, _) = Connect(io: io);
        using var _p = pub;
        using var _s = sub;
        sub.Loss = new LossGenerator(seed, dropRate: rate, duplicateRate: rate, reorderRate: rate);
        pub.ControlLoss = new LossGenerator(seed + 100, dropRate: rate);
        var rng = new Random(seed);
        var lengths = Enumerable.Range(0, 20_000).Select(_ => rng.Next(8, 3000)).ToArray();
        var (received, errors, _) = Send(pub, sub, lengths, 60);
        Assert.True(lengths.Length == received && errors == 0, $"received {received} errors {errors}; {Describe(pub, sub)}");
        Assert.True(sub.Loss.Dropped > 0 && sub.Counters.NaksSent > 0 && pub.Counters.Retransmits > 0,
            $"loss was injected and repaired (dropped {sub.Loss.Dropped}, NAKs {sub.Counters.NaksSent}, retransmits {pub.Counters.Retransmits})");
    }

    [Fact]
    public void A_subscriber_that_stops_polling_back_pressures_the_publisher_until_it_resumes()
    {
        var (pub, sub, _) = Connect();
        using var _p = pub;
        using var _s = sub;
        var message = new byte[1000];
        long backPressured = 0;
        // Not polling: the publisher may run at most half a term ahead of the receiver's position.
        Assert.True(RunUntil(pub, sub, () => backPressured > 0, 5, () =>
        {
            if (pub.Offer(message) == OfferResult.BackPressured) backPressured++;
        }));
        long stuckAt = pub.Position;
        Assert.True(stuckAt <= 32 * 1024 + 1056);

        var assembler = new FragmentAssembler<Checker>(new Checker(), pub.Log.MaxMessageLength);
        long resumed = 0;
        Assert.True(RunUntil(pub, sub, () => resumed > 100, 10, () =>
        {
            sub.Poll(ref assembler, 64);
            if (pub.Offer(message) > 0) resumed++;
        }), "the publisher never resumed after the subscriber polled");
        Assert.True(pub.Position > stuckAt);
        Assert.True(pub.Counters.BackPressureEvents > 0);
    }

    [Fact]
    public void End_of_stream_makes_the_image_unavailable_and_a_restarted_publisher_is_a_new_image()
    {
        var (pub, sub, listener) = Connect();
        using var _s = sub;
        var assembler = new FragmentAssembler<Checker>(new Checker(), pub.Log.MaxMessageLength);
        Assert.True(pub.Offer(new byte[64]) > 0);
        int firstSession = pub.Log.SessionId;
        pub.Close();
        Assert.Equal(OfferResult.Closed, pub.Offer(new byte[8]));
        Assert.True(RunUntil(pub, sub, () => listener.Unavailable == 1, 3, () => sub.Poll(ref assembler, 10)), "no image-unavailable after EOS");
        Assert.Equal(1, assembler.Handler.Received);
        Assert.True(RunUntil(pub, sub, () => pub.IsClosed, 6), "the closed publication did not finish lingering");
        pub.Dispose();

        using var restarted = NetworkPublication.Create(sub.LocalEndPoint, 9, 64 * 1024);
        Assert.NotEqual(firstSession, restarted.Log.SessionId);
        Assert.True(RunUntil(restarted, sub, () => listener.Available == 2 && restarted.IsConnected, 5), "restarted publisher got no new image");
        Assert.Equal(restarted.Log.SessionId, sub.ImageAt(0).SessionId);
    }

    [Fact]
    public void Claimed_messages_arrive_in_order_and_aborted_claims_never_arrive()
    {
        var (pub, sub, _) = Connect();
        using var _p = pub;
        using var _s = sub;
        var assembler = new FragmentAssembler<Checker>(new Checker { Lengths = [] }, pub.Log.MaxMessageLength);
        var rng = new Random(3);
        int committed = 0, aborted = 0;
        var claim = default(BufferClaim);
        bool finished = RunUntil(pub, sub, () => assembler.Handler.Received >= 5_000, 30, () =>
        {
            while (committed < 5_000)
            {
                int length = rng.Next(8, pub.Log.MaxPayloadLength + 1);
                if (pub.TryClaim(length, ref claim) < 0) break;
                if (rng.Next(4) == 0)
                {
                    claim.Abort();
                    aborted++;
                    continue;
                }
                Fill(Scratch, length, committed); // the checker's pattern, encoded in place
                Scratch.AsSpan(0, length).CopyTo(claim.Buffer);
                claim.Commit();
                committed++;
            }
            sub.Poll(ref assembler, 256);
        });
        Assert.True(finished && assembler.Handler.Errors == 0, $"received {assembler.Handler.Received} errors {assembler.Handler.Errors}; {Describe(pub, sub)}");
        Assert.True(aborted > 1000, "aborts were interleaved");
        Assert.Equal(5_000, assembler.Handler.Received);
    }

    private static readonly byte[] Scratch = new byte[64 * 1024];

    [Fact]
    public void A_restarted_subscriber_gets_the_publication_back_through_its_heartbeats()
    {
        var (pub, sub, _) = Connect();
        using var _p = pub;
        var endpoint = sub.LocalEndPoint;
        sub.Close(); // EOS SMs: the publication has no receiver now
        sub.Dispose();
        long deadline = NanoClock.Now + 2_000_000_000;
        while (pub.IsConnected && NanoClock.Now < deadline) pub.DoWork(NanoClock.Now);
        Assert.False(pub.IsConnected);
        Assert.Equal(OfferResult.NotConnected, pub.Offer(new byte[8]));

        // A new subscriber on the same endpoint hears heartbeats from an unknown session, asks for a
        // SETUP, gets one and joins at the publication's position; messages flow again.
        var listener = new Listener();
        using var restarted = new NetworkSubscription(endpoint, 9, listener);
        Assert.True(RunUntil(pub, restarted, () => pub.IsConnected && listener.Available == 1, 5), "the publication never came back");
        Assert.True(restarted.Counters.SetupsElicited >= 1);
        var (received, errors, _) = Send(pub, restarted, [100, 2000, 8], 5);
        Assert.Equal(3, received);
        Assert.Equal(0, errors);
    }

    [Fact]
    public void After_an_image_ends_stray_packets_from_its_session_do_not_bring_it_back_until_the_cool_down_ends()
    {
        var (pub, sub, listener) = Connect();
        using var _p = pub;
        using var _s = sub;
        pub.Close();
        Assert.True(RunUntil(pub, sub, () => listener.Unavailable == 1 && pub.IsClosed, 6), "no clean end of stream");
        long elicitedBefore = sub.Counters.SetupsElicited;
        var to = sub.LocalEndPoint.Serialize();

        // From the same source: an EOS heartbeat, a SETUP and a plain heartbeat of the ended session.
        var frame = new byte[40];
        void Heartbeat(byte flags)
        {
            _ = new Protocol.DataFrame(frame.AsSpan(0, 32)) { TermOffset = 0, SessionId = pub.Log.SessionId, StreamId = 9, TermId = pub.Log.InitialTermId };
            _ = new Protocol.FrameHeader(frame) { FrameLength = 0, Version = 0, Flags = flags, Type = Protocol.FrameType.Data };
            pub.Channel.Send(frame.AsSpan(0, 32), to);
        }
        void Setup()
        {
            _ = new Protocol.SetupFrame(frame)
            {
                TermOffset = 0, SessionId = pub.Log.SessionId, StreamId = 9, InitialTermId = pub.Log.InitialTermId,
                ActiveTermId = pub.Log.InitialTermId, TermLength = 64 * 1024, Mtu = 1408, Ttl = 0,
            };
            _ = new Protocol.FrameHeader(frame) { FrameLength = 40, Version = 0, Flags = 0, Type = Protocol.FrameType.Setup };
            pub.Channel.Send(frame, to);
        }
        void Drain()
        {
            long until = NanoClock.Now + 50_000_000;
            while (NanoClock.Now < until) sub.DoWork(NanoClock.Now);
        }

        Heartbeat(Protocol.FrameFlags.Unfragmented | Protocol.FrameFlags.EndOfStream);
        Setup();
        Heartbeat(Protocol.FrameFlags.Unfragmented);
        Drain();
        Assert.Equal(elicitedBefore, sub.Counters.SetupsElicited);
        Assert.Equal(1, sub.Counters.SetupsIgnoredInCoolDown);
        Assert.Equal(0, sub.ImageCount);

        Thread.Sleep((int)(NetworkSubscription.CoolDownNs / 1_000_000) + 100);
        Heartbeat(Protocol.FrameFlags.Unfragmented | Protocol.FrameFlags.EndOfStream);
        Drain();
        Assert.Equal(elicitedBefore, sub.Counters.SetupsElicited); // an ending stream is never asked back
        Heartbeat(Protocol.FrameFlags.Unfragmented);
        Drain();
        Assert.Equal(elicitedBefore + 1, sub.Counters.SetupsElicited); // after the cool-down, a live one is
    }

    [Fact]
    public void Offers_before_connection_and_oversized_messages_get_codes_not_exceptions()
    {
        using var pub = NetworkPublication.Create(NextEndpoint(), 9, 64 * 1024);
        Assert.Equal(OfferResult.NotConnected, pub.Offer(new byte[8]));
        pub.DoWork(NanoClock.Now);
        Assert.Equal(1, pub.Counters.SetupsSent);
        var (connected, sub, _) = Connect();
        using var _c = connected;
        using var _s = sub;
        Assert.Equal(OfferResult.MessageTooLong, connected.Offer(new byte[connected.Log.MaxMessageLength + 1]));
    }
}

/// <summary>Offer, the duty cycles over real sockets, and Poll allocate nothing in steady state.</summary>
[Collection("loopback")]
public sealed class DriverAllocationTests
{
    private struct Counting : IFragmentHandler
    {
        public long Fragments;
        public void OnFragment(ReadOnlySpan<byte> payload, in FragmentHeader header) => Fragments++;
    }

    [Theory]
    [InlineData(DatagramIo.Native, 0, false)]
    [InlineData(DatagramIo.Managed, 1, false)]
    [InlineData(DatagramIo.Native, 2, true)]
    public void Offer_duty_cycles_and_poll_allocate_zero_bytes_once_warm(DatagramIo io, int portOffset, bool throughDriver)
    {
        // Either the bare publication and subscription, or the same through an invoker-mode driver
        // whose conductor also publishes a counters file every 100 ms.
        var countersPath = Path.Combine(Path.GetTempPath(), $"aivora-alloc-{Environment.ProcessId}-{portOffset}.dat");
        using var deleteCounters = new DeleteOnDispose(countersPath); // declared first: runs after the driver's disposal
        var channel = $"aeron:udp?endpoint=127.0.0.1:{43_000 + portOffset + Environment.ProcessId % 2000 * 3}|term-length=64k";
        using var driver = throughDriver ? MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker, Io = io, CountersPath = countersPath }) : null;
        var endpoint = Uri.ChannelUri.Parse(channel).Endpoint!;
        using var bareSub = throughDriver ? null : new NetworkSubscription(endpoint, 3, io: io);
        using var barePub = throughDriver ? null : NetworkPublication.Create(endpoint, 3, 64 * 1024, io: io);
        var sub = bareSub ?? driver!.AddSubscription(channel, 3);
        var pub = barePub ?? driver!.AddPublication(channel, 3);
        var handler = new Counting();
        var message = new byte[32];
        var claim = default(BufferClaim);
        long sent = 0;

        void Run(int offers)
        {
            long deadline = NanoClock.Now + 20_000_000_000;
            long target = sent + offers;
            while ((sent < target || handler.Fragments < sent) && NanoClock.Now < deadline)
            {
                long now = NanoClock.Now;
                if (sent < target)
                {
                    // Alternate the two ways in: Offer, and TryClaim + Commit.
                    if ((sent & 1) == 0 && pub.Offer(message) > 0)
                    {
                        sent++;
                    }
                    else if ((sent & 1) == 1 && pub.TryClaim(message.Length, ref claim) > 0)
                    {
                        message.CopyTo(claim.Buffer);
                        claim.Commit();
                        sent++;
                    }
                }
                if (driver is null)
                {
                    pub.DoWork(now);
                    sub.DoWork(now);
                }
                else
                {
                    driver.DoWork();
                }
                sub.Poll(ref handler, 64);
            }
        }

        Run(100_000); // handshake, JIT tiers, term rotations

        // Tiered PGO instruments methods on their way to tier 1 and may allocate a one-off 56 B on the
        // calling thread (gone with DOTNET_TieredPGO=0, checked by hand); on a loaded machine that can
        // land in any early round. So: every round stays under a one-off's size (a per-message
        // allocation would be megabytes), and two consecutive rounds must be exactly zero.
        var rounds = new List<long>();
        int consecutiveZero = 0;
        while (consecutiveZero < 2 && rounds.Count < 10)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Run(50_000);
            rounds.Add(GC.GetAllocatedBytesForCurrentThread() - before);
            consecutiveZero = rounds[^1] == 0 ? consecutiveZero + 1 : 0;
        }

        Assert.Equal(sent, handler.Fragments);
        if (driver is not null) Assert.Contains(Counters.CountersReader.Read(countersPath).Records, r => r.Kind == Counters.CounterKind.Image && r.Values["frames_delivered"] > 0);
        Assert.True(consecutiveZero == 2 && rounds.All(bytes => bytes < 1024), $"bytes allocated per 50,000-message round: {string.Join(' ', rounds)}");
    }
}

internal sealed class DeleteOnDispose(string path) : IDisposable
{
    public void Dispose() => File.Delete(path);
}
