using System.Diagnostics;

namespace Aivora.SystemTests;

/// <summary>
/// An operator stopping a running node (Ctrl+C, or a service manager's SIGTERM): the run ends as at its planned end (the load
/// stops sending, what is in flight drains) and the report and its checks follow, with a line saying it was stopped and when.
/// The node used to die on the signal with exit 130 and print nothing of the run.
/// </summary>
public sealed class GracefulStopTests
{
    [Theory]
    [InlineData("INT", "SIGINT")]
    [InlineData("TERM", "SIGTERM")]
    public async Task ShouldDrainAndReportWhenStoppedBySignal(string signal, string named)
    {
        // The signal goes to the process the operator started, which passes it on to the node it started with the JIT profile.
        var start = NodeProcess.Start(["--seconds", "60"], setting: null, environment: null);
        NodeProcess.WithSigIntAsFromTerminal(start);   // whatever runs the tests may ignore SIGINT, as a shell's background job does

        using var node = Process.Start(start)!;
        var errors = node.StandardError.ReadToEndAsync();
        var output = new System.Text.StringBuilder();
        var signalled = false;
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            string? line;
            while ((line = await node.StandardOutput.ReadLineAsync(deadline.Token)) is not null)
            {
                output.AppendLine(line);
                if (line.StartsWith("sessions:", StringComparison.Ordinal)) break;
            }

            if (line is null)
            {
                Assert.Fail($"the node ended before trading: {output}{await errors}");
            }

            await Task.Delay(1_500, deadline.Token);   // trading (its warm-up is 1 s)
            using (var kill = Process.Start("kill", ["-s", signal, node.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(deadline.Token);
            }

            signalled = true;
            // Line by line, so that a node that does not stop leaves what it printed after the signal in the failure message.
            while ((line = await node.StandardOutput.ReadLineAsync(deadline.Token)) is not null)
            {
                output.AppendLine(line);
            }

            await node.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the node did not stop within 60 s of its start ({(signalled ? $"{signal} sent to process {node.Id}" : "no signal sent yet")}); its output:\n{output}");
        }
        finally
        {
            if (!node.HasExited) node.Kill(entireProcessTree: true);
        }

        var text = output.ToString();
        Assert.True(node.ExitCode == 0, $"exit code {node.ExitCode}: {await errors}\n{text}");
        Assert.Matches($@"stopped: {named} after [0-9.]+ s of the 60 s run; the load stopped sending", text);
        Assert.Contains("shock: not fed (the run was stopped before 60 % of it)", text, StringComparison.Ordinal);
        Assert.Matches(@"replay: the [0-9,]+ recorded commands fed to a fresh state machine reach the same hashes", text);
        Assert.Contains("(conserved to the unit)", text, StringComparison.Ordinal);
        Assert.Contains("result: ok", text, StringComparison.Ordinal);
    }
}
