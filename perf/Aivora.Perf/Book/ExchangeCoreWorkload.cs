using Aivora.Core.Events;
using Aivora.Core.Matching;
using Aivora.Core.Orders;

namespace Aivora.Perf.Book;

/// <summary>
/// An exchange-core-style single-instrument flow: a pre-fill of ~1,000 orders near the touch from
/// 1,000 accounts, then ~72% moves (price amend, re-queue, may cross), 12% GTC places, 7% cancels,
/// 7% reduces and 2% IOCs, sized 1 + r·r·r (r uniform in [0, 6)) and priced near the last trade.
/// Generated against a scratch engine so every cancel, move and reduce names an order that is live
/// at that point; the flow is then replayed on fresh books for measurement. Same seed, same flow.
/// </summary>
public static class ExchangeCoreWorkload
{
    /// <summary>A generated flow and the shape it gave the book (measured while generating).</summary>
    public sealed record Flow(BookRecord[] Records, int PrefillCount)
    {
        public double LevelsPerSide { get; init; }
        public double NewLevelShare { get; init; }
        public double MeanNewLevelDepth { get; init; }
    }

    /// <summary>
    /// Book shapes: how far from the last trade passive orders go, how far aggressors reach, how often they come.
    /// dense: today's flow, a few dozen levels a side near the touch; sparse-wide: hundreds of levels a side,
    /// most moves creating and emptying levels deep in the book (the public exchange benchmark's shape);
    /// deep-sweep: IOCs large enough to walk many levels; far-prices: orders spread across ±10% of the price
    /// (beyond the ladder's window: its overflow path); drifted: sparse-wide's flow, 200,000 ticks from where each
    /// side's first order still rests (<paramref name="AnchorTicks"/>: one order a side placed before the pre-fill and
    /// never touched, as a stale order left behind by a market that moved on), so every level the flow makes is outside
    /// the ladder's window, which centred on that first order.
    /// </summary>
    public sealed record Shape(string Name, int MovePassiveMax, int PlacePassiveMax, int IocShare, int IocReach, double IocSizeScale, long AnchorTicks = 0)
    {
        public static Shape Dense { get; } = new("dense", 16, 21, 2, 6, 1);
        public static Shape SparseWide { get; } = new("sparse-wide", 900, 900, 2, 6, 1);
        public static Shape DeepSweep { get; } = new("deep-sweep", 60, 60, 8, 80, 12);
        public static Shape FarPrices { get; } = new("far-prices", 100_000, 100_000, 2, 6, 1);
        public static Shape Drifted { get; } = new("drifted", 900, 900, 2, 6, 1, AnchorTicks: 200_000);
        public static IReadOnlyList<Shape> All { get; } = [Dense, SparseWide, DeepSweep, FarPrices, Drifted];
    }

    private const int TargetDepth = 1_000;
    private const int Accounts = 1_000;
    private const long StartPriceTicks = 1_000_000;

    /// <summary>Tracks live orders from the scratch engine's events.</summary>
    private sealed class LiveBook
    {
        public readonly List<(uint User, ulong OrderId, long EngineId, Side Side, long Price, long Remaining)> Orders = [];
        public readonly Dictionary<long, int> IndexByEngineId = [];
        public long LastTradeTicks = StartPriceTicks;
        public readonly SortedSet<long> Bids = [], Asks = [];
        public long NewLevels, DepthSamples, DepthSum;

        public void On(in EngineEvent e)
        {
            switch (e.Kind)
            {
                case EventKind.LevelChanged:
                    var levels = e.Side == Side.Buy ? Bids : Asks;
                    if (e.Count == 0)
                    {
                        levels.Remove(e.PriceTicks);
                    }
                    else if (levels.Add(e.PriceTicks))
                    {
                        NewLevels++;
                        if ((NewLevels & 15) == 0)
                        {
                            // Depth from the best: levels better than it (sampled: the count walks the set).
                            DepthSamples++;
                            DepthSum += e.Side == Side.Buy
                                ? levels.GetViewBetween(e.PriceTicks + 1, long.MaxValue).Count
                                : levels.GetViewBetween(long.MinValue, e.PriceTicks - 1).Count;
                        }
                    }

                    break;
                case EventKind.OrderAccepted:
                    IndexByEngineId[e.OrderId] = Orders.Count;
                    Orders.Add(((uint)(e.AccountId - 1), (ulong)(e.ClientOrderId - 1), e.OrderId, e.Side, e.PriceTicks, e.QtyLots));
                    break;
                case EventKind.Trade:
                    LastTradeTicks = e.PriceTicks;
                    Update(e.OrderId, e.RemainingLots);
                    Update(e.OtherOrderId, e.OtherRemainingLots);
                    break;
                case EventKind.OrderCancelled:
                    Remove(e.OrderId);
                    break;
                case EventKind.OrderAmended when IndexByEngineId.TryGetValue(e.OrderId, out var i):
                    Orders[i] = Orders[i] with { Price = e.PriceTicks, Remaining = e.RemainingLots };
                    break;
            }
        }

        private void Update(long engineId, long remaining)
        {
            if (remaining == 0)
            {
                Remove(engineId);
            }
            else if (IndexByEngineId.TryGetValue(engineId, out var i))
            {
                Orders[i] = Orders[i] with { Remaining = remaining };
            }
        }

