using Aivora.Core.Accounts;
using Aivora.Core.Margin;
using Aivora.Core.Orders;
using Aivora.Core.Tests.Risk;

namespace Aivora.Core.Tests.Accounts;

/// <summary>
/// A scheduled change of a contract's margin tiers re-keys only the contract's holders (Ledger.UpdateContract); fee and
/// leverage changes re-key nobody. Whatever the ledger remembers per account (liquidation keys, bands, cross backing, order
/// margins) must then answer as a ledger built with the new tiers from the start.
/// </summary>
public sealed class ContractChangeTests
{
    private const long Usdt = 1_000_000;
    private const int Accounts = 60;

    // DocTiers with four times the maintenance rate in every tier, the same floors and leverage caps: the same initial
    // margins, so the same isolated top-ups, and the same balances and wallets after the same fills.
    private static MarginTierTable Steeper()
    {
        var doc = MarginMathTests.DocTiers();
        return new([.. Enumerable.Range(0, doc.Count).Select(k => doc[k] with { MaintenanceRate = doc[k].MaintenanceRate * 4 })]);
    }

    private static Ledger NewLedger(MarginTierTable tiers2) => new(
    [
        new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
        new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 10, Tiers = tiers2, Fees = new FeeSchedule(0, 0) },
    ], Accounts + 8);

    /// <summary>
    /// Random cross and isolated positions on two contracts, some thin; contract 2's tiers changed to steeper ones. After the
    /// change every account's liquidation price, and the accounts found at or past it as each mark moves (by a tick, so no
    /// band is left by the move alone, and by more), are those of a ledger that had the steeper tiers all along.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ShouldKeyAndFlagEveryPositionAsALedgerBuiltWithTheNewTiersAfterATierChange(int seed)
    {
        var random = new Random(seed);
        var (changed, reference) = Populated(random);
        var mark2 = changed.MarkOf(2);
        Assert.NotEqual(Flagged(changed, 2, mark2), Flagged(reference, 2, mark2));   // the steeper tiers put more positions past their price
        changed.UpdateContract(2, spec => spec with { Tiers = Steeper() });
        Assert.Equal(Flagged(reference, 2, mark2 + 1), Flagged(changed, 2, mark2 + 1));
        FlagsAsTheReferenceAsMarksMove(changed, reference, random);
        AnswersAsTheReference(changed, reference);
    }

    /// <summary>
    /// The same change with the holders re-keyed by a pass (<c>rekeyHoldersLater</c>, as the state machine applies it), taken
    /// a few accounts at a time. While it runs, every liquidation price the ledger answers (live, and if an order filled) is
    /// the new table's, for the accounts it has not reached too (their remembered cross backing is the old table's); an
    /// account that trades leaves the pass at its fill. Once it ends, the accounts flagged as marks move and every
    /// liquidation price are those of a ledger that had the steeper tiers all along.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ShouldAnswerWithTheNewTiersWhileTheRekeyPassRunsAndFlagAsTheNewTiersOnceItEnds(int seed)
    {
        var random = new Random(seed);
        var (changed, reference) = Populated(random);
        // Before the change the tables disagree on prices on contract 2, and on contract 1 for cross accounts that contract 2's
        // position backs.
        Assert.Contains(Enumerable.Range(1, Accounts), a => reference.LiquidationPrice(a, 2) != changed.LiquidationPrice(a, 2));
        Assert.Contains(Enumerable.Range(1, Accounts), a => reference.LiquidationPrice(a, 1) != changed.LiquidationPrice(a, 1));
        changed.UpdateContract(2, spec => spec with { Tiers = Steeper() }, rekeyHoldersLater: true);
        var holders = changed.UnkeyedAccounts;
        Assert.True(holders > 20, $"{holders} holders of contract 2");
        Assert.Equal(7, changed.ContinueRekey(7));
        Assert.Equal(holders - 7, changed.UnkeyedAccounts);
        AnswersAsTheReference(changed, reference);

        // Two accounts past the slice trade with each other on contract 1: each leaves the pass at its fill.
        var (buyer, seller) = (Accounts - 1, Accounts);
        foreach (var ledger in new[] { changed, reference })
        {
            ledger.ApplyFill(buyer, 1, Side.Buy, 10_000, 3, isMaker: false);
            ledger.ApplyFill(seller, 1, Side.Sell, 10_000, 3, isMaker: true);
        }

        var traders = new[] { buyer, seller }.Count(a => reference.PositionOf(a, 2).QtyLots != 0);
        Assert.Equal(holders - 7 - traders, changed.UnkeyedAccounts);
        AnswersAsTheReference(changed, reference);

        changed.ContinueRekey(5);
        AnswersAsTheReference(changed, reference);
        changed.FinishRekey();
        Assert.False(changed.RekeyUnderWay);
        FlagsAsTheReferenceAsMarksMove(changed, reference, random);
        AnswersAsTheReference(changed, reference);
    }

    /// <summary>A ledger on the doc tiers and one on the steeper tiers, each after the same random operations.</summary>
    private static (Ledger Changed, Ledger Reference) Populated(Random random)
    {
        var (changed, reference) = (NewLedger(MarginMathTests.DocTiers()), NewLedger(Steeper()));
        foreach (var operation in Operations(random).ToList())
        {
            operation(changed);
            operation(reference);
        }

        return (changed, reference);
    }

    private static List<int> Flagged(Ledger ledger, int instrumentId, long mark)
    {
        var flagged = new int[256];
        return [.. flagged.AsSpan(0, ledger.MarkUpdate(instrumentId, mark, flagged)).ToArray().Order()];
    }

    /// <summary>40 marks, alternating between the contracts, the first ten a tick from the last (no band is left by such a
    /// move alone), then random ones: each flags the accounts the reference flags.</summary>
    private static void FlagsAsTheReferenceAsMarksMove(Ledger changed, Ledger reference, Random random)
    {
        var (mark1, mark2) = (changed.MarkOf(1), changed.MarkOf(2));
        for (var step = 0; step < 40; step++)
        {
            var instrumentId = 1 + (step % 2);
            var mark = instrumentId == 1 ? mark1 : mark2;
            mark += step < 10 ? (step % 4) - 1 : random.Next(-(int)mark / 40, (int)mark / 40);
            Assert.Equal(Flagged(reference, instrumentId, mark), Flagged(changed, instrumentId, mark));
            if (instrumentId == 1) mark1 = mark; else mark2 = mark;
        }
    }

    /// <summary>Every account's liquidation price on both contracts, and its what-if of a 20-lot sell on contract 1, as the reference's.</summary>
    private static void AnswersAsTheReference(Ledger changed, Ledger reference)
    {
        for (var a = 1; a <= Accounts; a++)
        {
            Assert.Equal((reference.LiquidationPrice(a, 1), reference.LiquidationPrice(a, 2)), (changed.LiquidationPrice(a, 1), changed.LiquidationPrice(a, 2)));
            Assert.Equal(reference.WhatIfFilled(a, 1, Side.Sell, 10_000, 20), changed.WhatIfFilled(a, 1, Side.Sell, 10_000, 20));
        }
    }

    /// <summary>
    /// A position closed before a tier change and opened again after it, at the same lots and cost with the mark where it was:
    /// its cross backing (its PnL less maintenance, behind the account's other positions) is worked out with the new tiers,
    /// not read from what the ledger remembered of the old position.
    /// </summary>
    [Fact]
    public void ShouldBackAPositionReopenedAfterATierChangeWithTheNewTiers()
    {
        Ledger Opened(MarginTierTable tiers2, bool changeWhileFlat)
        {
            var ledger = NewLedger(MarginMathTests.DocTiers());
            ledger.SetMark(1, 10_000);
            ledger.SetMark(2, 50_000);
            ledger.Deposit(7, 30 * Usdt);
            ledger.Deposit(8, 3_000 * Usdt);
            ledger.ApplyFill(7, 1, Side.Buy, 10_000, 200, isMaker: false);   // 200 USDT long
            ledger.ApplyFill(8, 1, Side.Sell, 10_000, 200, isMaker: true);
            ledger.ApplyFill(7, 2, Side.Sell, 50_000, 400, isMaker: false);  // 200 USDT short
            ledger.ApplyFill(8, 2, Side.Buy, 50_000, 400, isMaker: true);
            Assert.NotEqual(0, ledger.LiquidationPrice(7, 1));   // its backing on 2 worked out (and remembered)
            ledger.ApplyFill(7, 2, Side.Buy, 50_000, 400, isMaker: false);   // flat on 2
            ledger.ApplyFill(8, 2, Side.Sell, 50_000, 400, isMaker: true);
            if (changeWhileFlat)
            {
                ledger.UpdateContract(2, spec => spec with { Tiers = tiers2 });
            }

            ledger.ApplyFill(7, 2, Side.Sell, 50_000, 400, isMaker: false);  // the same short again
            ledger.ApplyFill(8, 2, Side.Buy, 50_000, 400, isMaker: true);
            if (!changeWhileFlat)
            {
                ledger.UpdateContract(2, spec => spec with { Tiers = tiers2 });
            }

            return ledger;
        }

        var reopened = Opened(Steeper(), changeWhileFlat: true);
        var expected = Opened(Steeper(), changeWhileFlat: false);   // a holder at the change: re-keyed by it
        Assert.NotEqual(Opened(MarginMathTests.DocTiers(), changeWhileFlat: true).LiquidationPrice(7, 1), expected.LiquidationPrice(7, 1));
        Assert.Equal(expected.LiquidationPrice(7, 1), reopened.LiquidationPrice(7, 1));
        var flagged = new int[8];
        var mark = expected.LiquidationPrice(7, 1) + 1;   // just short of the new price: the old tiers put it further off
        Assert.Equal(expected.MarkUpdate(1, mark, flagged), reopened.MarkUpdate(1, mark, flagged));
    }

    /// <summary>
    /// The initial margin order entry reads for an account with orders on the contract and no position on it is worked out
    /// with the new tiers' leverage caps after a change, not read from what the ledger remembered before it.
    /// </summary>
    [Fact]
    public void ShouldMarginOrdersOfAnAccountWithNoPositionWithTheNewTiers()
    {
        var capped = new MarginTierTable([new MarginTier(0, 5_000_000, 4)]);   // 5 % maintenance, leverage capped at 4
        var changed = NewLedger(MarginMathTests.DocTiers());
        var fresh = NewLedger(capped);
        foreach (var ledger in new[] { changed, fresh })
        {
            ledger.SetMark(2, 50_000);
            ledger.Deposit(9, 100 * Usdt);
        }

        var before = changed.ExposureMargin(9, 2, 0, 10, 50_000);   // ten lots to sell, no position: remembered
        changed.UpdateContract(2, spec => spec with { Tiers = capped });
        Assert.NotEqual(before, fresh.ExposureMargin(9, 2, 0, 10, 50_000));
        Assert.Equal(fresh.ExposureMargin(9, 2, 0, 10, 50_000), changed.ExposureMargin(9, 2, 0, 10, 50_000));
    }

    /// <summary>Deposits (thin and deep accounts), isolated margin on contract 2 for every fifth account, fills at prices around
    /// the marks between random pairs (some closing or flipping positions), and marks moving.</summary>
    private static IEnumerable<Action<Ledger>> Operations(Random random)
    {
        yield return l => l.SetMark(1, 10_000);
        yield return l => l.SetMark(2, 50_000);
        for (var a = 1; a <= Accounts; a++)
        {
            var account = a;
            var deposit = a % 3 == 0 ? random.Next((int)Usdt / 2, 8 * (int)Usdt) : (200 * Usdt) + random.Next(0, 100 * (int)Usdt);
            yield return l => l.Deposit(account, deposit);
            if (a % 5 == 0)
            {
                yield return l => l.SetMarginMode(account, 2, isolated: true);
            }
        }

        for (var k = 0; k < 300; k++)
        {
            var (buyer, seller) = (random.Next(1, Accounts + 1), random.Next(1, Accounts + 1));
            var instrumentId = random.Next(1, 3);
            var reference = instrumentId == 1 ? 10_000 : 50_000;
            var price = reference + random.Next(-reference / 100, reference / 100);
            var lots = instrumentId == 1 ? random.Next(1, 200) : random.Next(1, 400);
            if (buyer == seller)
            {
                continue;
            }

            yield return l =>
            {
                l.ApplyFill(buyer, instrumentId, Side.Buy, price, lots, isMaker: false);
                l.ApplyFill(seller, instrumentId, Side.Sell, price, lots, isMaker: true);
            };
            if (k % 50 == 49)
            {
                var mark = reference + random.Next(-reference / 100, reference / 100);
                yield return l => l.MarkUpdate(instrumentId, mark, new int[256]);
            }
        }
    }
}
