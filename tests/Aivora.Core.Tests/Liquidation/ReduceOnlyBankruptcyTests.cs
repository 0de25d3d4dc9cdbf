using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Liquidation;
using Aivora.Core.Orders;
using static Aivora.Core.Tests.Liquidation.LiquidationBench;

namespace Aivora.Core.Tests.Liquidation;

/// <summary>
/// A reduce-only order has no margin check (it never adds exposure), so nothing used to stop a close into a thin book from
/// filling past the account's bankruptcy price: the account was left owing money, and its counterparty's gain was paid by
/// nobody. Each reduce-only fill now takes no more lots than the margin scope's equity at mark pays for (the loss against
/// mark and the fee of each), taker or maker; the rest is cancelled with <see cref="CancelReason.BankruptcyPrice"/> and the
/// position left goes down the liquidation path, where the fund stands behind it.
/// </summary>
public sealed class ReduceOnlyBankruptcyTests
{
    private const int Victim = 7;
    private const int Buyer = 3;

    /// <summary>Victim long 1,000 lots at 10,000 on 110 USDT; mark 9,050: equity 15 USDT (maintenance 4.525), bankruptcy 8,900.</summary>
    private static LiquidationBench LongVictim()
    {
        var bench = new LiquidationBench(new LiquidationConfig { InsuranceFundAccountId = Fund });
        bench.Deposit(Victim, 110 * Usdt);
        bench.Deposit(2, 10_000 * Usdt);
        bench.Deposit(Buyer, 10_000 * Usdt);
        bench.Limit(2, Side.Sell, 10_000, 1_000);
        bench.Limit(Victim, Side.Buy, 10_000, 1_000, TimeInForce.Ioc);
        bench.Mark(9_500);
        bench.Mark(9_050);   // band 8,145..9,955
        Assert.Equal(15 * Usdt, bench.Ledger.Equity(Victim));
        Assert.Empty(bench.Steps());
        return bench;
    }

    private static EngineCommand CloseAll(LiquidationBench bench, TimeInForce tif) =>
        EngineCommand.Place(bench.Now, Victim, 1, 99, Side.Sell, OrderType.Market, tif, 0, 1_000, OrderFlags.ReduceOnly);

    [Fact]
    public void ShouldStopAReduceOnlyCloseWhereTheAccountsEquityRunsOutAndHandTheRestToTheLiquidationPath()
    {
        var bench = LongVictim();
        bench.Limit(Buyer, Side.Buy, 9_040, 200);
        bench.Limit(Buyer, Side.Buy, 8_700, 800);   // under bankruptcy: all of it would leave the victim owing 13.2 USDT

        var from = bench.Events.Count;
        bench.Run(CloseAll(bench, TimeInForce.Ioc));

        // 200 at 9,040 cost 0.2 USDT against mark; at 8,700 each lot costs 0.035 USDT: 14.8 USDT pays for 422 of them.
        var trades = bench.Events.Skip(from).Where(e => e.Kind == EventKind.Trade).Select(e => (e.PriceTicks, e.QtyLots));
        Assert.Equal([(9_040L, 200L), (8_700L, 422L)], trades);
        var cancelled = Assert.Single(bench.Events.Skip(from), e => e.Kind == EventKind.OrderCancelled && e.ClientOrderId == 99);
        Assert.Equal((CancelReason.BankruptcyPrice, 378L), ((CancelReason)cancelled.Reason, cancelled.QtyLots));

        // 0.03 USDT behind 378 lots is under maintenance: the path finds nothing at or above bankruptcy (9,050, mark) in the
        // book and the fund takes the rest over at it. Nobody owes anything.
        Assert.Equal(
            [LiquidationStep.Triggered, LiquidationStep.InsuranceTakeover, LiquidationStep.Completed],
            bench.Steps(from).Select(e => (LiquidationStep)e.Reason));
        Assert.Equal((0L, 30_000L), (bench.Ledger.PositionOf(Victim, 1).QtyLots, bench.Ledger.Balance(Victim)));
        Assert.Equal(378, bench.Ledger.PositionOf(Fund, 1).QtyLots);
        Assert.Equal(378, bench.Machine.Engine.RestingOrders(1, Side.Buy).Single().RemainingLots);   // the buyer's bid at 8,700
        bench.AssertConserved();
    }

    [Fact]
    public void ShouldKillAReduceOnlyFillOrKillThatTheAccountsEquityCannotPayForWhole()
    {
        var bench = LongVictim();
        bench.Limit(Buyer, Side.Buy, 9_040, 200);
        bench.Limit(Buyer, Side.Buy, 8_700, 800);

        var from = bench.Events.Count;
        bench.Run(CloseAll(bench, TimeInForce.Fok));

        Assert.DoesNotContain(bench.Events.Skip(from), e => e.Kind == EventKind.Trade);
        var killed = Assert.Single(bench.Events.Skip(from), e => e.Kind == EventKind.OrderCancelled);
        Assert.Equal(CancelReason.FillOrKill, (CancelReason)killed.Reason);
        Assert.Equal(1_000, bench.Ledger.PositionOf(Victim, 1).QtyLots);

        // The same order for the 200 lots the book holds above 8,900 fills.
        bench.Run(CloseAll(bench, TimeInForce.Fok) with { QtyLots = 200 });
        Assert.Equal(800, bench.Ledger.PositionOf(Victim, 1).QtyLots);
    }

    [Fact]
    public void ShouldCancelARestingReduceOnlyOrderOnceItsFillsWouldGoPastTheBankruptcyPrice()
    {
        var bench = LongVictim();
        // The whole position offered at 8,700, reduce-only: nothing to take yet, so it rests.
        bench.Run(EngineCommand.Place(bench.Now, Victim, 1, 100, Side.Sell, OrderType.Limit, TimeInForce.Gtc, 8_700, 1_000, OrderFlags.ReduceOnly));
        Assert.Equal(1_000, bench.Machine.Engine.RestingOrders(1, Side.Sell).Single().QtyLots);

        var from = bench.Events.Count;
        bench.Limit(Buyer, Side.Buy, 8_700, 1_000, TimeInForce.Ioc);

        // As a maker it fills at its own price: 15 USDT pay for 428 lots at 0.035 each, then it is cancelled.
        Assert.Equal(428, Assert.Single(bench.Events.Skip(from), e => e.Kind == EventKind.Trade).QtyLots);
        Assert.Contains(bench.Events.Skip(from), e => e.Kind == EventKind.OrderCancelled && e.AccountId == Victim && (CancelReason)e.Reason == CancelReason.BankruptcyPrice);
        Assert.True(bench.Ledger.Balance(Victim) >= 0 && bench.Ledger.Equity(Victim) >= 0, $"victim owes {-bench.Ledger.Equity(Victim)}");
        bench.AssertConserved();
    }
}
