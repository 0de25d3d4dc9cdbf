using System.Numerics;
using Aivora.Core.Instruments;

namespace Aivora.Core.Tests.Risk;

public sealed class PriceBandTests
{
    /// <summary>
    /// A band in basis points is ⌊reference × bps ÷ 10,000⌋ ticks (never wider by rounding): the 64-bit path and the
    /// 128-bit one must both give it, from small references to products far past 64 bits.
    /// </summary>
    [Fact]
    public void ShouldRoundABasisPointBandDownAtEveryMagnitude()
    {
        var random = new Random(80);
        for (var i = 0; i < 100_000; i++)
        {
            var reference = random.Next(3) switch
            {
                0 => random.NextInt64(1, 100_000),
                1 => random.NextInt64(1, 1L << 50),
                _ => random.NextInt64(1, long.MaxValue),
            };
            var bps = random.Next(2) == 0 ? random.NextInt64(0, 10_000) : random.NextInt64(0, 1_000_000);
            var expected = (BigInteger)reference * bps / 10_000;
            if (expected > long.MaxValue)
            {
                continue;
            }

            Assert.Equal((long)expected, PriceBand.InBasisPoints(bps).WidthTicks(reference));
        }

        Assert.Equal(7, PriceBand.InTicks(7).WidthTicks(123_456));
        Assert.Equal(0, PriceBand.InBasisPoints(1).WidthTicks(9_999));        // 0.9999 ticks round down to none
        Assert.Equal(1, PriceBand.InBasisPoints(1).WidthTicks(10_000));
    }
}
