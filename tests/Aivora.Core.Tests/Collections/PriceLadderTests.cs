using Aivora.Core.Collections;

namespace Aivora.Core.Tests.Collections;

public sealed class PriceLadderTests
{
    [Theory]
    [InlineData(300, 256)]            // dense: every key inside the window
    [InlineData(200_000, 4_096)]      // wide: far keys on both sides go to the overflow, and back into the window when it re-centres
    public void ShouldAgreeWithASortedModelUnderRandomAddsAndRemoves(int spread, int capacity)
    {
        var random = new Random(9);
        var ladder = new PriceLadder(capacity);
        var model = new SortedDictionary<long, int>();
        var centre = 1_000_000L;
        for (var i = 0; i < 60_000; i++)
        {
            if (i % 10_000 == 0) centre += random.Next(-50_000, 50_000);   // the market moves
            var key = centre + random.Next(-spread, spread);
            Assert.Equal(model.TryGetValue(key, out var expected), ladder.TryGet(key, out var level));
            if (model.ContainsKey(key))
            {
                Assert.Equal(expected, level);
                if (random.Next(2) == 0)
                {
                    ladder.Remove(key);
                    model.Remove(key);
                }
            }
            else if (!ladder.IsFull)
            {
                ladder.Add(key, i);
                model[key] = i;
            }

            // Now and then the best goes, as a sweep would take it.
            if (random.Next(16) == 0 && model.Count > 0)
            {
                var best = model.Keys.Max();
                Assert.Equal(best, ladder.BestKey);
                Assert.Equal(model[best], ladder.BestLevel);
                ladder.RemoveBest();
                model.Remove(best);
            }

            Assert.Equal(model.Count, ladder.Count);
            if (model.Count > 0)
            {
                Assert.Equal(model.Keys.Max(), ladder.BestKey);
                Assert.Equal(model[model.Keys.Max()], ladder.BestLevel);
            }

            if (i % 997 == 0)
            {
                AssertOrder(model, ladder);
            }
        }

        AssertOrder(model, ladder);
        if (spread > 100_000) Assert.True(ladder.OutsideWindow > 0, "the wide case must exercise the overflow");
    }

    private static void AssertOrder(SortedDictionary<long, int> model, PriceLadder ladder)
    {
        var walked = new List<(long, int)>();
        var cursor = ladder.FromBest();
        while (cursor.MoveNext()) walked.Add((cursor.Key, cursor.Level));
        Assert.Equal(model.Reverse().Select(kv => (kv.Key, kv.Value)), walked);
    }
}
