using System.Text;
using Aivora.Node.Load;
using Aivora.Transport.Native;

namespace Aivora.SystemTests;

/// <summary>
/// A thread's run-queue figures (<see cref="ThreadScheduling"/>): the kernel's text read exactly, anything else refused; a
/// thread made to share its core waits on its run queue for about the time the other one runs, and the figures read from
/// another thread are still its own. At most two spinning threads, both on one core, for a fifth of a second.
/// </summary>
public sealed class ThreadSchedulingTests
{
    [Theory]
    [InlineData("4012345678 21604221 10\n", 4_012_345_678L, 21_604_221L, 10L)]
    [InlineData("0 0 1", 0L, 0L, 1L)]
    [InlineData("9223372036854775807 1 2\n", long.MaxValue, 1L, 2L)]
    public void ShouldReadTheKernelsThreeFigures(string text, long ran, long waited, long timesRun)
    {
        Assert.True(ThreadScheduling.TryParse(Encoding.ASCII.GetBytes(text), out var sample));

        Assert.Equal(new SchedulingSample(ran, waited, timesRun), sample);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1 2\n")]
    [InlineData("1 2 3 4\n")]
    [InlineData("1  2 3\n")]
    [InlineData(" 1 2 3\n")]
    [InlineData("1 2 3\n\n")]
    [InlineData("1 -2 3\n")]
    [InlineData("1 2 x\n")]
    [InlineData("1\t2 3\n")]
    [InlineData("9223372036854775808 1 2\n")]
    [InlineData("99999999999999999999 1 2\n")]
    public void ShouldRefuseAnythingElse(string text)
    {
        Assert.False(ThreadScheduling.TryParse(Encoding.ASCII.GetBytes(text), out var sample));
        Assert.Equal(default, sample);
    }

    [Fact]
    public void ShouldDiffTwoReadings()
    {
        var later = new SchedulingSample(500, 70, 9).Since(new SchedulingSample(200, 30, 4));

        Assert.Equal(new SchedulingSample(300, 40, 5), later);
        // Between readings either of which may not have been seen: the difference, or nothing.
        Assert.Equal(later, SchedulingSample.Between(new SchedulingSample(200, 30, 4), new SchedulingSample(500, 70, 9)));
        Assert.Null(SchedulingSample.Between(null, new SchedulingSample(500, 70, 9)));
        Assert.Null(SchedulingSample.Between(new SchedulingSample(200, 30, 4), null));
    }

    [Fact]
    public void ShouldCountTheTimeAThreadWaitedWhileAnotherHadItsCoreAndReadItFromAnyThread()
    {
        if (!KernelKeepsThem)
        {
            Assert.Null(ThreadScheduling.OpenForCurrentThread());   // not Linux, or a kernel without scheduler statistics
            return;
        }

        // The first thread opens its figures and spins; a second, pinned to the same core, spins beside it for as long. Each
        // then runs about half the time and waits the other half. This thread reads the first's figures while it waits to end.
        ThreadScheduling? first = null;
        SchedulingSample before = default;
        bool pinnedFirst = false, pinnedSecond = false;
        using var opened = new ManualResetEventSlim();
        using var spun = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var spinFor = TimeSpan.FromMilliseconds(200);
        var a = new Thread(() =>
        {
            pinnedFirst = ThreadAffinity.TryPinCurrentThread(0, out _);
            first = ThreadScheduling.OpenForCurrentThread();
            before = first?.Read() ?? default;
            opened.Set();
            Spin(spinFor);
            spun.Set();
            release.Wait(TimeSpan.FromSeconds(10));
        }) { IsBackground = true };
        var b = new Thread(() =>
        {
            pinnedSecond = ThreadAffinity.TryPinCurrentThread(0, out _);
            opened.Wait(TimeSpan.FromSeconds(10));
            Spin(spinFor);
        }) { IsBackground = true };
        a.Start();
        b.Start();
        Assert.True(spun.Wait(TimeSpan.FromSeconds(10)), "the first thread never finished spinning");
        Assert.NotNull(first);
        var read = first.Read();
        Assert.True(read is not null, "the first thread's figures could not be read from another thread");
        var after = read.Value;
        release.Set();
        a.Join(TimeSpan.FromSeconds(10));
        b.Join(TimeSpan.FromSeconds(10));
        first.Dispose();

        Assert.True(pinnedFirst && pinnedSecond, "the two threads could not be pinned to CPU 0");
        var spin = after.Since(before);
        // Of its 200 ms spin, about half waiting for the other thread (this thread's own figures would show no such wait; other
        // tests' processes on the core can only make it more), and put back on the core several times (the scheduler's slices
        // are a few ms).
        Assert.InRange(spin.WaitedNs, 40_000_000, 1_000_000_000);
        Assert.InRange(spin.RanNs, 10_000_000, 200_000_000);
        Assert.True(spin.TimesRun >= 3, $"put on the core {spin.TimesRun} times");
    }

    [Fact]
    public void ShouldReadWithoutAllocating()
    {
        using var own = ThreadScheduling.OpenForCurrentThread();
        if (own is null)
        {
            Assert.False(KernelKeepsThem, "the kernel keeps this thread's figures, but they were not opened");
            return;
        }

        var warm = own.Read();   // warm
        Assert.True(warm is not null);
        var first = warm.Value;
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var read = true;
        SchedulingSample last = default;
        for (var k = 0; k < 100; k++)
        {
            var sample = own.Read();
            read &= sample is not null;
            last = sample ?? default;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - allocated);
        Assert.True(read);
        Assert.True(last.RanNs >= first.RanNs && last.TimesRun >= first.TimesRun, $"{first} then {last}");
    }

    /// <summary>Whether this kernel keeps a thread's scheduler statistics (Linux built with them, as the usual distributions are).</summary>
    internal static bool KernelKeepsThem => File.Exists("/proc/thread-self/schedstat");

    private static void Spin(TimeSpan duration)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        while (System.Diagnostics.Stopwatch.GetElapsedTime(start) < duration)
        {
        }
    }
}
