using Aivora.Core.Collections;

namespace Aivora.Core.Tests.Collections;

public sealed class PriceLadderTests
{
    [Fact]
    public void ShouldKeepKeysSortedWithBestLastUnderRandomInsertsAndRemoves()
    {
        var random = new Random(9);
        var ladder = new PriceLadder(256);
        var model = new SortedDictionary<long, int>();
        for (var i = 0; i < 50_000; i++)
        {
            var key = random.Next(-300, 300);
            var index = ladder.Find(key);
            Assert.Equal(model.ContainsKey(key), index >= 0);
            if (index >= 0)
            {
                Assert.Equal(model[key], ladder.LevelAtIndex(index));
                if (random.Next(2) == 0)
                {
                    ladder.RemoveAt(index);
                    model.Remove(key);
                }
            }
            else if (!ladder.IsFull)
            {
                ladder.InsertAt(~index, key, i);
                model[key] = i;
            }

            Assert.Equal(model.Count, ladder.Count);
            if (model.Count > 0)
            {
                Assert.Equal(model.Keys.Max(), ladder.BestKey);
                Assert.Equal(model[model.Keys.Max()], ladder.BestLevel);
            }
        }

        var expected = model.Reverse().Select(kv => kv.Value).ToArray();
        Assert.Equal(expected, Enumerable.Range(0, ladder.Count).Select(ladder.LevelAt));
    }
}
