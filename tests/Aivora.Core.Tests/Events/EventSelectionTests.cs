using Aivora.Core.Events;
using Aivora.Core.Tests.Liquidation;

namespace Aivora.Core.Tests.Events;

/// <summary>A sink that declines event kinds gets none of them, and the state machine reaches the same state.</summary>
public sealed class EventSelectionTests
{
    private readonly struct TradesOnlySink(List<EngineEvent> trades) : IEngineEventSink
    {
        public static bool Wants(EventKind kind) => kind == EventKind.Trade;

        public void OnEvent(in EngineEvent e)
        {
            if (e.Kind != EventKind.Trade)
            {
                throw new InvalidOperationException($"sent a {e.Kind} the sink declined");
            }

            trades.Add(e);
        }
    }

    private readonly struct NothingSink : IEngineEventSink
    {
        public static bool Wants(EventKind kind) => false;

        public void OnEvent(in EngineEvent e) => throw new InvalidOperationException($"sent a {e.Kind} the sink declined");
    }

    [Fact]
    public void ShouldSendOnlyTheWantedKindsAndReachTheSameStateAsASinkThatWantsEverything()
    {
        // A flow with fills, rejects, amends, expiries, funding and liquidations (every step kind), recorded with every event.
        var recorded = LiquidationInvariantTests.Run(61, 2_000, out var counts);
        Assert.True(counts.Triggered > 0 && counts.Slices > 0, $"the flow must liquidate: {counts}");
        var commands = recorded.Opening.Concat(recorded.Commands).ToArray();

        var trades = new List<EngineEvent>();
        var tradesOnly = LiquidationBench.NewMachine(new TradesOnlySink(trades), LiquidationInvariantTests.Config(), LiquidationInvariantTests.Tiers(), 128, 2);
        var nothing = LiquidationBench.NewMachine(new NothingSink(), LiquidationInvariantTests.Config(), LiquidationInvariantTests.Tiers(), 128, 2);
        var stateOnly = LiquidationBench.NewMachine(new StateOnlySink(), LiquidationInvariantTests.Config(), LiquidationInvariantTests.Tiers(), 128, 2);
        foreach (var c in commands)
        {
            tradesOnly.Process(in c);
            nothing.Process(in c);
            stateOnly.Process(in c);
        }

        // The trades, ids and all, exactly as the sink that took every event saw them.
        var expected = recorded.Events.Where(e => e.Kind == EventKind.Trade).ToList();
        Assert.True(expected.Count > 100, $"the flow must trade: {expected.Count}");
        Assert.Equal(expected, trades);
        foreach (var machine in new[] { (tradesOnly.Engine.StateHash(), tradesOnly.Ledger.StateHash()), (nothing.Engine.StateHash(), nothing.Ledger.StateHash()), (stateOnly.Engine.StateHash(), stateOnly.Ledger.StateHash()) })
        {
            Assert.Equal((recorded.Machine.Engine.StateHash(), recorded.Ledger.StateHash()), machine);
        }
    }
}
