using System.Runtime.CompilerServices;

namespace Aivora.Core.Hashing;

/// <summary>
/// A 64-bit running hash of state values folded in a fixed order. Used to prove that two books
/// (or a replay and the original) hold the same state; not cryptographic.
/// </summary>
public struct StateHasher
{
    private const ulong Prime1 = 0x9E3779B185EBCA87UL;
    private const ulong Prime2 = 0xC2B2AE3D27D4EB4FUL;

    private ulong _state;

    public StateHasher()
    {
        _state = 0x27D4EB2F165667C5UL;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(long value)
    {
        var k = (ulong)value * Prime2;
        k = ulong.RotateLeft(k, 31) * Prime1;
        _state = (ulong.RotateLeft(_state ^ k, 27) * Prime1) + 0x85EBCA77C2B2AE63UL;
    }

    public readonly ulong Value
    {
        get
        {
            var h = _state;
            h ^= h >> 33;
            h *= Prime2;
            h ^= h >> 29;
            h *= Prime1;
            h ^= h >> 32;
            return h;
        }
    }
}
