using Aivora.Core.Accounts;
using Aivora.Core.Collections;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Core.Pricing;
using Aivora.Core.Risk;

namespace Aivora.Core.Exchange;

/// <summary>
/// The exchange's state machine, the single writer of everything the node holds: it owns the matching
/// engine, the ledger (its position keeper), the pre-trade checks, the pricing clock (index, mark,
/// funding), the stop book and the parameter schedule, and runs one command at a time; time moves once
/// per command, from the command. Pre-trade risk runs inline before the book. For a new order, in this order, the first failure wins,
/// each with its own reason and figures: order shape; instrument state; account in a waiting liquidation path (only reduce-only); index state (stale: only
/// reduce-only); price band; quantity and notional; open orders per account and instrument;
/// post-only would take; reduce-only direction; initial margin (equity, less the taker fee reserved
/// and the loss against mark of filling at the limit, must cover the initial margin of every
/// position with its open orders, worst side, this order included); then the exposure caps (instrument
/// open interest, account position and share of open interest, visible depth). An order that passes gets an
/// <see cref="EventKind.OrderRiskAssessed"/> event with its what-if figures (liquidation price if it
/// fills completely, margin it adds) and goes to the matching engine, whose position keeper is the
/// ledger. Amends that add quantity or move towards the other side pass the same margin test (<see cref="AmendMarginTest"/>).
/// Other commands pass straight through.
/// </summary>
public sealed partial class PerpStateMachine<TSink>
    where TSink : struct, IEngineEventSink
{
    private readonly MatchingEngine<TSink, LedgerPositions> _engine;
    private readonly Ledger _ledger;
    private readonly RiskLimits _limits;
    private readonly OpenHashMap<IntKey> _instrumentIndex;
    private readonly IndexState[] _indexStates;
    private readonly StopOrders _stops;
    private readonly int[] _stopSlotScratch;
    private readonly long[] _lastTradeSeen;
    private readonly int[] _crossed = new int[64];
    private readonly int[] _atRisk = new int[256];
    private readonly int[] _maxOpenOrders;

    // The engine's instruments (configuration order) and the ledger's contracts (contract order), each to the other's index (-1: none).
    private readonly int[] _contractOfBook;
    private readonly int[] _bookOfContract;

    // The margin check's scratch (a bit per contract: where an account has orders resting, when books and contracts are
    // configured in different orders), and whether they are in the same order (book b is contract b).
    private readonly ulong[] _marginContracts;
    private readonly bool _booksAreContracts;

    // Index of the registered tier table in use per instrument (-1: the configured one).
    private readonly int[] _tierTableInUse;
    private readonly EngineCommand[] _pendingChanges;
    private readonly long[] _lastChangeNs;
    private int _pendingCount;
    private const int ParameterSlots = 32;
    private readonly InstrumentPricing?[] _pricing;
    private readonly LevelView[] _levels = new LevelView[256];
    private readonly Liquidation.LiquidationConfig _liquidation;

    public PerpStateMachine(EngineConfig config, Ledger ledger, RiskLimits limits, TSink sink = default, IReadOnlyList<InstrumentPricingConfig>? pricing = null)
    {
        _engine = new MatchingEngine<TSink, LedgerPositions>(config, sink, new LedgerPositions(ledger));
        _ledger = ledger;
        _limits = limits;
        _instrumentIndex = new OpenHashMap<IntKey>(config.Instruments.Count);
        _indexStates = new IndexState[config.Instruments.Count];
        _stops = new StopOrders(limits.MaxStopOrders, config.Instruments.Count);
        _stopSlotScratch = new int[limits.MaxStopOrders];
        _lastTradeSeen = new long[config.Instruments.Count];
        _maxOpenOrders = [.. Enumerable.Repeat(limits.MaxOpenOrdersPerInstrument, config.Instruments.Count)];
        _tierTableInUse = [.. Enumerable.Repeat(-1, config.Instruments.Count)];
        _pendingChanges = new EngineCommand[limits.MaxPendingParameterChanges];
        _lastChangeNs = [.. Enumerable.Repeat(long.MinValue, config.Instruments.Count * ParameterSlots)];
        for (var i = 0; i < config.Instruments.Count; i++)
        {
            _instrumentIndex.TryAdd(new IntKey(config.Instruments[i].Id), i);
        }

        _contractOfBook = [.. config.Instruments.Select(spec => ledger.IndexOf(spec.Id))];
        _bookOfContract = [.. Enumerable.Range(0, ledger.InstrumentCount).Select(j => _instrumentIndex.TryGetValue(new IntKey(ledger.InstrumentIdAt(j)), out var b) ? b : -1)];
        _marginContracts = new ulong[SetBits.WordsFor(ledger.InstrumentCount)];
        _booksAreContracts = _bookOfContract.Length == _contractOfBook.Length && _bookOfContract.Select((b, j) => b == j).All(same => same);

        _maxOpenInterest = [.. Enumerable.Repeat(limits.MaxOpenInterestLots, config.Instruments.Count)];
        _maxPosition = [.. Enumerable.Repeat(limits.MaxPositionLots, config.Instruments.Count)];
        _maxShareRate = [.. Enumerable.Repeat(limits.MaxOpenInterestShareRate, config.Instruments.Count)];
        _depthCapRate = [.. Enumerable.Repeat(limits.BookDepthCapRate, config.Instruments.Count)];
        _depthCap = new long[config.Instruments.Count * 2];
        _concentrationRaised = new bool[config.Instruments.Count];
        _liquidation = limits.Liquidation;
        _liquidation.Validate();
        _ledger.InsuranceFundAccountId = _liquidation.InsuranceFundAccountId;
        _waiting = new (int, int, long)[_liquidation.MaxWaitingPaths];

        _pricing = new InstrumentPricing?[config.Instruments.Count];
        foreach (var p in pricing ?? [])
        {
            if (!_instrumentIndex.TryGetValue(new IntKey(p.InstrumentId), out var i))
            {
                throw new ArgumentException($"pricing for unknown instrument {p.InstrumentId}");
            }

            _pricing[i] = new InstrumentPricing(p);
        }
    }

    public StopOrders Stops => _stops;

    /// <summary>The most resting orders an account may hold on one instrument, as configured (a scheduled change may lower it per instrument).</summary>
    public int MaxOpenOrdersPerInstrument => _limits.MaxOpenOrdersPerInstrument;

    /// <summary>Pricing and funding state of an instrument (null when not configured).</summary>
    public InstrumentPricing? Pricing(int instrumentId) =>
        _instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i) ? _pricing[i] : null;

    public MatchingEngine<TSink, LedgerPositions> Engine => _engine;

    public Ledger Ledger => _ledger;

    public void SetIndexState(int instrumentId, IndexState state)
    {
        if (_instrumentIndex.TryGetValue(new IntKey(instrumentId), out var i))
        {
            _indexStates[i] = state;
        }
    }

    public void Process(in EngineCommand command)
    {
        // Fills re-key their accounts in the liquidation index once, when the command is done.
        _ledger.DeferReindex = true;
        Run(in command);
        if (_ledger.FillsMovedMargin || _engine.AnyBookTraded)
        {
            AfterTrades();
        }

        _ledger.FlushReindex();
        _ledger.DeferReindex = false;
    }

    /// <summary>
    /// The release of the makers the last command's fills emptied, which the book leaves until a way into it reads what the
    /// release changes (<see cref="MatchingEngine{TSink, TPositions}.ReleaseFilledMakers"/>): the node calls this when a duty
    /// cycle finds no message, so the next command does not start with it. Changes nothing a hash, an event or a query shows.
    /// </summary>
    public void ReleaseFilledMakers() => _engine.ReleaseFilledMakers();

    /// <summary>
    /// The end of a command that traded or moved margin, out of line (most commands do neither): a position the fills pushed
    /// past its price goes now; then every book that traded since the end of <see cref="Run"/> (a price feed's liquidations,
    /// whose command returns before that end, or the check here) has its last-price stops looked at. What the stops trade may
    /// move margin: round again until nothing does.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void AfterTrades()
    {
        while (true)
        {
            if (_ledger.FillsMovedMargin)
            {
                LiquidateAtEveryMark();
                _ledger.FillsMovedMargin = false;
            }

            if (!_engine.AnyBookTraded)
            {
                return;
            }

            FireLastTriggeredWhereTraded();
        }
    }

    /// <summary>The last-price stops of every book that traded since they were last looked at, in order of first trade; books
    /// their own trades move come round again.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void FireLastTriggeredWhereTraded()
    {
        while (_engine.TryTakeTradedBook(out var book))
        {
            FireLastTriggered(book);
        }
    }

    /// <summary>
    /// The earliest engine time at which work falls due that needs no order to start it, only time: a GTD expiry, a scheduled
    /// parameter change, a price sample or funding time, the second's checks, a waiting liquidation's cooldown; while the ADL
    /// ranking pass or a funding pass runs, now (each command takes a slice of it). Any command runs what is due, so the node, when no order
    /// arrives, sends a tick (<see cref="Commands.EngineCommand.Tick"/>) once this time is reached: a quiet market does not
    /// leave a ranking stale or a liquidation waiting past its cooldown. Cold: the node reads it only between polls that
    /// found nothing.
    /// </summary>
    public long NextWorkDueNs
    {
        get
        {
            var due = Math.Min(Math.Min(_pricingDueNs, _secondlyWorkDueNs), _engine.NextExpiryNs);
            for (var k = 0; k < _pendingCount; k++)
            {
                due = Math.Min(due, _pendingChanges[k].EffectiveNs);
            }

            for (var k = 0; k < _waitingCount; k++)
            {
                due = Math.Min(due, _waiting[k].UntilNs);
            }

            return due;
        }
    }

    private void Run(in EngineCommand command)
    {
        // The order-id tables' slots this command will read start loading now, while time moves and risk checks run.
        _engine.PrefetchLookups(in command);

        // Time moves first, once: scheduled parameter changes, then expiries, then the pricing clock. Most commands find
        // nothing due: each is one comparison here, its work out of line (the hot loop's code stays small).
        if (_pendingCount > 0)
        {
            ApplyDueParameterChanges(command.NowNs);
        }

        _engine.AdvanceTo(command.NowNs);
        if (_engine.NowNs >= _pricingDueNs)
        {
            RunPricingClock();
        }

        if (_engine.NowNs >= _secondlyWorkDueNs)
        {
            RunSecondlyWork(command.AccountId);
        }

        if (_waitingCount > 0)
        {
            ResumeWaitingPaths();
        }

        switch (command.Kind)
        {
            case CommandKind.PriceFeed:
                OnFeed(in command);
                return;
            case CommandKind.SetMarginMode:
                SetMarginMode(in command);
                return;
            case CommandKind.AdjustIsolatedMargin:
                AdjustIsolatedMargin(in command);
                return;
            case CommandKind.Deposit:
            case CommandKind.Withdraw:
            case CommandKind.SetLeverage:
            case CommandKind.SetFeeTier:
                AccountCommand(in command);
                return;
            case CommandKind.SetParameter:
                ScheduleParameter(in command);
                return;
            case CommandKind.PlaceOrder when command.Type.IsTriggered():
                HoldStop(in command);
                return;
            case CommandKind.PlaceOrder:
                PlaceChecked(in command);
                break;
            // A cancel by client order id may name a held stop: looked up only while some are held (most cancels find none).
            case CommandKind.CancelOrder when command.OrderId == 0 && _stops.Count > 0 && _stops.Find(command.AccountId, command.ClientOrderId) is var slot && slot >= 0:
                CancelStop(slot, CancelReason.User);
                return;
            case CommandKind.MassCancel:
                CancelStops(in command);
                _engine.ProcessAtTime(in command);
                return;
            case CommandKind.SetMarkPrice:
                OnMark(in command);
                break;
            case CommandKind.AmendOrder:
                // The order is looked up once: pre-trade risk reads it, the book amends it (time has already advanced).
                var order = _engine.ResolveOrder(in command, out var unresolved);
                if (order < 0 || AmendAllowed(in command, in _engine.OrderAt(order)))
                {
                    _engine.AmendResolved(in command, order, unresolved);
                }

                break;
            default:
                _engine.ProcessAtTime(in command);   // prefetched and time moved above
                break;
        }

        // Trades may have moved the last price: fire the stops that watch it (and what they trade, in turn), on every book that
        // traded, found by the trades and not by the command's instrument id (an amend's is 0: it names its order).
        if (_engine.AnyBookTraded)
        {
            FireLastTriggeredWhereTraded();
        }
    }

    /// <summary>
    /// A new order's risk assessment, built in place by its one emitter (<see cref="PlaceChecked"/>), as the engine builds its
    /// own events: no 120-byte clear on the stack on every order entry. The sink reads it only during its call.
    /// </summary>
    private EngineEvent _assessedEvent;

    private void PlaceChecked(in EngineCommand command)
    {
        var reason = Check(in command, out var required, out var available, out var priceTicks, out var instrument, out var engineSlot, out var account);
        if (reason != RejectReason.None)
        {
            Reject(in command, reason, required, available);
            return;
        }

        if ((command.Flags & OrderFlags.ReduceOnly) == 0 && TSink.Wants(EventKind.OrderRiskAssessed))
        {
            // A new order that is not reduce-only passed the margin check: the what-ifs start from its figures (unless the
            // order asked for none: the assessment then carries the margin figures alone).
            var (liquidationPrice, adlQuantile) = account.Contract < 0 || (command.Flags & OrderFlags.NoWhatIfs) != 0 ? (0, 0)
                : _ledger.WhatIfFilledAt(account.LedgerSlot, account.Contract, command.Side, priceTicks, command.QtyLots, account.CrossEquity, account.TakerFee);
            // Built in place: the same fields every time, the others never written.
            ref var assessed = ref _engine.InPlace(ref _assessedEvent, EventKind.OrderRiskAssessed);
            assessed.ClientOrderId = command.ClientOrderId;
            assessed.AccountId = command.AccountId;
            assessed.InstrumentId = command.InstrumentId;
            assessed.Side = command.Side;
            assessed.PriceTicks = liquidationPrice;
            assessed.Required = required;
            assessed.Available = available;
            assessed.Count = adlQuantile;
            assessed.Flag = (command.Flags & OrderFlags.NoWhatIfs) != 0;
            _engine.Publish(in assessed);
        }

        _engine.PlaceValidated(in command, instrument, priceTicks, engineSlot);
    }

    /// <summary>
    /// An amend that may add risk (<see cref="AmendMarginTest"/>) must pass the same margin test as a new order; with a stale
    /// index it may not add exposure at all. Amends the engine will reject anyway (its checks of price and size) pass through
    /// to get the engine's own reason.
    /// </summary>
    private bool AmendAllowed(in EngineCommand c, ref readonly OrderSlot order)
    {
        if (!AmendMarginTest.Applies(order.Side, order.Flags, order.PriceTicks, order.QtyLots, order.FilledLots, c.PriceTicks, c.QtyLots))
        {
            return true;
        }

        var newPrice = c.PriceTicks == 0 ? order.PriceTicks : c.PriceTicks;
        var newRemaining = (c.QtyLots == 0 ? order.QtyLots : c.QtyLots) - order.FilledLots;
        var instrument = order.BookIndex;
        if (_indexStates[instrument] == IndexState.Stale || (_waitingCount > 0 && _ledger.IsLiquidating(c.AccountId)))
        {
            Reject(in c, _indexStates[instrument] == IndexState.Stale ? RejectReason.IndexStale : RejectReason.AccountInLiquidation, 0, 0);
            return false;
        }

        var engineSlot = order.AccountSlot;
        _engine.OpenQuantityAt(engineSlot, instrument, out var buyLots, out var sellLots);
        var added = Math.Max(0, newRemaining - order.RemainingLots);
        var reason = MarginCheck(c.AccountId, engineSlot, instrument, order.Side, added, newPrice, buyLots, sellLots, newRemaining, addedMarginFigure: false, out var required, out var available, out var account);
        if (reason == RejectReason.None)
        {
            reason = ExposureCaps(in account, instrument, order.Side, added, buyLots, sellLots, out required, out available);
            if (reason == RejectReason.None)
            {
                return true;
            }
        }

        Reject(in c, reason, required, available);
        return false;
    }
}
