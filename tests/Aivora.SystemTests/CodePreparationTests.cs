using System.Reflection;
using System.Runtime;
using System.Runtime.CompilerServices;
using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Funding;
using Aivora.Core.Margin;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Gateway;
using Aivora.Node.Engine;

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

        // Paths the demo takes only mid-session (a liquidation's prices, funding's premium, the engine closed over the
        // gateway's sink): on this thread, after the preparation, calling them compiles nothing.
        RuntimeHelpers.PrepareMethod(typeof(CodePreparationTests).GetMethod(nameof(TakeColdPaths), BindingFlags.NonPublic | BindingFlags.Static)!.MethodHandle);
        var compiledBefore = JitInfo.GetCompiledMethodCount(currentThread: true);
        var results = TakeColdPaths();
        var compiledByTheCalls = JitInfo.GetCompiledMethodCount(currentThread: true) - compiledBefore;
        Assert.Equal(0, compiledByTheCalls);
        Assert.NotEqual(0, results);

        // And a second preparation finds everything compiled.
        compiledBefore = JitInfo.GetCompiledMethodCount(currentThread: true);
        CodePreparation.PrepareEngineCode();
        Assert.True(JitInfo.GetCompiledMethodCount(currentThread: true) - compiledBefore < 50);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long TakeColdPaths()
    {
        var command = EngineCommand.Limit(1, 7, 1, 1, Side.Buy, 100, 1);
        var shape = MatchingEngine<GatewaySink, LedgerPositions>.CheckOrderShape(in command);
        var bankruptcy = LiquidationMath.BankruptcyPrice(10, 1_000_000, 50_000, 1);
        var premium = FundingMath.PremiumIndex(100_010, 100_020, 100_000);
        return bankruptcy + premium + (long)shape;
    }
}
