using System.Diagnostics;
using System.Globalization;
using Aivora.Exchange;

namespace Aivora.Perf.Codec;

/// <summary>
/// <c>codec</c>: per message of the exchange schema, nanoseconds to encode and to decode, and bytes
/// allocated. Hot messages (api=flyweight) encode every field and decode every field through the
/// flyweights; every other message (api=dto-encode+validate) encodes from a pre-built DTO and is
/// decoded by the structural validation that every decode starts with.
/// </summary>
public static class CodecBenchmark
{
    private delegate int EncodeFrame(Span<byte> buffer);

    private delegate SbeDecodeResult ValidateFrame(ReadOnlySpan<byte> buffer);

    public static int Run(string[] args)
    {
        var quick = args.Contains("--quick");
        var iterations = quick ? 1_000_000 : 5_000_000;
        var buffer = new byte[1 << 16];
        Console.WriteLine($"# codec: {iterations:N0} iterations per message and direction");

        var hot = new HashSet<string>(StringComparer.Ordinal);
        Measure(new NewOrderCase(), buffer, iterations, hot);
        Measure(new CancelOrderCase(), buffer, iterations, hot);
        Measure(new OrderFilledCase(), buffer, iterations, hot);
        Measure(new BookLevelUpdatesCase(), buffer, iterations, hot);

        var random = new Random(1);
        foreach (var dtoType in typeof(SbeSchema).Assembly.GetTypes()
                     .Where(t => t.Namespace == "Aivora.Exchange" && t.Name.EndsWith("Dto", StringComparison.Ordinal) && !t.IsNested && t.GetMethod("Validate") is not null)
                     .OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            var name = dtoType.Name[..^3];
            if (hot.Contains(name))
            {
                continue;
            }

            var dto = SampleDto(dtoType, random);
            var encode = dtoType.GetMethod("EncodeInto")!.CreateDelegate<EncodeFrame>(dto);
            var validate = dtoType.GetMethod("Validate")!.CreateDelegate<ValidateFrame>();
            MeasureDto(name, encode, validate, buffer, quick ? 200_000 : iterations);
        }

        return 0;
    }

    private const int Batch = 10_000;

    /// <summary>
    /// Times whole batches from methods called many times, so the measured loop is tier-1 code
    /// (a loop run once is compiled through on-stack replacement and measures slower).
    /// </summary>
    private static void Measure<TCase>(TCase c, byte[] buffer, int iterations, HashSet<string> hot)
        where TCase : struct, ICodecCase
    {
        hot.Add(c.Name);
        var length = c.Encode(buffer);
        long failures = 0;
        WarmUp(() =>
        {
            EncodeBatch(c, buffer);
            failures += DecodeBatch(c, buffer, length) < 0 ? 1 : 0;
        }, opsPerCall: Batch);

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var batches = Math.Max(1, iterations / Batch);
        var start = Stopwatch.GetTimestamp();
        for (var b = 0; b < batches; b++)
        {
            EncodeBatch(c, buffer);
        }

        var encodeNs = Stopwatch.GetElapsedTime(start).TotalNanoseconds / (batches * (double)Batch);
        start = Stopwatch.GetTimestamp();
        long check = 0;
        for (var b = 0; b < batches; b++)
        {
            check += DecodeBatch(c, buffer, length);
        }

        var decodeNs = Stopwatch.GetElapsedTime(start).TotalNanoseconds / (batches * (double)Batch);
        var allocBytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Print(c.Name, length, encodeNs, decodeNs, allocBytes, "flyweight", failures == 0 && check != 0);
    }

    private static int EncodeBatch<TCase>(TCase c, byte[] buffer)
        where TCase : struct, ICodecCase
    {
        var length = 0;
        for (var i = 0; i < Batch; i++)
        {
            length = c.Encode(buffer);
        }

        return length;
    }

