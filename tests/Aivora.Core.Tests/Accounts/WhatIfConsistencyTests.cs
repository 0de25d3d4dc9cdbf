using Aivora.Core.Accounts;
using Aivora.Core.Orders;
using Aivora.Core.Tests.Risk;

namespace Aivora.Core.Tests.Accounts;

/// <summary>The acknowledgement's what-if against what the fill then does: the figures a trader reads before the order fills.</summary>
public sealed class WhatIfConsistencyTests
{
    private const long Usdt = 1_000_000;

    /// <summary>
    /// An order's what-if liquidation price is the price its position has once the order fills completely as a taker: on
    /// random accounts (cross or isolated, any leverage, a position on the other instrument or none, a position on this one
    /// or none) and random orders (either side, opening, adding, reducing or flipping), the ledger's liquidation price after
    /// the fill is booked equals the one predicted before it. The prediction once left out the taker fee the fill pays from
    /// the balance: a cross long was told a liquidation price below the one it then had (e.g. 16,934 ticks against 17,071).
    /// </summary>
    [Fact]
    public void ShouldPredictTheLiquidationPriceThePositionGetsWhenTheOrderFills()
    {
        var random = new Random(95);
        var mismatches = new List<string>();
        int crossPriced = 0, isolatedPriced = 0;
        for (var i = 0; i < 20_000 && mismatches.Count < 10; i++)
        {
            var ledger = new Ledger(
            [
                new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(20_000, 50_000) },
                new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 10, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
            ], maxAccounts: 8);
            ledger.Deposit(1, random.NextInt64(1, 2_000_000) * Usdt);
            ledger.Deposit(2, 1_000_000_000 * Usdt);
            ledger.Deposit(3, 1_000_000_000 * Usdt);
            var mark = random.NextInt64(300_000, 900_000);
            ledger.SetMark(1, mark);
            ledger.SetMark(2, random.NextInt64(10_000, 50_000));
            var isolated = random.Next(3) == 0;
            if (isolated)
            {
                ledger.SetMarginMode(1, 1, isolated: true);
            }

            if (random.Next(2) == 0)
            {
                ledger.SetLeverage(1, 1, random.Next(1, 125));
            }

            // A position on the other instrument (cross) and on this one, each against a counterparty (maker fills: the account's
            // own fills before the order pay the maker fee, the order's the taker fee).
            if (random.Next(2) == 0)
            {
                var otherLots = random.NextInt64(1, 50_000);
                var otherSide = random.Next(2) == 0 ? Side.Buy : Side.Sell;
                ledger.ApplyFill(1, 2, otherSide, random.NextInt64(10_000, 50_000), otherLots, isMaker: true);
                ledger.ApplyFill(3, 2, otherSide.Opposite(), random.NextInt64(10_000, 50_000), otherLots, isMaker: true);
            }

            if (random.Next(3) != 0)
            {
                var lots = random.NextInt64(1, 20_000);
                var side = random.Next(2) == 0 ? Side.Buy : Side.Sell;
                var price = mark + random.NextInt64(-20_000, 20_000);
                ledger.ApplyFill(1, 1, side, price, lots, isMaker: true);
                ledger.ApplyFill(2, 1, side.Opposite(), price, lots, isMaker: true);
            }

            var orderSide = random.Next(2) == 0 ? Side.Buy : Side.Sell;
            var orderLots = random.NextInt64(1, 30_000);
            var orderPrice = mark + random.NextInt64(-20_000, 20_000);
            var predicted = ledger.WhatIfLiquidationPrice(1, 1, orderSide, orderPrice, orderLots);
            ledger.ApplyFill(1, 1, orderSide, orderPrice, orderLots, isMaker: false);
            ledger.ApplyFill(2, 1, orderSide.Opposite(), orderPrice, orderLots, isMaker: true);
            var actual = ledger.LiquidationPrice(1, 1);
            crossPriced += !isolated && actual > 0 ? 1 : 0;
            isolatedPriced += isolated && actual > 0 ? 1 : 0;
            if (predicted != actual)
            {
                mismatches.Add($"#{i} isolated {isolated}: predicted {predicted}, after the fill {actual}");
            }
        }

        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
        Assert.True(crossPriced > 2_000 && isolatedPriced > 1_000, $"positions with a liquidation price: cross {crossPriced}, isolated {isolatedPriced}");
    }

    /// <summary>
    /// An order's what-if ADL quantile is the quantile its position has, against the same ranking snapshot, once the order
    /// fills completely as a taker: for a cross position its equity after the fill's PnL and fee, for an isolated one its
    /// wallet after the fill's top-up or release (what the ranking itself reads). Twenty accounts a ledger hold random cross
    /// and isolated positions on both sides; the ranking is taken; then one account's random order is predicted and filled.
    /// </summary>
    [Fact]
    public void ShouldPredictTheAdlQuantileThePositionGetsWhenTheOrderFills()
    {
        var random = new Random(96);
        var mismatches = new List<string>();
        int crossRanked = 0, isolatedRanked = 0;
        for (var i = 0; i < 5_000 && mismatches.Count < 10; i++)
        {
            var ledger = new Ledger(
            [
                new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(20_000, 50_000) },
            ], maxAccounts: 32);
            var mark = random.NextInt64(300_000, 900_000);
            ledger.SetMark(1, mark);
            ledger.Deposit(30, 1_000_000_000 * Usdt);
            for (var a = 1; a <= 20; a++)
            {
                ledger.Deposit(a, random.NextInt64(10, 200_000) * Usdt);
                if (random.Next(3) == 0)
                {
                    ledger.SetMarginMode(a, 1, isolated: true);
                }

                var lots = random.NextInt64(1, 20_000);
                var side = random.Next(2) == 0 ? Side.Buy : Side.Sell;
                var price = mark + random.NextInt64(-mark / 20, mark / 20);
                ledger.ApplyFill(a, 1, side, price, lots, isMaker: true);
                ledger.ApplyFill(30, 1, side.Opposite(), price, lots, isMaker: true);
            }

            ledger.SnapshotAdlRanking();
            var account = random.Next(1, 21);
            var orderSide = random.Next(2) == 0 ? Side.Buy : Side.Sell;
            var orderLots = random.NextInt64(1, 30_000);
            var orderPrice = mark + random.NextInt64(-mark / 20, mark / 20);
            var predicted = ledger.WhatIfAdlQuantile(account, 1, orderSide, orderPrice, orderLots);
            ledger.ApplyFill(account, 1, orderSide, orderPrice, orderLots, isMaker: false);
            ledger.ApplyFill(30, 1, orderSide.Opposite(), orderPrice, orderLots, isMaker: true);
            var actual = ledger.AdlQuantileAtSnapshot(account, 1);
            var isolated = ledger.PositionOf(account, 1).Isolated;
            crossRanked += !isolated && actual > 0 ? 1 : 0;
            isolatedRanked += isolated && actual > 0 ? 1 : 0;
            if (predicted != actual)
            {
                mismatches.Add($"#{i} account {account} isolated {isolated}: predicted {predicted}, after the fill {actual}");
            }
        }

        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
        Assert.True(crossRanked > 1_000 && isolatedRanked > 500, $"ranked after the fill: cross {crossRanked}, isolated {isolatedRanked}");
    }
}
