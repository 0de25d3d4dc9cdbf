using Aivora.Transport.Protocol;

namespace Aivora.Transport.Subscription;

/// <summary>
/// Joins BEGIN…END fragments into whole messages, in position order; unfragmented messages pass
/// straight through without a copy. Reassembly state is kept per publisher session (per image), so
/// fragments of two publishers interleaved by one subscription's poll never mix: up to
/// <see cref="MaxSessions"/> sessions assemble at once, each in its own buffer sized once to the
/// stream's maximum message length (no allocation after construction). A middle or end fragment with
/// no BEGIN before it (a late join mid-message), or not adjacent to the fragment before it (a gap an
/// unreliable stream gave up), is dropped with the partial message and counted: a message is whole or
/// not delivered. When more sessions than slots are mid-message, the one idle longest loses its
/// partial message (counted) to the newcomer. A slot's buffer is allocated the first time a fragmented
/// message uses it (at most <see cref="MaxSessions"/> times in the assembler's life).
/// </summary>
public struct FragmentAssembler<THandler> : IFragmentHandler where THandler : struct, IMessageHandler
{
    /// <summary>Sessions that can be mid-message at once (a subscription holds at most 16 images).</summary>
    public const int MaxSessions = 16;

    private readonly SessionState[] _sessions;
    private readonly int _maxMessageLength;
    private long _fragmentsSeen;

    public THandler Handler;

    /// <summary>Fragments dropped because their message's BEGIN was never seen (or its partial message was evicted).</summary>
    public long OrphanFragments;

    public FragmentAssembler(THandler handler, int maxMessageLength)
    {
        Handler = handler;
        _maxMessageLength = maxMessageLength;
        _sessions = new SessionState[MaxSessions];
        for (int i = 0; i < _sessions.Length; i++)
        {
            _sessions[i] = new SessionState();
        }
    }

    public void OnFragment(ReadOnlySpan<byte> payload, in FragmentHeader header)
    {
        byte flags = header.Flags;
        if ((flags & FrameFlags.Unfragmented) == FrameFlags.Unfragmented)
        {
            var idle = Find(header.SessionId);
            if (idle is not null) idle.Assembling = false;
            Handler.OnMessage(payload, header);
            return;
        }

        _fragmentsSeen++;
        SessionState? state;
        if ((flags & FrameFlags.Begin) != 0)
        {
            state = Find(header.SessionId) ?? Claim(header.SessionId);
            state.Assembling = true;
            state.Length = 0;
        }
        else
        {
            state = Find(header.SessionId);
            if (state is null || !state.Assembling || header.TermId != state.TermId || header.TermOffset != state.NextTermOffset)
            {
                if (state is not null) state.Assembling = false;
                OrphanFragments++;
                return;
            }
        }

        state.LastUsed = _fragmentsSeen;
        if (payload.Length > _maxMessageLength - state.Length)
        {
            state.Assembling = false; // longer than any legal message: drop it rather than overrun
            OrphanFragments++;
            return;
        }

        payload.CopyTo(state.Buffer.AsSpan(state.Length));
        state.Length += payload.Length;
        state.TermId = header.TermId;
        state.NextTermOffset = header.TermOffset + FrameLayout.Align(FrameLayout.DataHeaderLength + payload.Length);

        if ((flags & FrameFlags.End) != 0)
        {
            state.Assembling = false;
            Handler.OnMessage(state.Buffer.AsSpan(0, state.Length), header);
        }
    }

    private readonly SessionState? Find(int sessionId)
    {
        var sessions = _sessions;
        for (int i = 0; i < sessions.Length; i++)
        {
            if (sessions[i].InUse && sessions[i].SessionId == sessionId) return sessions[i];
        }

        return null;
    }

    // A free slot, else one not mid-message, else the one idle longest (its partial message is lost).
    private SessionState Claim(int sessionId)
    {
        SessionState? victim = null;
        foreach (var s in _sessions)
        {
            if (!s.InUse)
            {
                victim = s;
                break;
            }

            if (victim is null || (!s.Assembling && victim.Assembling) || (s.Assembling == victim.Assembling && s.LastUsed < victim.LastUsed))
            {
                victim = s;
            }
        }

        if (victim!.InUse && victim.Assembling) OrphanFragments++;
        victim.Buffer ??= new byte[_maxMessageLength];
        victim.InUse = true;
        victim.SessionId = sessionId;
        victim.Assembling = false;
        victim.Length = 0;
        return victim;
    }

    private sealed class SessionState
    {
        public byte[]? Buffer;
        public bool InUse, Assembling;
        public int SessionId, Length, TermId, NextTermOffset;
        public long LastUsed;
    }
}
