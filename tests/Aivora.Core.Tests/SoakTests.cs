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

    [SoakFact]
    [Trait("Category", "Soak")]
    public void ShouldMatchReferenceWithFarPricesAcrossTenSeeds()
    {
        // The far-price differential, longer and wider: the ladder's windows move, carry levels a few per add, and fill and
        // empty the overflow tree many times over, every event against the reference book's.
        int[] spreads = [40_000, 100_000, 200_000, 400_000];
        for (var seed = 200; seed < 210; seed++)
        {
            FarPriceDifferentialTests.MatchTheReferenceWithLevelsSpread(seed, spreads[seed % spreads.Length], 100_000);
            output.WriteLine($"seed={seed} spread={spreads[seed % spreads.Length]}: 100,000 commands, every event the reference's");
        }
    }
}
