using System.Globalization;
using Aivora.Core.Commands;
using Aivora.Core.Events;
using Aivora.Core.Liquidation;
using Aivora.Core.Matching;
using Aivora.Core.Orders;
using Aivora.Node.Configuration;
using Aivora.Node.Engine;
using ScottPlot;

namespace Aivora.Perf.Cascade;

/// <summary>
/// <c>cascade</c>: a generated population (traders with mixed leverage, cross and isolated, on two correlated
/// instruments sharing cross collateral; market makers quoting ladders around the mark) on the node's own state
/// machine and configuration, then a price shock fed through the index sources (a jump, a ramp, or a gap in
/// which the makers pull their quotes), on engine time in 100 ms rounds. Prints the chain step by step (the
/// first paths in full, then one line a second), the summary, RESULT lines, and draws mark, depth and the
/// insurance fund over the cascade to a PNG.
/// </summary>
public static class CascadeSimulator
{
    private const long Usdt = DefaultConfiguration.UsdtUnit;
    private const long RoundNs = 100_000_000;
    private const int Btc = 1, Eth = 2;
    private static readonly int[] Makers = [1, 2, 3, 4];
    private const int FirstTrader = 100;

    private sealed class Collector
    {
        public readonly List<EngineEvent> Steps = [];
        public long Trades;

        public void OnEvent(in EngineEvent e)
        {
            if (e.Kind == EventKind.LiquidationStep) Steps.Add(e);
            else if (e.Kind == EventKind.Trade) Trades++;
        }
    }

    private readonly struct Sink(Collector collector) : IEngineEventSink
    {
        public void OnEvent(in EngineEvent e) => collector.OnEvent(in e);
    }

    private sealed record Options(string Shock, double Percent, int Accounts, int Seed, double Seconds, long DepthLots, string Png, int PrintPaths);

