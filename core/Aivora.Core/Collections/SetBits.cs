using System.Numerics;
using System.Runtime.CompilerServices;

namespace Aivora.Core.Collections;

/// <summary>
/// Bitmaps of contracts, a bit each, and the enumeration of their set bits in ascending order (<c>foreach</c>, without
/// allocation). Per account the ledger and the engine keep one bitmap per concern (positions held, orders resting, bands
/// drawn, positions indexed): a loop over an account's positions visits those contracts, so its cost follows the
/// instruments the account is in, not how many are listed. The hot loops read the words directly (for each word, for
/// each set bit: a trailing-zero count and a clear of the lowest bit); the enumerator serves the cold ones.
/// <code>
///   word 0: bits 0-63 (contracts 0-63), word 1: 64-127, ...    ascending: lowest word, lowest bit first
///   an account's bitmap: words [slot × words, (slot + 1) × words) of one array per concern
/// </code>
/// </summary>
public ref struct SetBits
{
    private readonly ReadOnlySpan<ulong> _words;
    private int _word;
    private ulong _bits;

    public SetBits(ReadOnlySpan<ulong> words)
    {
        _words = words;
        _word = 0;
        _bits = words.Length == 0 ? 0 : words[0];
        Current = -1;
    }

    /// <summary>The bit (contract index) the enumeration is at.</summary>
    public int Current { get; private set; }

    public readonly SetBits GetEnumerator() => this;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool MoveNext()
    {
        while (_bits == 0)
        {
            if (++_word >= _words.Length)
            {
                return false;
            }

            _bits = _words[_word];
        }

        Current = (_word << 6) + BitOperations.TrailingZeroCount(_bits);
        _bits &= _bits - 1;
        return true;
    }

    /// <summary>Sets or clears bit <paramref name="bit"/> of the bitmap that starts at word <paramref name="offset"/> of <paramref name="words"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Set(ulong[] words, int offset, int bit, bool value)
    {
        ref var word = ref words[offset + (bit >> 6)];
        word = value ? word | (1UL << (bit & 63)) : word & ~(1UL << (bit & 63));
    }

    /// <summary><see cref="Set"/> to false when <paramref name="clear"/>, else nothing: without a branch on it (the word is
    /// written either way), for a caller whose condition goes either way from one call to the next.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ClearWhen(ulong[] words, int offset, int bit, bool clear)
    {
        ref var word = ref words[offset + (bit >> 6)];
        word &= ~((clear ? 1UL : 0UL) << (bit & 63));
    }

    /// <summary>Words a bitmap of <paramref name="bits"/> bits takes (at least one).</summary>
    public static int WordsFor(int bits) => Math.Max(1, (bits + 63) >> 6);

    /// <summary>Whether any bit of the <paramref name="count"/>-word bitmap that starts at word <paramref name="offset"/> is set:
    /// its first word read inline (the whole bitmap up to 64 contracts), the rest by <see cref="Any"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AnyIn(ulong[] words, int offset, int count) =>
        words[offset] != 0 || (count > 1 && Any(words.AsSpan(offset, count)));

    /// <summary>Whether any bit of <paramref name="words"/> is set.</summary>
    public static bool Any(ReadOnlySpan<ulong> words)
    {
        foreach (var w in words)
        {
            if (w != 0)
            {
                return true;
            }
        }

        return false;
    }
}
