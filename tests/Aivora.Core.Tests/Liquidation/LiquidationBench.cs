using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Exchange;
using Aivora.Core.Instruments;
using Aivora.Core.Liquidation;
using Aivora.Core.Margin;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Core.Risk;

namespace Aivora.Core.Tests.Liquidation;

/// <summary>Records every event and, at every liquidation step, checks that money is conserved to the unit.</summary>
public readonly struct ConservationCheckingSink(List<EngineEvent> events, Func<Ledger?> ledger) : IEngineEventSink
{
    public void OnEvent(in EngineEvent e)
    {
        events.Add(e);
        if (e.Kind == EventKind.LiquidationStep && ledger() is { } l && l.MoneyInSystem() != l.TotalDeposits - l.TotalWithdrawals)
        {
            throw new InvalidOperationException($"money not conserved at {e}: {l.MoneyInSystem()} vs {l.TotalDeposits - l.TotalWithdrawals}");
        }
    }
}

/// <summary>
/// One instrument (id 1: tick 1, lot 1, 100 money units per tick·lot, band 10%, reference 10,000), one
/// maintenance tier of 0.5% (or a given table), no trading fees, and a state machine with the given
/// liquidation parameters. 1 USDT = 1,000,000 money units: 1 lot at 10,000 ticks is 1 USDT.
/// </summary>
public sealed class LiquidationBench
{
    public const long Usdt = 1_000_000;
    public const int Fund = 900;
    public readonly List<EngineEvent> Events = [];

    /// <summary>Every command run since the bench was built (its opening marks excluded): what a replay feeds.</summary>
    public readonly List<EngineCommand> Commands = [];
    public readonly PerpStateMachine<ConservationCheckingSink> Machine;
    public long Now = 1_000;

    public LiquidationBench(LiquidationConfig? liquidation = null, MarginTierTable? tiers = null, int maxAccounts = 256, int instruments = 1, Func<RiskLimits, RiskLimits>? limits = null)
    {
        Ledger? built = null;
        Machine = NewMachine(new ConservationCheckingSink(Events, () => built), liquidation, tiers, maxAccounts, instruments, limits);
        built = Machine.Ledger;
        for (var id = 1; id <= instruments; id++)
        {
            Run(EngineCommand.Mark(Now, id, 10_000));
        }

        Opening = [.. Commands];
        Commands.Clear();
    }

    /// <summary>The bench's state machine with any sink (what a replay with another sink builds).</summary>
    public static PerpStateMachine<TSink> NewMachine<TSink>(TSink sink, LiquidationConfig? liquidation, MarginTierTable? tiers, int maxAccounts, int instruments, Func<RiskLimits, RiskLimits>? limits = null)
        where TSink : struct, IEngineEventSink
    {
        var ledger = new Ledger(
            [.. Enumerable.Range(1, instruments).Select(id => new ContractSpec
            {
                InstrumentId = id, MoneyPerTickLot = 100, Fees = new FeeSchedule(0, 0), DefaultLeverage = 10,
                Tiers = tiers ?? new MarginTierTable([new MarginTier(0, 500_000, 100)]),
            })], maxAccounts);
        var config = new EngineConfig
        {
            Instruments = [.. Enumerable.Range(1, instruments).Select(id => new InstrumentSpec
            {
                Id = id, Symbol = $"I{id}", TickSize = 1, LotSize = 1, MinQuantity = 1, MaxQuantity = 1_000_000,
                Band = PriceBand.InBasisPoints(1_000), ReferencePriceTicks = 10_000,
            })],
            MaxRestingOrders = 4_096,
            MaxPriceLevelsPerSide = 512,
            MaxAccounts = maxAccounts,
        };
        var risk = new RiskLimits { Liquidation = liquidation ?? new LiquidationConfig { InsuranceFundAccountId = Fund } };
        return new PerpStateMachine<TSink>(config, ledger, limits?.Invoke(risk) ?? risk, sink);
    }

    /// <summary>The opening marks the constructor ran (a replay on another machine runs them first).</summary>
    public IReadOnlyList<EngineCommand> Opening { get; }

    public Ledger Ledger => Machine.Ledger;

    public void Run(EngineCommand c)
    {
        Now = Math.Max(Now + 1, c.NowNs);
        c.NowNs = Now;
        Commands.Add(c);
        Machine.Process(in c);
    }

    public void Deposit(int account, long amount) => Run(EngineCommand.Account(CommandKind.Deposit, Now, account, amount));

    public void Limit(int account, Side side, long price, long qty, TimeInForce tif = TimeInForce.Gtc, int instrument = 1, long clientOrderId = 0) =>
        Run(EngineCommand.Place(Now, account, instrument, clientOrderId == 0 ? Events.Count + 1 : clientOrderId, side, OrderType.Limit, tif, price, qty));

    public void Mark(long price, int instrument = 1) => Run(EngineCommand.Mark(Now, instrument, price));

    public void Advance(long ns) => Run(EngineCommand.Tick(Now + ns));

    /// <summary>The liquidation steps since event <paramref name="from"/>.</summary>
    public List<EngineEvent> Steps(int from = 0) => [.. Events.Skip(from).Where(e => e.Kind == EventKind.LiquidationStep)];

    public void AssertConserved() => Assert.Equal(Ledger.TotalDeposits - Ledger.TotalWithdrawals, Ledger.MoneyInSystem());
}
