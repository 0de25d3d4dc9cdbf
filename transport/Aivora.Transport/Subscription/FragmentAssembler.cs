using Aivora.Transport.Protocol;

namespace Aivora.Transport.Subscription;

/// <summary>
/// Joins BEGIN…END fragments into whole messages, in position order; unfragmented messages pass
/// straight through without a copy. The buffer is sized once to the stream's maximum message
/// length, so reassembly never allocates. A middle or end fragment with no BEGIN before it (a
/// late join mid-message), or not adjacent to the fragment before it (a gap an unreliable stream
/// gave up), is dropped with the partial message and counted: a message is whole or not delivered.
/// </summary>
public struct FragmentAssembler<THandler> : IFragmentHandler where THandler : struct, IMessageHandler
{
    private readonly byte[] _buffer;
    private int _length, _termId, _nextTermOffset;
    private bool _assembling;

    public THandler Handler;
    /// <summary>Fragments dropped because their message's BEGIN was never seen.</summary>
    public long OrphanFragments;

    public FragmentAssembler(THandler handler, int maxMessageLength)
    {
        Handler = handler;
        _buffer = new byte[maxMessageLength];
    }

    public void OnFragment(ReadOnlySpan<byte> payload, in FragmentHeader header)
    {
        byte flags = header.Flags;
        if ((flags & FrameFlags.Unfragmented) == FrameFlags.Unfragmented)
        {
            _assembling = false;
            Handler.OnMessage(payload, header);
            return;
        }

        if ((flags & FrameFlags.Begin) != 0)
        {
            _assembling = true;
            _length = 0;
        }
        else if (!_assembling || header.TermId != _termId || header.TermOffset != _nextTermOffset)
        {
            _assembling = false;
            OrphanFragments++;
            return;
        }

        if (payload.Length > _buffer.Length - _length)
        {
            _assembling = false; // longer than any legal message: drop it rather than overrun
            OrphanFragments++;
            return;
        }
        payload.CopyTo(_buffer.AsSpan(_length));
        _length += payload.Length;
        _termId = header.TermId;
        _nextTermOffset = header.TermOffset + FrameLayout.Align(FrameLayout.DataHeaderLength + payload.Length);

        if ((flags & FrameFlags.End) != 0)
        {
            _assembling = false;
            Handler.OnMessage(_buffer.AsSpan(0, _length), header);
        }
    }
}
