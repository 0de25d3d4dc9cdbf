using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Exchange;
using Aivora.Core.Matching;
using Aivora.Core.Numbers;
using Aivora.Core.Orders;
using Aivora.Core.Risk;
using Aivora.Core.Tests.Risk;

namespace Aivora.Core.Tests.Liquidation;

/// <summary>
/// The ADL ranking that orders' what-if quantiles are read against is taken by a pass the state machine spreads over
/// commands: the same ranking a snapshot in one call takes, the last one serving until the pass ends.
/// </summary>
public sealed class AdlRankingPassTests
{
    private const long Usdt = 1_000_000;

    /// <summary>
    /// The four entries of a ranking where the quantile changes, found by selection in any order, are the ones a sort finds:
    /// on scores of every shape a selection can go wrong on (few distinct values, sorted either way, all equal, a range
    /// wide enough to overflow a careless midpoint), at every size up to a few hundred and at several thousand.
    /// </summary>
    [Fact]
    public void ShouldSelectTheBoundsASortedRankingGives()
    {
        var random = new Random(5);
        var shapes = new Func<int, long[]>[]
        {
            n => [.. Enumerable.Range(0, n).Select(_ => random.NextInt64(long.MinValue, long.MaxValue))],
            n => [.. Enumerable.Range(0, n).Select(_ => (long)random.Next(3))],
            n => [.. Enumerable.Range(0, n).Select(k => (long)k)],
            n => [.. Enumerable.Range(0, n).Select(k => (long)(n - k))],
            n => [.. Enumerable.Range(0, n).Select(_ => 7L)],
            n => [.. Enumerable.Range(0, n).Select(k => (long)Math.Min(k, n - k))],
            n => [.. Enumerable.Range(0, n).Select(_ => random.Next(2) == 0 ? long.MaxValue : random.NextInt64(-1_000, 1_000))],
        };
        var sizes = Enumerable.Range(0, 300).Concat([1_000, 4_097, 20_000]);
        var checkedCases = 0;
        foreach (var n in sizes)
        {
            foreach (var shape in shapes)
            {
                var scores = shape(n);
                var sorted = scores.Order().ToArray();
                var expected = new long[4];
                Ledger.QuantileBounds(sorted, expected);
                var selected = new long[4];
                Ledger.SelectQuantileBounds(scores, selected);
                Assert.True(expected.SequenceEqual(selected), $"n {n}: sort [{string.Join(", ", expected)}], selection [{string.Join(", ", selected)}]");
                Assert.Equal(sorted, scores.Order().ToArray());   // reordered, nothing lost or changed
                checkedCases++;
            }
        }

        Assert.Equal(303 * shapes.Length, checkedCases);
    }

    /// <summary>
    /// A pass continued a few positions at a time publishes the ranking a snapshot in one call takes, for every account on
    /// both instruments; until it ends, what-ifs read the ranking before it (here, taken at another mark).
    /// </summary>
    [Fact]
    public void ShouldPublishThePassSpreadOverCallsAsTheSnapshotInOneCallAndKeepTheLastUntilItEnds()
    {
        var atOnce = RandomBook(31, 2_000, 1, 2);
        var spread = RandomBook(31, 2_000, 1, 2);
        atOnce.SnapshotAdlRanking();
        spread.SetMark(1, 9_000);   // the last ranking, at another mark
        spread.SnapshotAdlRanking();
        spread.SetMark(1, 10_000);
        var before = QuantilesOf(spread);

        spread.StartAdlRanking();
        var calls = 1;
        while (!spread.ContinueAdlRanking(7))
        {
            Assert.True(spread.AdlRankingRunning);
            Assert.Equal(before, QuantilesOf(spread));   // the pass under way is not read
            calls++;
        }

        Assert.False(spread.AdlRankingRunning);
        Assert.True(calls > 80, $"calls: {calls}");   // some 600 positions, 7 a call
        var after = QuantilesOf(spread);
        Assert.Equal(QuantilesOf(atOnce), after);
        Assert.NotEqual(before, after);
        Assert.Equal(5, after.Max());
        Assert.Equal(1, after.Where(q => q > 0).Min());
    }

