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
