using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Aivora.Codecs.Session;

/// <summary>
/// The logon signature, defined to the byte (the schema's Logon description and the README say the same):
/// <code>
///   signature = HMAC-SHA256(key = secret's raw bytes, message = the 24 bytes below)
///
///    0               8               16              24
///   +---------------+---------------+---------------+
///   | apiKeyId      | timestampNs   | nonce         |   each uint64, little-endian
///   +---------------+---------------+---------------+
/// </code>
/// Test vector: secret = bytes 0x00..0x1f, apiKeyId 7, timestampNs 1,700,000,000,000,000,000, nonce 1 →
/// e619587c0624b09a36445e5c01f45476936722a845278d2b4759cee6f2e98d58.
/// </summary>
public static class LogonSignature
{
    public const int MessageLength = 24;
    public const int Length = 32;

    /// <summary>Writes the signature into <paramref name="destination"/> (32 bytes); allocation-free.</summary>
    public static void Compute(ReadOnlySpan<byte> secret, ulong apiKeyId, ulong timestampNs, ulong nonce, Span<byte> destination)
    {
        Span<byte> message = stackalloc byte[MessageLength];
        BinaryPrimitives.WriteUInt64LittleEndian(message, apiKeyId);
        BinaryPrimitives.WriteUInt64LittleEndian(message[8..], timestampNs);
        BinaryPrimitives.WriteUInt64LittleEndian(message[16..], nonce);
        HMACSHA256.HashData(secret, message, destination);
    }

    /// <summary>Constant-time comparison of a received signature with the expected one.</summary>
    public static bool Verify(ReadOnlySpan<byte> secret, ulong apiKeyId, ulong timestampNs, ulong nonce, ReadOnlySpan<byte> signature)
    {
        Span<byte> expected = stackalloc byte[Length];
        Compute(secret, apiKeyId, timestampNs, nonce, expected);
        return signature.Length == Length && CryptographicOperations.FixedTimeEquals(expected, signature);
    }
}
