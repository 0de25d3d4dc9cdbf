using Aivora.Core.Margin;
using BenchmarkDotNet.Attributes;

namespace Aivora.Benchmarks;

/// <summary>
/// <see cref="LiquidationMath.LiquidationPrice"/> on the positions an order's acknowledgement asks about in `perf risk`'s
/// order-entry flow: 1-199 lots near 1,000,000 ticks (one unit of money a tick and lot), behind a cross margin of
/// 1,000,000 USDT (6 decimals), with that flow's four tiers. A long that big a margin backs has no liquidation price (the
/// numerator is negative: no division); a short's numerator times 1e8 passes 64 bits (a 128-by-64-bit division). Mixed:
/// either, at random, as in the flow. Per call, over 4,096 positions an invocation.
/// </summary>
public class LiquidationPriceBenchmarks
{
    private const long Usdt = 1_000_000;
    private const int Positions = 4_096;
    private readonly MarginTierTable _tiers = new(
    [
        new MarginTier(0, 400_000, 125),
        new MarginTier(50_000 * Usdt, 500_000, 100),
        new MarginTier(250_000 * Usdt, 1_000_000, 50),
        new MarginTier(1_000_000 * Usdt, 2_500_000, 20),
    ]);

    private readonly long[] _lots = new long[Positions];
    private readonly long[] _costs = new long[Positions];
    private readonly long[] _margins = new long[Positions];

    [Params("long", "short", "mixed")]
    public string Side { get; set; } = "mixed";

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        for (var k = 0; k < Positions; k++)
        {
            var sign = Side switch { "long" => 1, "short" => -1, _ => random.Next(2) == 0 ? 1 : -1 };
            _lots[k] = random.Next(1, 200) * sign;
            _costs[k] = Math.Abs(_lots[k]) * (1_000_000 + random.Next(-5_000, 5_000)) * sign;
            _margins[k] = (1_000_000 * Usdt) + random.Next(-1_000_000, 1_000_000);
        }
    }

    [Benchmark(OperationsPerInvoke = Positions)]
    public long LiquidationPrice()
    {
        long sum = 0;
        for (var k = 0; k < Positions; k++)
        {
            sum += LiquidationMath.LiquidationPrice(_lots[k], _costs[k], _margins[k], _tiers, 1);
        }

        return sum;
    }
}
