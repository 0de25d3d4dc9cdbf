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

    /// <summary>A step of this account's liquidation (or, for an ADL step sent to a counterparty, the deleveraging of this
    /// account's position): the Liquidation* fields, PriceTicks / QtyLots (fill price and lots of the step), Fee.</summary>
    Liquidation = 13,
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

    /// <summary>Accepted: the account's liquidation price if the order filled completely; Filled: after the fill. long.MinValue: none (or, on
    /// an order sent with <see cref="Exchange.OrderFlags.NoWhatIfs"/>, not computed).</summary>
    public long LiquidationPrice;
    public long InitialMargin;

    /// <summary>Accepted: the ADL quantile (1-5) the position would have if the order filled completely (0: flat, not yet ranked, an older node, or an order sent with NoWhatIfs).</summary>
    public int AdlQuantile;
    public RejectReason RejectReason;
    public CommandType RejectedCommand;
    public long RequiredValue, AvailableValue, LimitValue, ActualValue;
    public CancelReason CancelReason;
    public LogonRejectReason LogonRejectReason;
    public SessionEndReason PreviousSessionEnd;
    public bool KeptPriority;
    public int CancelledCount;
    public long TransactTimeNs;

    // Liquidation steps (Kind = Liquidation)
    public LiquidationStep LiquidationStep;
    public long PositionLots;
    public long MarkPriceTicks;
    public long Equity;
    public long MaintenanceMargin;
    public long BankruptcyPriceTicks;
    public long InsuranceFundDelta;
    public long AdlScore;

    /// <summary>The journal sequence of the command the step happened in: replaying the journal to it reproduces the step.</summary>
    public long JournalSequence;
}

/// <summary>Receives responses; implement on a struct and pass it by reference (no delegate, no allocation).</summary>
public interface IExecutionReportHandler
{
    void OnReport(in ExecutionReport report);
}

/// <summary>A position as the node reported it in AccountStatus.</summary>
/// <param name="AdlQuantile">Place in the auto-deleveraging queue, 1 (last) to 5 (first); 0 from a node older than schema version 2.</param>
public readonly record struct PositionStatus(int InstrumentId, long QtyLots, long Cost, bool Isolated, long IsolatedMargin, long LiquidationPrice, int AdlQuantile);

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
