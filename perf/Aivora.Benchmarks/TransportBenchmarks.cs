using Aivora.Transport.LogBuffer;
using Aivora.Transport.Subscription;
using BenchmarkDotNet.Attributes;

namespace Aivora.Benchmarks;

/// <summary>
/// The transport's per-message CPU cost with the network taken out: writing into the publication
/// log (Offer's core, TryClaim + Commit), and a message's whole trip through the log structures
/// (append, cut into a datagram, rebuild into an image, poll it out; fragmented messages through
/// the assembler). Terms are 64 KiB, so rotation and clearing are in the figures, amortised.
/// Run: <c>dotnet run -c Release --project perf/Aivora.Benchmarks -- --filter '*Transport*'</c>.
/// </summary>
[MemoryDiagnoser]
public class TransportBenchmarks
{
    private const int TermLength = 64 * 1024;
    private readonly byte[] _small = new byte[32];
    private readonly byte[] _large = new byte[4_000]; // three fragments at the default MTU
    private PublicationLog _log = null!;
    private Image _image = null!;
    private FragmentAssembler<Count> _assembler;
    private long _sent;

    private struct Count : IMessageHandler, IFragmentHandler
    {
        public long Messages;
        public void OnMessage(ReadOnlySpan<byte> message, in FragmentHeader header) => Messages++;
        public void OnFragment(ReadOnlySpan<byte> payload, in FragmentHeader header) => Messages++;
    }

    [GlobalSetup]
    public void Setup()
    {
        _log = new PublicationLog(sessionId: 7, streamId: 1, initialTermId: 100, TermLength, mtu: 1408);
        _image = new Image(7, 1, 100, 100, 0, TermLength);
        _assembler = new FragmentAssembler<Count>(default, _log.MaxMessageLength);
        _sent = 0;
    }

    [Benchmark]
    public long Append32() => _log.Append(_small);

    [Benchmark]
    public long ClaimCommit32()
    {
        var claim = default(BufferClaim);
        long position = _log.Claim(32, ref claim);
        _small.CopyTo(claim.Buffer);
        claim.Commit();
        return position;
    }

    [Benchmark]
    public long LogToImage32() => Through(_small);

    [Benchmark]
    public long LogToImageFragmented4000() => Through(_large);

    // Append, then carry the new bytes as the sender would (datagrams up to the MTU) into the image,
    // and poll them out whole. The image's consumption keeps the log inside its window.
    private long Through(byte[] message)
    {
        long from = _log.TailPosition;
        _log.Append(message);
        for (long position = from; position < _log.TailPosition;)
        {
            var datagram = _log.NextDatagram(position, 1408, out int advance);
            _image.OnDataPacket(datagram);
            position += advance;
        }
        _image.Poll(ref _assembler, int.MaxValue);
        return ++_sent;
    }
}
