using System.Globalization;

namespace Aivora.Node;

/// <summary>
/// The node's command line, parsed strictly: every flag is known, takes a value, and the value is in
/// range; anything else is a clear error (exit code 2), never a silently ignored option or a stack trace.
/// </summary>
public sealed record NodeOptions
{
    public double Seconds { get; init; } = 5;
    public int Seed { get; init; } = 42;
    public int EngineCpu { get; init; } = Environment.ProcessorCount - 1;
    public int LoadCpu { get; init; } = Environment.ProcessorCount > 1 ? 0 : -1;
    public int Makers { get; init; } = 4;
    public int Takers { get; init; } = 4;
    public int TakerOrdersPerSecond { get; init; } = 2_000;

    /// <summary>How the node's media driver runs: invoked by the engine thread (the default, one core for the
    /// engine), or on its own threads (dedicated: sender, receiver, conductor; shared-network; shared) when cores allow.</summary>
    public Aivora.Transport.Driver.ThreadingMode DriverMode { get; init; } = Aivora.Transport.Driver.ThreadingMode.Invoker;

    /// <summary>The demo settles funding this often; the configured default is 8 h (epoch-aligned).</summary>
    public double FundingIntervalSeconds { get; init; } = 8 * 3_600;

    /// <summary>At 60 % of the run the feeders move BTC's index down this many basis points, past the liquidation price of a
    /// seeded 100x long: the liquidation path on the wire (0: no shock).</summary>
    public int ShockBps { get; init; } = 80;

    /// <summary>The engine and the load spin on one core (a one-core machine, or both pinned to the same one): then each
    /// yields the core when it finds nothing to do, instead of spinning through the other's time slice (a busy-spinning pair
    /// on one core made every round trip wait out the scheduler's slices, and the run did not end within minutes).</summary>
    public bool SharedCore => Environment.ProcessorCount == 1 || (LoadCpu >= 0 && LoadCpu == EngineCpu);

    public static readonly string Usage =
        "usage: dotnet run -c Release --project core/Aivora.Node [-- options]\n" +
        "  --seconds N           how long the load runs (0 < N <= 3600; default 5)\n" +
        "  --seed N              seed of the load's random choices (integer; default 42)\n" +
        "  --cpu N               core the engine thread is pinned to (default: the last)\n" +
        "  --load-cpu N          core the load thread is pinned to (-1: not pinned; default 0)\n" +
        "  --makers N            market makers (1..8; default 4)\n" +
        $"  --takers N            takers (0..8; makers and takers at most {Configuration.DefaultConfiguration.Gateway.MaxSessions - 1} together: with the price feeder, the sessions the node serves; default 4)\n" +
        "  --taker-rate N        orders per second per taker (1..100000; default 2000)\n" +
        "  --funding-interval-s N  funding interval in seconds (> 0; default 28800 = 8 h)\n" +
        "  --shock-bps N         at 60% of the run, move BTC's index down N bps (0..2000; default 80), liquidating a seeded 100x long; 0: no shock\n" +
        "  --driver MODE         invoker (default: the engine thread runs the driver), dedicated, shared-network or shared (driver threads of their own)\n" +
        "  --help                this text";

    private static readonly string[] Flags =
        ["--seconds", "--seed", "--cpu", "--load-cpu", "--makers", "--takers", "--taker-rate", "--funding-interval-s", "--shock-bps", "--driver"];

    /// <summary>The options, or null with the error to print (and exit 2).</summary>
    public static NodeOptions? Parse(string[] args, out string? error)
    {
        var o = new NodeOptions();
        error = null;
        var given = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var flag = args[i];
            if (flag is "--help" or "-h")
            {
                error = Usage;
                return null;
            }

            if (!Flags.Contains(flag))
            {
                error = $"{flag}: unknown option (see --help)";
                return null;
            }

            if (given.Contains(flag))
            {
                // Which of two values was meant? Neither is taken silently.
                error = $"{flag}: given twice";
                return null;
            }

            given.Add(flag);
            if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                error = $"{flag}: needs a value";
                return null;
            }

            var value = args[++i];
            switch (flag)
            {
                case "--seconds" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0 && s <= 3_600:
                    o = o with { Seconds = s };
                    break;
                case "--seed" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed):
                    o = o with { Seed = seed };
                    break;
                case "--cpu" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var cpu) && cpu >= 0 && cpu < Environment.ProcessorCount:
                    o = o with { EngineCpu = cpu };
                    break;
                case "--load-cpu" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var cpu) && cpu >= -1 && cpu < Environment.ProcessorCount:
                    o = o with { LoadCpu = cpu };
                    break;
                case "--makers" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 8:
                    o = o with { Makers = n };
                    break;
                case "--takers" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n is >= 0 and <= 8:
                    o = o with { Takers = n };
                    break;
                case "--taker-rate" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 100_000:
                    o = o with { TakerOrdersPerSecond = n };
                    break;
                case "--funding-interval-s" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && f > 0 && f <= 30 * 86_400:
                    o = o with { FundingIntervalSeconds = f };
                    break;
                case "--driver" when value is "invoker" or "dedicated" or "shared-network" or "shared":
                    o = o with
                    {
                        DriverMode = value switch
                        {
                            "dedicated" => Aivora.Transport.Driver.ThreadingMode.Dedicated,
                            "shared-network" => Aivora.Transport.Driver.ThreadingMode.SharedNetwork,
                            "shared" => Aivora.Transport.Driver.ThreadingMode.Shared,
                            _ => Aivora.Transport.Driver.ThreadingMode.Invoker,
                        },
                    };
                    break;
                case "--shock-bps" when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var bps) && bps is >= 0 and <= 2_000:
                    o = o with { ShockBps = bps };
                    break;
                default:   // a known flag (checked above) with a value out of its range
                    error = $"{flag} {value}: not a valid value (see --help)";
                    return null;
            }
        }

        // The load logs on every maker, every taker and the price feeder; the gateway serves so many sessions at once.
        var sessions = o.Makers + o.Takers + 1;
        var capacity = Configuration.DefaultConfiguration.Gateway.MaxSessions;
        if (sessions > capacity)
        {
            error = $"--makers {o.Makers} and --takers {o.Takers}: the load would log on {sessions} sessions (makers, takers and the price feeder); the node serves {capacity} at once";
            return null;
        }

        return o;
    }
}
