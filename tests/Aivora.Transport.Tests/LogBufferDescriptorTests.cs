using Aivora.Transport.LogBuffer;

namespace Aivora.Transport.Tests;

public sealed class LogBufferDescriptorTests
{
    [Fact]
    public void Positions_round_trip_through_wrapping_term_ids()
    {
        // Capture 2's stream: negative initial term id, 16 MiB terms.
        const int initial = -543498248, termLength = 16 * 1024 * 1024;
        int bits = LogBufferDescriptor.PositionBitsToShift(termLength);
        Assert.Equal(24, bits);
        Assert.Equal(25056, LogBufferDescriptor.ComputePosition(initial, 25056, bits, initial));

        // A stream that starts just below int.MaxValue wraps into negative term ids and keeps counting.
        const int nearMax = int.MaxValue - 1;
        long position = LogBufferDescriptor.ComputePosition(int.MinValue + 1, 64, bits, nearMax);
        Assert.Equal(3L * termLength + 64, position);
        Assert.Equal(int.MinValue + 1, LogBufferDescriptor.TermId(position, bits, nearMax));
        Assert.Equal(64, LogBufferDescriptor.TermOffset(position, termLength));
        Assert.Equal(0, LogBufferDescriptor.PartitionIndex(int.MinValue + 1, nearMax));
    }

    [Theory]
    [InlineData(0, 32)]
    [InlineData(5, 64)]
    [InlineData(1000, 1056)]
    [InlineData(1376, 1408)]
    [InlineData(1377, 1408 + 64)]
    [InlineData(10 * 1376, 10 * 1408)]
    public void Framed_lengths_match_aerons_formula(int messageLength, int framed) =>
        Assert.Equal(framed, LogBufferDescriptor.FramedLength(messageLength, 1376));

    [Theory]
    [InlineData(64 * 1024, 8 * 1024)]
    [InlineData(16 * 1024 * 1024, 2 * 1024 * 1024)]
    [InlineData(1024 * 1024 * 1024, 16 * 1024 * 1024)]
    public void Max_message_length_is_an_eighth_of_the_term_capped_at_16_MiB(int termLength, int max) =>
        Assert.Equal(max, LogBufferDescriptor.MaxMessageLength(termLength));
}
