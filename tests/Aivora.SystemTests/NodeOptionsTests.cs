using Aivora.Node;

namespace Aivora.SystemTests;

/// <summary>The node's command line: every bad option is a clear error (the caller exits 2), never ignored, never a stack trace.</summary>
public sealed class NodeOptionsTests
{
    [Theory]
    [InlineData(new[] { "--seed", "abc" }, "--seed abc: not a valid value")]
    [InlineData(new[] { "--seconds", "0" }, "--seconds 0: not a valid value")]
    [InlineData(new[] { "--seconds" }, "--seconds: needs a value")]
    [InlineData(new[] { "--seconds", "--seed", "1" }, "--seconds: needs a value")]
    [InlineData(new[] { "--speed", "3" }, "--speed: unknown option")]
    [InlineData(new[] { "--speed" }, "--speed: unknown option")]
    [InlineData(new[] { "--seconds", "3", "--seconds", "4" }, "--seconds: given twice")]
    [InlineData(new[] { "--driver", "shared", "--seed", "1", "--driver", "invoker" }, "--driver: given twice")]
    [InlineData(new[] { "--makers", "9" }, "--makers 9: not a valid value")]
    [InlineData(new[] { "--makers", "8", "--takers", "8" }, "--makers 8 and --takers 8: the load would log on 17 sessions (makers, takers and the price feeder); the node serves 16 at once")]
    [InlineData(new[] { "--funding-interval-s", "-5" }, "--funding-interval-s -5: not a valid value")]
    public void ShouldRefuseABadOptionWithAClearError(string[] args, string expected)
    {
        Assert.Null(NodeOptions.Parse(args, out var error));
        Assert.StartsWith(expected, error);
    }

    [Fact]
    public void ShouldTakeTheLargestLoadTheNodeServes()
    {
        var o = NodeOptions.Parse(["--makers", "8", "--takers", "7"], out var error);
        Assert.Null(error);
        Assert.Equal((8, 7), (o!.Makers, o.Takers));
    }

    [Fact]
    public void ShouldTakeEveryValidOption()
    {
        var o = NodeOptions.Parse(["--seconds", "2.5", "--seed", "-7", "--makers", "2", "--takers", "0", "--taker-rate", "500", "--funding-interval-s", "60"], out var error);
        Assert.Null(error);
        Assert.Equal((2.5, -7, 2, 0, 500, 60.0), (o!.Seconds, o.Seed, o.Makers, o.Takers, o.TakerOrdersPerSecond, o.FundingIntervalSeconds));
    }

    [Fact]
    public void ShouldExitWithCode2AndNoStackTraceOnABadOption()
    {
        var stderr = new StringWriter();
        var saved = Console.Error;
        Console.SetError(stderr);
        try
        {
            Assert.Equal(2, Program.Main(["--seed", "abc"]));
        }
        finally
        {
            Console.SetError(saved);
        }

        Assert.Contains("--seed abc", stderr.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr.ToString(), StringComparison.Ordinal);
    }
}