        private void Remove(long engineId)
        {
            if (!IndexByEngineId.Remove(engineId, out var i))
            {
                return;
            }

            var last = Orders[^1];
            Orders.RemoveAt(Orders.Count - 1);
            if (i < Orders.Count)
            {
                Orders[i] = last;
                IndexByEngineId[last.EngineId] = i;
            }
        }
    }

    private readonly struct LiveSink(LiveBook book) : IEngineEventSink
    {
        public void OnEvent(in EngineEvent e) => book.On(in e);
    }

    public static Flow Generate(int operations, int seed = 1) => Generate(operations, Shape.Dense, seed);

    public static Flow Generate(int operations, Shape shape, int seed = 1)
    {
        var random = new Random(seed);
        var live = new LiveBook();
        var scratch = new MatchingEngine<LiveSink, NoPositions>(BookTranslator.Config(1 << 16, 1 << 14, Accounts + 1), new LiveSink(live));
        var records = new List<BookRecord>(TargetDepth + operations);
        ulong nextOrderId = 1;

        void Emit(BookRecord r)
        {
            records.Add(r);
            var command = BookTranslator.ToCommand(in r, records.Count);
            scratch.Process(in command);
        }

        long Size() => 1 + (long)Math.Pow(random.NextDouble() * 6, 3);
        uint User() => (uint)random.Next(Accounts);

        if (shape.AnchorTicks > 0)
        {
            // The stale orders each ladder sees first: part of the pre-fill, never picked to move, cancel or reduce.
            Emit(new BookRecord(BookOp.Place, (byte)Side.Buy, 0, User(), nextOrderId++, StartPriceTicks - shape.AnchorTicks, 1));
            Emit(new BookRecord(BookOp.Place, (byte)Side.Sell, 0, User(), nextOrderId++, StartPriceTicks + shape.AnchorTicks, 1));
            live.Orders.Clear();
            live.IndexByEngineId.Clear();
        }

        for (var i = 0; i < TargetDepth; i++)
        {
            var side = i % 2 == 0 ? Side.Buy : Side.Sell;
            var offset = 1 + random.Next(40);
            var price = side == Side.Buy ? StartPriceTicks - offset : StartPriceTicks + offset;
            Emit(new BookRecord(BookOp.Place, (byte)side, 0, User(), nextOrderId++, price, Size()));
        }

        var prefill = records.Count;
        long levelSamples = 0, levelSum = 0, creatingOps = 0, newLevelsBefore = live.NewLevels;
        for (var n = 0; n < operations; n++)
        {
            if ((n & 1023) == 0)
            {
                levelSamples++;
                levelSum += live.Bids.Count + live.Asks.Count;
            }

            var last = live.LastTradeTicks;
            var roll = random.Next(100);
            if (live.Orders.Count < TargetDepth * 9 / 10)
            {
                roll = 75;   // below target depth: place
            }
            else if (live.Orders.Count > TargetDepth * 11 / 10)
            {
                roll = 88;   // above: cancel
            }

            var iocCut = 100 - shape.IocShare;
            if (roll >= iocCut)
            {
                roll = 99;
            }
            else if (roll >= 98)
            {
                roll = 97;
            }

            if (roll < 72)
            {
                creatingOps++;
                var o = live.Orders[random.Next(live.Orders.Count)];
                var passive = random.Next(-3, shape.MovePassiveMax);
                var price = o.Side == Side.Buy ? last - passive : last + passive;
                if (price == o.Price)
                {
                    price += o.Side == Side.Buy ? -1 : 1;
                }

                Emit(new BookRecord(BookOp.Move, (byte)o.Side, 0, o.User, o.OrderId, price, 0));
            }
            else if (roll < 84)
            {
                creatingOps++;
                var side = random.Next(2) == 0 ? Side.Buy : Side.Sell;
                var passive = random.Next(-2, shape.PlacePassiveMax);
                var price = side == Side.Buy ? last - passive : last + passive;
                Emit(new BookRecord(BookOp.Place, (byte)side, 0, User(), nextOrderId++, price, Size()));
            }
            else if (roll < 91)
            {
                var o = live.Orders[random.Next(live.Orders.Count)];
                Emit(new BookRecord(BookOp.Cancel, (byte)o.Side, 0, o.User, o.OrderId, 0, 0));
            }
            else if (roll < 98)
            {
                var o = live.Orders[random.Next(live.Orders.Count)];
                var by = 1 + random.NextInt64(o.Remaining);
                Emit(new BookRecord(BookOp.Reduce, (byte)o.Side, 0, o.User, o.OrderId, 0, by));
            }
            else
            {
                var side = random.Next(2) == 0 ? Side.Buy : Side.Sell;
                var aggressive = random.Next(0, shape.IocReach);
                var price = side == Side.Buy ? last + aggressive : last - aggressive;
                Emit(new BookRecord(BookOp.Place, (byte)side, 1, User(), nextOrderId++, price, (long)Math.Ceiling(Size() * shape.IocSizeScale)));
            }
        }

        return new Flow([.. records], prefill)
        {
            LevelsPerSide = levelSum / (2.0 * Math.Max(1, levelSamples)),
            NewLevelShare = (live.NewLevels - newLevelsBefore) / (double)Math.Max(1, creatingOps),
            MeanNewLevelDepth = live.DepthSum / (double)Math.Max(1, live.DepthSamples),
        };
    }
}
