using Aivora.Core.Collections;

namespace Aivora.Core.Tests.Collections;

public sealed class LevelTreeTests
{
    [Theory]
    [InlineData(1, 64)]              // few keys: the root turns from a leaf to an inner node and back often
    [InlineData(7, 5_000)]           // thousands of keys spread over ±10^9: three levels, every split, loan and merge on the way
    public void ShouldAgreeWithASortedModelAndStayBalanced(int seed, int capacity)
    {
        var random = new Random(seed);
        var tree = new LevelTree(capacity);
        var model = new Dictionary<long, int>();
        var sorted = new SortedSet<long>();
        var keys = new List<long>();
        for (var i = 0; i < 40_000; i++)
        {
            var roll = random.Next(100);
            if (roll < 55 && model.Count < capacity)
            {
                var key = random.NextInt64(-1_000_000_000, 1_000_000_000);
                if (!model.ContainsKey(key))
                {
                    // As a ladder adds a price: looked up first (the add may reuse that miss's way down), or after another
                    // key's lookup, or with the tree changed by a removal between the lookup and the add.
                    switch (random.Next(4))
                    {
                        case 0:
                            Assert.False(tree.TryGet(key, out _));
                            break;
                        case 1:
                            // Its own miss, then another key's lookup (a key held, found: its way down replaces the miss's).
                            Assert.False(tree.TryGet(key, out _));
                            var other = keys.Count > 0 && random.Next(2) == 0 ? keys[random.Next(keys.Count)] : random.NextInt64(-1_000_000_000, 1_000_000_000);
                            Assert.Equal(model.ContainsKey(other), tree.TryGet(other, out _));
                            break;
                        case 2 when keys.Count > 0:
                            Assert.False(tree.TryGet(key, out _));
                            var gone = keys[^1];
                            keys.RemoveAt(keys.Count - 1);
                            Assert.True(tree.Remove(gone));
                            model.Remove(gone);
                            sorted.Remove(gone);
                            break;
                    }

                    model[key] = i;
                    sorted.Add(key);
                    tree.Add(key, i);
                    keys.Add(key);
                }
            }
            else if (roll < 95 && keys.Count > 0)
            {
                var at = random.Next(keys.Count);
                var key = keys[at];
                keys[at] = keys[^1];
                keys.RemoveAt(keys.Count - 1);
                Assert.True(tree.Remove(key));
                model.Remove(key);
                sorted.Remove(key);
            }
            else
            {
                // A key the tree may or may not hold: lookups and the next key down agree with the model.
                var probe = keys.Count > 0 && random.Next(2) == 0 ? keys[random.Next(keys.Count)] : random.NextInt64(-1_000_000_000, 1_000_000_000);
                Assert.Equal(model.TryGetValue(probe, out var expected), tree.TryGet(probe, out var level));
                if (model.ContainsKey(probe)) Assert.Equal(expected, level);
                var lower = sorted.GetViewBetween(long.MinValue, probe - 1);
                var below = lower.Count == 0 ? long.MinValue : lower.Max;
                Assert.Equal(below != long.MinValue, tree.TryBelow(probe, out var belowKey, out var belowLevel));
                if (below != long.MinValue)
                {
                    Assert.Equal(below, belowKey);
                    Assert.Equal(model[below], belowLevel);
                }
            }

            Assert.Equal(model.Count, tree.Count);
            if (model.Count > 0)
            {
                var best = sorted.Max;
                Assert.Equal(best, tree.BestKey);
                Assert.Equal(model[best], tree.BestLevel);
            }

            if (i % 499 == 0)
            {
                // Every node but the root is at least half full, so the height stays within log_16 n + 1: the bound every
                // operation's cost rests on.
                var height = tree.Validate();
                Assert.True(height <= HeightBound(model.Count), $"height {height} for {model.Count} keys");
            }
        }

        Assert.True(model.Count > 0);
        Assert.Equal(sorted.Reverse(), WalkDown(tree));
    }

