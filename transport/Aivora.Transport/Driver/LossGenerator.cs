using System.Net;

namespace Aivora.Transport.Driver;

/// <summary>
/// Seeded receive-side loss injection, as Aeron's loss generators: each datagram is dropped,
/// duplicated or held back behind the next one (reordered), each with its own rate.
/// Deterministic for a seed; for tests only.
/// </summary>
public sealed class LossGenerator(int seed, double dropRate, double duplicateRate = 0, double reorderRate = 0)
{
    private readonly Random _random = new(seed);
    private readonly byte[] _held = new byte[64 * 1024];
    private readonly SocketAddress _heldSource = new(System.Net.Sockets.AddressFamily.InterNetwork);
    private int _heldLength;
    private bool _releaseHeld;

    public long Dropped { get; private set; }
    internal bool HasHeld => _releaseHeld && _heldLength > 0;
    public long Duplicated { get; private set; }
    public long Reordered { get; private set; }

    /// <summary>Decides the fate of a received datagram: false to drop it (or hold it back for later).</summary>
    internal bool Accept(Span<byte> datagram, SocketAddress source)
    {
        double roll = _random.NextDouble();
        if (roll < dropRate)
        {
            Dropped++;
            return false;
        }
        if (_heldLength == 0 && roll < dropRate + reorderRate)
        {
            Reordered++;
            datagram.CopyTo(_held);
            _heldLength = datagram.Length;
            source.Buffer.Span.CopyTo(_heldSource.Buffer.Span);
            _releaseHeld = false;
            return false;
        }
        if (_heldLength == 0 && roll < dropRate + reorderRate + duplicateRate)
        {
            Duplicated++;
            datagram.CopyTo(_held);
            _heldLength = datagram.Length;
            source.Buffer.Span.CopyTo(_heldSource.Buffer.Span);
        }
        _releaseHeld = _heldLength > 0;
        return true;
    }

    /// <summary>Hands back a held (reordered or duplicated) datagram once a later one has gone through; valid until the next <see cref="Accept"/>.</summary>
    internal bool TryTakeHeld(out Span<byte> datagram, out SocketAddress source)
    {
        source = _heldSource;
        if (!_releaseHeld || _heldLength == 0)
        {
            datagram = default;
            return false;
        }
        datagram = _held.AsSpan(0, _heldLength);
        _heldLength = 0;
        _releaseHeld = false;
        return true;
    }
}
