using System.Net;
using Aivora.Transport.Driver;
using Aivora.Transport.Protocol;

namespace Aivora.Transport.Tests;

/// <summary>
/// The order in which the sender visits its publications in a duty cycle: send-first ones (a node's execution reports)
/// before the others (its market data), each group in the order added. One receiving socket on an ephemeral loopback port
/// sees every publication's first SETUP, sent in the first duty cycle, in the order they left.
/// </summary>
[Collection("loopback")]
public sealed class SendOrderTests
{
    [Fact]
    public void ShouldSendTheSendFirstPublicationsBeforeTheOthersInEveryDutyCycle()
    {
        using var receiver = UdpChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var channel = $"aeron:udp?endpoint=127.0.0.1:{receiver.LocalEndPoint.Port}";
        using var driver = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker });
        driver.AddPublication(channel, 1);
        driver.AddPublication(channel, 2, sendFirst: true);
        driver.AddPublication(channel, 3);
        driver.AddPublication(channel, 4, sendFirst: true);

        driver.DoWork();   // one duty cycle: each publication sends its first SETUP

        Assert.Equal([2, 4, 1, 3], SetupStreams(receiver, expected: 4));
    }

    [Fact]
    public void ShouldPutASendFirstPublicationAddedLaterAheadOfThoseAlreadySending()
    {
        using var receiver = UdpChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var channel = $"aeron:udp?endpoint=127.0.0.1:{receiver.LocalEndPoint.Port}";
        using var driver = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker });
        var marketData = driver.AddPublication(channel, 1);
        driver.DoWork();
        Assert.Equal([1], SetupStreams(receiver, expected: 1));

        // A session logs on later (its responses are send-first); the market data's SETUP is due again with it.
        var responses = driver.AddPublication(channel, 2, sendFirst: true);
        Thread.Sleep(TimeSpan.FromTicks(NetworkPublication.SetupIntervalNs / 100) + TimeSpan.FromMilliseconds(10));
        driver.DoWork();

        Assert.True(responses.SendFirst);
        Assert.False(marketData.SendFirst);
        Assert.Equal([2, 1], SetupStreams(receiver, expected: 2));
    }

    [Fact]
    public void ShouldStampWhenItIsDoneWithTheSendFirstPublicationsAndOnlyThen()
    {
        // A node reads the stamp to time its replies out (they are send-first; market data is not).
        using var receiver = UdpChannel.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var channel = $"aeron:udp?endpoint=127.0.0.1:{receiver.LocalEndPoint.Port}";
        using var driver = MediaDriver.Launch(new DriverOptions { ThreadingMode = ThreadingMode.Invoker });
        driver.AddPublication(channel, 1);
        driver.DoWork();   // the market data's SETUP: no send-first publication did anything
        Assert.Equal([1], SetupStreams(receiver, expected: 1));
        Assert.Equal(0, driver.SendFirstDoneTimestamp);

        driver.AddPublication(channel, 2, sendFirst: true);
        var before = System.Diagnostics.Stopwatch.GetTimestamp();
        driver.DoWork();   // the responses' SETUP
        var after = System.Diagnostics.Stopwatch.GetTimestamp();

        Assert.Equal([2], SetupStreams(receiver, expected: 1));
        Assert.InRange(driver.SendFirstDoneTimestamp, before, after);
    }

    // The stream ids of the SETUP frames the receiver gets, in arrival order (bounded wait).
    private static List<int> SetupStreams(UdpChannel receiver, int expected)
    {
        var streams = new List<int>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (streams.Count < expected && DateTime.UtcNow < deadline)
        {
            if (!receiver.TryReceive(out var datagram, out _))
            {
                Thread.Yield();
                continue;
            }

            if (datagram.Length >= FrameLayout.SetupLength && new FrameHeader(datagram).Type == FrameType.Setup)
            {
                streams.Add(new SetupFrame(datagram).StreamId);
            }
        }

        return streams;
    }
}