    public static int Run(string[] args)
    {
        if (!TryParse(args, out var o, out var error))
        {
            Console.Error.WriteLine(error);
            Console.Error.WriteLine("usage: cascade [--shock jump|ramp|gap] [--pct 8] [--accounts 5000] [--seed 1] [--seconds 40] [--depth 150] [--png cascade.png] [--print 12]");
            return 2;
        }

        // The chart's file is opened for writing now, not after a minute of simulation: a path that cannot be written is an error.
        try
        {
            if (Path.GetDirectoryName(Path.GetFullPath(o.Png)) is { } directory) Directory.CreateDirectory(directory);
            using (File.Create(o.Png))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            Console.Error.WriteLine($"cascade: --png {o.Png}: {e.Message}");
            return 2;
        }

        var collector = new Collector();
        var fundingNs = 8 * 3_600 * 1_000_000_000L;
        var machine = NodeHost.NewStateMachine(DefaultConfiguration.Engine with { MaxAccounts = 1 << 15 }, fundingNs, new Sink(collector));
        var ledger = machine.Ledger;
        var now = 1_700_000_000_000_000_000L;
        void Run(EngineCommand c)
        {
            now = Math.Max(now + 1, c.NowNs);
            c.NowNs = now;
            machine.Process(in c);
        }

        var btc0 = DefaultConfiguration.BtcPerp.ReferencePriceTicks;
        var eth0 = DefaultConfiguration.EthPerp.ReferencePriceTicks;
        void Feed(long btc, long eth)
        {
            for (var source = 1; source <= 3; source++)
            {
                Run(EngineCommand.Feed(now, Btc, source, btc));
                Run(EngineCommand.Feed(now, Eth, source, eth));
            }
        }

        Feed(btc0, eth0);
        Run(EngineCommand.Account(CommandKind.Deposit, now, DefaultConfiguration.InsuranceFundAccount, DefaultConfiguration.InsuranceFundSeedUsdt * Usdt));
        foreach (var m in Makers) Run(EngineCommand.Account(CommandKind.Deposit, now, m, 200_000_000 * Usdt));

        // The population: each trader opens its positions against a maker's order at the mark, through pre-trade risk.
        var random = new Random(o.Seed);
        int opened = 0, refused = 0, isolatedCount = 0, bothCount = 0;
        long clientId = 1;
        for (var t = 0; t < o.Accounts; t++)
        {
            var account = FirstTrader + t;
            var deposit = (long)(Math.Exp(random.NextDouble() * Math.Log(100)) * 200) * Usdt;   // 200 to 20,000 USDT, log-uniform
            Run(EngineCommand.Account(CommandKind.Deposit, now, account, deposit));
            var roll = random.Next(100);
            int[] instruments = roll < 55 ? [Btc] : roll < 80 ? [Eth] : [Btc, Eth];
            bothCount += instruments.Length == 2 ? 1 : 0;
            var share = 1.0 / instruments.Length;
            foreach (var instrument in instruments)
            {
                var isolated = instruments.Length == 1 && random.Next(100) < 30;
                isolatedCount += isolated ? 1 : 0;
                if (isolated) Run(EngineCommand.MarginMode(now, account, instrument, isolated: true));
                int[] leverages = [2, 3, 5, 10, 10, 20, 20, 25, 50, 75, 100];
                var leverage = leverages[random.Next(leverages.Length)];
                Run(EngineCommand.Account(CommandKind.SetLeverage, now, account, leverage, instrument));
                var mark = ledger.MarkOf(instrument);
                var perLot = mark * ledger.Contract(instrument).MoneyPerTickLot;
                var lots = (long)(deposit * share * leverage * (0.5 + (random.NextDouble() * 0.4)) / perLot);
                if (lots <= 0) continue;
                var side = random.Next(100) < 65 ? Side.Buy : Side.Sell;
                var maker = Makers[random.Next(Makers.Length)];
                Run(EngineCommand.Limit(now, maker, instrument, clientId++, side.Opposite(), mark - (mark % Tick(instrument)), lots));
                var before = ledger.PositionOf(account, instrument).QtyLots;
                Run(EngineCommand.Limit(now, account, instrument, clientId++, side, mark - (mark % Tick(instrument)), lots, TimeInForce.Ioc));
                if (ledger.PositionOf(account, instrument).QtyLots != before) opened++;
                else refused++;
                Run(EngineCommand.MassCancel(now, maker, instrument, SideFilter.Both));
            }
        }

        var openInterest = ledger.OpenInterest(Btc).Long;
        Console.WriteLine(FormattableString.Invariant(
            $"population: {o.Accounts:N0} traders ({bothCount:N0} holding both instruments on shared cross collateral, {isolatedCount:N0} isolated positions), {opened:N0} positions opened ({refused:N0} refused by pre-trade risk); open interest BTC {Lots(openInterest, 3)} BTC, ETH {Lots(ledger.OpenInterest(Eth).Long, 2)} ETH; {Makers.Length} makers quoting 10 levels a side of {o.DepthLots} lots, 0.1% apart"));
        Console.WriteLine(FormattableString.Invariant($"shock: {o.Shock} of {o.Percent:0.#}% on BTC's index (ETH moves 1.2x as much), over {o.Seconds:0} s of engine time in 100 ms rounds"));

        // The shock, round by round.
        var rounds = (int)(o.Seconds * 10);
        var series = new List<(double T, double BtcMark, double BtcIndex, double Depth, double FundEquity, int Liquidated)>();
        var liquidatedAccounts = new HashSet<int>();
        var printedPaths = new HashSet<int>();
        var startNs = now;
        var fundStart = ledger.Equity(DefaultConfiguration.InsuranceFundAccount);
        var fundMin = fundStart;
        var levels = new LevelView[16];
        long bookLots = 0, fundLots = 0, adlLots = 0, slippageWeighted = 0, worstSlippageBps = 0;
        int lastSecondPrinted = -1, cascadeRounds = 0;
        for (var r = 0; r <= rounds; r++)
        {
            var t = r * 0.1;
            var move = IndexFall(o, t);
            var btc = (long)(btc0 * (1 - move));
            var eth = (long)(eth0 * (1 - (1.2 * move)));
            var stepsBefore = collector.Steps.Count;
            Run(EngineCommand.Tick(startNs + (r * RoundNs)));

            // A gap: the makers pull their quotes the moment the price jumps and stay away for 3 s.
            var makersAway = o.Shock == "gap" && t >= 1 && t < 4;
            if (makersAway)
            {
                foreach (var instrument in new[] { Btc, Eth }) foreach (var m in Makers) Run(EngineCommand.MassCancel(now, m, instrument, SideFilter.Both));
            }

            Feed(btc - (btc % Tick(Btc)), eth);

            // What the liquidations left of the bids near the mark, before the makers refill them.
            var depth = 0L;
            var btcMark = ledger.MarkOf(Btc);
            var n = machine.Engine.GetLevels(Btc, Side.Buy, levels);
            for (var i = 0; i < n; i++) if (levels[i].PriceTicks >= btcMark * 98 / 100) depth += levels[i].TotalLots;
            foreach (var instrument in new[] { Btc, Eth })
            {
                if (makersAway) continue;
                foreach (var m in Makers) Run(EngineCommand.MassCancel(now, m, instrument, SideFilter.Both));
                var mark = ledger.MarkOf(instrument);
                var tick = Tick(instrument);
                var step = Math.Max(tick, mark / 1_000 / tick * tick);
                var center = mark - (mark % tick);
                for (var level = 1; level <= 10; level++)
                {
                    var maker = Makers[level % Makers.Length];
                    Run(EngineCommand.Limit(now, maker, instrument, clientId++, Side.Buy, center - (level * step), o.DepthLots * (instrument == Btc ? 1 : 2)));
                    Run(EngineCommand.Limit(now, maker, instrument, clientId++, Side.Sell, center + (level * step), o.DepthLots * (instrument == Btc ? 1 : 2)));
                }
            }

            // What this round's liquidation steps did.
            var newPaths = 0;
            for (var k = stepsBefore; k < collector.Steps.Count; k++)
            {
                var e = collector.Steps[k];
                var v = new LiquidationStepView(in e);
                switch (v.Step)
                {
                    case LiquidationStep.Triggered:
                        newPaths++;
                        liquidatedAccounts.Add(v.AccountId);
                        break;
                    case LiquidationStep.PartialReduction:
                        bookLots += v.FillLots * Scale(v.InstrumentId);
                        // Slippage against mark, signed against the liquidated side: a long sells below mark (positive = worse than mark).
                        var bps = (v.PositionLots > 0 ? v.MarkPriceTicks - v.FillPriceTicks : v.FillPriceTicks - v.MarkPriceTicks) * 10_000 / v.MarkPriceTicks;
                        slippageWeighted += bps * v.FillLots * Scale(v.InstrumentId);
                        worstSlippageBps = Math.Max(worstSlippageBps, bps);
                        break;
                    case LiquidationStep.InsuranceTakeover:
                        fundLots += v.FillLots * Scale(v.InstrumentId);
                        break;
                    case LiquidationStep.AutoDeleverage:
                        adlLots += v.FillLots * Scale(v.InstrumentId);
                        break;
                }

                if (printedPaths.Count < o.PrintPaths || printedPaths.Contains(v.AccountId))
                {
                    if (v.Step == LiquidationStep.Triggered) printedPaths.Add(v.AccountId);
                    if (printedPaths.Contains(v.AccountId)) Console.WriteLine(Describe(t, in e));
                }
            }

            cascadeRounds += newPaths > 0 ? 1 : 0;
            var fundEquity = ledger.Equity(DefaultConfiguration.InsuranceFundAccount);
            fundMin = Math.Min(fundMin, fundEquity);
            series.Add((t, btcMark / 10.0, machine.Pricing(Btc)!.LastIndex.PriceTicks / 10.0, depth / 1_000.0, fundEquity / (double)Usdt, liquidatedAccounts.Count));
            if ((int)t != lastSecondPrinted && (int)t == t)
            {
                lastSecondPrinted = (int)t;
                Console.WriteLine(FormattableString.Invariant(
                    $"t={t,5:0.0}s  BTC index {machine.Pricing(Btc)!.LastIndex.PriceTicks / 10.0,9:N1} mark {btcMark / 10.0,9:N1}  ETH mark {ledger.MarkOf(Eth) / 100.0,8:N2}  liquidated {liquidatedAccounts.Count,5:N0}  waiting {machine.WaitingLiquidations,3}  BTC bids within 2% left {depth / 1_000.0,7:N3} BTC  fund equity {fundEquity / (double)Usdt,12:N2} USDT"));
            }
        }

        // Summary and the checks that must hold whatever the shock.
        var money = ledger.MoneyInSystem() == ledger.TotalDeposits - ledger.TotalWithdrawals;
        var (btcLong, btcShort) = ledger.OpenInterest(Btc);
        var (ethLong, ethShort) = ledger.OpenInterest(Eth);
        var unhealthyLeft = 0;
        for (var slot = 0; slot < ledger.AccountCount; slot++)
        {
            var id = ledger.AccountIdAt(slot);
            if (id == DefaultConfiguration.InsuranceFundAccount || ledger.IsLiquidating(id)) continue;
            if (ledger.Scope(id, Btc).Unhealthy || ledger.Scope(id, Eth).Unhealthy) unhealthyLeft++;
        }

        var fundEnd = ledger.Equity(DefaultConfiguration.InsuranceFundAccount);
        var avgSlippage = bookLots == 0 ? 0 : slippageWeighted / (double)bookLots;
        Console.WriteLine(FormattableString.Invariant(
            $"summary: {liquidatedAccounts.Count:N0} of {o.Accounts:N0} accounts liquidated ({collector.Steps.Count(e => (LiquidationStep)e.Reason == LiquidationStep.Triggered):N0} paths) over {cascadeRounds} rounds with new liquidations; through the book {bookLots / 1e3:N3} (BTC-equivalent lots / 1000), to the fund {fundLots / 1e3:N3}, deleveraged {adlLots / 1e3:N3}"));
        Console.WriteLine(FormattableString.Invariant(
            $"summary: slippage of liquidation fills against mark (positive: worse than mark for the liquidated side): mean {avgSlippage:0.0} bps (volume-weighted), worst {worstSlippageBps} bps; insurance fund equity {fundStart / (double)Usdt:N2} -> {fundEnd / (double)Usdt:N2} USDT (low {fundMin / (double)Usdt:N2}), cash {ledger.InsuranceFund / (double)Usdt:N2}, holding BTC {ledger.PositionOf(DefaultConfiguration.InsuranceFundAccount, Btc).QtyLots} lots, ETH {ledger.PositionOf(DefaultConfiguration.InsuranceFundAccount, Eth).QtyLots} lots"));
        Console.WriteLine($"checks: money conserved {(money ? "yes" : "NO")}; open interest long = short {(btcLong == btcShort && ethLong == ethShort ? "yes" : "NO")}; accounts left below maintenance (not waiting) {unhealthyLeft}; paths still waiting {machine.WaitingLiquidations}");
        Console.WriteLine(FormattableString.Invariant(
            $"RESULT bench=cascade shock={o.Shock} pct={o.Percent:0.#} accounts={o.Accounts} liquidated={liquidatedAccounts.Count} book_lots={bookLots} fund_lots={fundLots} adl_lots={adlLots} mean_slippage_bps={avgSlippage:0.0} fund_start={fundStart} fund_end={fundEnd} fund_min={fundMin} conserved={(money ? 1 : 0)} unhealthy_left={unhealthyLeft}"));

        Draw(o, series);
        Console.WriteLine($"chart: {Path.GetFullPath(o.Png)} (BTC mark and index, BTC bids within 2% of mark, insurance fund equity and accounts liquidated)");
        return money && btcLong == btcShort && ethLong == ethShort && unhealthyLeft == 0 ? 0 : 1;
    }

