using Aivora.Core.Events;
using Aivora.Core.Matching;

namespace Aivora.Core.Tests;

public sealed class EngineConfigTests
{
    [Theory]
    [InlineData("duplicate", "duplicate instrument id 1")]
    [InlineData("zero tick", "TickSize must be positive")]
    [InlineData("min above max", "MinQuantity")]
    [InlineData("instrument id 0", "id must be positive")]
    [InlineData("no capacity", "capacities must be positive")]
    public void ShouldRefuseToStartWithClearMessageWhenConfigIsInvalid(string problem, string message)
    {
        var good = EngineHarness.DefaultSpec;
        var config = problem switch
        {
            "duplicate" => new EngineConfig { Instruments = [good, good with { Symbol = "X" }] },
            "zero tick" => new EngineConfig { Instruments = [good with { TickSize = 0 }] },
            "min above max" => new EngineConfig { Instruments = [good with { MinQuantity = 10, MaxQuantity = 5 }] },
            "instrument id 0" => new EngineConfig { Instruments = [good with { Id = 0 }] },
            _ => new EngineConfig { Instruments = [good], MaxRestingOrders = 0 },
        };

        var error = Assert.Throws<ArgumentException>(() => new MatchingEngine<CountingSink, NoPositions>(config));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
