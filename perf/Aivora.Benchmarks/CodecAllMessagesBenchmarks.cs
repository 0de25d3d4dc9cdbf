using Aivora.Exchange;
using BenchmarkDotNet.Attributes;

namespace Aivora.Benchmarks;

/// <summary>
/// Every message of the exchange schema: encode from a pre-built DTO (through the flyweight
/// encoder) and validate the frame (the walk every decode starts with). Per-field decode of the
/// hot messages is in <see cref="CodecBenchmarks"/>.
/// </summary>
[MemoryDiagnoser]
public class CodecAllMessagesBenchmarks
{
    private delegate int EncodeFrame(Span<byte> buffer);

    private delegate SbeDecodeResult ValidateFrame(ReadOnlySpan<byte> buffer);

    private readonly byte[] _buffer = new byte[1 << 16];
    private EncodeFrame _encode = null!;
    private ValidateFrame _validate = null!;
    private int _length;

    public static IEnumerable<string> Messages() =>
        typeof(SbeSchema).Assembly.GetTypes()
            .Where(t => t.Namespace == "Aivora.Exchange" && t.Name.EndsWith("Dto", StringComparison.Ordinal) && !t.IsNested && t.GetMethod("Validate") is not null)
            .Select(t => t.Name[..^3])
            .OrderBy(n => n, StringComparer.Ordinal);

    [ParamsSource(nameof(Messages))]
    public string Message { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var dtoType = typeof(SbeSchema).Assembly.GetType($"Aivora.Exchange.{Message}Dto")!;
        var dto = Activator.CreateInstance(dtoType)!;
        foreach (var list in dtoType.GetProperties().Where(p => p.PropertyType.IsGenericType).Select(p => (System.Collections.IList)p.GetValue(dto)!))
        {
            list.Add(Activator.CreateInstance(list.GetType().GetGenericArguments()[0])!);
            list.Add(Activator.CreateInstance(list.GetType().GetGenericArguments()[0])!);
        }

        _encode = dtoType.GetMethod("EncodeInto")!.CreateDelegate<EncodeFrame>(dto);
        _validate = dtoType.GetMethod("Validate")!.CreateDelegate<ValidateFrame>();
        _length = _encode(_buffer);
    }

    [Benchmark]
    public int Encode() => _encode(_buffer);

    [Benchmark]
    public SbeDecodeResult Validate() => _validate(_buffer.AsSpan(0, _length));
}
