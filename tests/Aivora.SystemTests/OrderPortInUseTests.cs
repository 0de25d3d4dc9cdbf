using System.Net;
using System.Net.Sockets;

namespace Aivora.SystemTests;

/// <summary>
/// An operator starting a second node on a machine where one already runs (its order entry port taken): a FAILED line that
/// says what happened and exit 1, not an unhandled exception with a stack trace.
/// </summary>
public sealed class OrderPortInUseTests
{
    [Fact]
    public void ShouldFailWithAClearLineWhenTheOrderEntryPortIsTaken()
    {
        // What a running node holds: the order entry endpoint of the embedded configuration (the system tests run one at a time).
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 40100));

        var (exitCode, output, errors) = NodeProcess.Run(["--seconds", "1", "--shock-bps", "0"], setting: null);

        Assert.True(exitCode == 1, $"exit code {exitCode}: {errors}\n{output}");
        Assert.Contains("FAILED: the node's channels could not open (", output, StringComparison.Ordinal);   // then the system's words for it
        Assert.Contains("is another node running here? (order entry aeron:udp?endpoint=127.0.0.1:40100)", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", errors + output, StringComparison.Ordinal);
    }
}
