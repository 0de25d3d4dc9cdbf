using System.Diagnostics;
using Aivora.Node.Engine;

namespace Aivora.SystemTests;

/// <summary>The node as its own process, started as an operator starts it: for the tests of what only a whole process shows.</summary>
internal static class NodeProcess
{
    /// <summary>Runs the node to its end (at most 90 s): exit code, standard output and standard error.</summary>
    internal static (int ExitCode, string Output, string Errors) Run(string[] args, string? setting, Dictionary<string, string>? environment = null) =>
        Run(Start(args, setting, environment));

    /// <summary>Runs the node as <paramref name="start"/> says (a <see cref="Start"/>, maybe <see cref="RunThrough"/> a wrapper) to its end (at most 90 s).</summary>
    internal static (int ExitCode, string Output, string Errors) Run(ProcessStartInfo start)
    {
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

    /// <summary>Makes <paramref name="start"/> run its program through <paramref name="wrapper"/> (with <paramref name="wrapperArgs"/>
    /// first), which runs it in turn with its own arguments: <c>env --default-signal=INT</c>, <c>sh -c "...; exec \"$@\"" sh</c>.</summary>
    internal static void RunThrough(ProcessStartInfo start, string wrapper, params string[] wrapperArgs)
    {
        start.ArgumentList.Insert(0, start.FileName);
        for (var i = wrapperArgs.Length - 1; i >= 0; i--)
        {
            start.ArgumentList.Insert(0, wrapperArgs[i]);
        }

        start.FileName = wrapper;
    }

    /// <summary>
    /// The node started with SIGINT at its default, as from a terminal, even when whatever runs the tests ignores it (a shell's
    /// background job does, and the node would inherit it: <see cref="InheritedSignalsTests"/>).
    /// </summary>
    internal static void WithSigIntAsFromTerminal(ProcessStartInfo start)
    {
        if (InheritedSignals.IsIgnored(InheritedSignals.SigInt))
        {
            RunThrough(start, "env", "--default-signal=INT");
        }
    }

    /// <summary>How an operator starts the node (<c>dotnet Aivora.Node.dll</c>), with the JIT profile switch set as <paramref name="setting"/> says (null: unset).</summary>
    internal static ProcessStartInfo Start(string[] args, string? setting, Dictionary<string, string>? environment)
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

        foreach (var (name, value) in environment ?? [])
        {
            start.Environment[name] = value;
        }

        return start;
    }
}
