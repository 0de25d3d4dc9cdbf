using CoreCancel = Aivora.Core.Events.CancelReason;
using CoreReject = Aivora.Core.Events.RejectReason;
using WireCancel = Aivora.Exchange.CancelReason;
using WireReject = Aivora.Exchange.RejectReason;

namespace Aivora.SystemTests;

/// <summary>The engine's codes are the wire's: one source of truth, checked name by name and value by value.</summary>
public sealed class SchemaContractTests
{
    [Fact]
    public void ShouldGiveEveryEngineRejectReasonTheSameNameAndValueOnTheWire()
    {
        var engine = Enum.GetValues<CoreReject>().Where(r => r != CoreReject.None).Select(r => (r.ToString(), (int)r));
        var wire = Enum.GetValues<WireReject>().Where(r => r.ToString() != "NullValue").Select(r => (r.ToString(), (int)r));
        Assert.Equal(engine.OrderBy(x => x.Item2), wire.OrderBy(x => x.Item2));
    }

    [Fact]
    public void ShouldGiveEveryEngineCancelReasonTheSameNameAndValueOnTheWire()
    {
        var engine = Enum.GetValues<CoreCancel>().Select(r => (r.ToString(), (int)r));
        var wire = Enum.GetValues<WireCancel>().Where(r => r.ToString() != "NullValue").Select(r => (r.ToString(), (int)r));
        Assert.Equal(engine.OrderBy(x => x.Item2), wire.OrderBy(x => x.Item2));
    }
}
