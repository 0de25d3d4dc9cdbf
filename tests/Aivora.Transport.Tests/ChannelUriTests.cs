using Aivora.Transport.Uri;

namespace Aivora.Transport.Tests;

public sealed class ChannelUriTests
{
    [Fact]
    public void A_full_channel_parses_into_typed_settings()
    {
        var uri = ChannelUri.Parse("aeron:udp?endpoint=127.0.0.1:40123|interface=127.0.0.1|mtu=8k|term-length=64k|session-id=-77|rcv-wnd=16k|linger=200ms|reliable=false|fc=min|ttl=4");
        Assert.Equal("127.0.0.1:40123", uri.Endpoint!.ToString());
        Assert.Equal("127.0.0.1", uri.Interface);
        Assert.Equal(8192, uri.Mtu);
        Assert.Equal(65536, uri.TermLength);
        Assert.Equal(-77, uri.SessionId);
        Assert.Equal(16384, uri.ReceiverWindow);
        Assert.Equal(200_000_000, uri.LingerNs);
        Assert.False(uri.Reliable);
        Assert.Equal(4, uri.Ttl);
        Assert.Equal("min", uri.Parameters["fc"]); // kept, not rejected
        Assert.False(uri.IsMulticast);
    }

    [Fact]
    public void Defaults_follow_the_aeron_driver()
    {
        var uri = ChannelUri.Parse("aeron:udp?endpoint=localhost:20121");
        Assert.Equal(1408, uri.Mtu);
        Assert.Equal(16 * 1024 * 1024, uri.TermLength);
        Assert.True(uri.Reliable);
        Assert.Null(uri.SessionId);
        Assert.True(ChannelUri.Parse("aeron:udp?endpoint=224.0.1.1:40456").IsMulticast);
    }

    [Theory]
    [InlineData("", "channel is empty")]
    [InlineData("aeron:ipc", "must start with 'aeron:udp'")]
    [InlineData("aeron:udp!endpoint=1.2.3.4:5", "expected '?'")]
    [InlineData("aeron:udp?endpoint", "is not key=value")]
    [InlineData("aeron:udp?endpoint=", "has an empty value")]
    [InlineData("aeron:udp?mtu=1408|mtu=1408", "given twice")]
    [InlineData("aeron:udp?endpoint=1.2.3.4", "expected host:port")]
    [InlineData("aeron:udp?endpoint=1.2.3.4:70000", "port must be an integer")]
    [InlineData("aeron:udp?endpoint=exchange.example:1", "is not an IP address")]
    [InlineData("aeron:udp?mtu=1400", "multiple of 32")]
    [InlineData("aeron:udp?mtu=128k", "multiple of 32 in [32, 65504]")]
    [InlineData("aeron:udp?term-length=100k", "power of two")]
    [InlineData("aeron:udp?term-length=32k", "power of two in [64k, 1g]")]
    [InlineData("aeron:udp?term-length=big", "not a size")]
    [InlineData("aeron:udp?session-id=x", "32-bit integer")]
    [InlineData("aeron:udp?init-term-id=1", "must be given together")]
    [InlineData("aeron:udp?init-term-id=1|term-id=1|term-offset=33", "32-aligned")]
    [InlineData("aeron:udp?reliable=yes", "true or false")]
    [InlineData("aeron:udp?ttl=300", "[0, 255]")]
    [InlineData("aeron:udp?term-length=64k|rcv-wnd=64k", "term-length/2")]
    [InlineData("aeron:udp?linger=soon", "not a duration")]
    public void Bad_channels_are_rejected_with_a_specific_message(string text, string expected)
    {
        Assert.False(ChannelUri.TryParse(text, out var channel, out var error));
        Assert.Null(channel);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Contains(expected, Assert.Throws<FormatException>(() => ChannelUri.Parse(text)).Message, StringComparison.Ordinal);
    }
}
