using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Core.Reference;
using Aivora.Core.Tests.Flows;

namespace Aivora.Core.Tests;

/// <summary>After warm-up the engine allocates nothing, whatever mix of commands it processes.</summary>
public sealed class AllocationTests
{
    /// <summary>Positions in a flat array: an allocation-free position keeper for the measured run.</summary>
    private readonly struct ArrayPositions(long[] positions) : IPositionKeeper
    {
        private static int Index(int accountId, int instrumentId) => (accountId * 4) + instrumentId;

        public long ReduceOnlyAllowance(int accountId, int instrumentId, Side side)
        {
            var position = positions[Index(accountId, instrumentId)];
            return side == Side.Sell ? Math.Max(0, position) : Math.Max(0, -position);
        }

        public long ReduceOnlyLotsCovered(int accountId, int instrumentId, Side side, long priceTicks, bool isMaker) => long.MaxValue;

        public void OnFill(int accountId, int instrumentId, Side side, long priceTicks, long qtyLots, bool isMaker) =>
            positions[Index(accountId, instrumentId)] += side == Side.Buy ? qtyLots : -qtyLots;
    }

    [Fact]
    public void ShouldAllocateZeroBytesOverAMillionMixedOperationsAfterWarmUp()
    {
        const int warmUp = 200_000;
        const int measured = 1_000_000;
        var commands = GenerateFlow(warmUp + measured);
        var engine = new MatchingEngine<CountingSink, ArrayPositions>(
            CommandFlowGenerator.Config(2_000, 400, 64), default, new ArrayPositions(new long[1_024]));

        for (var i = 0; i < warmUp; i++)
        {
            engine.Process(in commands[i]);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = warmUp; i < commands.Length; i++)
        {
            engine.Process(in commands[i]);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        ref var sink = ref engine.Sink;
        Assert.True(sink.Trades > 10_000 && sink.Cancelled > 10_000 && sink.Amended > 10_000 && sink.Expired > 100 && sink.Rejected > 10_000,
            $"the measured run must cover every path: trades={sink.Trades} cancels={sink.Cancelled} amends={sink.Amended} expiries={sink.Expired} rejects={sink.Rejected}");
    }

    [Fact]
    public void ShouldAllocateZeroBytesOutsideTheLaddersWindowAndWhenItMoves()
    {
        // A stale level far below, and ~4,000 levels spread ±100,000 keys around a price that trends up: most of them in the
        // overflow tree (three levels deep: leaf and inner splits, loans, merges) and the window moving after the price, all
        // from the pools sized at construction.
        var ladder = new Aivora.Core.Collections.PriceLadder(4_096);
        var held = new long[4_096];
        var count = 0;
        var random = new Random(5);
        var centre = 0L;
        ladder.Add(-1_000_000, 0);

        void Step()
        {
            centre += random.Next(0, 40);
            if (count > 0 && (count == held.Length || random.Next(5) < 2))
            {
                var at = random.Next(count);
                ladder.Remove(held[at]);
                held[at] = held[--count];
            }
            else
            {
                var key = centre + random.Next(-100_000, 100_000);
                if (!ladder.TryGet(key, out _) && !ladder.IsFull)
                {
                    ladder.Add(key, count);
                    held[count++] = key;
                }
            }
        }

        for (var i = 0; i < 100_000; i++) Step();
        var movedBefore = ladder.LevelsMoved;
        var outsideSeen = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 400_000; i++)
        {
            Step();
            outsideSeen = Math.Max(outsideSeen, ladder.OutsideWindow);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(ladder.LevelsMoved > movedBefore && outsideSeen > 1_500, $"the measured run must move the window ({ladder.LevelsMoved - movedBefore} levels) and fill the overflow ({outsideSeen})");
    }

    /// <summary>A generated flow, fed back by a scratch engine so it names live orders.</summary>
    private static EngineCommand[] GenerateFlow(int count)
    {
        var events = new List<EngineEvent>();
        var tracker = new PositionTracker();
        var scratch = new MatchingEngine<RecordingSink, TrackedPositions>(CommandFlowGenerator.Config(2_000, 400, 64), new RecordingSink(events), new TrackedPositions(tracker));
        var generator = new CommandFlowGenerator(seed: 99);
        var commands = new EngineCommand[count];
        var n = 0;
        while (n < count)
        {
            var step = generator.Next();
            if (step.IsPositionAdjustment)
            {
                continue;
            }

            var command = step.Command;
            events.Clear();
            scratch.Process(in command);
            foreach (var e in events)
            {
                generator.Observe(in e);
            }

            commands[n++] = command;
        }

        return commands;
    }
}
