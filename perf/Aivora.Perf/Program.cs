using Aivora.Perf.Book;

namespace Aivora.Perf;

/// <summary>Performance harness: one sub-command per area, each printing machine-readable RESULT lines.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var command = args.Length > 0 ? args[0] : "";
        var rest = args.Length > 0 ? args[1..] : [];
        // The sub-commands that read their options as they go are checked here first (the others check their own).
        (string[] Flags, string[] Valued)? options = command switch
        {
            "book" => (["--quick"], ["--ops", "--reference-ops", "--max-orders", "--workload", "--write", "--file", "--profile-replays"]),
            "codec" or "transport" or "ladder" => (["--quick"], []),
            "jit-training" => ([], []),
            "transport-throughput" => (["--quick"], ["--counters"]),
            "wire" => (["--quick", "--market-data"], ["--rate", "--sweeps"]),
            "stalls" => (["--quick", "--together"], ["--ms", "--cpu"]),
            _ => null,
        };
        if (options is { } known && CommandLine.Check(command, rest, known.Flags, known.Valued) is { } optionError)
        {
            Console.Error.WriteLine(optionError);
            return 2;
        }

        // The round-trip harnesses spin at both ends: on one core each round trip would wait out the other end's time slice.
        if (command is "wire" or "transport" && Environment.ProcessorCount < 2)
        {
            Console.Error.WriteLine($"{command}: needs two cores (both ends of each round trip spin, one core each); this machine offers {Environment.ProcessorCount}");
            return 2;
        }

        if (command is not ("" or "transport-pong" or "transport-stat" or "jit-profile-child" or "jit-training" or "stalls"))
        {
            // Measured as the node runs: compiled with a recorded run's counts (core/Aivora.Node/Engine/JitProfile.cs), which may
            // mean starting again with them.
            // node-ab loads another build: its methods compile with that build's own profile, merged in.
            var against = command == "node-ab" ? CommandLine.Value(rest, "--against") : null;
            string[] otherProfiles = against is null ? [] : [Path.Combine(Path.GetDirectoryName(Path.GetFullPath(against)) ?? "", "Aivora.Perf.jit-profile.txt")];
            if (Aivora.Node.Engine.JitProfile.RunWithProfile(typeof(Program).Assembly, args, otherProfiles) is { } exitCode)
            {
                return exitCode;
            }

            Console.WriteLine("# " + Aivora.Node.Engine.JitProfile.Describe(typeof(Program).Assembly));
        }

        switch (command)
        {
            case "book":
                return BookBenchmark.Run(rest);
            case "ladder":
                return WindowMoveBenchmark.Run(rest);
            case "codec":
                return Codec.CodecBenchmark.Run(rest);
            case "risk":
                return Risk.RiskBenchmark.Run(rest);
            case "transport":
                return Transport.TransportPingPong.Run(rest);
            case "transport-throughput":
                return Transport.TransportThroughput.Run(rest);
            case "transport-stat":
                return Transport.TransportStat.Run(rest);
            case "node":
                return Node.NodeBenchmark.Run(rest);
            case "node-ab":
                return Node.NodeAb.Run(rest);
            case "jit-profile-ab":
                return Node.JitProfileAb.Run(rest);
            case "jit-profile-child":
                return Node.JitProfileAb.RunChild(rest);
            case "jit-training":
                // perf/scripts/record-jit-profile.sh: the runs the harness's JIT profile is recorded from, in one process so the
                // methods both flows share count both: the node flow and the order-entry flow, each at another seed than measured.
                return Node.NodeBenchmark.Run(["--quick", "--seed", "7"]) | Risk.RiskBenchmark.Run(["--quick", "--case", "order-entry", "--seed", "7"]);
            case "wire":
                return Wire.WireBenchmark.Run(rest);
            case "cascade":
                return Cascade.CascadeSimulator.Run(rest);
            case "transport-pong":
                return Transport.TransportPingPong.RunPong(rest);
            case "stalls":
                return Stalls.StallsBenchmark.Run(rest);
            default:
                Console.Error.WriteLine("""
                    usage: Aivora.Perf <sub-command> [options]
                      book [--quick] [--workload NAME] [--ops N] [--reference-ops N] [--write PATH]   built-in exchange-core-style flows (--write: one --workload)
                      book --file PATH [--max-orders N] [--reference-ops N]       replay a 32-byte-record command file
                      ladder [--quick]                                             the price ladder's window following a market that moved away: worst operation at 400 and 4,000 levels
                      codec [--quick]                                              encode/decode cost per message of the exchange schema
                      risk [--quick] [--case NAME] [--seed N] [--profile-replays N]  order entry with pre-trade risk vs book only; mark-update scaling
                      transport [--quick]                                          32-byte ping-pong between two processes: our Aeron transport vs raw UDP
                      transport-throughput [--quick] [--counters PATH]             one-way messages/s and MB/s for 32 B and 1 KB messages
                      transport-stat <counters-file> [--watch N]                   print a running driver's counters (STAT lines)
                      node [--quick] [--profile-replays N] [--commands N] [--seed N]  the state machine alone on the node's flow, with the book alone beside it
                      node-ab --against PATH [--pairs N] [--commands N] [--flow node|order-entry|book:NAME] [--metric throughput|p999]   this build against another build, in one process (ABBA pairs)
                      jit-profile-ab [--pairs N] [--commands N] [--flow node|order-entry]   the node flow compiled with the JIT profile against without it (child processes, ABBA pairs)
                      wire [--quick] [--market-data]                               order -> ack through the whole node vs raw UDP; open-loop saturation (--market-data: multicast market data to a subscribed client, as in production)
                      cascade [--shock jump|ramp|gap] [--pct P] [--accounts N]     a price shock on a generated population: the liquidation chain, summary and a PNG
                      stalls [--quick] [--ms N] [--cpu N] [--together]             what each core takes from a thread that never yields it: the floor under every tail figure
                    """);
                return 2;
        }
    }
}
