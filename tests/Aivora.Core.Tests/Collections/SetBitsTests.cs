using Aivora.Core.Collections;

namespace Aivora.Core.Tests.Collections;

public sealed class SetBitsTests
{
    /// <summary>
    /// Bitmaps of three accounts over 150 contracts (three words each) side by side in one array, bits set and cleared at
    /// random: each account's bitmap enumerates exactly the contracts set for it, in ascending order, across word edges
    /// (63/64, 127/128), and a neighbour's bits never leak in.
    /// </summary>
    [Fact]
    public void ShouldEnumerateExactlyTheSetBitsOfEachBitmapInAscendingOrder()
    {
        const int Contracts = 150;
        var words = SetBits.WordsFor(Contracts);
        Assert.Equal(3, words);
        var bitmaps = new ulong[3 * words];
        var model = new[] { new SortedSet<int>(), new SortedSet<int>(), new SortedSet<int>() };
        var random = new Random(17);
        for (var step = 0; step < 5_000; step++)
        {
            var account = random.Next(3);
            var bit = random.Next(4) == 0 ? new[] { 0, 63, 64, 127, 128, 149 }[random.Next(6)] : random.Next(Contracts);
            var value = random.Next(3) != 0;
            SetBits.Set(bitmaps, account * words, bit, value);
            _ = value ? model[account].Add(bit) : model[account].Remove(bit);

            var span = bitmaps.AsSpan(account * words, words);
            var seen = new List<int>();
            foreach (var b in new SetBits(span))
            {
                seen.Add(b);
            }

            Assert.Equal(model[account], seen);
            Assert.Equal(model[account].Count > 0, SetBits.Any(span));
        }

        Assert.Equal(1, SetBits.WordsFor(0));
        Assert.Equal(1, SetBits.WordsFor(64));
        Assert.Equal(2, SetBits.WordsFor(65));
        Assert.Empty(EnumerateAll(default));
    }

    private static List<int> EnumerateAll(ReadOnlySpan<ulong> words)
    {
        var all = new List<int>();
        foreach (var b in new SetBits(words))
        {
            all.Add(b);
        }

        return all;
    }
}