    /// <summary>Sum of the decoded checksums; negative when any decode failed.</summary>
    private static long DecodeBatch<TCase>(TCase c, byte[] buffer, int length)
        where TCase : struct, ICodecCase
    {
        long sum = 1;
        var failed = false;
        for (var i = 0; i < Batch; i++)
        {
            var value = c.Decode(buffer.AsSpan(0, length));
            failed |= value == -1;
            sum += value & 1;
        }

        return failed ? -1 : sum;
    }

    private static void MeasureDto(string name, EncodeFrame encode, ValidateFrame validate, byte[] buffer, int iterations)
    {
        var length = encode(buffer);
        long check = 0;
        WarmUp(() =>
        {
            encode(buffer);
            check += (int)validate(buffer.AsSpan(0, length));
        });

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < iterations; i++)
        {
            encode(buffer);
        }

        var encodeNs = Stopwatch.GetElapsedTime(start).TotalNanoseconds / iterations;
        start = Stopwatch.GetTimestamp();
        for (var i = 0; i < iterations; i++)
        {
            check += (int)validate(buffer.AsSpan(0, length));
        }

        var decodeNs = Stopwatch.GetElapsedTime(start).TotalNanoseconds / iterations;
        Print(name, length, encodeNs, decodeNs, GC.GetAllocatedBytesForCurrentThread() - allocated, "dto-encode+validate", check == 0);
    }

    /// <summary>
    /// Runs the case for at least 200,000 operations and 300 ms: tiered JIT promotes hot code from a
    /// ~100 ms timer, and nanosecond-scale code would otherwise be measured before it is optimised.
    /// A batch body counts as its <paramref name="opsPerCall"/> operations (counting it as one made the
    /// warm-up of the hot messages run two billion operations each, and `--quick` take ~400 s).
    /// </summary>
    private static void WarmUp(Action body, int opsPerCall = 1)
    {
        var start = Stopwatch.GetTimestamp();
        long operations = 0;
        while (operations < 200_000 || Stopwatch.GetElapsedTime(start).TotalMilliseconds < 300)
        {
            body();
            operations += opsPerCall;
        }
    }

    private static void Print(string name, int bytes, double encodeNs, double decodeNs, long allocBytes, string api, bool decodedOk)
    {
        if (!decodedOk)
        {
            Console.Error.WriteLine($"# {name}: decode reported invalid bytes");
        }

        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=codec msg={name} bytes={bytes} encode_ns={encodeNs:F1} decode_ns={decodeNs:F1} alloc_bytes={allocBytes} api={api}"));
    }

    /// <summary>A representative instance: every scalar set, two entries per group, short text.</summary>
    private static object SampleDto(Type dtoType, Random random)
    {
        var dto = Activator.CreateInstance(dtoType)!;
        foreach (var property in dtoType.GetProperties())
        {
            var type = property.PropertyType;
            if (type == typeof(byte[]) && property.GetValue(dto) is byte[] { Length: > 0 })
            {
                continue;   // a fixed-length array (e.g. a signature): keep its zeroed default
            }

            if (type == typeof(byte[]))
            {
                property.SetValue(dto, "sample text"u8.ToArray());
            }
            else if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
            {
                var list = (System.Collections.IList)property.GetValue(dto)!;
                list.Add(Activator.CreateInstance(type.GetGenericArguments()[0])!);
                list.Add(Activator.CreateInstance(type.GetGenericArguments()[0])!);
            }
            else if (type == typeof(string))
            {
                property.SetValue(dto, "BTC-PERP");
            }
            else if (Nullable.GetUnderlyingType(type) is { } inner && inner.IsPrimitive)
            {
                property.SetValue(dto, Convert.ChangeType(random.Next(1, 100), inner, CultureInfo.InvariantCulture));
            }
            else if (type.IsPrimitive && type != typeof(bool))
            {
                property.SetValue(dto, Convert.ChangeType(random.Next(1, 100), type, CultureInfo.InvariantCulture));
            }
        }

        return dto;
    }
}
