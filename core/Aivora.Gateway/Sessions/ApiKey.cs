using Aivora.Exchange;

namespace Aivora.Gateway.Sessions;

/// <summary>
/// An API key as the node's key store holds it: the public id a client names in Logon, the secret
/// (32 raw bytes, handed out as 64 hex digits), the account it trades for, what it may do, and its
/// order-entry rate limit.
/// </summary>
public sealed record ApiKey(ulong KeyId, byte[] Secret, int AccountId, KeyScopes Scopes, int OrdersPerSecond = 10_000)
{
    /// <summary>A key from its secret's hex form (64 hex digits = 32 bytes).</summary>
    public static ApiKey FromHex(ulong keyId, string secretHex, int accountId, KeyScopes scopes, int ordersPerSecond = 10_000) =>
        new(keyId, Convert.FromHexString(secretHex), accountId, scopes, ordersPerSecond);

    public bool Allows(KeyScopes scope) => (Scopes & scope) != 0;
}

/// <summary>The keys a node accepts, by id; with each key's highest nonce accepted so far (a nonce never counts twice).</summary>
public sealed class KeyStore
{
    private readonly Dictionary<ulong, ApiKey> _keys = [];
    private readonly Dictionary<ulong, ulong> _lastNonce = [];

    public KeyStore(IEnumerable<ApiKey> keys)
    {
        foreach (var key in keys)
        {
            if (key.Secret.Length == 0)
            {
                throw new ArgumentException($"API key {key.KeyId} has an empty secret");
            }

            if (!_keys.TryAdd(key.KeyId, key))
            {
                throw new ArgumentException($"API key {key.KeyId} is configured twice");
            }
        }
    }

    public int Count => _keys.Count;

    public bool TryGet(ulong keyId, out ApiKey key) => _keys.TryGetValue(keyId, out key!);

    /// <summary>True (and remembered) when the nonce is above every nonce accepted before for the key.</summary>
    public bool TryUseNonce(ulong keyId, ulong nonce)
    {
        if (_lastNonce.TryGetValue(keyId, out var last) && nonce <= last)
        {
            return false;
        }

        _lastNonce[keyId] = nonce;
        return true;
    }
}
