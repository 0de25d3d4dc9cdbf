using System.Globalization;

namespace Aivora.Perf;

/// <summary>
/// The sub-commands' options, checked before anything runs: an unknown option, a missing value or a number out of its range is
/// an error with exit code 2, never ignored and never an exception.
/// </summary>
internal static class CommandLine
{
    /// <summary>Null when every argument is one of <paramref name="flags"/>, or one of <paramref name="valued"/> followed by its
    /// value, each at most once; otherwise what is wrong (a second value would otherwise be ignored).</summary>
    internal static string? Check(string command, string[] args, string[] flags, string[] valued)
    {
        var seen = new List<string>();
        for (var k = 0; k < args.Length; k++)
        {
            if (seen.Contains(args[k]))
            {
                return $"{command}: {args[k]} given twice";
            }

            seen.Add(args[k]);
            if (flags.Contains(args[k]))
            {
                continue;
            }

            if (!valued.Contains(args[k]))
            {
                return $"{command}: unknown option {args[k]} (options: {string.Join(", ", flags.Concat(valued.Select(name => name + " VALUE")))})";
            }

            if (k + 1 >= args.Length)
            {
                return $"{command}: {args[k]} takes a value";
            }

            k++;
        }

        return null;
    }

    /// <summary>The value after <paramref name="name"/>, or null when it is absent.</summary>
    internal static string? Value(string[] args, string name)
    {
        var k = Array.IndexOf(args, name);
        return k >= 0 && k + 1 < args.Length ? args[k + 1] : null;
    }

    /// <summary>An integer option from <paramref name="min"/> to <paramref name="max"/> (<paramref name="fallback"/> when absent);
    /// false with the message in <paramref name="error"/> when it is not one.</summary>
    internal static bool TryInt(string command, string[] args, string name, int fallback, int min, int max, out int value, out string? error)
    {
        error = null;
        value = fallback;
        if (Value(args, name) is not { } text)
        {
            return true;
        }

        if (int.TryParse(text, NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out value) && value >= min && value <= max)
        {
            return true;
        }

        error = FormattableString.Invariant($"{command}: {name} takes a whole number from {min:N0} to {max:N0}, not {text}");
        return false;
    }
}