    /// <summary>
    /// In the state machine a pass starts at the first command of a second and goes on a slice a command: with more positions
    /// than a slice it is still under way after that command, orders read the ranking before it until the commands that
    /// follow end it, and then the ranking a snapshot in one call takes.
    /// </summary>
    [Fact]
    public void ShouldSpreadTheSecondsRankingPassOverTheCommandsThatFollow()
    {
        const int Accounts = 400;
        var (config, ledger) = OneInstrument(Accounts);
        var machine = new PerpStateMachine<CountingSink>(config, ledger, new RiskLimits());
        for (var a = 1; a <= Accounts; a += 2)
        {
            ledger.Deposit(a, (1_000 + a) * Usdt);
            ledger.Deposit(a + 1, (1_000 + a) * Usdt);
            ledger.ApplyFill(a, 1, Side.Buy, 10_000, 1 + (a % 17), isMaker: false);
            ledger.ApplyFill(a + 1, 1, Side.Sell, 10_000, 1 + (a % 17), isMaker: true);
        }

        int[] Quantiles() => [.. Enumerable.Range(1, Accounts).Select(a => ledger.AdlQuantileAtSnapshot(a, 1))];
        void Mark(long nowNs, long markTicks)
        {
            var mark = EngineCommand.Mark(nowNs, 1, markTicks);
            machine.Process(in mark);
        }

        // Second 0: the first command starts a pass (its first slice before any mark); the commands after it end it. Then the
        // mark moves to 9,000 (a second's work runs before its command: second 1's pass starts after this mark).
        for (var t = 0; t < 20; t++)
        {
            Mark(t, 10_100);
        }

        Assert.False(ledger.AdlRankingRunning);
        Assert.Contains(5, Quantiles());
        Mark(900_000_000, 9_000);
        var fromSecondZero = Quantiles();   // each position's score at 9,000 against second 0's ranking

        // Second 1: a new pass over the commands that follow. 64 positions scored a command (7 commands), then the two sides
        // ranked: about five looks at each of their 200 entries, 16 a unit of the same budget (one to three commands more).
        var commands = 0;
        do
        {
            Mark(1_000_000_000 + commands, 9_000);
            commands++;
            Assert.True(commands < 100, "the pass did not end");
            if (ledger.AdlRankingRunning)
            {
                Assert.Equal(fromSecondZero, Quantiles());   // the pass under way is not read
                Assert.True(machine.NextWorkDueNs <= 1_000_000_000 + commands - 1, "a pass under way is work due now (the node ticks for it)");
            }
        }
        while (ledger.AdlRankingRunning);

        Assert.InRange(commands, 8, 10);
        Assert.Equal(2_000_000_000, machine.NextWorkDueNs);   // then the next second
        var fromSecondOne = Quantiles();
        Assert.NotEqual(fromSecondZero, fromSecondOne);
        ledger.SnapshotAdlRanking();   // nothing moved since the pass: the same ranking taken in one call
        Assert.Equal(Quantiles(), fromSecondOne);
    }

    /// <summary>
    /// The pass goes through the instruments in id order, whatever order they are listed in: two ledgers listing the same two
    /// contracts the other way round, the same positions, a pass spread over calls with the mark of instrument 1 moved in the
    /// middle of it, end with the same ranking (listed first, instrument 2 would be scored before the move in one and after it
    /// in the other, and instrument 1 the other way).
    /// </summary>
    [Fact]
    public void ShouldRankTheInstrumentsInIdOrderWhateverOrderTheyAreListedIn()
    {
        int[] RankedWithAMoveHalfway(Ledger ledger)
        {
            ledger.StartAdlRanking();
            for (var k = 0; k < 40; k++)
            {
                ledger.ContinueAdlRanking(8);   // 320 of some 600 positions: within the first instrument in id order
            }

            ledger.SetMark(1, 8_500);
            while (!ledger.ContinueAdlRanking(8))
            {
            }

            return QuantilesOf(ledger);
        }

        Assert.Equal(RankedWithAMoveHalfway(RandomBook(44, 1_500, 1, 2)), RankedWithAMoveHalfway(RandomBook(44, 1_500, 2, 1)));
    }

