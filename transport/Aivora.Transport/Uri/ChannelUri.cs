using System.Globalization;
using System.Net;
using Aivora.Transport.LogBuffer;
using Aivora.Transport.Protocol;

namespace Aivora.Transport.Uri;

/// <summary>
/// A parsed <c>aeron:udp?key=value|…</c> channel (aeron-wire.md §13). Parsing is cold-path: it
/// allocates, and every problem comes back as a specific message naming the key and the value.
/// Keys we do not act on are kept in <see cref="Parameters"/> rather than rejected, as Aeron does.
/// </summary>
public sealed class ChannelUri
{
    private const string Prefix = "aeron:udp";

    public IReadOnlyDictionary<string, string> Parameters { get; }
    public IPEndPoint? Endpoint { get; private init; }
    public IPEndPoint? Control { get; private init; }
    public string? Interface { get; private init; }
    /// <summary>The address part of <see cref="Interface"/>.</summary>
    public IPAddress? InterfaceAddress { get; private init; }
    public int Mtu { get; private init; } = FrameLayout.DefaultMtu;
    public int TermLength { get; private init; } = LogBufferDescriptor.DefaultTermLength;
    public int? SessionId { get; private init; }
    public int? InitialTermId { get; private init; }
    public int? TermId { get; private init; }
    public int? TermOffset { get; private init; }
    public int Ttl { get; private init; }
    public bool Reliable { get; private init; } = true;
    public int? ReceiverWindow { get; private init; }
    public long? LingerNs { get; private init; }
    /// <summary><c>fc=max</c> (default) or <c>fc=min</c>; options after a comma are accepted and not used.</summary>
    public Driver.FlowControl FlowControl { get; private init; }
    /// <summary><c>so-rcvbuf=</c> / <c>so-sndbuf=</c>: socket buffer sizes (the kernel may double or cap them).</summary>
    public int? SocketReceiveBuffer { get; private init; }
    public int? SocketSendBuffer { get; private init; }

    /// <summary>True when the endpoint is an IPv4 multicast group.</summary>
    public bool IsMulticast => Endpoint is { } e && Driver.UdpChannel.IsMulticast(e.Address);

    private ChannelUri(Dictionary<string, string> parameters) => Parameters = parameters;

    /// <summary>Parses a channel; on failure <paramref name="error"/> says exactly what is wrong.</summary>
    public static bool TryParse(string text, out ChannelUri? channel, out string? error)
    {
        channel = null;
        error = null;
        if (string.IsNullOrEmpty(text)) return Fail("channel is empty", out error);
        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
            return Fail($"channel '{text}' must start with '{Prefix}' (only UDP media is supported)", out error);
        string rest = text[Prefix.Length..];
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        if (rest.Length > 0)
        {
            if (rest[0] != '?') return Fail($"expected '?' after '{Prefix}', found '{rest[0]}'", out error);
            foreach (string pair in rest[1..].Split('|'))
            {
                int eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0) return Fail($"parameter '{pair}' is not key=value", out error);
                string key = pair[..eq], value = pair[(eq + 1)..];
                if (value.Length == 0) return Fail($"parameter '{key}' has an empty value", out error);
                if (!parameters.TryAdd(key, value)) return Fail($"parameter '{key}' is given twice", out error);
            }
        }

        IPEndPoint? endpoint = null, control = null;
        int mtu = FrameLayout.DefaultMtu, termLength = LogBufferDescriptor.DefaultTermLength, ttl = 0;
        int? sessionId = null, initialTermId = null, termId = null, termOffset = null, receiverWindow = null;
        long? linger = null;
        bool reliable = true;

