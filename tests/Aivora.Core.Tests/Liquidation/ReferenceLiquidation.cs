using System.Numerics;
using Aivora.Core.Events;
using Aivora.Core.Liquidation;
using Aivora.Core.Margin;
using Aivora.Core.Orders;

namespace Aivora.Core.Tests.Liquidation;

/// <summary>
/// A slow, obvious model of the liquidation path, for one instrument: plain objects, brute-force scans instead
/// of the liquidation index, BigInteger arithmetic with its roundings written out, the book as lists of orders.
/// It is given a copy of the state before a command (accounts, the book, the waiting paths) and says what the
/// command must do: the liquidation steps, in order, with every figure, and the state after. Fees on trades are
/// zero in the scenarios it checks (the ledger's fee rules have their own tests); the margin tiers and the
/// liquidation price come from <see cref="MarginTierTable"/> and <see cref="LiquidationMath"/> (the index's own
/// key, which decides the order the engine visits positions in).
/// </summary>
public sealed class ReferenceLiquidation
{
    public sealed class Account
    {
        public int Id;
        public long Balance;
        public long Qty;
        public long Cost;
        public int Leverage;
        public bool Isolated;
        public long Wallet;
        public bool Waiting;
    }

    public sealed class Order
    {
        public int AccountId;
        public Side Side;
        public long Price;
        public long Remaining;
    }

    public sealed record Market(long TickSize, long LotSize, long MinQty, long MaxQty, long MaxNotional, long BandBps, long MoneyPerTickLot, int DefaultLeverage, MarginTierTable Tiers);

    public readonly record struct Waiter(int AccountId, long UntilNs);

    private readonly Market _market;
    private readonly LiquidationConfig _config;
    public readonly SortedDictionary<int, Account> Accounts = [];
    public readonly List<Order> Bids = [];   // priority order
    public readonly List<Order> Asks = [];
    public readonly List<Waiter> Waiting = [];
    public readonly List<EngineEvent> Steps = [];
    public long Mark;
    public long Now;
    private readonly HashSet<int> _touchedBeforeFund = [];

    public ReferenceLiquidation(Market market, LiquidationConfig config) => (_market, _config) = (market, config);

    // ------------------------------------------------------------ arithmetic, written out

    private static long Floor(BigInteger n, BigInteger d) => (long)(BigInteger.DivRem(n, d, out var r) - (r != 0 && (r < 0) != (d < 0) ? 1 : 0));

    private static long Ceil(BigInteger n, BigInteger d) => -Floor(-n, d);

    private static long Trunc(BigInteger n, BigInteger d) => (long)BigInteger.Divide(n, d);

    private long Notional(long qty, long price) => Ceil((BigInteger)Math.Abs(qty) * price * _market.MoneyPerTickLot, 1);

    private long Unrealized(Account a) => Floor((BigInteger)a.Qty * Mark * _market.MoneyPerTickLot, 1) - a.Cost;

    private long Maintenance(long notional)
    {
        var k = _market.Tiers.TierOf(notional);
        return Ceil((BigInteger)notional * _market.Tiers[k].MaintenanceRate, 100_000_000) - _market.Tiers.CumulativeAmount(k);
    }

    private long InitialOnCost(Account a)
    {
        var notional = Math.Abs(a.Cost);
        var leverage = Math.Min(a.Leverage > 0 ? a.Leverage : _market.DefaultLeverage, _market.Tiers[_market.Tiers.TierOf(notional)].MaxLeverage);
        return Ceil(notional, leverage);
    }

    private long Equity(Account a) => a.Isolated ? a.Wallet + Unrealized(a) : a.Balance + (a.Qty == 0 ? 0 : Unrealized(a));

    private long Bankruptcy(Account a)
    {
        if (a.Qty == 0) return 0;
        var margin = a.Isolated ? a.Wallet : a.Balance;
        var qm = (BigInteger)Math.Abs(a.Qty) * _market.MoneyPerTickLot;
        var price = a.Qty > 0 ? Ceil((BigInteger)Math.Abs(a.Cost) - margin, qm) : Floor((BigInteger)margin + Math.Abs(a.Cost), qm);
        return Math.Max(1, price);
    }

