namespace Aivora.SystemTests;

/// <summary>
/// A node started with SIGINT ignored (a shell's background job: <c>node &amp;</c> in a script) cannot be stopped by Ctrl+C or
/// <c>kill -INT</c>: the runtime keeps the inherited setting, and the node's registration for the signal does nothing. It says so
/// at start, so that an operator's stop is not met with silence; started normally, it says nothing of it.
/// </summary>
public sealed class InheritedSignalsTests
{
    [Fact]
    public void ShouldSayAtStartThatSigIntIsIgnoredWhenItWasStartedSo()
    {
        var start = NodeProcess.Start(["--seconds", "1", "--shock-bps", "0"], setting: null, environment: null);   // no shock: the signals are what is tested, and a 1 s run under load may end before its shock liquidates
        // sh sets SIGINT to ignored (trap '' INT) and exec keeps it for the node, as a shell starting a background job does.
        NodeProcess.RunThrough(start, "/bin/sh", "-c", "trap '' INT; exec \"$@\"", "sh");
        var (exitCode, output, errors) = NodeProcess.Run(start);

        Assert.True(exitCode == 0, output + errors);
        Assert.Contains("signals: SIGINT is ignored in this process", output, StringComparison.Ordinal);
        Assert.Contains("result: ok", output, StringComparison.Ordinal);
    }

    [Fact]
    public void ShouldSayNothingOfSignalsWhenSigIntIsNotIgnored()
    {
        var start = NodeProcess.Start(["--seconds", "1", "--shock-bps", "0"], setting: null, environment: null);   // no shock: the signals are what is tested, and a 1 s run under load may end before its shock liquidates
        NodeProcess.WithSigIntAsFromTerminal(start);
        var (exitCode, output, errors) = NodeProcess.Run(start);

        Assert.True(exitCode == 0, output + errors);
        Assert.DoesNotContain("signals:", output, StringComparison.Ordinal);
        Assert.Contains("result: ok", output, StringComparison.Ordinal);
    }
}