        if (parameters.TryGetValue("endpoint", out var ep) && !TryParseEndpoint("endpoint", ep, out endpoint, out error)) return false;
        if (parameters.TryGetValue("control", out var ctl) && !TryParseEndpoint("control", ctl, out control, out error)) return false;
        if (endpoint is not null && Driver.UdpChannel.IsMulticast(endpoint.Address) && endpoint.Address.GetAddressBytes()[^1] % 2 == 0)
            return Fail($"endpoint={ep}: a multicast data group's last octet must be odd (its control group is the next address)", out error);
        IPAddress? interfaceAddress = null;
        if (parameters.TryGetValue("interface", out var itf))
        {
            string address = itf.Split('/')[0];
            if (!IPAddress.TryParse(address, out interfaceAddress) || interfaceAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
                return Fail($"interface={itf}: not an IPv4 address (ip[/prefix])", out error);
        }
        if (parameters.TryGetValue("mtu", out var m))
        {
            if (!TryParseSize("mtu", m, out long v, out error)) return false;
            if (v < FrameLayout.DataHeaderLength || v > FrameLayout.MaxUdpPayloadLength || v % FrameLayout.Alignment != 0)
                return Fail($"mtu={m}: must be a multiple of 32 in [32, 65504]", out error);
            mtu = (int)v;
        }
        if (parameters.TryGetValue("term-length", out var tl))
        {
            if (!TryParseSize("term-length", tl, out long v, out error)) return false;
            if (v > int.MaxValue || !LogBufferDescriptor.IsValidTermLength((int)v))
                return Fail($"term-length={tl}: must be a power of two in [64k, 1g]", out error);
            termLength = (int)v;
        }
        if (!TryParseOptionalInt(parameters, "session-id", out sessionId, out error)) return false;
        if (!TryParseOptionalInt(parameters, "init-term-id", out initialTermId, out error)) return false;
        if (!TryParseOptionalInt(parameters, "term-id", out termId, out error)) return false;
        if (!TryParseOptionalInt(parameters, "term-offset", out termOffset, out error)) return false;
        if ((initialTermId is null) != (termId is null) || (termId is null) != (termOffset is null))
            return Fail("init-term-id, term-id and term-offset must be given together", out error);
        if (termOffset is { } to && ((uint)to >= (uint)termLength || to % FrameLayout.Alignment != 0))
            return Fail($"term-offset={to}: must be 32-aligned and inside the term ({termLength})", out error);
        if (parameters.TryGetValue("ttl", out var t) && (!int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out ttl) || ttl > 255))
            return Fail($"ttl={t}: must be an integer in [0, 255]", out error);
        if (parameters.TryGetValue("reliable", out var r))
        {
            if (r is not ("true" or "false")) return Fail($"reliable={r}: must be true or false", out error);
            reliable = r == "true";
        }
        if (parameters.TryGetValue("rcv-wnd", out var w))
        {
            if (!TryParseSize("rcv-wnd", w, out long v, out error)) return false;
            if (v < FrameLayout.DataHeaderLength || v > termLength / 2) return Fail($"rcv-wnd={w}: must be in [32, term-length/2]", out error);
            receiverWindow = (int)v;
        }
        if (!TryParseSocketBuffer(parameters, "so-rcvbuf", out int? socketReceiveBuffer, out error)) return false;
        if (!TryParseSocketBuffer(parameters, "so-sndbuf", out int? socketSendBuffer, out error)) return false;
        var flowControl = Driver.FlowControl.Max;
        if (parameters.TryGetValue("fc", out var fc))
        {
            string strategy = fc.Split(',')[0];
            if (strategy is not ("max" or "min")) return Fail($"fc={fc}: supported flow control is max or min", out error);
            flowControl = strategy == "min" ? Driver.FlowControl.Min : Driver.FlowControl.Max;
        }
        if (parameters.TryGetValue("linger", out var l))
        {
            if (!TryParseDurationNs(l, out long ns)) return Fail($"linger={l}: not a duration (e.g. 5s, 200ms, 100us, 10ns)", out error);
            linger = ns;
        }

        channel = new ChannelUri(parameters)
        {
            Endpoint = endpoint, Control = control, Interface = parameters.GetValueOrDefault("interface"), InterfaceAddress = interfaceAddress,
            Mtu = mtu, TermLength = termLength, SessionId = sessionId, InitialTermId = initialTermId, TermId = termId,
            TermOffset = termOffset, Ttl = ttl, Reliable = reliable, ReceiverWindow = receiverWindow, LingerNs = linger, FlowControl = flowControl,
            SocketReceiveBuffer = socketReceiveBuffer, SocketSendBuffer = socketSendBuffer,
        };
        return true;
    }

    /// <summary>Parses or throws <see cref="FormatException"/> with the specific message.</summary>
    public static ChannelUri Parse(string text) =>
        TryParse(text, out var channel, out var error) ? channel! : throw new FormatException(error);

    private static bool TryParseEndpoint(string key, string value, out IPEndPoint? endpoint, out string? error)
    {
        endpoint = null;
        int colon = value.LastIndexOf(':');
        if (colon <= 0 || colon == value.Length - 1) return Fail($"{key}={value}: expected host:port", out error);
        string host = value[..colon].Trim('[', ']');
        if (!ushort.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out ushort port))
            return Fail($"{key}={value}: port must be an integer in [0, 65535]", out error);
        IPAddress? address;
        if (host == "localhost") address = IPAddress.Loopback;
        else if (!IPAddress.TryParse(host, out address)) return Fail($"{key}={value}: '{host}' is not an IP address (or localhost)", out error);
        endpoint = new IPEndPoint(address, port);
        error = null;
        return true;
    }

    private static bool TryParseSocketBuffer(Dictionary<string, string> parameters, string key, out int? value, out string? error)
    {
        value = null;
        error = null;
        if (!parameters.TryGetValue(key, out var size)) return true;
        if (!TryParseSize(key, size, out long v, out error)) return false;
        if (v < 1024 || v > int.MaxValue) return Fail($"{key}={size}: must be in [1k, 2g)", out error);
        value = (int)v;
        return true;
    }

    private static bool TryParseOptionalInt(Dictionary<string, string> parameters, string key, out int? value, out string? error)
    {
        value = null;
        error = null;
        if (!parameters.TryGetValue(key, out var text)) return true;
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v))
            return Fail($"{key}={text}: must be a 32-bit integer", out error);
        value = v;
        return true;
    }

    private static bool TryParseSize(string key, string text, out long value, out string? error)
    {
        long multiplier = char.ToLowerInvariant(text[^1]) switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, _ => 1 };
        string digits = multiplier == 1 ? text : text[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out value) || value > (1L << 40))
        {
            value = 0;
            return Fail($"{key}={text}: not a size (digits with an optional k, m or g)", out error);
        }
        value *= multiplier;
        error = null;
        return true;
    }

    private static bool TryParseDurationNs(string text, out long ns)
    {
        (string digits, long scale) = text switch
        {
            _ when text.EndsWith("ns", StringComparison.Ordinal) => (text[..^2], 1L),
            _ when text.EndsWith("us", StringComparison.Ordinal) => (text[..^2], 1_000L),
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 1_000_000L),
            _ when text.EndsWith('s') => (text[..^1], 1_000_000_000L),
            _ => (text, 1L),
        };
        bool ok = long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out ns) && ns <= long.MaxValue / scale;
        ns = ok ? ns * scale : 0;
        return ok;
    }

    private static bool Fail(string message, out string? error)
    {
        error = message;
        return false;
    }
}
