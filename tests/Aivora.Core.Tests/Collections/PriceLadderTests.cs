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
            var movedBefore = ladder.LevelsMoved;
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

            Assert.InRange(ladder.LevelsMoved - movedBefore, 0, PriceLadder.MovesPerAdd);   // no operation pays for a whole move

            // Now and then the best goes, as a sweep would take it: by RemoveBest, or (as the matching loop does) by the key
            // TryBest found.
            if (random.Next(16) == 0 && model.Count > 0)
            {
                var best = model.Keys.Max();
                Assert.Equal(best, ladder.BestKey);
                Assert.Equal(model[best], ladder.BestLevel);
                var way = random.Next(3);
                if (way == 0)
                {
                    ladder.RemoveBest();
                }
                else
                {
                    Assert.True(ladder.TryBest(out var bestKey, out var bestLevel));
                    Assert.Equal((best, model[best]), (bestKey, bestLevel));
                    if (way == 1)
                    {
                        ladder.Remove(bestKey);
                    }
                    else
                    {
                        AssertRemoveBestAndNext(model, ladder, bestKey);
                    }
                }

                model.Remove(best);
            }

            Assert.Equal(model.Count, ladder.Count);
            AssertBest(model, ladder);

            if (i % 997 == 0)
            {
                AssertOrder(model, ladder);
            }
        }

        AssertOrder(model, ladder);
        if (spread > 100_000) Assert.True(ladder.OutsideWindow > 0, "the wide case must exercise the overflow");
    }

    [Fact]
    public void ShouldMoveTheWindowToABookThatDriftedAwayFromAStaleLevel()
    {
        // The window centres on the first key; that level stays while the market trades 200,000 keys away. The window must
        // follow the market (the busy levels back in O(1) reach), leaving the stale level in the overflow, in order throughout.
        var random = new Random(3);
        var ladder = new PriceLadder(2_048);
        var model = new SortedDictionary<long, int> { [0] = 0 };
        ladder.Add(0, 0);
        var mostCarried = 0L;
        for (var i = 1; i < 30_000; i++)
        {
            var key = 200_000 + random.Next(-900, 900);
            var movedBefore = ladder.LevelsMoved;
            if (model.Remove(key))
            {
                ladder.Remove(key);
            }
            else if (!ladder.IsFull)
            {
                ladder.Add(key, i);
                model[key] = i;
            }

            mostCarried = Math.Max(mostCarried, ladder.LevelsMoved - movedBefore);

            Assert.Equal(model.Count, ladder.Count);
            AssertBest(model, ladder);
            Assert.Equal(model.TryGetValue(key - 1, out var expected), ladder.TryGet(key - 1, out var level));
            if (model.ContainsKey(key - 1)) Assert.Equal(expected, level);
            if (i % 1_999 == 0) AssertOrder(model, ladder);
        }

        Assert.Equal(1, ladder.OutsideWindow);   // only the stale level
        Assert.False(ladder.IsCarrying);
        Assert.True(ladder.TryGet(0, out var stale) && stale == 0);
        Assert.Equal(PriceLadder.MovesPerAdd, mostCarried);   // carried a few at a time, never all at once

        // A sweep takes each level as the walk reaches it: the walk goes on from where it was, down to the stale level.
        var swept = new List<long>();
        var cursor = ladder.FromBest();
        while (cursor.MoveNext())
        {
            swept.Add(cursor.Key);
            ladder.Remove(cursor.Key);
        }

        Assert.Equal(model.Keys.Reverse(), swept);
        Assert.Equal(0, ladder.Count);
    }

    [Fact]
    public void ShouldNotMoveTheWindowBackAndForthForAFarLevelComingAndGoing()
    {
        // 500 levels in the window, and a far level that becomes the best and goes, 20,000 times: moving the window (500 levels)
        // each time would carry ten million levels; the moves must stay paid for by the operations that asked for them.
        var ladder = new PriceLadder(1_024);
        var model = new SortedDictionary<long, int>();
        for (var k = 0; k < 500; k++)
        {
            ladder.Add(k * 3, k);
            model[k * 3] = k;
        }

        var operations = 500;
        for (var i = 0; i < 20_000; i++)
        {
            var far = 100_000L + (i % 7);
            ladder.Add(far, 1_000 + i);
            Assert.Equal(far, ladder.BestKey);
            ladder.Remove(far);
            if (i % 3 == 0)
            {
                // The near book moves too: one level goes and comes back.
                var near = (i % 500) * 3;
                ladder.Remove(near);
                ladder.Add(near, model[near]);
                operations += 2;
            }

            operations += 2;
        }

        AssertOrder(model, ladder);
        Assert.True(ladder.LevelsMoved <= (2L * operations) + ladder.Capacity, $"{ladder.LevelsMoved} levels moved over {operations} operations");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ShouldFindWalkAndSweepEveryLevelWhileAMoveIsCarried(int seed)
    {
        // Levels in all three places at once: the window at its new place, the draining window (its old place, overlapping
        // the new one or not) and the overflow (far keys, and keys inside the window not carried in yet). Lookups, the best,
        // removals and a walk that removes each level it returns must see one ladder, as the model does.
        var random = new Random(seed);
        var ladder = new PriceLadder(4_096);
        var model = new SortedDictionary<long, int>();
        var keys = new SortedSet<long>();   // the model's keys again: its largest in O(log n)
        var sawAllThree = false;
        var centre = 0L;
        for (var i = 0; i < 40_000; i++)
        {
            // The busy levels jump 40,000-80,000 keys every 2,500 operations (the window follows them); older levels are taken
            // now and then, so the ladder holds a few thousand.
            if (i % 2_500 == 0) centre += random.Next(40_000, 80_000) * (random.Next(2) == 0 ? 1 : -1);
            var key = random.Next(10) < 3 && model.Count > 0 ? model.Keys.ElementAt(random.Next(model.Count)) : centre + random.Next(-2_000, 2_000);
            Assert.Equal(model.TryGetValue(key, out var expected), ladder.TryGet(key, out var level));
            if (model.ContainsKey(key))
            {
                Assert.Equal(expected, level);
                ladder.Remove(key);
                model.Remove(key);
                keys.Remove(key);
            }
            else if (!ladder.IsFull)
            {
                ladder.Add(key, i);
                model[key] = i;
                keys.Add(key);
            }

            Assert.Equal(model.Count, ladder.Count);
            AssertBest(model, ladder, model.Count > 0 ? keys.Max : null);

            if (ladder.IsCarrying && ladder.Draining > 0 && ladder.OutsideWindow > ladder.Draining && ladder.Count > ladder.OutsideWindow)
            {
                sawAllThree = true;
                if (i % 37 == 0)
                {
                    AssertOrder(model, ladder);
                }

                if (i % 1_000 == 500)
                {
                    // A sweep of the best 20 as the matching loop takes them: each removed by the key found, which finds the next.
                    Assert.True(ladder.TryBest(out var top, out _));
                    for (var n = 0; n < 20 && model.Count > 0; n++)
                    {
                        var next = AssertRemoveBestAndNext(model, ladder, top);
                        model.Remove(top);
                        keys.Remove(top);
                        top = next;
                    }

                    AssertOrder(model, ladder);
                }

                if (i % 1_000 == 0)
                {
                    // A sweep of the best 50, each removed as the walk returns it.
                    var cursor = ladder.FromBest();
                    for (var n = 0; n < 50 && cursor.MoveNext(); n++)
                    {
                        var top = keys.Max;
                        Assert.Equal((top, model[top]), (cursor.Key, cursor.Level));
                        ladder.Remove(cursor.Key);
                        model.Remove(top);
                        keys.Remove(top);
                    }

                    AssertOrder(model, ladder);
                }
            }
        }

        Assert.True(sawAllThree, "the run must hold levels in the window, the draining window and the overflow at once");
        AssertOrder(model, ladder);
    }

    // The best level by all three ways of asking (BestKey and BestLevel; TryBest, false when empty) against the model's.
    // bestKey: the model's largest key, when the caller keeps it at hand (its keys in a sorted set).
    private static void AssertBest(SortedDictionary<long, int> model, PriceLadder ladder, long? bestKey = null)
    {
        Assert.Equal(model.Count > 0, ladder.TryBest(out var key, out var level));
        if (model.Count > 0)
        {
            var best = bestKey ?? model.Keys.Max();
            Assert.Equal((best, model[best]), (ladder.BestKey, ladder.BestLevel));
            Assert.Equal((best, model[best]), (key, level));
        }
    }

    // RemoveBestAndTryNext on the best key (still in the model): the ladder without it, and the next best it returns, as the
    // model has them. Returns that next key (meaningless when none is left).
    private static long AssertRemoveBestAndNext(SortedDictionary<long, int> model, PriceLadder ladder, long best)
    {
        Assert.Equal(model.Keys.Max(), best);
        var found = ladder.RemoveBestAndTryNext(best, out var key, out var level);
        var rest = model.Keys.Where(k => k != best).ToArray();
        Assert.Equal(rest.Length > 0, found);
        Assert.Equal(rest.Length, ladder.Count);
        Assert.False(ladder.TryGet(best, out _));
        if (rest.Length > 0)
        {
            var next = rest.Max();
            Assert.Equal((next, model[next]), (key, level));
        }

        return key;
    }

    private static void AssertOrder(SortedDictionary<long, int> model, PriceLadder ladder)
    {
        var walked = new List<(long, int)>();
        var cursor = ladder.FromBest();
        while (cursor.MoveNext()) walked.Add((cursor.Key, cursor.Level));
        Assert.Equal(model.Reverse().Select(kv => (kv.Key, kv.Value)), walked);
    }
}