    /// <summary>The index's fall (a fraction) at time t: a jump at 1 s, a ramp from 1 s to 21 s, or a gap (a jump while the makers are away).</summary>
    private static double IndexFall(Options o, double t) => o.Shock switch
    {
        "ramp" => o.Percent / 100 * Math.Clamp((t - 1) / 20, 0, 1),
        _ => t >= 1 ? o.Percent / 100 : 0,
    };

    private static long Tick(int instrument) => instrument == Btc ? DefaultConfiguration.BtcPerp.TickSize : DefaultConfiguration.EthPerp.TickSize;

    /// <summary>Lots in thousandths of a BTC-equivalent: 1 BTC lot is 0.001 BTC; an ETH lot (0.01 ETH) is counted at 1/20 of that (price ratio, roughly).</summary>
    private static long Scale(int instrument) => instrument == Btc ? 20 : 1;

    private static string Lots(long lots, int decimals) => (lots / Math.Pow(10, decimals)).ToString("N" + decimals, CultureInfo.InvariantCulture);

    private static string Describe(double t, in EngineEvent e)
    {
        var v = new LiquidationStepView(in e);
        var symbol = v.InstrumentId == Btc ? "BTC" : "ETH";
        var scale = v.InstrumentId == Btc ? 10.0 : 100.0;
        var head = FormattableString.Invariant($"t={t,5:0.0}s  {symbol} acct {v.AccountId,-6} {v.Step,-17}");
        return v.Step switch
        {
            LiquidationStep.Triggered => FormattableString.Invariant($"{head} position {v.PositionLots} lots ({(v.IsolatedScope ? "isolated" : "cross")}, tier {v.Tier}), equity {v.Equity / (double)Usdt:N2} < maintenance {v.MaintenanceMargin / (double)Usdt:N2} USDT at mark {v.MarkPriceTicks / scale:N1}; bankruptcy {v.BankruptcyPriceTicks / scale:N1}"),
            LiquidationStep.OrdersCancelled => FormattableString.Invariant($"{head} {v.FillLots} open orders cancelled"),
            LiquidationStep.PartialReduction => FormattableString.Invariant($"{head} {v.FillLots} lots at {v.FillPriceTicks / scale:N1} (mark {v.MarkPriceTicks / scale:N1}, slippage {(v.PositionLots > 0 ? v.MarkPriceTicks - v.FillPriceTicks : v.FillPriceTicks - v.MarkPriceTicks) * 10_000.0 / v.MarkPriceTicks:0.0} bps, limit bankruptcy {v.BankruptcyPriceTicks / scale:N1}); fee {v.Fee / (double)Usdt:N2} USDT to the fund"),
            LiquidationStep.InsuranceTakeover => FormattableString.Invariant($"{head} the fund takes {v.FillLots} lots at bankruptcy {v.BankruptcyPriceTicks / scale:N1} (mark {v.MarkPriceTicks / scale:N1}): fund equity {v.InsuranceFundDelta / (double)Usdt:+#,0.00;-#,0.00} USDT"),
            LiquidationStep.AutoDeleverage => FormattableString.Invariant($"{head} {v.FillLots} lots against acct {v.CounterpartyAccountId} (score {v.AdlScore / 1e8:0.####}) at bankruptcy {v.BankruptcyPriceTicks / scale:N1}"),
            LiquidationStep.Waiting => FormattableString.Invariant($"{head} equity {v.Equity / (double)Usdt:N2} USDT above the hard floor: next slice in a second"),
            _ => FormattableString.Invariant($"{head} position {v.PositionLots} lots, equity {v.Equity / (double)Usdt:N2} USDT, maintenance {v.MaintenanceMargin / (double)Usdt:N2}"),
        };
    }