    private (long Equity, long Maintenance, int Tier, long Bankruptcy, long Notional, long Qty) Figures(Account a)
    {
        var notional = Notional(a.Qty, Mark);
        return (Equity(a), a.Qty == 0 ? 0 : Maintenance(notional), _market.Tiers.TierOf(notional), Bankruptcy(a), notional, a.Qty);
    }

    private bool Unhealthy(Account a) => a.Qty != 0 && Equity(a) < Figures(a).Maintenance;

    private Account Get(int id)
    {
        if (!Accounts.TryGetValue(id, out var a))
        {
            Accounts[id] = a = new Account { Id = id };
        }

        return a;
    }

    /// <summary>A position moved by a signed fill at a price: realized PnL to the wallet or the balance; returns whether it grew or flipped.</summary>
    private bool Move(Account a, long signedFill, long price)
    {
        var held = Math.Abs(a.Qty);
        var wasLong = a.Qty > 0;
        long realized = 0;
        var fill = Math.Abs(signedFill);
        var dir = Math.Sign(signedFill);
        if (a.Qty == 0 || Math.Sign(a.Qty) == dir)
        {
            a.Qty += signedFill;
            a.Cost += dir * Floor((BigInteger)fill * price * _market.MoneyPerTickLot, 1);
        }
        else
        {
            var closing = Math.Min(fill, held);
            var removed = closing == held ? a.Cost : Trunc((BigInteger)a.Cost * closing, held);
            realized = (Math.Sign(a.Qty) * Floor((BigInteger)closing * price * _market.MoneyPerTickLot, 1)) - removed;
            a.Qty += dir * closing;
            a.Cost -= removed;
            if (fill > closing)
            {
                a.Qty += dir * (fill - closing);
                a.Cost += dir * Floor((BigInteger)(fill - closing) * price * _market.MoneyPerTickLot, 1);
            }
        }

        if (a.Isolated) a.Wallet += realized;
        else a.Balance += realized;
        return Math.Abs(a.Qty) > held || (a.Qty != 0 && held > 0 && (a.Qty > 0) != wasLong);
    }

    private void Rebalance(Account a, bool grew)
    {
        if (!a.Isolated) return;
        var target = a.Qty == 0 ? 0 : InitialOnCost(a);
        var loss = Mark > 0 && a.Qty != 0 ? Math.Min(0, Unrealized(a)) : 0;   // a shrunk position keeps what covers its loss at mark
        var move = a.Qty == 0 ? -a.Wallet : grew ? Math.Max(0, target - a.Wallet) : -Math.Max(0, a.Wallet + loss - target);
        a.Wallet += move;
        a.Balance -= move;
    }

    // ------------------------------------------------------------ the path

    private void Step(LiquidationStep step, Account a, (long Equity, long Maintenance, int Tier, long Bankruptcy, long Notional, long Qty) f,
        long fillPrice = 0, long lots = 0, long feeOrScore = 0, long fundDelta = 0, int counterparty = 0) =>
        Steps.Add(new EngineEvent
        {
            Kind = EventKind.LiquidationStep, TimeNs = Now, Reason = (byte)step, AccountId = a.Id, InstrumentId = 1,
            Count = f.Tier, Flag = a.Isolated, Side = f.Qty >= 0 ? Side.Buy : Side.Sell, PriceTicks = Mark, QtyLots = f.Qty,
            RemainingLots = f.Equity, OtherRemainingLots = f.Maintenance, Required = f.Bankruptcy, Available = fillPrice,
            TradeId = lots, OtherOrderId = feeOrScore, ClientOrderId = fundDelta, OtherAccountId = counterparty,
        });

