using System.Reflection;
using System.Runtime;
using System.Runtime.CompilerServices;
using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Funding;
using Aivora.Core.Liquidation;
using Aivora.Core.Margin;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Gateway;
using Aivora.Gateway.Outbound;
using Aivora.Node.Engine;
using Aivora.Transport.Agents;

namespace Aivora.SystemTests;

/// <summary>
/// The node compiles its engine's code before it trades (it runs without tiered compilation, so a first call would
/// otherwise compile on the engine thread, mid-session): after the preparation, paths first taken later compile nothing.
/// </summary>
public sealed class CodePreparationTests
{
    [Fact]
    public void ShouldLeaveNothingOfTheEngineToCompileOnItsFirstCall()
    {
        var outcome = CodePreparation.PrepareEngineCode();
        Assert.True(outcome.Methods > 3_000, $"{outcome.Methods} methods prepared");
        Assert.True(outcome.Skipped < 100, $"{outcome.Skipped} methods left unprepared");

        Assert.True(outcome.Reached > 500, $"{outcome.Reached} methods reached from the engine's code");

        // Paths the demo takes only mid-session (a liquidation's prices and its explanation, funding's premium, the engine
        // closed over the gateway's sink, an agent's duty cycle through its interface): on this thread, after the preparation,
        // calling them compiles nothing.
        RuntimeHelpers.PrepareMethod(typeof(CodePreparationTests).GetMethod(nameof(TakeColdPaths), BindingFlags.NonPublic | BindingFlags.Static)!.MethodHandle);
        RuntimeHelpers.PrepareMethod(typeof(CodePreparationTests).GetMethod(nameof(CountResponseHosts), BindingFlags.NonPublic | BindingFlags.Static)!.MethodHandle);
        IAgent agent = new CompositeAgent();   // constructed here: the test asks about its duty cycle, through the interface
        var options = new GatewayOptions();    // its default response hosts: a one-element collection expression, read as a list at a logon
        var compiledBefore = JitInfo.GetCompiledMethodCount(currentThread: true);
        var results = TakeColdPaths() + agent.DoWork(0) + CountResponseHosts(options);
        var compiledByTheCalls = JitInfo.GetCompiledMethodCount(currentThread: true) - compiledBefore;
        Assert.Equal(0, compiledByTheCalls);
        Assert.NotEqual(0, results);

        // And a second preparation finds everything compiled.
        compiledBefore = JitInfo.GetCompiledMethodCount(currentThread: true);
        CodePreparation.PrepareEngineCode();
        Assert.True(JitInfo.GetCompiledMethodCount(currentThread: true) - compiledBefore < 50);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int CountResponseHosts(GatewayOptions options)
    {
        var hosts = 0;
        foreach (var _ in options.ResponseHosts) hosts++;   // through IEnumerable<IPAddress>: the compiler's own list type's enumerator
        return hosts;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long TakeColdPaths()
    {
        var command = EngineCommand.Limit(1, 7, 1, 1, Side.Buy, 100, 1);
        var shape = MatchingEngine<GatewaySink, LedgerPositions>.CheckOrderShape(in command);
        var bankruptcy = LiquidationMath.BankruptcyPrice(10, 1_000_000, 50_000, 1);
        var premium = FundingMath.PremiumIndex(100_010, 100_020, 100_000);

        // A liquidation's explanation (the runtime's UTF-8 formatting, generic over the figures' types: it has no precompiled
        // code, and compiled on the engine thread at the first liquidation, stalling it 4 ms).
        var step = new EngineEvent { Kind = EventKind.LiquidationStep, Reason = (byte)LiquidationStep.Triggered, AccountId = 2002, Required = 1_000, Available = 900 };
        Span<byte> text = stackalloc byte[LiquidationEventWriter.MaxExplanation];
        var explained = LiquidationEventWriter.Explain(in step, text);
        return bankruptcy + premium + (long)shape + explained;
    }
}
