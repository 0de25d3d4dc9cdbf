using Aivora.Core.Collections;

namespace Aivora.Core.Tests.Collections;

public sealed class ExpiryHeapTests
{
    [Fact]
    public void ShouldPopInExpiryThenOrderIdOrderUnderRandomInsertsAndRemoves()
    {
        var random = new Random(5);
        const int slots = 500;
        var heap = new IndexedMinHeap(slots);
        var model = new SortedSet<(long Expiry, long OrderId, int Slot)>();
        var entries = new (long Expiry, long OrderId)?[slots];
        long nextOrderId = 1;
        for (var i = 0; i < 100_000; i++)
        {
            var slot = random.Next(slots);
            if (entries[slot] is { } entry)
            {
                if (random.Next(2) == 0)
                {
                    heap.Remove(slot);
                    model.Remove((entry.Expiry, entry.OrderId, slot));
                    entries[slot] = null;
                }
            }
            else
            {
                var expiry = random.Next(50);   // many equal expiries: the order id must break ties
                heap.Insert(slot, expiry, nextOrderId);
                model.Add((expiry, nextOrderId, slot));
                entries[slot] = (expiry, nextOrderId++);
            }

            Assert.Equal(model.Count, heap.Count);
            if (model.Count > 0)
            {
                Assert.Equal(model.Min.Slot, heap.MinSlot);
                Assert.Equal(model.Min.Expiry, heap.MinKey);
            }
        }
    }
}

public sealed class CollectAtMostTests
{
    /// <summary>
    /// More entries at or below the bound than the output holds: the output gets the smallest, in (key, tie-break) order,
    /// whatever order they were added in (a liquidation cascade takes the positions furthest past their price first, and the
    /// same ones whatever history built the heap). The count is all of them.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ShouldWriteTheSmallestInOrderWhenMoreThanFitWhateverTheInsertionOrder(int seed)
    {
        var random = new Random(seed);
        const int slots = 2_000;
        // Many equal keys (the tie-break decides) and unique tie-breaks in random order, so one order is right.
        var entries = Enumerable.Range(0, slots).Select(slot => (Slot: slot, Key: (long)random.Next(-500, 500), TieBreak: ((long)random.Next(1, 1_000) * slots) + slot)).ToArray();
        const long bound = 100;
        var expected = entries.Where(e => e.Key <= bound).OrderBy(e => e.Key).ThenBy(e => e.TieBreak).Select(e => e.Slot).ToArray();
        foreach (var order in new[] { entries, entries.Reverse().ToArray(), [.. entries.OrderBy(e => e.TieBreak)], [.. entries.OrderByDescending(e => e.Key)] })
        {
            var heap = new IndexedMinHeap(slots);
            foreach (var (slot, key, tieBreak) in order)
            {
                heap.Insert(slot, key, tieBreak);
            }

            foreach (var (slot, _, _) in order.Where((_, i) => i % 7 == 0))
            {
                heap.Remove(slot);   // removals reshape the tree too
            }

            var kept = order.Where((_, i) => i % 7 != 0).Select(e => e.Slot).ToHashSet();
            var expectedKept = expected.Where(kept.Contains).ToArray();
            foreach (var length in new[] { 1, 10, 256, 600, expectedKept.Length })
            {
                var output = new int[length];
                Assert.Equal(expectedKept.Length, heap.CollectAtMost(bound, output));
                Assert.Equal(expectedKept.Take(length), output.Take(Math.Min(length, expectedKept.Length)));
            }
        }
    }
}