    /// <summary>A mark command: the new mark, then every round of positions at or past their liquidation price, then the fund, then waiting paths.</summary>
    public void OnMark(long now, long mark)
    {
        Now = now;
        ResumeWaiting();   // the command's clock first
        Mark = mark;
        while (true)
        {
            // The index: positions at or past their liquidation price, longs from the highest, then shorts from the lowest, ties by id.
            var candidates = Accounts.Values
                .Where(a => a.Qty != 0 && !a.Waiting && a.Id != _config.InsuranceFundAccountId)
                .Select(a => (a, Lp: LiquidationPriceOf(a)))
                .Where(x => x.Lp > 0 && (x.a.Qty > 0 ? x.Lp >= mark : x.Lp <= mark))
                .OrderBy(x => x.a.Qty > 0 ? 0 : 1).ThenBy(x => x.a.Qty > 0 ? -x.Lp : x.Lp).ThenBy(x => x.a.Id)
                .Select(x => x.a).ToList();
            var progressed = false;
            foreach (var a in candidates)
            {
                progressed |= StartPath(a);
            }

            if (!progressed) break;
        }

        DeleverageFund();
        ResumeWaiting();
    }

    /// <summary>A clock tick: waiting paths that are due go on.</summary>
    public void OnTick(long now)
    {
        Now = now;
        ResumeWaiting();
    }

    private long LiquidationPriceOf(Account a) =>
        LiquidationMath.LiquidationPrice(a.Qty, a.Cost, a.Isolated ? a.Wallet : a.Balance, _market.Tiers, _market.MoneyPerTickLot);

    private bool StartPath(Account a)
    {
        if (!Unhealthy(a)) return false;
        Step(LiquidationStep.Triggered, a, Figures(a));
        var orders = Bids.Concat(Asks).Count(o => o.AccountId == a.Id);
        if (orders > 0)
        {
            Bids.RemoveAll(o => o.AccountId == a.Id);
            Asks.RemoveAll(o => o.AccountId == a.Id);
            Step(LiquidationStep.OrdersCancelled, a, Figures(a), lots: orders);
        }

        Reduce(a);
        return true;
    }

    private void Reduce(Account a)
    {
        while (true)
        {
            var f = Figures(a);
            if (!Unhealthy(a))
            {
                Step(LiquidationStep.Completed, a, f);
                return;
            }

            if (!Slice(a, f))
            {
                if (!TakeOver(a))
                {
                    Step(LiquidationStep.Completed, a, Figures(a));
                    return;
                }

                continue;
            }

            var after = Figures(a);
            if (Unhealthy(a) && after.Notional >= _config.LargePositionNotional)
            {
                var floor = Ceil((BigInteger)after.Maintenance * _config.HardFloorRate, 100_000_000);
                if (_config.SliceCooldownNs > 0 && after.Equity >= floor && Waiting.Count < _config.MaxWaitingPaths)
                {
                    Waiting.Add(new Waiter(a.Id, Now + _config.SliceCooldownNs));
                    a.Waiting = true;
                    Step(LiquidationStep.Waiting, a, after, fillPrice: Now + _config.SliceCooldownNs);
                    return;
                }
            }
        }
    }

