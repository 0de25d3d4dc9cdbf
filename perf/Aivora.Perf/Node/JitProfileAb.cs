using System.Diagnostics;
using System.Globalization;
using Aivora.Node.Engine;

namespace Aivora.Perf.Node;

/// <summary>
/// <c>jit-profile-ab</c>: how much the JIT profile (core/Aivora.Node/Engine/JitProfile.cs) is worth on the node flow. The runtime
/// reads a profile only at start, so one process cannot time both: each pair runs two child processes one after the other,
/// one compiled with this executable's profile and one without, in ABBA order, each replaying the flow a few times and
/// reporting its median. The median of the pairs' ratios is the answer (this machine's host slows a vCPU in phases; the
/// pairs a phase change split sit at the ends). Children inherit this process's CPU affinity: pin it (taskset) to time one core.
/// Also says whether both end the flow in the same state: a profile changes how code is compiled, never what it does.
/// <c>--flow order-entry</c> times <c>perf risk</c>'s order-entry flow through the full gate instead (operations/s).
/// </summary>
public static class JitProfileAb
{
    public static int Run(string[] args)
    {
        if (AbPairs.Parse("jit-profile-ab", args, [], pairs: 10, maxPairs: 200, commands: 300_000, out var error) is not { } options)
        {
            Console.Error.WriteLine(error);
            return 2;
        }

        var profile = JitProfile.PathFor(typeof(Program).Assembly);
        if (!File.Exists(profile))
        {
            Console.Error.WriteLine($"jit-profile-ab: no profile to try ({profile} not found; perf/scripts/record-jit-profile.sh records it)");
            return 2;
        }

        if (AbPairs.Run(options.Pairs, options.Unit, "without", () => Child(null, options.Flow, options.Commands), "with", () => Child(profile, options.Flow, options.Commands)) is not { } outcome)
        {
            return 1;
        }

        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=jit-profile-ab flow={options.Flow} commands={options.Commands} pairs={options.Pairs} without_per_sec={outcome.ARate:F0} with_per_sec={outcome.BRate:F0} ratio_median={outcome.RatioMedian:F3} ratio_p25={outcome.RatioP25:F3} ratio_p75={outcome.RatioP75:F3} same_state={(outcome.SameState ? "true" : "false")}"));
        return 0;
    }

    /// <summary>The child: records the flow, replays it once to compile, then times <see cref="Passes"/> replays and prints each.</summary>
    public static int RunChild(string[] args)
    {
        // Started by jit-profile-ab; a hand-typed call gets its usage, not a stack trace.
        if (args.Length != 2 || args[0] is not ("node" or "order-entry")
            || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var commands) || commands is < 10_000 or > 10_000_000)
        {
            Console.Error.WriteLine("jit-profile-child: one side of jit-profile-ab, started by it: jit-profile-child node|order-entry COMMANDS (10,000 to 10,000,000)");
            return 2;
        }

        var flow = args[0];
        var timer = flow == "node" ? NodeBenchmark.ReplayTimer(commands) : Risk.RiskBenchmark.OrderEntryTimer(commands);
        for (var pass = 0; pass < Passes; pass++)
        {
            var (rate, hash) = timer();
            Console.WriteLine(FormattableString.Invariant($"PASS {rate:F0} {hash}"));
        }

        return 0;
    }

    private const int Passes = 3;

    // One child: with the profile at `profile`, or with none (null). Its rate is the median of its passes.
    private static (double Rate, ulong StateHash)? Child(string? profile, string flow, int commands)
    {
        var start = JitProfile.StartAgain(typeof(Program).Assembly, ["jit-profile-child", flow, commands.ToString(CultureInfo.InvariantCulture)])!;
        start.RedirectStandardOutput = true;

        // This process may run with a profile itself: the child gets exactly the one asked for.
        start.Environment.Remove("DOTNET_ReadPGOData");
        start.Environment.Remove("DOTNET_PGODataPath");
        if (profile is null)
        {
            start.Environment[JitProfile.SwitchVariable] = "off";
        }
        else
        {
            start.Environment[JitProfile.SwitchVariable] = "on";
            start.Environment["DOTNET_ReadPGOData"] = "1";
            start.Environment["DOTNET_PGODataPath"] = profile;
        }

        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEndAsync();
        if (!child.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            child.Kill();
            Console.Error.WriteLine("jit-profile-ab: a child ran over 5 minutes");
            return null;
        }

        var passes = output.Result.Split('\n').Where(line => line.StartsWith("PASS ", StringComparison.Ordinal)).Select(line => line.Split(' ')).ToArray();
        if (child.ExitCode != 0 || passes.Length != Passes)
        {
            Console.Error.WriteLine($"jit-profile-ab: a child failed (exit code {child.ExitCode})");
            return null;
        }

        return (NodeBenchmark.Median([.. passes.Select(pass => double.Parse(pass[1], CultureInfo.InvariantCulture))]), ulong.Parse(passes[^1][2], CultureInfo.InvariantCulture));
    }
}
