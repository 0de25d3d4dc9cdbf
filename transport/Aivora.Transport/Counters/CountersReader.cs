using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text;
using static Aivora.Transport.Counters.CountersLayout;

namespace Aivora.Transport.Counters;

/// <summary>One record of a counters file, as read.</summary>
public sealed record CounterRecord(CounterKind Kind, int SessionId, int StreamId, string Label, IReadOnlyDictionary<string, long> Values);

/// <summary>A snapshot of a counters file: header facts and the records in use.</summary>
public sealed record CountersSnapshot(long ProcessId, DateTimeOffset Started, DateTimeOffset Heartbeat, IReadOnlyList<CounterRecord> Records);

/// <summary>Reads a driver's counters file from any process (cold path; allocates freely). Bad files get a clear error.</summary>
public static class CountersReader
{
    public static CountersSnapshot Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        if (stream.Length < HeaderLength) throw new InvalidDataException($"{path}: {stream.Length} bytes, shorter than the {HeaderLength}-byte counters header");
        using var file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        using var view = file.CreateViewStream(0, stream.Length, MemoryMappedFileAccess.Read);
        var bytes = new byte[stream.Length];
        view.ReadExactly(bytes);

        if (BinaryPrimitives.ReadInt32LittleEndian(bytes) != Magic) throw new InvalidDataException($"{path}: not a counters file (magic mismatch)");
        int version = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4));
        if (version != FileVersion) throw new InvalidDataException($"{path}: counters file version {version}, this reader knows {FileVersion}");
        int recordLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
        int maxRecords = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        int count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(RecordCountOffset));
        if (recordLength != RecordLength || count < 0 || count > maxRecords || HeaderLength + (long)maxRecords * RecordLength > bytes.Length)
        {
            throw new InvalidDataException($"{path}: inconsistent header (record length {recordLength}, {count} of {maxRecords} records, {bytes.Length} bytes)");
        }

        var records = new List<CounterRecord>(count);
        for (int i = 0; i < count; i++)
        {
            var record = bytes.AsSpan(HeaderLength + i * RecordLength, RecordLength);
            var kind = (CounterKind)BinaryPrimitives.ReadInt32LittleEndian(record);
            if (kind == CounterKind.Free) continue; // being rewritten right now
            var names = FieldNames(kind);
            int valueCount = Math.Min(BinaryPrimitives.ReadInt32LittleEndian(record[12..]), Math.Min(names.Count, MaxValues));
            var values = new Dictionary<string, long>(valueCount);
            for (int v = 0; v < valueCount; v++) values[names[v]] = BinaryPrimitives.ReadInt64LittleEndian(record[(ValuesOffset + v * sizeof(long))..]);
            var label = Encoding.UTF8.GetString(record.Slice(LabelOffset, LabelLength)).TrimEnd('\0');
            records.Add(new CounterRecord(kind, BinaryPrimitives.ReadInt32LittleEndian(record[4..]), BinaryPrimitives.ReadInt32LittleEndian(record[8..]), label, values));
        }
        return new CountersSnapshot(
            BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(PidOffset)),
            DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(StartOffset))),
            DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(HeartbeatOffset))),
            records);
    }
}
