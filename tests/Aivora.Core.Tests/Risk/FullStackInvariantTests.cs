using Aivora.Core.Accounts;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Reference;
using Aivora.Core.Risk;
using Aivora.Core.Tests.Flows;
using Aivora.Core.Exchange;

namespace Aivora.Core.Tests.Risk;

/// <summary>
/// The whole risk stack over long seeded scenarios: generated order flow through pre-trade risk,
/// feeder prices walking, funding every 10 s of engine time, parameter changes, deposits and
/// withdrawals. Money is conserved exactly and open interest balances, at every check.
/// </summary>
public sealed class FullStackInvariantTests
{
    private const long Second = 1_000_000_000;

    [Theory]
    [InlineData(51)]
    [InlineData(52)]
    public void ShouldConserveMoneyAndBalanceOpenInterestWithEverythingMoving(int seed)
    {
        var events = new List<EngineEvent>();
        var ledger = new Ledger(
        [
            new ContractSpec { InstrumentId = 1, MoneyPerTickLot = 100, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(-200, 500) },
            new ContractSpec { InstrumentId = 2, MoneyPerTickLot = 10, Tiers = MarginMathTests.DocTiers(), Fees = new FeeSchedule(100, 400) },
        ], 64);
        var risk = new PerpStateMachine<RecordingSink>(CommandFlowGenerator.Config(2_000, 400, 64), ledger,
            new RiskLimits { ParameterCoolingNs = 5 * Second }, new RecordingSink(events), [CommandFlowGenerator.Pricing(1), CommandFlowGenerator.Pricing(2)]);
        var generator = new CommandFlowGenerator(seed);
        var random = new Random(seed);
        long[] index = [10_000, 50_000];
        for (var account = 1; account <= 14; account++)
        {
            ledger.Deposit(account, random.Next(20, 2_000) * 1_000_000L);
        }

        long settlements = 0, parameterChanges = 0, trades = 0, now = 0;
        for (var i = 0; i < 120_000; i++)
        {
            var step = generator.Next();
            var command = step.Command;
            now = Math.Max(now, command.NowNs);
            if (step.IsPositionAdjustment)
            {
                // Everything that is not an order: prices, parameters, money.
                var id = step.InstrumentId;
                command = random.Next(6) switch
                {
                    0 or 1 or 2 => EngineCommand.Feed(now, id, random.Next(1, 4), index[id - 1] += random.Next(-20, 21) * (id == 1 ? 1 : 5)),
                    3 => EngineCommand.ChangeParameter(now, id, random.Next(2) == 0 ? RiskParameter.TakerFeeRate : RiskParameter.MaxLeverage,
                        random.Next(1, 20) * (random.Next(2) == 0 ? 100 : 1), now + random.Next(0, 3) * Second, random.Next()),
                    _ => EngineCommand.Tick(now),
                };
                if (random.Next(10) == 0)
                {
                    _ = random.Next(2) == 0 ? ledger.Deposit(step.AccountId, random.Next(1, 500) * 1_000_000L) : ledger.Withdraw(step.AccountId, random.Next(1, 500) * 1_000_000L);
                }
            }

            events.Clear();
            risk.Process(in command);
            foreach (var e in events)
            {
                generator.Observe(in e);
                settlements += e.Kind == EventKind.FundingSettled ? 1 : 0;
                parameterChanges += e.Kind == EventKind.ParameterChanged ? 1 : 0;
                trades += e.Kind == EventKind.Trade ? 1 : 0;
            }

            if (i % 500 == 0)
            {
                Assert.Equal(ledger.TotalDeposits - ledger.TotalWithdrawals, ledger.MoneyInSystem());
                foreach (var instrument in new[] { 1, 2 })
                {
                    var (longs, shorts) = ledger.OpenInterest(instrument);
                    Assert.Equal(longs, shorts);
                }

                Assert.Null(risk.Engine.ValidateInvariants());
            }
        }

        Assert.True(settlements > 10 && parameterChanges > 10 && trades > 2_000, $"settlements {settlements}, parameter changes {parameterChanges}, trades {trades}");
        Assert.Equal(ledger.TotalDeposits - ledger.TotalWithdrawals, ledger.MoneyInSystem());
    }
}