    [Fact]
    public void ShouldCountTheEntriesBelowAKeyAlikeWithVectorsAndByScan()
    {
        // A node's 32 slots: a sorted run from first to end, anything before and after it (stale entries). Both ways of
        // counting must give the model's answer, strictly below and at-or-below, for keys on, between and beyond the run.
        var random = new Random(11);
        var slots = new long[32];
        for (var round = 0; round < 20_000; round++)
        {
            for (var k = 0; k < slots.Length; k++) slots[k] = random.NextInt64(long.MinValue, long.MaxValue);
            var first = random.Next(2);
            var end = random.Next(first, 33);
            var run = Enumerable.Range(0, end - first).Select(_ => random.NextInt64(-1_000, 1_000)).Order().ToArray();
            run.CopyTo(slots, first);
            long[] probes = [long.MinValue, long.MaxValue, random.NextInt64(-1_100, 1_100), run.Length > 0 ? run[random.Next(run.Length)] : 0];
            foreach (var key in probes)
            {
                foreach (var orEqual in (bool[])[false, true])
                {
                    var expected = run.Count(e => e < key || (orEqual && e == key));
                    Assert.Equal(expected, LevelTree.CountBelowVector(slots, key, first, end, orEqual));
                    Assert.Equal(expected, LevelTree.CountBelowScalar(slots, key, first, end, orEqual));
                }
            }
        }
    }

    [Fact]
    public void ShouldStayBalancedWhenKeysArriveInOrder()
    {
        // Prices walking away one tick at a time: the shape that degenerates an unbalanced tree into a list.
        var tree = new LevelTree(4_096);
        for (var key = 0L; key < 4_096; key++) tree.Add(key, (int)key);
        Assert.True(tree.Validate() <= HeightBound(4_096));
        for (var key = 0L; key < 4_000; key++) Assert.True(tree.Remove(key));
        Assert.True(tree.Validate() <= HeightBound(96));
        Assert.Equal(4_095, tree.BestKey);
        Assert.Equal(Enumerable.Range(4_000, 96).Reverse().Select(k => (long)k), WalkDown(tree));
    }

    [Fact]
    public void ShouldHoldItsWholeCapacityInAnyOrder()
    {
        // Filled to capacity (the node pools' worst case: keys arriving in order leave every split leaf half full), emptied
        // and filled again in random order: the pools sized at construction must do.
        const int capacity = 400_000;
        var tree = new LevelTree(capacity);
        for (var key = 0L; key < capacity; key++) tree.Add(key, (int)key);
        Assert.Equal(capacity, tree.Count);
        Assert.True(tree.Validate() <= HeightBound(capacity));
        var order = Enumerable.Range(0, capacity).ToArray();
        new Random(3).Shuffle(order);
        foreach (var key in order) Assert.True(tree.Remove(key));
        Assert.Equal(0, tree.Count);
        foreach (var key in order) tree.Add(key * 7L, key);
        Assert.True(tree.Validate() <= HeightBound(capacity));
        Assert.Equal((capacity - 1) * 7L, tree.BestKey);
    }

    [Fact]
    public void ShouldRefuseAKeyBeyondCapacityAndReportAnAbsentKey()
    {
        var tree = new LevelTree(2);
        tree.Add(10, 1);
        tree.Add(20, 2);
        Assert.Throws<InvalidOperationException>(() => tree.Add(30, 3));
        Assert.False(tree.Remove(15));
        Assert.Equal(2, tree.Count);
        Assert.True(tree.Remove(20));
        tree.Add(5, 3);   // the freed node is used again
        Assert.Equal(new long[] { 10, 5 }, WalkDown(tree));
        Assert.Equal(10, tree.BestKey);
        Assert.False(tree.TryBelow(5, out _, out _));
    }

    private static double HeightBound(int keys) => 1 + Math.Log(Math.Max(keys, 1), 16) + 1e-9;

    private static List<long> WalkDown(LevelTree tree)
    {
        var walked = new List<long>();
        if (tree.Count == 0) return walked;
        var key = tree.BestKey;
        walked.Add(key);
        while (tree.TryBelow(key, out key, out _)) walked.Add(key);
        return walked;
    }
}
