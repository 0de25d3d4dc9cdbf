using Aivora.Core.Events;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using static Aivora.Core.Tests.EngineHarness;

namespace Aivora.Core.Tests.Matching;

/// <summary>
/// The order-id index finds every resting order by its id and nothing else, also when the ring of cells wraps onto an
/// order that still rests (it moves to the displaced table) and when a cell names a slot that now holds another order.
/// </summary>
public sealed class OrderIdIndexTests
{
    /// <summary>
    /// The engine's use of it, against a dictionary: ids issued in sequence (some never rest, as IOC orders), resting ones
    /// removed at random (some soon, some only after many ring lengths), every step's lookups of live, ended and
    /// never-issued ids answered as the dictionary answers.
    /// </summary>
    [Theory]
    [InlineData(1, 16, 64)]
    [InlineData(2, 16, 8)]
    [InlineData(3, 64, 40)]
    [InlineData(4, 1_024, 500)]
    public void ShouldAgreeWithDictionaryWhileTheRingWrapsOntoRestingOrders(int seed, int cells, int slots)
    {
        var random = new Random(seed);
        var orders = new OrderSlot[slots];
        var index = new OrderIdIndex(orders, cells);
        var model = new Dictionary<long, int>();
        var free = new Stack<int>(Enumerable.Range(0, slots).Reverse());
        var live = new List<long>();
        long nextId = 1;
        var displacedSeen = 0;
        for (var step = 0; step < 100_000; step++)
        {
            var action = random.Next(10);
            if (action < 4 && free.Count > 0)
            {
                // A new order: rests (indexed) or, one time in four, takes an id and leaves (an IOC: never indexed).
                var id = nextId++;
                if (random.Next(4) == 0)
                {
                    continue;
                }

                var slot = free.Pop();
                orders[slot].OrderId = id;
                index.Add(id, slot);
                model.Add(id, slot);
                live.Add(id);
            }
            else if (action < 7 && live.Count > 0)
            {
                // Mostly the newest orders end (they churn), so the oldest outlive the ring.
                var k = random.Next(3) == 0 ? random.Next(live.Count) : live.Count - 1 - random.Next(Math.Min(4, live.Count));
                var id = live[k];
                live.RemoveAt(k);
                var slot = model[id];
                model.Remove(id);
                index.Remove(id, slot);
                orders[slot].OrderId = 0;   // back to the pool, as the engine's release does
                free.Push(slot);
            }

            displacedSeen = Math.Max(displacedSeen, index.DisplacedCount);
            Assert.Equal(model.Count, index.Count);
            foreach (var id in (ReadOnlySpan<long>)[random.NextInt64(-3, nextId + 40), nextId - 1 - random.Next(cells * 4), live.Count > 0 ? live[random.Next(live.Count)] : 0])
            {
                Assert.Equal(model.TryGetValue(id, out var expected), index.TryGetValue(id, out var actual));
                if (model.ContainsKey(id))
                {
                    Assert.Equal(expected, actual);
                }
            }
        }

        Assert.True(displacedSeen > 0, "the ring never wrapped onto a resting order: the displaced table went untested");
        foreach (var (id, slot) in model)
        {
            Assert.True(index.TryGetValue(id, out var actual));
            Assert.Equal(slot, actual);
        }
    }

    /// <summary>
    /// Through the engine with a ring of 16 cells: an order whose cell a later resting order took is still amended and
    /// cancelled by its id, and the id of an order that ended is refused when its cell names the slot a later order holds.
    /// </summary>
    [Fact]
    public void ShouldFindAnOrderThatOutlivedTheRingAndRefuseAnEndedIdWhoseCellALaterOrderTook()
    {
        var h = new EngineHarness(maxResting: 4);   // 5 slots: a ring of 16 cells
        var old = h.Rest(1, Side.Buy, 9_900, 2);
        TakeIdsWithoutResting(h, 15);
        var displacer = h.Rest(2, Side.Buy, 9_920, 2);   // 16 ids after the old one: its cell
        Assert.Equal(old + 16, displacer);

        var ended = h.Rest(2, Side.Buy, 9_905, 2);
        Assert.Single(h.Cancel(2, ended), e => e.Kind == EventKind.OrderCancelled);
        TakeIdsWithoutResting(h, 15);
        var later = h.Rest(2, Side.Buy, 9_910, 2);   // the ended order's cell, and the slot the pool got back from it
        Assert.Equal(ended + 16, later);

        Assert.Equal(RejectReason.OrderNotActive, RejectOf(h.Cancel(2, ended)));
        Assert.Equal(3, h.Bids.Count);
        Assert.True(h.Engine.TryGetOrder(later, out var view));
        Assert.Equal((later, 9_910L), (view.OrderId, view.PriceTicks));

        Assert.Single(h.Amend(1, old, 9_895, 4), e => e.Kind == EventKind.OrderAmended && e.OrderId == old);
        Assert.True(h.Engine.TryGetOrder(old, out view));
        Assert.Equal((old, 9_895L, 4L), (view.OrderId, view.PriceTicks, view.QtyLots));
        Assert.Equal(old, Single(h.Cancel(1, old), EventKind.OrderCancelled).OrderId);
        Assert.False(h.Engine.TryGetOrder(old, out _));
        Assert.Equal(RejectReason.OrderNotActive, RejectOf(h.Cancel(1, old)));
        Assert.Equal(displacer, Single(h.Cancel(2, displacer), EventKind.OrderCancelled).OrderId);
        Assert.Equal(later, Assert.Single(h.Bids).OrderId);
    }

    /// <summary>IOC orders that find nothing to take: each is given an id and never rests.</summary>
    private static void TakeIdsWithoutResting(EngineHarness h, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.Single(h.Limit(2, Side.Buy, 9_950, 2, TimeInForce.Ioc), e => e.Kind == EventKind.OrderCancelled);
        }
    }
}
