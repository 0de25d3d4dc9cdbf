using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Instruments;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Core.Reference;

namespace Aivora.Core.Tests;

/// <summary>
/// Prices anywhere in the instrument's range: orders spread ±200,000 ticks around a price that moves,
/// so levels live both in the ladder's window and outside it (its overflow), and the window re-centres
/// as the book empties and refills; sweeps cross from one into the other. Event by event against the
/// reference book, with the engine's invariants (ladder order and key lookups included) checked as it goes.
/// </summary>
public sealed class FarPriceDifferentialTests
{
    private static readonly InstrumentSpec Wide = new()
    {
        Id = 1, Symbol = "WIDE", TickSize = 1, LotSize = 1, MinQuantity = 1, MaxQuantity = 1_000, MaxNotional = long.MaxValue,
        Band = PriceBand.InTicks(0), ReferencePriceTicks = 0,   // no band: every price is allowed
    };

    [Theory]
    [InlineData(21, 200_000)]
    [InlineData(22, 40_000)]   // straddles the window's edge (±32,768)
    public void ShouldMatchTheReferenceBookWithLevelsInsideAndOutsideTheWindow(int seed, int spread) =>
        MatchTheReferenceWithLevelsSpread(seed, spread, 60_000);

    /// <summary>The wide flow (see the class): <paramref name="commands"/> commands, orders up to <paramref name="spread"/>
    /// ticks from a centre that jumps up to ±300,000 ticks every 5,000; every event against the reference book's.</summary>
    internal static void MatchTheReferenceWithLevelsSpread(int seed, int spread, int commands)
    {
        var books = new Differential();
        var random = new Random(seed);
        var live = new List<long>();
        var centre = 5_000_000L;
        long clientOrderId = 1;
        for (var i = 0; i < commands; i++)
        {
            if (i % 5_000 == 0) centre += random.Next(-300_000, 300_000);
            EngineCommand c;
            var roll = random.Next(100);
            if (roll < 20 && live.Count > 0)
            {
                var index = random.Next(live.Count);
                c = EngineCommand.Cancel(i, 1 + (int)(live[index] % 16), 0, live[index]);
                live[index] = live[^1];
                live.RemoveAt(live.Count - 1);
            }
            else if (roll < 30)
            {
                // A sweep through many levels, inside and outside the window.
                var side = random.Next(2) == 0 ? Side.Buy : Side.Sell;
                var reach = random.Next(spread);
                c = EngineCommand.Limit(i, 1 + random.Next(16), 1, 0, side, side == Side.Buy ? centre + reach : centre - reach, 1 + random.Next(200), TimeInForce.Ioc);
            }
            else
            {
                var side = random.Next(2) == 0 ? Side.Buy : Side.Sell;
                var offset = random.Next(-spread / 50, spread);
                var id = clientOrderId++;
                var account = 1 + (int)(id % 16);
                c = EngineCommand.Limit(i, account, 1, id, side, Math.Max(1, side == Side.Buy ? centre - offset : centre + offset), 1 + random.Next(20));
                live.Add(id);
            }

            books.Run(in c);
        }

        books.AssertSameEnd();
    }

    [Fact]
    public void ShouldMatchTheReferenceBookAsTheMarketDriftsAwayFromStaleOrders()
    {
        // One order a side rests where the market started and is never touched; the market trends up by ~20 ticks an
        // operation (1.2 M ticks in all), ±900 ticks wide, with sweeps: the windows must keep moving to the market while the
        // stale orders stay in the overflow, and every event must be the reference book's.
        var books = new Differential();
        var engine = books.Engine;
        var random = new Random(23);
        var live = new List<long>();
        var centre = 5_000_000L;
        long clientOrderId = 1;

        books.Run(EngineCommand.Limit(0, 1, 1, clientOrderId++, Side.Buy, centre - 300_000, 5));    // the stale orders
        books.Run(EngineCommand.Limit(0, 2, 1, clientOrderId++, Side.Sell, centre + 3_000_000, 5));
        for (var i = 1; i < 60_000; i++)
        {
            centre += random.Next(0, 40);
            var roll = random.Next(100);
            if (roll < 25 && live.Count > 0)
            {
                var index = random.Next(live.Count);
                books.Run(EngineCommand.Cancel(i, 1 + (int)(live[index] % 16), 0, live[index]));
                live[index] = live[^1];
                live.RemoveAt(live.Count - 1);
            }
            else if (roll < 32)
            {
                var side = random.Next(2) == 0 ? Side.Buy : Side.Sell;
                var reach = random.Next(600);
                books.Run(EngineCommand.Limit(i, 1 + random.Next(16), 1, 0, side, side == Side.Buy ? centre + reach : centre - reach, 1 + random.Next(100), TimeInForce.Ioc));
            }
            else
            {
                var side = random.Next(2) == 0 ? Side.Buy : Side.Sell;
                var offset = random.Next(-20, 900);
                var id = clientOrderId++;
                books.Run(EngineCommand.Limit(i, 1 + (int)(id % 16), 1, id, side, side == Side.Buy ? centre - offset : centre + offset, 1 + random.Next(20)));
                live.Add(id);
            }
        }

        books.AssertSameEnd();
        Assert.True(engine.LevelsMovedAcrossWindows(1) > 1_000, $"the windows moved {engine.LevelsMovedAcrossWindows(1)} levels: they must follow the market");
        Assert.Contains(engine.RestingOrders(1, Side.Buy), o => o.PriceTicks == 4_700_000);    // the stale orders still rest
        Assert.Contains(engine.RestingOrders(1, Side.Sell), o => o.PriceTicks == 8_000_000);
    }

    /// <summary>The engine and the reference book on the wide instrument, fed the same commands: every command's events must be
    /// the reference's, the engine's invariants (ladder order and key lookups included) hold every 2,000 commands, and
    /// <see cref="AssertSameEnd"/> checks them and the state hash at the end.</summary>
    private sealed class Differential
    {
        private readonly List<EngineEvent> _engineEvents = [];
        private readonly List<EngineEvent> _referenceEvents = [];
        private readonly ReferenceBook _reference;
        private int _commands;

        public Differential()
        {
            var config = new EngineConfig { Instruments = [Wide], MaxRestingOrders = 8_192, MaxPriceLevelsPerSide = 4_096, MaxAccounts = 64 };
            Engine = new MatchingEngine<RecordingSink, TrackedPositions>(config, new RecordingSink(_engineEvents), new TrackedPositions(new PositionTracker()));
            _reference = new ReferenceBook(config, new PositionTracker(), _referenceEvents.Add);
        }

        public MatchingEngine<RecordingSink, TrackedPositions> Engine { get; }

        public void Run(in EngineCommand c)
        {
            _engineEvents.Clear();
            _referenceEvents.Clear();
            Engine.Process(in c);
            _reference.Process(c);
            Assert.Equal(_referenceEvents, _engineEvents);
            if (++_commands % 2_000 == 0)
            {
                Assert.Null(Engine.ValidateInvariants());
            }
        }

        public void AssertSameEnd()
        {
            Assert.Null(Engine.ValidateInvariants());
            Assert.Equal(_reference.StateHash(), Engine.StateHash());
        }
    }
}
