using Aivora.Node;

namespace Aivora.SystemTests;

/// <summary>
/// The main command's market-data line: when the client received fewer messages than the node sent, it says so only when the
/// missing ones are exactly the stream's tail (numbered after the last one the client read); a gap or a drop stays unexplained.
/// </summary>
public sealed class MarketDataLineTests
{
    [Theory]
    [InlineData(1_539, 1_539, 1_537, 1_537, ", 2 published after the client stopped reading")]   // the last two never read
    [InlineData(1_539, 1_539, 1_539, 1_539, "")]                                                  // all read
    [InlineData(1_539, 1_539, 1_537, 1_539, "")]                                                  // two lost before the end: a gap, not a tail
    [InlineData(1_538, 1_539, 1_537, 1_537, "")]                                                  // one dropped by the node, one unread: not only the tail
    [InlineData(5, 5, 0, 0, "")]                                                                  // the client read nothing
    public void ShouldExplainOnlyAnUnreadTail(long sent, long lastSequenceSent, long received, long lastSequenceReceived, string expected) =>
        Assert.Equal(expected, Program.UnreadTail(sent, lastSequenceSent, received, lastSequenceReceived));
}
