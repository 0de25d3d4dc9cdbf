using Aivora.Core.Tests.Flows;
using Xunit.Abstractions;

namespace Aivora.Core.Tests;

/// <summary>
/// The engine against the reference book over 1,000,000+ generated commands (several seeds,
/// tight and roomy capacities): identical events after every command, identical state hashes.
/// </summary>
public sealed class DifferentialTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1, 250_000, 300, 40, 12, 100)]
    [InlineData(2, 250_000, 2_000, 400, 64, 150)]
    [InlineData(3, 250_000, 120, 12, 8, 50)]
    [InlineData(4, 300_000, 10_000, 1_000, 64, 150)]
    public void ShouldProduceIdenticalEventsAndStateWhenReplayingGeneratedFlow(int seed, int commands, int maxResting, int maxLevels, int maxAccounts, int expectedDepth)
    {
        var outcome = DifferentialRun.Run(seed, commands, CommandFlowGenerator.Config(maxResting, maxLevels, maxAccounts));

        output.WriteLine($"seed={seed} commands={outcome.Commands} events={outcome.Events} trades={outcome.Trades} maxLive={outcome.MaxLiveOrders} hash={outcome.FinalStateHash:x16}");
        output.WriteLine(string.Join(Environment.NewLine, outcome.Histogram.Select(kv => $"  {kv.Key}={kv.Value}")));
        Assert.True(outcome.Trades > commands / 50, "the flow should trade");
        Assert.True(outcome.MaxLiveOrders >= expectedDepth, $"the flow should build a book of {expectedDepth}+ orders");
    }

    [Fact]
    public void ShouldReachSameStateHashWhenSameFlowIsReplayedTwice()
    {
        var config = CommandFlowGenerator.Config(500, 100, 16);
        var first = DifferentialRun.Run(11, 20_000, config);
        var second = DifferentialRun.Run(11, 20_000, config);
        var other = DifferentialRun.Run(12, 20_000, config);

        Assert.Equal(first.FinalStateHash, second.FinalStateHash);
        Assert.NotEqual(first.FinalStateHash, other.FinalStateHash);
    }
}
