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
    public sealed record Flow(BookRecord[] Records, int PrefillCount);

    private const int TargetDepth = 1_000;
    private const int Accounts = 1_000;
    private const long StartPriceTicks = 1_000_000;

    /// <summary>Tracks live orders from the scratch engine's events.</summary>
    private sealed class LiveBook
    {
        public readonly List<(uint User, ulong OrderId, long EngineId, Side Side, long Price, long Remaining)> Orders = [];
        public readonly Dictionary<long, int> IndexByEngineId = [];
        public long LastTradeTicks = StartPriceTicks;

        public void On(in EngineEvent e)
        {
            switch (e.Kind)
            {
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

    public static Flow Generate(int operations, int seed = 1)
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

        for (var i = 0; i < TargetDepth; i++)
        {
            var side = i % 2 == 0 ? Side.Buy : Side.Sell;
            var offset = 1 + random.Next(40);
            var price = side == Side.Buy ? StartPriceTicks - offset : StartPriceTicks + offset;
            Emit(new BookRecord(BookOp.Place, (byte)side, 0, User(), nextOrderId++, price, Size()));
        }

        var prefill = records.Count;
        for (var n = 0; n < operations; n++)
        {
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

            if (roll < 72)
            {
                var o = live.Orders[random.Next(live.Orders.Count)];
                var passive = random.Next(-3, 16);
                var price = o.Side == Side.Buy ? last - passive : last + passive;
                if (price == o.Price)
                {
                    price += o.Side == Side.Buy ? -1 : 1;
                }

                Emit(new BookRecord(BookOp.Move, (byte)o.Side, 0, o.User, o.OrderId, price, 0));
            }
            else if (roll < 84)
            {
                var side = random.Next(2) == 0 ? Side.Buy : Side.Sell;
                var passive = random.Next(-2, 21);
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
                var aggressive = random.Next(0, 6);
                var price = side == Side.Buy ? last + aggressive : last - aggressive;
                Emit(new BookRecord(BookOp.Place, (byte)side, 1, User(), nextOrderId++, price, Size()));
            }
        }

        return new Flow([.. records], prefill);
    }
}
