using System.Globalization;
using System.Text;
using Aivora.Transport.Protocol;

namespace Aivora.Transport.Tests;

/// <summary>One captured UDP datagram: when, which ports, the bytes, and the reference decoder's line for it.</summary>
internal sealed record CapturedDatagram(double Seconds, int SourcePort, int DestinationPort, byte[] Payload, string Decoded);

/// <summary>Loads ../shared/aeron-vectors captures (copied into Vectors/).</summary>
internal static class Captures
{
    public static IReadOnlyList<CapturedDatagram> Load(int capture)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "Vectors");
        string[] datagrams = File.ReadAllLines(Path.Combine(dir, $"capture{capture}-datagrams.txt"));
        string[] decoded = File.ReadAllLines(Path.Combine(dir, $"capture{capture}-decoded.txt"));
        Assert.Equal(datagrams.Length, decoded.Length);
        var result = new List<CapturedDatagram>(datagrams.Length);
        for (int i = 0; i < datagrams.Length; i++)
        {
            string[] f = datagrams[i].Split(' ');
            result.Add(new CapturedDatagram(double.Parse(f[0], CultureInfo.InvariantCulture), int.Parse(f[1], CultureInfo.InvariantCulture),
                int.Parse(f[2], CultureInfo.InvariantCulture), Convert.FromHexString(f[3]), decoded[i]));
        }
        return result;
    }

    /// <summary>Renders a datagram the way the reference decoder's companion file does, from our flyweights.</summary>
    public static string Describe(byte[] datagram)
    {
        var span = datagram.AsSpan();
        var type = new FrameHeader(span).Type;
        switch (type)
        {
            case FrameType.Setup:
            {
                var s = new SetupFrame(span);
                return $"SETUP fl={s.Header.FrameLength} flags=0x{s.Header.Flags:x2} termOff={s.TermOffset} sess={s.SessionId} stream={s.StreamId} initTermId={s.InitialTermId} activeTermId={s.ActiveTermId} termLen={s.TermLength} mtu={s.Mtu} ttl={s.Ttl}";
            }
            case FrameType.StatusMessage:
            {
                var s = new StatusMessageFrame(span);
                return $"SM fl={s.Header.FrameLength} flags=0x{s.Header.Flags:x2} sess={s.SessionId} stream={s.StreamId} consTermId={s.ConsumptionTermId} consTermOff={s.ConsumptionTermOffset} window={s.ReceiverWindow} receiverId={s.ReceiverId}";
            }
            case FrameType.Nak:
            {
                var n = new NakFrame(span);
                return $"NAK sess={n.SessionId} stream={n.StreamId} termId={n.TermId} termOff={n.TermOffset} len={n.Length}";
            }
            case FrameType.Data or FrameType.Pad when DataFrame.IsHeartbeat(span):
            {
                var h = new DataFrame(span);
                return $"HEARTBEAT fl=0 flags=0x{h.Flags:x2} termId={h.TermId} termOff={h.TermOffset} sess={h.SessionId} stream={h.StreamId}";
            }
            case FrameType.Data or FrameType.Pad:
            {
                var text = new StringBuilder();
                int offset = 0, frames = 0;
                while (offset < datagram.Length)
                {
                    var d = new DataFrame(span[offset..]);
                    if (frames < 3)
                    {
                        if (frames > 0) text.Append(" ; ");
                        text.Append(CultureInfo.InvariantCulture,
                            $"{(d.Type == FrameType.Pad ? "PAD" : "DATA")} fl={d.FrameLength} flags=0x{d.Flags:x2} termId={d.TermId} termOff={d.TermOffset} sess={d.SessionId} stream={d.StreamId}");
                    }
                    frames++;
                    offset += FrameLayout.Align(d.FrameLength);
                }
                if (frames > 3) text.Append(CultureInfo.InvariantCulture, $" ; (+{frames - 3} more frames)");
                return text.ToString();
            }
            default:
                return $"type 0x{(ushort)type:x}";
        }
    }
}
