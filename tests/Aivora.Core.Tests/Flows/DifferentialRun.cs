using System.Text;
using Aivora.Core.Events;
using Aivora.Core.Matching;
using Aivora.Core.Reference;

namespace Aivora.Core.Tests.Flows;

/// <summary>
/// Drives the matching engine and the reference book in lockstep with one generated flow and
/// compares, after every command, the full event stream of that command; every few thousand
/// commands also the state hashes, the engine's internal invariants and the positions.
/// </summary>
public static class DifferentialRun
{
    public sealed record Outcome(long Commands, long Events, long Trades, ulong FinalStateHash, int MaxLiveOrders, IReadOnlyDictionary<string, long> Histogram);

    public static Outcome Run(int seed, int commands, EngineConfig config, int checkEvery = 2_000)
    {
        var engineEvents = new List<EngineEvent>();
        var referenceEvents = new List<EngineEvent>();
        var engineTracker = new PositionTracker();
        var referenceTracker = new PositionTracker();
        var engine = new MatchingEngine<RecordingSink, TrackedPositions>(config, new RecordingSink(engineEvents), new TrackedPositions(engineTracker));
        var reference = new ReferenceBook(config, referenceTracker, referenceEvents.Add);
        var generator = new CommandFlowGenerator(seed);

        long events = 0, trades = 0;
        var histogram = new SortedDictionary<string, long>();
        var maxLive = 0;
        for (var i = 0; i < commands; i++)
        {
            var step = generator.Next();
            if (step.IsPositionAdjustment)
            {
                engineTracker.Adjust(step.AccountId, step.InstrumentId, step.DeltaLots);
                referenceTracker.Adjust(step.AccountId, step.InstrumentId, step.DeltaLots);
                continue;
            }

            engineEvents.Clear();
            referenceEvents.Clear();
            var command = step.Command;
            engine.Process(in command);
            reference.Process(command);
            if (!Same(engineEvents, referenceEvents))
            {
                throw new InvalidOperationException(Describe(seed, i, step, engineEvents, referenceEvents));
            }

            foreach (var e in engineEvents)
            {
                generator.Observe(in e);
                trades += e.Kind == EventKind.Trade ? 1 : 0;
                var key = e.Kind switch
                {
                    EventKind.OrderRejected => $"Rejected.{(RejectReason)e.Reason}",
                    EventKind.OrderCancelled => $"Cancelled.{(CancelReason)e.Reason}",
                    _ => e.Kind.ToString(),
                };
                histogram[key] = histogram.GetValueOrDefault(key) + 1;
            }

            events += engineEvents.Count;
            maxLive = Math.Max(maxLive, generator.LiveCount);
            if (i % checkEvery == 0 || i == commands - 1)
            {
                Check(seed, i, engine, reference, engineTracker, referenceTracker);
            }
        }

        return new Outcome(commands, events, trades, engine.StateHash(), maxLive, histogram);
    }

    private static void Check(int seed, int i, MatchingEngine<RecordingSink, TrackedPositions> engine, ReferenceBook reference, PositionTracker a, PositionTracker b)
    {
        var invariant = engine.ValidateInvariants();
        if (invariant is not null)
        {
            throw new InvalidOperationException($"seed {seed} command {i}: engine invariant broken: {invariant}");
        }

        if (engine.StateHash() != reference.StateHash())
        {
            throw new InvalidOperationException($"seed {seed} command {i}: state hash {engine.StateHash():x16} != reference {reference.StateHash():x16}");
        }

        foreach (var spec in CommandFlowGenerator.Instruments)
        {
            if (a.SumOfPositions(spec.Id) != b.SumOfPositions(spec.Id))
            {
                throw new InvalidOperationException($"seed {seed} command {i}: positions diverged on {spec.Symbol}");
            }
        }
    }

    private static bool Same(List<EngineEvent> a, List<EngineEvent> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (!a[i].Equals(b[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static string Describe(int seed, int index, FlowStep step, List<EngineEvent> engine, List<EngineEvent> reference)
    {
        var c = step.Command;
        var text = new StringBuilder()
            .AppendLine($"seed {seed} command {index}: {c.Kind} acct={c.AccountId} instr={c.InstrumentId} {c.Side} {c.Type} {c.TimeInForce} px={c.PriceTicks} qty={c.QtyLots} oid={c.OrderId} cl={c.ClientOrderId} flags={c.Flags} stp={c.Stp} grp={c.StpGroup} exp={c.ExpiryNs} now={c.NowNs}");
        for (var i = 0; i < Math.Max(engine.Count, reference.Count); i++)
        {
            var left = i < engine.Count ? engine[i].ToString() : "-";
            var right = i < reference.Count ? reference[i].ToString() : "-";
            text.AppendLine($"{(left == right && i < engine.Count && i < reference.Count && engine[i].Equals(reference[i]) ? "  " : "≠ ")}engine   : {left}");
            text.AppendLine($"  reference: {right}");
        }

        return text.ToString();
    }
}
