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

        var (exitCode, output, errors) = RunNode(["--seconds", "0.5"], setting: null);

        Assert.True(exitCode == 0, $"exit code {exitCode}: {errors}\n{output}");
        Assert.Matches(@"jit profile: counts for [1-9][0-9,]* methods from Aivora\.Node\.jit-profile\.txt", output);
        Assert.Contains("result: ok", output, StringComparison.Ordinal);
        Assert.Single(output.Split('\n'), line => line.StartsWith("result:", StringComparison.Ordinal));   // one run, not two
    }

    [Fact]
    public void ShouldRefuseASwitchSettingOtherThanOnOrOff()
    {
        var (exitCode, output, errors) = RunNode(["--seconds", "0.5"], setting: "yes");

        Assert.Equal(2, exitCode);
        Assert.Contains("AIVORA_JIT_PROFILE=yes: expected on or off", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("result:", output, StringComparison.Ordinal);
    }

    private static (int ExitCode, string Output, string Errors) RunNode(string[] args, string? setting)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Aivora.Node.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // As a fresh shell would start it: no profile variables inherited from whoever runs the tests.
        start.Environment.Remove("DOTNET_ReadPGOData");
        start.Environment.Remove("DOTNET_PGODataPath");
        start.Environment.Remove("DOTNET_TieredCompilation");
        if (setting is null)
        {
            start.Environment.Remove(JitProfile.SwitchVariable);
        }
        else
        {
            start.Environment[JitProfile.SwitchVariable] = setting;
        }

        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        if (!node.WaitForExit(TimeSpan.FromSeconds(90)))
        {
            node.Kill(entireProcessTree: true);
            Assert.Fail("the node ran over 90 s");
        }

        return (node.ExitCode, output.Result, errors.Result);
    }
}