    /// <summary>
    /// A pass asked to keep each instrument's largest holders, spread over calls, keeps those a pass over every holder in one
    /// call finds (<see cref="Ledger.TopHolders"/>): largest first, ties to the lower account id though slots run in another
    /// order, for as many as asked; a pass not asked keeps none.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(16)]
    public void ShouldKeepTheLargestHoldersAPassOverEveryHolderFinds(int top)
    {
        const int Accounts = 200;
        var ledger = new Ledger(
        [
            new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
            new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 10, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) },
        ], Accounts + 1);
        var random = new Random(top);
        ledger.SetMark(1, 10_000);
        ledger.SetMark(2, 50_000);
        foreach (var a in Enumerable.Range(1, Accounts).OrderBy(_ => random.Next()))
        {
            ledger.Deposit(a, 10_000 * Usdt);   // slots in a shuffled order of ids
        }

        for (var a = 1; a <= Accounts; a += 2)
        {
            // Lots from a few values: many ties among the largest.
            var (instrument, lots) = (1 + (a % 3 == 0 ? 1 : 0), 10L * (1 + random.Next(4)));
            ledger.ApplyFill(a, instrument, Side.Buy, instrument == 1 ? 10_000 : 50_000, lots, isMaker: false);
            ledger.ApplyFill(a + 1, instrument, Side.Sell, instrument == 1 ? 10_000 : 50_000, lots, isMaker: true);
        }

        var (accounts, lotsHeld) = (new int[top], new long[top]);
        ledger.StartAdlRanking();
        while (!ledger.ContinueAdlRanking(5))
        {
        }

        Assert.Equal(0, ledger.TopHoldersAtRanking(1, accounts, lotsHeld));   // not asked
        var taken = ledger.AdlRankingsTaken;
        ledger.StartAdlRanking(topHolders: top);
        var calls = 1;
        while (!ledger.ContinueAdlRanking(5))
        {
            calls++;
        }

        Assert.True(calls > 30, $"calls: {calls}");
        Assert.Equal(taken + 1, ledger.AdlRankingsTaken);
        foreach (var instrumentId in new[] { 1, 2 })
        {
            var (expectedAccounts, expectedLots) = (new int[top], new long[top]);
            var expected = ledger.TopHolders(instrumentId, expectedAccounts, expectedLots);
            Assert.Equal(top, expected);
            // Both share one insertion (Ledger.InsertAmongLargest): held to the definition too, largest first, ties to the lower id.
            var definition = Enumerable.Range(1, Accounts)
                .Select(a => (Account: a, Lots: Math.Abs(ledger.PositionOf(a, instrumentId).QtyLots)))
                .Where(h => h.Lots != 0).OrderByDescending(h => h.Lots).ThenBy(h => h.Account).Take(top).ToArray();
            Assert.Equal(definition.Select(h => h.Account), expectedAccounts);
            Assert.Equal(definition.Select(h => h.Lots), expectedLots);
            Assert.Equal(expected, ledger.TopHoldersAtRanking(instrumentId, accounts, lotsHeld));
            Assert.Equal(expectedAccounts, accounts);
            Assert.Equal(expectedLots, lotsHeld);
        }
    }

    /// <summary>
    /// The concentration check reads the largest holders the second's ranking pass kept: with more positions than a slice it
    /// warns in the command that ends the pass, not the one that starts it, with the figures a pass over every holder gives;
    /// a ranking taken in one call from outside, which keeps no holders, is not read as a share of 0 (that re-armed the
    /// warning, and the next second's pass raised it again).
    /// </summary>
    [Fact]
    public void ShouldWarnOfConcentrationWhenTheSecondsRankingPassEnds()
    {
        const int Accounts = 400;
        var (config, ledger) = OneInstrument(Accounts);
        var events = new List<EngineEvent>();
        var limits = new RiskLimits { ConcentrationWarningRate = 30_000_000, ConcentrationTopAccounts = 3 };
        var machine = new PerpStateMachine<Reference.RecordingSink>(config, ledger, limits, new Reference.RecordingSink(events));
        for (var a = 1; a <= Accounts; a += 2)
        {
            // Accounts 301 and 302 hold 4,000 lots, 303 and 304 1,000; the rest 1-17 each: the top three (4,000, 4,000, 1,000) hold about two thirds of the lots open on both sides.
            var lots = a == 301 ? 4_000 : a == 303 ? 1_000 : 1 + (a % 17);
            ledger.Deposit(a, 100_000 * Usdt);
            ledger.Deposit(a + 1, 100_000 * Usdt);
            ledger.ApplyFill(a, 1, Side.Buy, 10_000, lots, isMaker: false);
            ledger.ApplyFill(a + 1, 1, Side.Sell, 10_000, lots, isMaker: true);
        }

        var (top, topLots) = (new int[3], new long[3]);
        Assert.Equal(3, ledger.TopHolders(1, top, topLots));
        var openInterest = ledger.OpenInterestLots(1);
        var commands = 0;
        do
        {
            machine.Process(EngineCommand.Tick(1_000_000_000 + commands));
            commands++;
            Assert.Equal(ledger.AdlRankingRunning, !events.Any(e => e.Kind == EventKind.ConcentrationWarning));
            Assert.True(commands < 100, "the pass did not end");
        }
        while (ledger.AdlRankingRunning);

        Assert.True(commands > 5, $"commands: {commands}");   // 400 positions, 64 a command
        var warning = Assert.Single(events, e => e.Kind == EventKind.ConcentrationWarning);
        Assert.Equal((3, topLots.Sum(), openInterest, top[0], topLots[0]), (warning.Count, warning.QtyLots, warning.RemainingLots, warning.OtherAccountId, warning.OtherRemainingLots));
        Assert.Equal(FixedPoint.MulDiv(topLots.Sum(), FixedPoint.RateScale, 2 * openInterest, Rounding.Down), warning.Available);

        // A ranking taken in one call from outside keeps no holders: it neither re-arms the warning nor raises another when
        // the next second's pass ends.
        ledger.SnapshotAdlRanking();
        for (var t = 0; t < 30; t++)
        {
            machine.Process(EngineCommand.Tick(2_000_000_000 + t));
        }

        Assert.False(ledger.AdlRankingRunning);
        Assert.Single(events, e => e.Kind == EventKind.ConcentrationWarning);
    }

    /// <summary>A book and a ledger of one instrument (id 1, reference price 10,000, 100 money per tick-lot, no fees) for a
    /// state machine of <paramref name="accounts"/> accounts and a few more.</summary>
    private static (EngineConfig Config, Ledger Ledger) OneInstrument(int accounts) =>
    (
        new EngineConfig
        {
            Instruments = [new Instruments.InstrumentSpec { Id = 1, Symbol = "T", TickSize = 1, LotSize = 1, MinQuantity = 1, Band = Instruments.PriceBand.InBasisPoints(5_000), ReferencePriceTicks = 10_000 }],
            MaxRestingOrders = 64,
            MaxPriceLevelsPerSide = 64,
            MaxAccounts = accounts + 8,
        },
        new Ledger([new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) }], accounts + 8)
    );

    /// <summary>300 accounts of 50-5,000 USDT, after <paramref name="trades"/> random trades between them on instruments 1 (marked
    /// at 10,000, 100 money per tick-lot) and 2 (50,000, 10), the contracts listed in the order of <paramref name="listed"/>.</summary>
    private static Ledger RandomBook(int seed, int trades, params int[] listed)
    {
        const int Accounts = 300;
        var ledger = new Ledger(
            [.. listed.Select(id => new ContractSpec { InstrumentId = id, MoneyPerTickLot = id == 1 ? 100 : 10, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(0, 0) })],
            maxAccounts: Accounts + 1);
        var random = new Random(seed);
        ledger.SetMark(1, 10_000);
        ledger.SetMark(2, 50_000);
        for (var a = 1; a <= Accounts; a++)
        {
            ledger.Deposit(a, random.NextInt64(50, 5_000) * Usdt);
        }

        for (var t = 0; t < trades; t++)
        {
            var (buyer, seller, instrument) = (1 + random.Next(Accounts), 1 + random.Next(Accounts), 1 + random.Next(2));
            if (buyer != seller)
            {
                var price = instrument == 1 ? random.NextInt64(9_000, 11_001) : random.NextInt64(45_000, 55_001);
                var lots = random.NextInt64(1, 20);
                ledger.ApplyFill(buyer, instrument, Side.Buy, price, lots, isMaker: false);
                ledger.ApplyFill(seller, instrument, Side.Sell, price, lots, isMaker: true);
            }
        }

        return ledger;
    }

    private static int[] QuantilesOf(Ledger ledger) =>
        [.. Enumerable.Range(1, 300).SelectMany(a => new[] { ledger.AdlQuantileAtSnapshot(a, 1), ledger.AdlQuantileAtSnapshot(a, 2) })];
}
