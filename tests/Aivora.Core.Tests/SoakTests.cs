using Aivora.Core.Tests.Flows;
using Xunit.Abstractions;

namespace Aivora.Core.Tests;

/// <summary>Longer differential runs (about a minute on two cores), outside the default run.</summary>
public sealed class SoakTests(ITestOutputHelper output)
{
    [SoakFact]
    [Trait("Category", "Soak")]
    public void ShouldMatchReferenceOverTenMillionCommandsAcrossTwentySeeds()
    {
        for (var seed = 100; seed < 120; seed++)
        {
            var config = (seed % 3) switch
            {
                0 => CommandFlowGenerator.Config(100, 10, 6),
                1 => CommandFlowGenerator.Config(1_000, 200, 32),
                _ => CommandFlowGenerator.Config(20_000, 2_000, 64),
            };
            var outcome = DifferentialRun.Run(seed, 500_000, config, checkEvery: 10_000);
            output.WriteLine($"seed={seed} events={outcome.Events} trades={outcome.Trades} maxLive={outcome.MaxLiveOrders} hash={outcome.FinalStateHash:x16}");
            Assert.True(outcome.Trades > 1_000);
        }
    }
}
