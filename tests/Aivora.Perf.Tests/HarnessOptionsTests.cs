using Aivora.Perf.Book;
using Aivora.Perf.Cascade;
using Aivora.Perf.Node;
using Aivora.Perf.Risk;

namespace Aivora.Perf.Tests;

/// <summary>
/// The harness as a latency engineer calls it: an option the chosen mode cannot use, an option given twice, an unknown workload,
/// a file that cannot be read or written is a message and exit 2 before anything is measured (no RESULT line, no minute spent
/// timing or simulating); the options that fit are honoured. The harness writes to the console, so the tests of this assembly
/// run one at a time (xunit.runner.json) and each captures it.
/// </summary>
public sealed class HarnessOptionsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aivora-perf-options-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("--workload nope", "unknown workload 'nope'")]
    [InlineData("--write {dir}/all.bin", "--write saves one flow: name it with --workload")]
    [InlineData("--workload all --write {dir}/all.bin", "--write saves one flow: name it with --workload")]
    [InlineData("--file {dir}/missing.bin", "--file {dir}/missing.bin:")]
    [InlineData("--file {dir}/odd.bin", "not a whole number of 32-byte records")]
    [InlineData("--file {dir}/empty.bin", "no records (nothing to replay)")]
    [InlineData("--file {dir}/odd.bin --workload dense", "--file replays every record of the file")]
    [InlineData("--file {dir}/odd.bin --write {dir}/x.bin", "--file replays every record of the file")]
    [InlineData("--file {dir}/odd.bin --ops 5000", "--file replays every record of the file")]
    [InlineData("--workload dense --ops 5000 --write {dir}/no-such-dir/x.bin", "--write {dir}/no-such-dir/x.bin:")]
    [InlineData("--ops 5", "--ops takes a whole number")]
    [InlineData("--profile-replays 3", "--profile-replays replays one built-in flow")]
    [InlineData("--workload all --profile-replays 3", "--profile-replays replays one built-in flow")]
    [InlineData("--workload dense --profile-replays 3 --write {dir}/x.bin", "--profile-replays replays one built-in flow")]
    [InlineData("--workload dense --profile-replays 3 --reference-ops 10", "--profile-replays replays one built-in flow")]
    [InlineData("--file {dir}/odd.bin --profile-replays 3", "--file replays every record of the file")]
    [InlineData("--workload dense --profile-replays 0", "--profile-replays takes a whole number")]
    public void Bad_options_are_a_message_and_exit_2_before_anything_is_measured(string options, string message)
    {
        File.WriteAllBytes(Path.Combine(_dir, "odd.bin"), new byte[33]);
        File.WriteAllBytes(Path.Combine(_dir, "empty.bin"), []);

        var (exit, output, error) = Book(options);

        Assert.Equal(2, exit);
        Assert.Contains(message.Replace("{dir}", _dir, StringComparison.Ordinal), error, StringComparison.Ordinal);
        Assert.DoesNotContain("RESULT", output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir, "x.bin")));
        Assert.False(File.Exists(Path.Combine(_dir, "all.bin")));
    }

    [Theory]
    [InlineData("node", "--seed 1 --seed 2", "node: --seed given twice")]
    [InlineData("risk", "--case order-entry --case resting", "risk: --case given twice")]
    [InlineData("risk", "--profile-replays 3", "risk: --profile-replays replays the order-entry flow: name it with --case order-entry")]
    [InlineData("risk", "--case resting --profile-replays 3", "risk: --profile-replays replays the order-entry flow: name it with --case order-entry")]
    [InlineData("risk", "--case order-entry --profile-replays 0", "risk: --profile-replays takes a whole number from 1 to 1,000, not 0")]
    [InlineData("book", "--quick --quick", "book: --quick given twice")]
    [InlineData("jit-training", "--quick", "jit-training: unknown option --quick")]
    [InlineData("cascade", "--pct 3 --pct 4", "cascade: --pct given twice")]
    [InlineData("transport-stat", "{dir}/odd.bin --watchh 2", "transport-stat: unknown option --watchh")]
    [InlineData("transport-stat", "{dir}/odd.bin --watch 2 --watch 3", "transport-stat: --watch given twice")]
    [InlineData("wire", "--sweeps 5", "wire: --sweeps takes a whole number from 10 to 100,000, not 5")]
    [InlineData("cascade", "--png {dir}", "cascade: --png {dir}:")]
    [InlineData("cascade", "--png {dir}/odd.bin/chart.png", "cascade: --png {dir}/odd.bin/chart.png:")]
    [InlineData("stalls", "--ms 5", "stalls: --ms takes a whole number from 10 to 600,000, not 5")]
    [InlineData("stalls", "--cpu 4096", "stalls: --cpu takes a whole number from 0 to 1,023, not 4096")]
    [InlineData("stalls", "--cpu 1023 --ms 10", "stalls: the probe could not be pinned to CPU 1023")]
    [InlineData("stalls", "--ms 20 --ms 30", "stalls: --ms given twice")]
    [InlineData("stalls", "--seconds 1", "stalls: unknown option --seconds")]
    public void An_unknown_or_repeated_option_or_a_chart_that_cannot_be_written_is_refused_before_the_run(string command, string options, string message)
    {
        File.WriteAllBytes(Path.Combine(_dir, "odd.bin"), new byte[33]);
        Func<string[], int> run = command switch
        {
            "node" => NodeBenchmark.Run,
            "risk" => RiskBenchmark.Run,
            "transport-stat" => Transport.TransportStat.Run,
            "wire" => Wire.WireBenchmark.Run,
            "book" or "jit-training" or "stalls" => args => Program.Main([command, .. args]),   // options checked by Main, before any JIT-profile restart
            _ => CascadeSimulator.Run,
        };

        var (exit, output, error) = Capture(run, options);

        Assert.Equal(2, exit);
        Assert.StartsWith(message.Replace("{dir}", _dir, StringComparison.Ordinal), error, StringComparison.Ordinal);
        Assert.Equal("", output);
    }

    [Fact]
    public void The_stalls_probe_prints_a_line_for_the_core_it_names_with_figures_that_hold_together()
    {
        var (exit, output, error) = Capture(args => Program.Main(["stalls", .. args]), "--ms 20 --cpu 0");

        Assert.Equal(0, exit);
        Assert.Equal("", error);
        var line = output.Split('\n').Single(l => l.StartsWith("RESULT bench=stalls ", StringComparison.Ordinal));
        var fields = line.Trim().Split(' ').Skip(2).Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1]);
        double Value(string name) => double.Parse(fields[name], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal("0", fields["cpu"]);
        Assert.Equal("true", fields["pinned"]);   // a probe that could not be pinned is exit 2, never a line
        Assert.InRange(Value("ms"), 20, 1_000);   // how long it ran: at least the 20 asked, more by a stall over the end
        Assert.Equal("2000", fields["stall_ns"]);
        Assert.Equal("10000", fields["long_stall_ns"]);
        Assert.InRange(Value("long_stalls_per_sec"), 0, Value("stalls_per_sec"));
        Assert.InRange(Value("stolen_pct"), 0, 100);
        Assert.True(Value("longest_us") == 0 || Value("longest_us") >= 2.0, line);   // none, or one over 2 us (printed to 0.1 us)
        Assert.InRange(Value("ns_per_read"), 1, 2_000);   // a clock read a turn: tens of nanoseconds, and never a stall's length
        Assert.Equal("false", fields["together"]);
        if (File.Exists("/proc/thread-self/schedstat"))
        {
            // The part of the time another task of this machine had the core: part of what was stolen, at most.
            Assert.InRange(Value("waited_pct"), 0, Value("stolen_pct") + 1);
            Assert.True(Value("switched_out") >= 0, line);
        }
        else
        {
            Assert.Equal("unseen", fields["waited_pct"]);
        }
    }

    [Fact]
    public void The_stalls_probe_probes_every_core_it_names_at_once_with_together()
    {
        var (exit, output, error) = Capture(args => Program.Main(["stalls", .. args]), "--ms 20 --together");

        Assert.Equal(0, exit);
        Assert.Equal("", error);
        var lines = output.Split('\n').Where(l => l.StartsWith("RESULT bench=stalls ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(Environment.ProcessorCount, lines.Length);   // the process's affinity: every CPU here
        Assert.All(lines, l => Assert.Contains(" together=true ", l, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("wire")]
    [InlineData("transport")]
    public async Task A_round_trip_harness_on_one_core_says_it_needs_two_instead_of_spinning_for_minutes(string command)
    {
        // The runtime takes its processor count from DOTNET_PROCESSOR_COUNT: the harness started as on a one-core machine.
        var start = new System.Diagnostics.ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(typeof(Program).Assembly.Location);
        start.ArgumentList.Add(command);
        start.ArgumentList.Add("--quick");
        start.Environment["DOTNET_PROCESSOR_COUNT"] = "1";
        using var harness = System.Diagnostics.Process.Start(start)!;
        var output = harness.StandardOutput.ReadToEndAsync();
        var error = harness.StandardError.ReadToEndAsync();
        if (!harness.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            harness.Kill(entireProcessTree: true);
            Assert.Fail($"{command} ran over 60 s on one core");
        }

        Assert.Equal(2, harness.ExitCode);
        Assert.StartsWith($"{command}: needs two cores", await error, StringComparison.Ordinal);
        Assert.DoesNotContain("RESULT", await output, StringComparison.Ordinal);
    }

    [Fact]
    public void One_workload_written_is_the_file_a_replay_reads_back()
    {
        var path = Path.Combine(_dir, "dense.bin");

        var (written, output, error) = Book($"--workload dense --ops 2000 --reference-ops 100 --write {path}");

        Assert.Equal(0, written);
        Assert.Equal("", error);
        var records = BookRecord.ReadFile(path);
        Assert.Contains($"# wrote {records.Length} records to {path}", output, StringComparison.Ordinal);
        Assert.True(records.Length > 2000, $"{records.Length} records: the prefill and 2,000 operations");
        Assert.Contains("RESULT bench=book impl=engine workload=dense", output, StringComparison.Ordinal);

        var (replayed, replay, replayError) = Book($"--file {path} --reference-ops 100");

        Assert.Equal(0, replayed);
        Assert.Equal("", replayError);
        Assert.Contains($"RESULT bench=book impl=engine ops={records.Length} ", replay, StringComparison.Ordinal);
    }

    [Fact]
    public void The_engines_book_line_says_how_long_the_timed_pass_waited_for_this_machines_other_tasks()
    {
        var (exit, output, error) = Book("--workload dense --ops 2000 --reference-ops 100");

        Assert.Equal(0, exit);
        Assert.Equal("", error);
        var lines = output.Split('\n');
        var engine = lines.Single(l => l.StartsWith("RESULT bench=book impl=engine workload=dense ", StringComparison.Ordinal)).Trim();
        var fields = engine.Split(' ').Skip(2).Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1]);
        if (File.Exists("/proc/thread-self/schedstat"))
        {
            // The kernel's count for the harness thread over its timed pass: microseconds waited (a few ms at most here: a pass
            // of 2,000 operations) and times switched out.
            Assert.InRange(long.Parse(fields["timed_pass_waited_us"], System.Globalization.CultureInfo.InvariantCulture), 0, 10_000_000);
            Assert.True(long.Parse(fields["timed_pass_switched_out"], System.Globalization.CultureInfo.InvariantCulture) >= 0, engine);
        }
        else
        {
            Assert.Equal("unseen", fields["timed_pass_waited_us"]);
        }

        // The reference book's line carries no such figure: it is the engine's pass that the goal's p99.9 reads.
        Assert.DoesNotContain("timed_pass_waited_us", lines.Single(l => l.StartsWith("RESULT bench=book impl=reference workload=dense ", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public void Profile_replays_run_the_one_flow_and_measure_nothing()
    {
        var (exit, output, error) = Book("--workload deep-sweep --ops 2000 --profile-replays 3");

        Assert.Equal(0, exit);
        Assert.Equal("", output);   // no timing floor, no RESULT line: nothing but the replays a profiler samples
        Assert.Matches(@"^# book: deep-sweep, 3 replays of \d+ commands done", error);
    }

    [Fact]
    public void Order_entry_profile_replays_run_the_full_gate_and_measure_nothing()
    {
        var (exit, output, error) = Capture(RiskBenchmark.Run, "--case order-entry --quick --profile-replays 1");

        Assert.Equal(0, exit);
        Assert.Equal("", output);   // no RESULT line, no other case: nothing but the replays a profiler samples
        Assert.Matches(@"^# risk: order-entry, 1 replays of \d+ commands done", error);
    }

    [Fact]
    public void The_by_kind_lines_cover_every_timed_command_once_and_add_up_to_the_printed_excess()
    {
        const int Operations = 20_000;
        var (exit, output, _) = Capture(_ => { RiskBenchmark.OrderEntryByKind(Operations, seed: 3); return 0; }, "");

        Assert.Equal(0, exit);
        var lines = output.Split('\n').Where(l => l.StartsWith("RESULT bench=risk case=order-entry-by-kind ", StringComparison.Ordinal)).ToArray();
        var fields = lines.Select(l => l.Split(' ').Skip(3).Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1])).ToArray();
        var kinds = fields.Select(f => f["kind"]).ToArray();
        Assert.Equal(kinds.Distinct().Count(), kinds.Length);
        Assert.Contains("amend", kinds);
        Assert.Contains("amend-back", kinds);   // pulled back or cut: no margin test
        Assert.Contains("place", kinds);
        Assert.Contains("cancel", kinds);
        Assert.Contains(kinds, k => k.EndsWith("-filled", StringComparison.Ordinal));

        // Every command after the prefill in exactly one kind; "-filled" exactly for the commands that traded on the book alone.
        var flow = ExchangeCoreWorkload.Generate(Operations, 3);
        var commands = BookTranslator.ToCommands(flow.Records);
        var engine = new Aivora.Core.Matching.MatchingEngine<Aivora.Core.Events.CountingSink, Aivora.Core.Matching.NoPositions>(RiskBenchmark.OrderEntryConfig());
        var tradedAfterPrefill = 0;
        for (var i = 0; i < commands.Length; i++)
        {
            var before = engine.Sink.Trades;
            engine.Process(in commands[i]);
            tradedAfterPrefill += i >= flow.PrefillCount && engine.Sink.Trades != before ? 1 : 0;
        }

        long Count(Func<string, bool> which) => fields.Where(f => which(f["kind"])).Sum(f => long.Parse(f["commands"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(commands.Length - flow.PrefillCount, Count(_ => true));
        Assert.Equal(tradedAfterPrefill, Count(k => k.EndsWith("-filled", StringComparison.Ordinal)));

        // Each kind's share of the excess is its excess times its share of the commands; together the line after them.
        double Value(Dictionary<string, string> f, string name) => double.Parse(f[name], System.Globalization.CultureInfo.InvariantCulture);
        Assert.All(fields, f => Assert.Equal(Value(f, "full_ns") - Value(f, "book_ns"), Value(f, "excess_ns"), 0.11));
        // The stages between: the book with the ledger, the gate without the what-ifs, each a time of its own.
        Assert.All(fields, f => Assert.True(Value(f, "ledger_ns") > 0 && Value(f, "checks_ns") > 0, string.Join(' ', f.Keys)));
        Assert.Equal(1.0, fields.Sum(f => Value(f, "share")), 0.01);
        var total = System.Text.RegularExpressions.Regex.Match(output, @"add up to (-?[0-9.]+) ns").Groups[1].Value;
        Assert.Equal(double.Parse(total, System.Globalization.CultureInfo.InvariantCulture), fields.Sum(f => Value(f, "excess_ns_per_command")), 0.1 * fields.Length);
    }

    [Fact]
    public void The_order_entry_pairs_take_each_ratio_within_its_pair_in_ABBA_order_and_carry_the_book_alone_median_of_their_own_passes()
    {
        // Passes that slow down halfway (a spell from the sixth pair on): the book 80 then 120 ns, the gate 150 then 240.
        var calls = new List<char>();
        double Book() { calls.Add('B'); return calls.Count <= 10 ? 80 : 120; }
        double Full() { calls.Add('F'); return calls.Count <= 10 ? 150 : 240; }
        var line = RiskBenchmark.OrderEntryPairsLine(Book, Full, pairs: 10);

        Assert.Equal("BFFBBFFBBFFBBFFBBFFB", new string([.. calls]));   // which of the two runs first alternates
        var fields = line.Split(' ').Skip(2).Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1]);
        Assert.StartsWith("RESULT bench=risk ", line);
        Assert.Equal("order-entry-pairs", fields["case"]);
        Assert.Equal("10", fields["pairs"]);
        Assert.Equal("2.00", fields["ratio_total_over_book_median"]);   // 150 / 80 in five pairs, 240 / 120 in five: the upper middle
        Assert.Equal("1.88", fields["ratio_min"]);
        Assert.Equal("2.00", fields["ratio_max"]);
        Assert.Equal("120.0", fields["book_ns_median"]);                 // the book's own passes: five at 80, five at 120
    }

    [Fact]
    public void The_pull_backs_alone_are_amends_that_each_move_a_resting_order_a_tick_from_the_touch_and_none_takes_the_margin_test()
    {
        const int Operations = 20_000, Amends = 3_000;
        var flow = ExchangeCoreWorkload.Generate(Operations, 3);
        var config = RiskBenchmark.OrderEntryConfig();
        var commands = RiskBenchmark.PullBackFlow(BookTranslator.ToCommands(flow.Records), flow.PrefillCount, config, Amends);

        Assert.Equal(flow.PrefillCount + Amends, commands.Length);
        var book = new Aivora.Core.Matching.MatchingEngine<Aivora.Core.Events.CountingSink, Aivora.Core.Matching.NoPositions>(config);
        for (var i = 0; i < flow.PrefillCount; i++)
        {
            book.Process(in commands[i]);
        }

        for (var i = flow.PrefillCount; i < commands.Length; i++)
        {
            var c = commands[i];
            Assert.Equal(Aivora.Core.Commands.CommandKind.AmendOrder, c.Kind);
            Assert.True(book.TryGetOrder(c.OrderId, out var order));
            Assert.Equal(order.PriceTicks + (order.Side == Aivora.Core.Orders.Side.Buy ? -1 : 1), c.PriceTicks);   // a tick from the touch
            Assert.False(Aivora.Core.Exchange.AmendMarginTest.Applies(order.Side, order.Flags, order.PriceTicks, order.QtyLots, order.FilledLots, c.PriceTicks, c.QtyLots));
            var amended = book.Sink.Amended;
            book.Process(in c);
            Assert.Equal(amended + 1, book.Sink.Amended);
        }

        var (exit, output, _) = Capture(_ => { RiskBenchmark.OrderEntryPullBacksAlone(Operations, seed: 3, Amends); return 0; }, "");
        Assert.Equal(0, exit);
        var line = Assert.Single(output.Split('\n'), l => l.StartsWith("RESULT bench=risk case=order-entry-pull-backs-alone ", StringComparison.Ordinal));
        var fields = line.Split(' ').Skip(3).Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1]);
        Assert.Equal("3000", fields["amends"]);
        Assert.Equal("0", fields["rejected"]);   // both builds took every amend: the gate as the book alone
        double Value(string name) => double.Parse(fields[name], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(Value("book_ns") > 0 && Value("full_ns") > 0);
        Assert.Equal(Value("full_ns") - Value("book_ns"), Value("excess_ns"), 0.11);
    }

    [Fact]
    public void The_resting_orders_case_times_the_gate_and_the_book_alone_in_alternating_rounds_with_every_probe_accepted()
    {
        var (exit, output, error) = Capture(RiskBenchmark.Run, "--quick --case resting");

        Assert.Equal(0, exit);
        Assert.Equal("", error);   // a probe the gate did not accept would say so here
        Assert.Contains("RESULT bench=risk case=order-entry-resting resting_orders=10 ", output, StringComparison.Ordinal);
        Assert.Contains("RESULT bench=risk case=order-entry-resting resting_orders=10000 ", output, StringComparison.Ordinal);
        var scaling = output.Split('\n').Single(l => l.StartsWith("RESULT bench=risk case=order-entry-resting-scaling ", StringComparison.Ordinal));
        var fields = scaling.Trim().Split(' ').Skip(3).Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1]);
        double Value(string name) => double.Parse(fields[name], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal("20", fields["rounds"]);
        // The distinct client order ids among the probes the timing takes in turn (counted from them): not one key's neighbourhood.
        Assert.Equal("256", fields["probe_client_ids"]);
        Assert.InRange(Value("ratio_10k_over_10"), Value("ratio_p25"), Value("ratio_p75"));
        Assert.True(Value("ratio_p25") > 0);

        // The book alone beside the gate on the same resting orders: its ratio, and the gate's own excess over it.
        Assert.True(Value("book_ratio_10k_over_10") > 0);
        Assert.InRange(Value("gate_excess_ratio_10k_over_10"), Value("gate_excess_p25"), Value("gate_excess_p75"));
        foreach (var count in new[] { "10", "10000" })
        {
            var line = output.Split('\n').Single(l => l.StartsWith($"RESULT bench=risk case=order-entry-resting resting_orders={count} ", StringComparison.Ordinal));
            var gate = double.Parse(System.Text.RegularExpressions.Regex.Match(line, @" ns_per_place_and_cancel=([0-9.]+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            var book = double.Parse(System.Text.RegularExpressions.Regex.Match(line, @" book_ns_per_place_and_cancel=([0-9.]+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(gate > 0 && book > 0, line);
        }
    }

    [Fact]
    public void The_sweep_anatomy_prints_each_shape_and_the_fit_drawn_from_them()
    {
        var (exit, output, error) = Capture(_ => { SweepAnatomy.Run(BookTranslator.Config(65_536, 16_384, 4_096), sweeps: 300); return 0; }, "");

        Assert.Equal(0, exit);
        Assert.Equal("", error);
        var lines = output.Split('\n').Where(l => l.StartsWith("RESULT bench=book case=sweep-anatomy ", StringComparison.Ordinal)).ToArray();
        var fields = lines.Select(l => l.Trim().Split(' ').Skip(3).Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1])).ToArray();
        double Value(Dictionary<string, string> f, string name) => double.Parse(f[name], System.Globalization.CultureInfo.InvariantCulture);
        double P50(string fills, string perLevel, string sink, string cold) =>
            Value(fields.Single(f => f.GetValueOrDefault("fills") == fills && f["orders_per_level"] == perLevel && f["sink"] == sink && f["cold"] == cold), "p50_ns");

        Assert.Equal(7, lines.Length);   // six shapes, then the fit
        Assert.All(fields.Take(6), f => Assert.Equal(Value(f, "p50_ns") / Value(f, "fills"), Value(f, "ns_per_fill"), 0.051));
        Assert.All(fields.Take(6), f => Assert.Equal(f["cold"] == "1" ? "30" : "300", f["sweeps"]));
        var fit = fields[6];
        double oneALevel = P50("40", "1", "counting", "0"), oneLevel = P50("40", "40", "counting", "0"), small = P50("10", "10", "counting", "0");
        Assert.Equal((oneALevel - oneLevel) / 39, Value(fit, "per_level_ns"), 0.051);
        Assert.Equal((oneLevel - small) / 30, Value(fit, "per_fill_ns"), 0.051);
        Assert.Equal(small - (10 * Value(fit, "per_fill_ns")) - Value(fit, "per_level_ns"), Value(fit, "fixed_ns"), 1.1);   // the fit's terms as printed (0.1 ns) and fixed_ns (1 ns)
        double mixed = P50("40", "5", "counting", "0");
        Assert.Equal(1 - (P50("40", "5", "state-only", "0") / mixed), Value(fit, "events_share"), 0.0051);
        Assert.Equal(P50("40", "5", "counting", "1") / mixed, Value(fit, "cold_over_warm"), 0.0051);
    }

    [Fact]
    public void The_sweep_anatomy_says_it_is_not_run_when_the_order_budget_cannot_hold_its_book()
    {
        var (exit, output, error) = Capture(_ => { SweepAnatomy.Run(BookTranslator.Config(1_041, 16_384, 4_096), sweeps: 300); return 0; }, "");

        Assert.Equal(0, exit);
        Assert.Equal("book: the sweep anatomy needs room for 1,042 resting orders and --max-orders gives 1,041: not run", error.Trim());
        Assert.DoesNotContain("RESULT", output, StringComparison.Ordinal);
    }

    private (int Exit, string Output, string Error) Book(string options) => Capture(BookBenchmark.Run, options);

    private (int Exit, string Output, string Error) Capture(Func<string[], int> run, string options)
    {
        var args = options.Replace("{dir}", _dir, StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var (output, error) = (new StringWriter(), new StringWriter());
        var (oldOut, oldError) = (Console.Out, Console.Error);
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            return (run(args), output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldError);
        }
    }
}