    private bool Slice(Account a, (long Equity, long Maintenance, int Tier, long Bankruptcy, long Notional, long Qty) f)
    {
        var qty = Math.Abs(a.Qty);
        var lots = qty;
        if (f.Notional >= _config.LargePositionNotional)
        {
            var share = Ceil((BigInteger)qty * _config.SliceRate, 100_000_000);
            long toLower = 0;
            if (f.Tier > 0)
            {
                var perLot = Ceil((BigInteger)Mark * _market.MoneyPerTickLot, 1);
                toLower = Math.Max(0, qty - ((_market.Tiers[f.Tier].FloorNotional - 1) / perLot));
            }

            lots = Math.Min(qty, Math.Max(1, Math.Max(share, toLower)));
        }

        var side = a.Qty > 0 ? Side.Sell : Side.Buy;
        var limit = Limit(side, f.Bankruptcy);
        if (limit > 0)
        {
            lots = Math.Min(Math.Min(lots, _market.MaxQty), _market.MaxNotional / limit);
            lots -= lots % _market.LotSize;
            if (lots < Math.Max(1, _market.MinQty)) lots = 0;
        }
        else
        {
            lots = 0;
        }

        if (lots == 0) return false;

        // The IOC against the book, best price first, oldest first; the maker's price.
        var book = side == Side.Sell ? Bids : Asks;
        long filled = 0, priceLots = 0, fees = 0;
        while (filled < lots && book.Count > 0 && (side == Side.Sell ? book[0].Price >= limit : book[0].Price <= limit))
        {
            var maker = book[0];
            var q = Math.Min(lots - filled, maker.Remaining);
            var price = maker.Price;
            var m = Get(maker.AccountId);
            var grew = Move(m, side == Side.Sell ? q : -q, price);
            Rebalance(m, grew);
            Move(a, side == Side.Sell ? -q : q, price);
            var notional = Floor((BigInteger)q * price * _market.MoneyPerTickLot, 1);
            // The margin left holds back what the order's lots still to fill may lose against mark at its limit.
            var stillToFill = a.Qty == 0 ? 0 : lots - filled - q;
            var lossTicks = Math.Max(0, a.Qty > 0 ? Mark - limit : limit - Mark);
            var left = Equity(a) - (stillToFill * lossTicks * _market.MoneyPerTickLot);
            var fee = Math.Min(Ceil((BigInteger)notional * _config.ClearanceFeeRate, 100_000_000), Math.Max(0, left));
            if (fee > 0 && _config.InsuranceFundAccountId > 0)
            {
                if (a.Isolated) a.Wallet -= fee;
                else a.Balance -= fee;
                Get(_config.InsuranceFundAccountId).Balance += fee;
                fees += fee;
            }

            Rebalance(a, grew: false);
            maker.Remaining -= q;
            if (maker.Remaining == 0) book.RemoveAt(0);
            filled += q;
            priceLots += q * price;
        }

        if (filled > 0)
        {
            Step(LiquidationStep.PartialReduction, a, f, priceLots / filled, filled, fees, fees);
        }

        return filled == lots;
    }

    private long Limit(Side side, long bankruptcy)
    {
        var tick = _market.TickSize;
        var bp = Math.Max(1, bankruptcy);
        var limit = side == Side.Sell ? Ceil(bp, tick) * tick : Floor(bp, tick) * tick;
        if (limit <= 0) return 0;
        var width = Mark * _market.BandBps / 10_000;
        var (low, high) = (Mark - width, Mark + width);
        var protection = side == Side.Buy ? Math.Max(tick, high - (high % tick)) : low <= tick ? tick : Ceil(low, tick) * tick;
        limit = side == Side.Sell ? Math.Max(limit, protection) : Math.Min(limit, protection);
        return limit < low || limit > high ? 0 : limit;
    }

    private long FundEquity() => Accounts.TryGetValue(_config.InsuranceFundAccountId, out var fund) ? Equity(fund) : 0;

    private bool TakeOver(Account a)
    {
        var before = a.Qty;
        var f = Figures(a);
        var remaining = Math.Abs(a.Qty);
        var side = a.Qty > 0 ? Side.Sell : Side.Buy;
        var bp = f.Bankruptcy;
        if (_config.InsuranceFundAccountId > 0 && remaining > 0)
        {
            var lossTicks = side == Side.Sell ? bp - Mark : Mark - bp;
            var capacity = lossTicks <= 0 ? long.MaxValue : Math.Max(0, FundEquity()) / Ceil((BigInteger)lossTicks * _market.MoneyPerTickLot, 1);
            var lots = Math.Min(remaining, capacity);
            if (lots > 0)
            {
                var fundBefore = FundEquity();
                Transfer(a, Get(_config.InsuranceFundAccountId), side, bp, lots);
                Step(LiquidationStep.InsuranceTakeover, a, f, bp, lots, 0, FundEquity() - fundBefore, _config.InsuranceFundAccountId);
                remaining -= lots;
                f = Figures(a);
            }
        }

        Deleverage(a, side, bp, remaining, f);
        return a.Qty != before;
    }

