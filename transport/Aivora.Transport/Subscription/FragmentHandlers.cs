namespace Aivora.Transport.Subscription;

/// <summary>What a fragment carries besides its payload.</summary>
public readonly record struct FragmentHeader(int SessionId, int StreamId, int TermId, int TermOffset, byte Flags, long ReservedValue);

/// <summary>
/// Receives fragments from <see cref="Image.Poll{THandler}"/>. Implement it on a struct and pass it
/// by reference: the call is devirtualised and nothing is allocated (no delegate, no closure).
/// </summary>
public interface IFragmentHandler
{
    void OnFragment(ReadOnlySpan<byte> payload, in FragmentHeader header);
}

/// <summary>Receives whole messages from a <see cref="FragmentAssembler{THandler}"/>.</summary>
public interface IMessageHandler
{
    void OnMessage(ReadOnlySpan<byte> message, in FragmentHeader header);
}
