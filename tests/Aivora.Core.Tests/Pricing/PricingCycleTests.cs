using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Orders;
using Aivora.Core.Pricing;
using Aivora.Core.Reference;
using Aivora.Core.Risk;
using Aivora.Core.Tests.Flows;
using Aivora.Core.Tests.Risk;
using Aivora.Core.Exchange;

namespace Aivora.Core.Tests.Pricing;

/// <summary>Feeds → index → mark → margin, bands and triggers; premium sampling and funding settlement, all on engine time.</summary>
public sealed class PricingCycleTests
{
    private const long Second = 1_000_000_000;
    private const long Usdt = 1_000_000;

    private sealed class Venue
    {
        public readonly List<EngineEvent> Events = [];
        public readonly PerpStateMachine<RecordingSink> Risk;

        public Venue()
        {
            var ledger = new Ledger([new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) }], 64);
            var config = CommandFlowGenerator.Config(1_000, 200, 64) with
            {
                Instruments = [CommandFlowGenerator.Instruments[0] with { MaxQuantity = 1_000_000, MaxNotional = long.MaxValue }],
            };
            var pricing = new InstrumentPricingConfig
            {
                InstrumentId = 1,
                Index = new IndexConfig { Sources = [new IndexSource(1, 1), new IndexSource(2, 1), new IndexSource(3, 1)], MinSources = 2, StaleAfterNs = 10 * Second },
                FundingIntervalNs = 3_600 * Second,
                FirstFundingTimeNs = 3_600 * Second,
                PremiumSampleIntervalNs = 5 * Second,
                ImpactNotional = 100 * Usdt,
            };
            Risk = new PerpStateMachine<RecordingSink>(config, ledger, new RiskLimits(), new RecordingSink(Events), [pricing]);
            for (var a = 1; a <= 4; a++)
            {
                ledger.Deposit(a, 100_000 * Usdt);
            }
        }

        public List<EngineEvent> Send(EngineCommand c)
        {
            Events.Clear();
            Risk.Process(in c);
            return [.. Events];
        }

        public void FeedAll(long nowNs, long price)
        {
            Send(EngineCommand.Feed(nowNs, 1, 1, price));
            Send(EngineCommand.Feed(nowNs, 1, 2, price));
            Send(EngineCommand.Feed(nowNs, 1, 3, price));
        }
    }

    [Fact]
    public void ShouldTurnFeedsIntoIndexAndMarkAndMoveTheBandsWithTheMark()
    {
        var v = new Venue();

        v.FeedAll(Second, 10_200);

        var prices = v.Risk.Pricing(1)!;
        Assert.Equal((IndexState.Healthy, 10_200L), (prices.LastIndex.State, prices.LastIndex.PriceTicks));
        // No basis sample or trade yet: mark = P1 = index × (1 + 0.01% predicted × 3,599 s / 3,600 s) = 10,201.02
        Assert.Equal(10_201, prices.MarkTicks);
        Assert.Equal(10_201, v.Risk.Ledger.MarkOf(1));
        Assert.Equal(10_201, v.Risk.Engine.ReferencePrice(1));   // bands are relative to mark
    }

    [Fact]
    public void ShouldGateNewExposureAndFreezeTheMarkWhenFeedersGoSilent()
    {
        var v = new Venue();
        v.FeedAll(Second, 10_000);
        v.Send(EngineCommand.Feed(20 * Second, 1, 1, 9_000));   // sources 2 and 3 silent for 19 s: one source left

        Assert.Equal(IndexState.Stale, v.Risk.Pricing(1)!.LastIndex.State);
        var frozen = v.Risk.Ledger.MarkOf(1);
        Assert.InRange(frozen, 10_000, 10_002);                  // the mark from the healthy index, frozen: not 9,000
        var order = v.Send(EngineCommand.Limit(21 * Second, 1, 1, 0, Side.Buy, 10_000, 1));
        Assert.Equal(RejectReason.IndexStale, (RejectReason)Assert.Single(order, e => e.Kind == EventKind.OrderRejected).Reason);
        var unknown = v.Send(EngineCommand.Feed(22 * Second, 1, 99, 10_000));
        Assert.Equal(RejectReason.UnknownPriceSource, (RejectReason)Assert.Single(unknown, e => e.Kind == EventKind.OrderRejected).Reason);
    }

    [Fact]
    public void ShouldSettleFundingLongsPayShortsWhenTheBookTradesAboveTheIndex()
    {
        var v = new Venue();
        v.FeedAll(Second, 10_000);
        // Account 1 long 500 and account 2 short 500, at the index.
        v.Send(EngineCommand.Limit(2 * Second, 2, 1, 0, Side.Sell, 10_000, 500));
        v.Send(EngineCommand.Limit(2 * Second, 1, 1, 0, Side.Buy, 10_000, 500));
        // The book then sits 1% above the index on both sides: premium ≈ +1%, so the rate is capped at +0.3%.
        v.Send(EngineCommand.Limit(3 * Second, 3, 1, 0, Side.Buy, 10_100, 1_000));
        v.Send(EngineCommand.Limit(3 * Second, 4, 1, 0, Side.Sell, 10_110, 1_000));
        var before1 = v.Risk.Ledger.Balance(1);
        var before2 = v.Risk.Ledger.Balance(2);
        for (var t = 10; t < 3_600; t += 10)
        {
            v.FeedAll(t * Second, 10_000);   // keep the index fresh through the interval
        }

        var settlement = v.Send(EngineCommand.Tick(3_600 * Second));

        var settled = Assert.Single(settlement, e => e.Kind == EventKind.FundingSettled);
        Assert.Equal(300_000, settled.QtyLots);                                  // +0.3% (the cap)
        var paid = before1 - v.Risk.Ledger.Balance(1);
        Assert.Equal(settled.RemainingLots, paid);
        Assert.Equal(paid - settled.OtherRemainingLots, v.Risk.Ledger.Balance(2) - before2);   // shorts receive what longs pay, less the carried residue
        Assert.True(paid > 0);
        Assert.Equal(v.Risk.Ledger.TotalDeposits, v.Risk.Ledger.MoneyInSystem());
        Assert.True(settled.Count >= 700, $"premium samples: {settled.Count}");
    }

    [Fact]
    public void ShouldFireIndexTriggeredStopsWhenTheIndexCrossesButNotOnAStaleIndex()
    {
        var v = new Venue();
        v.FeedAll(Second, 10_000);
        v.Send(EngineCommand.Limit(2 * Second, 2, 1, 0, Side.Buy, 9_900, 100));
        var held = v.Send(EngineCommand.Triggered(2 * Second, 1, 1, 5, Side.Sell, OrderType.StopMarket, triggerPriceTicks: 9_950, qtyLots: 10, source: TriggerSource.Index));
        Assert.Single(held, e => e.Kind == EventKind.StopAccepted);

        // One source alone at 9,900 (the others silent): stale, so the stop must not fire.
        var stale = v.Send(EngineCommand.Feed(20 * Second, 1, 1, 9_900));
        Assert.DoesNotContain(stale, e => e.Kind == EventKind.OrderTriggered);

        var fired = new List<EngineEvent>();
        fired.AddRange(v.Send(EngineCommand.Feed(21 * Second, 1, 2, 9_900)));   // two fresh sources: valid index 9,900
        var triggered = Assert.Single(fired, e => e.Kind == EventKind.OrderTriggered);
        Assert.Equal(((byte)TriggerSource.Index, 9_900L), (triggered.Reason, triggered.Available));
        Assert.Equal(-10, v.Risk.Ledger.PositionOf(1, 1).QtyLots);
    }

    [Fact]
    public void ShouldSettleAtTheNewCapOnceAScheduledCapChangeTakesEffect()
    {
        var v = new Venue();
        v.FeedAll(Second, 10_000);
        v.Send(EngineCommand.Limit(2 * Second, 2, 1, 0, Side.Sell, 10_000, 500));
        v.Send(EngineCommand.Limit(2 * Second, 1, 1, 0, Side.Buy, 10_000, 500));
        v.Send(EngineCommand.Limit(3 * Second, 3, 1, 0, Side.Buy, 10_100, 1_000));
        v.Send(EngineCommand.Limit(3 * Second, 4, 1, 0, Side.Sell, 10_110, 1_000));
        var scheduled = v.Send(EngineCommand.ChangeParameter(4 * Second, 1, RiskParameter.FundingRateCap, 100_000, 1_800 * Second, reasonCode: 7));
        Assert.Equal(300_000, Assert.Single(scheduled, e => e.Kind == EventKind.ParameterScheduled).QtyLots);   // old cap in the event
        for (var t = 10; t < 3_600; t += 10)
        {
            v.FeedAll(t * Second, 10_000);
        }

        var settled = Assert.Single(v.Send(EngineCommand.Tick(3_600 * Second)), e => e.Kind == EventKind.FundingSettled);

        Assert.Equal(100_000, settled.QtyLots);   // +0.1%: the new cap
    }
}
