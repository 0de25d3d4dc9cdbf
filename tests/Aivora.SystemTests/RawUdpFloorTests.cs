using Aivora.Node.Load;
using HdrHistogram;

namespace Aivora.SystemTests;

/// <summary>
/// The raw UDP floor the node's round trip is read against (loopback, ports the kernel picks). A datagram whose echo never
/// comes back is a lost round trip, counted as such and kept out of the floor's figures: recorded, it read as a 1 s round
/// trip, which moved the floor's p99.9 and max and, in a short run, its p99. Both ends yield when idle: no core is spun.
/// </summary>
public sealed class RawUdpFloorTests
{
    // 200 timed round trips after 40 for warm-up: datagram 100 is a timed one, datagram 10 a warm-up one (not counted either way).
    [Theory]
    [InlineData(100, 1, 199)]
    [InlineData(10, 0, 200)]
    public void ShouldCountATimedRoundTripWhoseEchoIsLostAndKeepItOutOfTheFloor(long dropEchoOf, long lost, long recorded)
    {
        var floor = RawUdpFloor.Measure(200, pingCpu: -1, pongCpu: -1, yieldWhenIdle: true, dropEchoOf: dropEchoOf);

        Assert.Equal(lost, floor.Lost);
        Assert.Equal(recorded, floor.RoundTrips.TotalCount);
        Assert.True(floor.RoundTrips.GetMaxValue() < RawUdpFloor.EchoTimeoutNs / 2, $"max {floor.RoundTrips.GetMaxValue()} ns: the lost round trip was recorded");
    }
}