    private void Transfer(Account from, Account to, Side fromSide, long price, long lots)
    {
        var grew = Move(from, fromSide == Side.Buy ? lots : -lots, price);
        Rebalance(from, grew);
        grew = Move(to, fromSide == Side.Buy ? -lots : lots, price);
        Rebalance(to, grew);
    }

    /// <summary>The ADL score: profit% × effective leverage in profit, profit% ÷ effective leverage otherwise; no equity ranks last.</summary>
    private long Score(Account a)
    {
        var cost = Math.Abs(a.Cost);
        var pnl = Unrealized(a);
        var notional = Notional(a.Qty, Mark);
        var equity = Equity(a);
        if (cost == 0 || equity <= 0) return long.MinValue;
        BigInteger s = pnl >= 0
            ? Floor((BigInteger)pnl * notional * 100_000_000, (BigInteger)cost * equity)
            : Floor((BigInteger)pnl * equity * 100_000_000, (BigInteger)cost * Math.Max(1, notional));
        return (long)BigInteger.Clamp(s, long.MinValue + 1, long.MaxValue);
    }

    private void Deleverage(Account a, Side side, long price, long lots, (long Equity, long Maintenance, int Tier, long Bankruptcy, long Notional, long Qty) f)
    {
        while (lots > 0)
        {
            var wantLong = side == Side.Buy;
            var ranked = Accounts.Values
                .Where(c => c.Qty != 0 && (c.Qty > 0) == wantLong && c.Id != a.Id && c.Id != _config.InsuranceFundAccountId)
                .Select(c => (c, Score: Score(c)))
                .OrderByDescending(x => x.Score).ThenBy(x => x.c.Id).ToList();
            if (ranked.Count == 0)
            {
                if (_config.InsuranceFundAccountId > 0 && _config.InsuranceFundAccountId != a.Id)
                {
                    var before = FundEquity();
                    Transfer(a, Get(_config.InsuranceFundAccountId), side, price, lots);
                    Step(LiquidationStep.InsuranceTakeover, a, f, price, lots, 0, FundEquity() - before, _config.InsuranceFundAccountId);
                }

                return;
            }

            var (cp, score) = ranked[0];
            var take = Math.Min(lots, Math.Abs(cp.Qty));
            Transfer(a, cp, side, price, take);
            Step(LiquidationStep.AutoDeleverage, a, f, price, take, score, 0, cp.Id);
            lots -= take;
            f = Figures(a);
        }
    }

    private void DeleverageFund()
    {
        if (_config.InsuranceFundAccountId <= 0 || !Accounts.TryGetValue(_config.InsuranceFundAccountId, out var fund) || Equity(fund) >= 0 || fund.Qty == 0)
        {
            return;
        }

        var f = Figures(fund);
        Step(LiquidationStep.Triggered, fund, f);
        Deleverage(fund, fund.Qty > 0 ? Side.Sell : Side.Buy, f.Bankruptcy, Math.Abs(fund.Qty), f);
        Step(LiquidationStep.Completed, fund, Figures(fund));
    }

    private void ResumeWaiting()
    {
        for (var k = 0; k < Waiting.Count;)
        {
            var w = Waiting[k];
            var a = Accounts[w.AccountId];
            var f = Figures(a);
            var floor = Ceil((BigInteger)f.Maintenance * _config.HardFloorRate, 100_000_000);
            if (!(Now >= w.UntilNs || f.Equity < floor || !Unhealthy(a)))
            {
                k++;
                continue;
            }

            Waiting.RemoveAt(k);
            a.Waiting = false;
            Reduce(a);
            k = 0;
        }
    }
}
