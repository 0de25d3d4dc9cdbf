using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Exchange;
using Aivora.Core.Pricing;
using Aivora.Core.Risk;
using Aivora.Core.Tests.Flows;
using Aivora.Core.Tests.Risk;
using Aivora.Core.Reference;

namespace Aivora.Core.Tests.Pricing;

/// <summary>
/// The funding schedule on real (epoch) time: a node started years after the schedule's anchor does
/// not settle every interval it "missed" (it settled 122,534 times on the first command before), a node
/// that was down settles once, and an unusable schedule is refused at start with what is wrong.
/// </summary>
public sealed class FundingScheduleTests
{
    private const long Second = 1_000_000_000;
    private const long EightHours = 8 * 3_600 * Second;

    // 2026-11-30 14:00:00 UTC in ns since the epoch: what a wire command carries.
    private const long RealTimeNs = 1_796_047_200 * Second;

    private static (PerpStateMachine<RecordingSink> Machine, List<EngineEvent> Events) Node(InstrumentPricingConfig? pricing = null)
    {
        var events = new List<EngineEvent>();
        var ledger = new Ledger([new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) }], 64);
        var config = CommandFlowGenerator.Config(1_000, 200, 64) with { Instruments = [CommandFlowGenerator.Instruments[0]] };
        pricing ??= Default();
        return (new PerpStateMachine<RecordingSink>(config, ledger, new RiskLimits(), new RecordingSink(events), [pricing]), events);
    }

    private static InstrumentPricingConfig Default() => new()
    {
        InstrumentId = 1,
        Index = new IndexConfig { Sources = [new IndexSource(1, 1), new IndexSource(2, 1), new IndexSource(3, 1)], MinSources = 2 },
        FundingIntervalNs = EightHours,
        FirstFundingTimeNs = EightHours,   // the epoch-aligned grid: 00:00, 08:00, 16:00 UTC
    };

    [Fact]
    public void ShouldNotSettleTheIntervalsBeforeTheFirstCommandWhenTimeIsRealTime()
    {
        var (machine, events) = Node();
        machine.Process(EngineCommand.Tick(RealTimeNs));
        Assert.DoesNotContain(events, e => e.Kind == EventKind.FundingSettled);
        // The next funding time is the next grid point: 16:00 UTC that day.
        Assert.Equal(RealTimeNs + (2 * 3_600 * Second), machine.Pricing(1)!.NextFundingNs);
    }

    [Fact]
    public void ShouldSettleOnceAtEachFundingTimeAndOnceAfterADowntimeThatMissedSeveral()
    {
        var (machine, events) = Node();
        machine.Process(EngineCommand.Tick(RealTimeNs));
        machine.Process(EngineCommand.Tick(RealTimeNs + (2 * 3_600 * Second)));            // 16:00: due
        Assert.Single(events, e => e.Kind == EventKind.FundingSettled);
        events.Clear();
        machine.Process(EngineCommand.Tick(RealTimeNs + (2 * 3_600 * Second) + (3 * EightHours) + Second));   // down for a day
        Assert.Single(events, e => e.Kind == EventKind.FundingSettled);
        Assert.Equal(RealTimeNs + (2 * 3_600 * Second) + (4 * EightHours), machine.Pricing(1)!.NextFundingNs);
    }

    [Theory]
    [InlineData(0L, 5_000_000_000L, "funding interval must be positive")]
    [InlineData(-EightHours, 5_000_000_000L, "funding interval must be positive")]
    [InlineData(EightHours, 0L, "premium sample interval must be positive")]
    [InlineData(60_000_000_000L, 120_000_000_000L, "premium sample interval must be positive and at most the funding interval")]
    public void ShouldRefuseAnUnusableScheduleWithWhatIsWrong(long fundingIntervalNs, long sampleIntervalNs, string expected)
    {
        var bad = Default() with { FundingIntervalNs = fundingIntervalNs, PremiumSampleIntervalNs = sampleIntervalNs };
        var error = Assert.Throws<ArgumentException>(() => Node(bad));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShouldRefuseAnIndexThatCanNeverBeValid()
    {
        var bad = Default() with { Index = new IndexConfig { Sources = [new IndexSource(1, 1), new IndexSource(2, 1)], MinSources = 3 } };
        Assert.Contains("minimum", Assert.Throws<ArgumentException>(() => Node(bad)).Message, StringComparison.Ordinal);
    }
}