    private static void Draw(Options o, List<(double T, double BtcMark, double BtcIndex, double Depth, double FundEquity, int Liquidated)> series)
    {
        var t = series.Select(s => s.T).ToArray();
        var multiplot = new Multiplot();
        multiplot.AddPlots(4);
        var prices = multiplot.GetPlot(0);
        prices.Add.ScatterLine(t, series.Select(s => s.BtcIndex).ToArray()).LegendText = "index";
        prices.Add.ScatterLine(t, series.Select(s => s.BtcMark).ToArray()).LegendText = "mark";
        prices.Title(FormattableString.Invariant($"BTC-PERP: {o.Shock} of {o.Percent:0.#}%, {o.Accounts:N0} accounts"));
        prices.YLabel("USDT");
        prices.ShowLegend();
        var depth = multiplot.GetPlot(1);
        depth.Add.ScatterLine(t, series.Select(s => s.Depth).ToArray()).LegendText = "bids within 2% of mark left after the round's liquidations (BTC)";
        depth.YLabel("BTC");
        depth.ShowLegend();
        var liquidated = multiplot.GetPlot(2);
        liquidated.Add.ScatterLine(t, series.Select(s => (double)s.Liquidated).ToArray()).LegendText = "accounts liquidated";
        liquidated.YLabel("accounts");
        liquidated.ShowLegend();
        var fund = multiplot.GetPlot(3);
        fund.Add.ScatterLine(t, series.Select(s => s.FundEquity).ToArray()).LegendText = "insurance fund equity";
        fund.YLabel("USDT");
        fund.XLabel("engine time (s)");
        fund.ShowLegend();
        multiplot.SavePng(o.Png, 1000, 1300);
    }

