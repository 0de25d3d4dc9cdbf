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
        string[] valued = ["--pairs", "--commands", "--flow"];
        var unknown = args.Where((a, k) => !valued.Contains(a) && !(k > 0 && valued.Contains(args[k - 1]))).FirstOrDefault();
        if (unknown is not null)
        {
            Console.Error.WriteLine($"jit-profile-ab: unknown option {unknown} (options: --pairs N, --commands N, --flow node|order-entry)");
            return 2;
        }

        if (valued.FirstOrDefault(name => Array.IndexOf(args, name) == args.Length - 1) is { } bare)
        {
            Console.Error.WriteLine($"jit-profile-ab: {bare} takes a value");
            return 2;
        }

        var flow = Value(args, "--flow") ?? "node";
        if (flow is not ("node" or "order-entry"))
        {
            Console.Error.WriteLine($"jit-profile-ab: --flow takes node or order-entry, not {flow}");
            return 2;
        }

        var pairs = 10;
        if (Value(args, "--pairs") is { } p && !(int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out pairs) && pairs is >= 1 and <= 200))
        {
            Console.Error.WriteLine("jit-profile-ab: --pairs takes a count from 1 to 200");
            return 2;
        }

        var commands = 300_000;
        if (Value(args, "--commands") is { } c && !(int.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out commands) && commands is >= 10_000 and <= 10_000_000))
        {
            Console.Error.WriteLine("jit-profile-ab: --commands takes a count from 10,000 to 10,000,000");
            return 2;
        }

        var profile = JitProfile.PathFor(typeof(Program).Assembly);
        if (!File.Exists(profile))
        {
            Console.Error.WriteLine($"jit-profile-ab: no profile to try ({profile} not found; perf/scripts/record-jit-profile.sh records it)");
            return 2;
        }

        var ratios = new double[pairs];
        var withRates = new double[pairs];
        var withoutRates = new double[pairs];
        ulong withHash = 0, withoutHash = 0;
        for (var k = 0; k < pairs; k++)
        {
            // ABBA: which one runs first alternates, so a drift within a pair weighs on both alike over the pairs.
            bool ok;
            if (k % 2 == 0)
            {
                ok = Child(null, flow, commands, out withoutRates[k], out withoutHash) && Child(profile, flow, commands, out withRates[k], out withHash);
            }
            else
            {
                ok = Child(profile, flow, commands, out withRates[k], out withHash) && Child(null, flow, commands, out withoutRates[k], out withoutHash);
            }

            if (!ok)
            {
                return 1;
            }

            ratios[k] = withRates[k] / withoutRates[k];
            Console.WriteLine(FormattableString.Invariant($"# pair {k + 1}: without {withoutRates[k]:F0} with {withRates[k]:F0} {(flow == "node" ? "commands" : "operations")}/s, ratio {ratios[k]:F3}"));
        }

        Array.Sort(ratios);
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=jit-profile-ab flow={flow} commands={commands} pairs={pairs} without_per_sec={NodeBenchmark.Median(withoutRates):F0} with_per_sec={NodeBenchmark.Median(withRates):F0} ratio_median={NodeBenchmark.Median(ratios):F3} ratio_p25={ratios[pairs / 4]:F3} ratio_p75={ratios[3 * pairs / 4]:F3} same_state={(withHash == withoutHash ? "true" : "false")}"));
        return 0;
    }

    /// <summary>The child: records the flow, replays it once to compile, then times <see cref="Passes"/> replays and prints each.</summary>
    public static int RunChild(string[] args)
    {
        var flow = args[0];
        var commands = int.Parse(args[1], CultureInfo.InvariantCulture);
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
    private static bool Child(string? profile, string flow, int commands, out double rate, out ulong hash)
    {
        rate = 0;
        hash = 0;
        var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            start.ArgumentList.Add(typeof(Program).Assembly.Location);
        }

        foreach (var arg in (string[])["jit-profile-child", flow, commands.ToString(CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(arg);
        }

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
            return false;
        }

        var passes = output.Result.Split('\n').Where(line => line.StartsWith("PASS ", StringComparison.Ordinal)).Select(line => line.Split(' ')).ToArray();
        if (child.ExitCode != 0 || passes.Length != Passes)
        {
            Console.Error.WriteLine($"jit-profile-ab: a child failed (exit code {child.ExitCode})");
            return false;
        }

        rate = NodeBenchmark.Median([.. passes.Select(pass => double.Parse(pass[1], CultureInfo.InvariantCulture))]);
        hash = ulong.Parse(passes[^1][2], CultureInfo.InvariantCulture);
        return true;
    }

    private static string? Value(string[] args, string name)
    {
        var k = Array.IndexOf(args, name);
        return k >= 0 && k + 1 < args.Length ? args[k + 1] : null;
    }
}
