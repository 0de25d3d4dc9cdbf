using Aivora.Exchange;

namespace Aivora.Client.Session;

/// <summary>What kind of response a report is.</summary>
public enum ReportKind : byte
{
    LogonAck = 1,
    LogonReject = 2,
    Accepted = 3,
    Rejected = 4,
    Filled = 5,
    Cancelled = 6,
    Amended = 7,
    Expired = 8,
    Triggered = 9,
    MassCancelAck = 10,
    Logout = 11,

    /// <summary>The answer to <c>RequestAccountStatus</c>: the client's open orders and positions were replaced by the node's (CancelledCount = orders, LeavesLots = positions held).</summary>
    AccountStatus = 12,
}

/// <summary>
/// One response from the node, flattened so a struct handler receives it without allocation. Fields a
/// kind does not carry are zero; optional figures the node left out are <see cref="long.MinValue"/>.
/// Prices are ticks, quantities lots, money settlement units, as on the wire.
/// </summary>
public struct ExecutionReport
{
    public ReportKind Kind;
    public long ResponseSequence;
    public long OrderId;
    public long ClientOrderId;
    public int AccountId;
    public int InstrumentId;
    public Side Side;
    public long PriceTicks;
    public long QtyLots;
    public long LeavesLots;
    public long CumLots;
    public long TradeId;
    public Liquidity Liquidity;
    public long Fee;
    public long RealizedPnl;
    public long LiquidationPrice;
    public long InitialMargin;
    public RejectReason RejectReason;
    public CommandType RejectedCommand;
    public long RequiredValue, AvailableValue, LimitValue, ActualValue;
    public CancelReason CancelReason;
    public LogonRejectReason LogonRejectReason;
    public SessionEndReason PreviousSessionEnd;
    public bool KeptPriority;
    public int CancelledCount;
    public long TransactTimeNs;
}

/// <summary>Receives responses; implement on a struct and pass it by reference (no delegate, no allocation).</summary>
public interface IExecutionReportHandler
{
    void OnReport(in ExecutionReport report);
}

/// <summary>A position as the node reported it in AccountStatus.</summary>
public readonly record struct PositionStatus(int InstrumentId, long QtyLots, long Cost, bool Isolated, long IsolatedMargin, long LiquidationPrice);

/// <summary>An order of this session the node has not finished with, as the client knows it from its reports.</summary>
public struct OpenOrder
{
    public long OrderId;
    public long ClientOrderId;
    public int InstrumentId;
    public Side Side;
    public long PriceTicks;
    public long QtyLots;
    public long LeavesLots;
}