    private static bool TryParse(string[] args, out Options options, out string error)
    {
        options = new Options("jump", 8, 5_000, 1, 40, 2_000, "cascade.png", 12);
        // Unknown, valueless and repeated options: the harness's one check (CommandLine); then each value.
        if (CommandLine.Check("cascade", args, [], ["--shock", "--pct", "--accounts", "--seed", "--seconds", "--depth", "--png", "--print"]) is { } wrong)
        {
            error = wrong;
            return false;
        }

        error = "";
        for (var i = 0; i < args.Length; i += 2)
        {
            var (name, value) = (args[i], args[i + 1]);
            var ok = true;
            switch (name)
            {
                case "--shock" when value is "jump" or "ramp" or "gap":
                    options = options with { Shock = value };
                    break;
                case "--pct" when double.TryParse(value, CultureInfo.InvariantCulture, out var pct) && pct is > 0 and <= 30:
                    options = options with { Percent = pct };
                    break;
                case "--accounts" when int.TryParse(value, out var n) && n is > 0 and <= 30_000:
                    options = options with { Accounts = n };
                    break;
                case "--seed" when int.TryParse(value, out var seed):
                    options = options with { Seed = seed };
                    break;
                case "--seconds" when double.TryParse(value, CultureInfo.InvariantCulture, out var s) && s is >= 2 and <= 600:
                    options = options with { Seconds = s };
                    break;
                case "--depth" when long.TryParse(value, out var d) && d is > 0 and <= 100_000:
                    options = options with { DepthLots = d };
                    break;
                case "--png":
                    options = options with { Png = value };
                    break;
                case "--print" when int.TryParse(value, out var p) && p >= 0:
                    options = options with { PrintPaths = p };
                    break;
                default:
                    ok = false;
                    break;
            }

            if (!ok)
            {
                error = $"cascade: {name} {value}: not a valid value (--shock jump|ramp|gap, --pct 0-30, --accounts 1-30000, --seed an integer, --seconds 2-600, --depth 1-100000, --print 0 or more)";
                return false;
            }
        }

        return true;
    }
}
