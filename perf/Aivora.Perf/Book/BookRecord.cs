using System.Buffers.Binary;

namespace Aivora.Perf.Book;

public enum BookOp : byte
{
    Place = 1,
    Cancel = 2,

    /// <summary>Change price and re-queue; may cross.</summary>
    Move = 3,

    /// <summary>Decrease remaining quantity by Size; the order is removed at zero.</summary>
    Reduce = 4,
}

/// <summary>
/// One command of a book replay file: 32 bytes, little-endian.
/// <code>
///  0      1      2      3      4           8             16            24            32
///  +------+------+------+------+-----------+-------------+-------------+-------------+
///  | op   | side | tif  | rsvd | user u32  | order u64   | price i64   | size i64    |
///  +------+------+------+------+-----------+-------------+-------------+-------------+
/// </code>
/// op 1 place / 2 cancel / 3 move / 4 reduce; side 0 buy / 1 sell; tif 0 GTC / 1 IOC / 2 FOK.
/// </summary>
public readonly record struct BookRecord(BookOp Op, byte Side, byte Tif, uint UserId, ulong OrderId, long PriceTicks, long SizeLots)
{
    public const int Size = 32;

    public static BookRecord Read(ReadOnlySpan<byte> source) => new(
        (BookOp)source[0],
        source[1],
        source[2],
        BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
        BinaryPrimitives.ReadUInt64LittleEndian(source[8..]),
        BinaryPrimitives.ReadInt64LittleEndian(source[16..]),
        BinaryPrimitives.ReadInt64LittleEndian(source[24..]));

    public void Write(Span<byte> destination)
    {
        destination[0] = (byte)Op;
        destination[1] = Side;
        destination[2] = Tif;
        destination[3] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], UserId);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], OrderId);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], PriceTicks);
        BinaryPrimitives.WriteInt64LittleEndian(destination[24..], SizeLots);
    }

    /// <summary>Reads a whole file; a length that is not a multiple of 32 bytes is an error, not a silent truncation.</summary>
    public static BookRecord[] ReadFile(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length % Size != 0)
        {
            throw new InvalidDataException($"{path}: {bytes.Length} bytes is not a whole number of {Size}-byte records");
        }

        var records = new BookRecord[bytes.Length / Size];
        for (var i = 0; i < records.Length; i++)
        {
            records[i] = Read(bytes.AsSpan(i * Size, Size));
        }

        return records;
    }

    public static void WriteFile(string path, ReadOnlySpan<BookRecord> records)
    {
        var bytes = new byte[records.Length * Size];
        for (var i = 0; i < records.Length; i++)
        {
            records[i].Write(bytes.AsSpan(i * Size, Size));
        }

        File.WriteAllBytes(path, bytes);
    }
}
