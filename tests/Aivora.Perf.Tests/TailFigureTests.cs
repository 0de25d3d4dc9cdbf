using Aivora.Perf.Book;

namespace Aivora.Perf.Tests;

/// <summary>
/// `perf book`'s `p999_lesser_of_two_ns`: the p99.9 of each operation's lesser timing of two replays. A stall that hit an
/// operation in one replay only goes; an operation slow in both (its own work) stays.
/// </summary>
public sealed class TailFigureTests
{
    [Fact]
    public void The_lesser_of_two_timings_keeps_what_is_slow_in_both_and_drops_what_one_replay_alone_saw()
    {
        const int Ops = 2_000;   // its p99.9: the value the slowest two operations are at or past
        var first = Enumerable.Repeat(100L, Ops).ToArray();
        var second = Enumerable.Repeat(100L, Ops).ToArray();
        for (var i = 0; i < 10; i++)
        {
            first[i] = 50_000;        // stalled in the first replay only
            second[10 + i] = 50_000;  // in the second only
        }

        for (var i = 20; i < 25; i++)
        {
            first[i] = second[i] = 3_000;   // slow in both: five operations' own work
        }

        var lesser = BookBenchmark.P999OfLesser(first, second, 0, Ops);

        Assert.InRange(lesser, 2_900, 3_300);   // the five slow ones' (to the histogram's bucket)
        // A stall-free tail of 100 ns when nothing was slow in both.
        for (var i = 20; i < 25; i++) second[i] = 100;
        Assert.InRange(BookBenchmark.P999OfLesser(first, second, 0, Ops), 90, 110);
        // Only the range asked for counts: the first 25 operations left out, the tail is 100 ns.
        Assert.InRange(BookBenchmark.P999OfLesser(first, first, 25, Ops), 90, 110);
    }
}
