using Aivora.Transport.Driver;

namespace Aivora.Transport.Tests;

/// <summary>
/// When a publication's control frames are looked for (on its own, or by the sender's readiness poll over all of them): every
/// 100 us while busy, every millisecond when quiet, at once when a quiet one becomes busy. Each look is a system call on the
/// engine's duty cycle; a look that comes late delays a status message, and so the window.
/// </summary>
public sealed class ControlPollScheduleTests
{
    private const long Busy = NetworkPublication.ControlPollIntervalNs;
    private const long Quiet = NetworkPublication.QuietControlPollIntervalNs;

    [Fact]
    public void ShouldLookOncePerBusyIntervalWhileBusy()
    {
        var schedule = new ControlPollSchedule();
        Assert.True(schedule.IsDue(1_000_000, busy: true));
        Assert.False(schedule.IsDue(1_000_000 + 1, busy: true));
        Assert.False(schedule.IsDue(1_000_000 + Busy - 1, busy: true));
        Assert.True(schedule.IsDue(1_000_000 + Busy, busy: true));
        Assert.False(schedule.IsDue(1_000_000 + Busy + 1, busy: true));
    }

    [Fact]
    public void ShouldLookOncePerQuietIntervalWhileQuiet()
    {
        var schedule = new ControlPollSchedule();
        Assert.True(schedule.IsDue(1_000_000, busy: false));
        Assert.False(schedule.IsDue(1_000_000 + Busy, busy: false));
        Assert.False(schedule.IsDue(1_000_000 + Quiet - 1, busy: false));
        Assert.True(schedule.IsDue(1_000_000 + Quiet, busy: false));
    }

    [Fact]
    public void ShouldLookAtOnceWhenAQuietPublicationBecomesBusy()
    {
        var schedule = new ControlPollSchedule();
        Assert.True(schedule.IsDue(1_000_000, busy: false));          // next quiet look a millisecond away
        Assert.True(schedule.IsDue(1_000_000 + 10, busy: true));      // busy now: no waiting out the quiet interval
        Assert.False(schedule.IsDue(1_000_000 + 20, busy: true));     // then the busy interval
        Assert.True(schedule.IsDue(1_000_000 + 10 + Busy, busy: true));
    }
}
