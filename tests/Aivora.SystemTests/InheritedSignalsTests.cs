using System.Diagnostics;

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
        var start = NodeProcess.Start(["--seconds", "1"], setting: null, environment: null);
        // sh sets SIGINT to ignored (trap '' INT) and exec keeps it for the node, as a shell starting a background job does.
        NodeProcess.RunThrough(start, "/bin/sh", "-c", "trap '' INT; exec \"$@\"", "sh");
        var (exitCode, output) = Run(start);

        Assert.True(exitCode == 0, output);
        Assert.Contains("signals: SIGINT is ignored in this process", output, StringComparison.Ordinal);
        Assert.Contains("result: ok", output, StringComparison.Ordinal);
    }

    [Fact]
    public void ShouldSayNothingOfSignalsWhenSigIntIsNotIgnored()
    {
        var start = NodeProcess.Start(["--seconds", "1"], setting: null, environment: null);
        NodeProcess.WithSigIntAsFromTerminal(start);
        var (exitCode, output) = Run(start);

        Assert.True(exitCode == 0, output);
        Assert.DoesNotContain("signals:", output, StringComparison.Ordinal);
        Assert.Contains("result: ok", output, StringComparison.Ordinal);
    }

    private static (int ExitCode, string Output) Run(ProcessStartInfo start)
    {
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        if (!node.WaitForExit(TimeSpan.FromSeconds(90)))
        {
            node.Kill(entireProcessTree: true);
            Assert.Fail("the node ran over 90 s");
        }

        return (node.ExitCode, output.Result + errors.Result);
    }
}
