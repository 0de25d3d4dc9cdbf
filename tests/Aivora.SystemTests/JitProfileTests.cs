using System.Diagnostics;
using Aivora.Node.Engine;

namespace Aivora.SystemTests;

/// <summary>
/// The node started as an operator starts it (<c>dotnet Aivora.Node.dll</c>): it compiles with the JIT profile shipped beside it
/// (it starts itself again with the runtime's profile variables set), and the operator sees the same run, output and exit code
/// as without the second start; a bad setting of the switch is a clear error.
/// </summary>
public sealed class JitProfileTests
{
    [Fact]
    public void ShouldRunTheNodeCompiledWithItsShippedProfile()
    {
        Assert.True(File.Exists(JitProfile.PathFor(typeof(Aivora.Node.Program).Assembly)), "the node's profile is not beside it");

        // No price shock: half a second is too short for the demo's liquidation to play out, and this is not about it.
        var (exitCode, output, errors) = NodeProcess.Run(["--seconds", "0.5", "--shock-bps", "0"], setting: null);

        Assert.True(exitCode == 0, $"exit code {exitCode}: {errors}\n{output}");
        Assert.Matches(@"jit profile: counts for [1-9][0-9,]* methods from Aivora\.Node\.jit-profile\.txt", output);
        Assert.Contains("result: ok", output, StringComparison.Ordinal);
        Assert.Single(output.Split('\n'), line => line.StartsWith("result:", StringComparison.Ordinal));   // one run, not two
    }

    [Fact]
    public void ShouldShipAProfileThatStillMatchesTheEngineCode()
    {
        // The runtime matches a profile's entries to methods by their IL: an entry for a method changed since the recording no
        // longer matches, and the method compiles without counts (the node is slower, silently). Every method of the engine's
        // assemblies (those the node compiles before trading: Core, Gateway, Codecs, Transport; the node's own start-up code
        // is not held to it) that has an entry must compile with it. Failing here means: run perf/scripts/record-jit-profile.sh
        // and commit.
        string[] engine = ["Aivora.Core.", "Aivora.Gateway.", "Aivora.Exchange.", "Aivora.Transport."];
        var profile = JitProfile.PathFor(typeof(Aivora.Node.Program).Assembly);
        var profiled = File.ReadLines(profile).Where(line => line.StartsWith("MethodName: ", StringComparison.Ordinal))
            .Select(line => line["MethodName: ".Length..])
            .Where(name => engine.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal)))
            .ToHashSet(StringComparer.Ordinal);
        var compiledLog = Path.Combine(Path.GetTempPath(), $"aivora-jit-{Environment.ProcessId}.txt");
        try
        {
            var (exitCode, output, errors) = NodeProcess.Run(["--seconds", "0.5", "--shock-bps", "0"], setting: null, new Dictionary<string, string>
            {
                ["DOTNET_ReadPGOData"] = "1",   // in this process: the compile log is its alone
                ["DOTNET_PGODataPath"] = profile,
                ["DOTNET_JitDisasmSummary"] = "1",
                ["DOTNET_JitStdOutFile"] = compiledLog,
            });
            Assert.True(exitCode == 0, $"exit code {exitCode}: {errors}\n{output}");

            // " 196: JIT compiled Namespace.Type`1[Args]:Method(sig) [FullOpts with Synthesized PGO, IL size=305, code size=10872]"
            var compiled = File.ReadLines(compiledLog).Select(line => System.Text.RegularExpressions.Regex.Match(line, @"JIT compiled (\S+?)\((.*)\[(.*)\]$"))
                .Where(m => m.Success)
                .Select(m => (Name: m.Groups[1].Value.Replace(':', '.'), WithCounts: m.Groups[3].Value.Contains("PGO", StringComparison.Ordinal)))
                .Where(c => profiled.Contains(c.Name))
                .GroupBy(c => c.Name)
                .ToList();
            Assert.True(compiled.Count > 200, $"only {compiled.Count} of the profile's {profiled.Count} methods compiled in the run");
            var stale = compiled.Where(overloads => !overloads.Any(c => c.WithCounts)).Select(overloads => overloads.Key).ToList();
            Assert.True(stale.Count == 0, $"{stale.Count} methods changed since the profile was recorded (run perf/scripts/record-jit-profile.sh): {string.Join(", ", stale.Take(10))}");
        }
        finally
        {
            File.Delete(compiledLog);
        }
    }

    [Fact]
    public void ShouldStopTheNodeWhenTheProcessThatStartedItIsKilled()
    {
        // The operator's process is the one that waits; killed outright (SIGKILL, nothing to pass on), the node it started
        // with the profile must not run on alone.
        using var waiting = Process.Start(NodeProcess.Start(["--seconds", "60", "--shock-bps", "0"], setting: null, environment: null))!;
        _ = waiting.StandardOutput.ReadToEndAsync();   // drained, not shown
        _ = waiting.StandardError.ReadToEndAsync();
        Process? started = null;
        try
        {
            var childrenFile = $"/proc/{waiting.Id}/task/{waiting.Id}/children";
            var deadline = DateTime.UtcNow.AddSeconds(30);
            var node = 0;
            while (node == 0 && DateTime.UtcNow < deadline && !waiting.HasExited)
            {
                Thread.Sleep(100);
                node = File.Exists(childrenFile) && int.TryParse(File.ReadAllText(childrenFile).Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(), out var pid) ? pid : 0;
            }

            Assert.True(node != 0, "the node was not started again with its profile");
            started = Process.GetProcessById(node);
            Thread.Sleep(1_000);   // past its start-up, where it arms the parent-death signal
            waiting.Kill();        // SIGKILL
            Assert.True(started.WaitForExit(TimeSpan.FromSeconds(15)), "the node kept running after the process that started it was killed");
        }
        finally
        {
            // Whatever failed, nothing is left running.
            if (!waiting.HasExited)
            {
                waiting.Kill(entireProcessTree: true);
            }

            if (started is { HasExited: false })
            {
                started.Kill();
            }

            started?.Dispose();
        }
    }

    [Fact]
    public void ShouldRefuseASwitchSettingOtherThanOnOrOff()
    {
        var (exitCode, output, errors) = NodeProcess.Run(["--seconds", "0.5", "--shock-bps", "0"], setting: "yes");

        Assert.Equal(2, exitCode);
        Assert.Contains("AIVORA_JIT_PROFILE=yes: expected on or off", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("result:", output, StringComparison.Ordinal);
    }
}
