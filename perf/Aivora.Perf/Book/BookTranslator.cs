using Aivora.Core.Commands;
using Aivora.Core.Instruments;
using Aivora.Core.Matching;
using Aivora.Core.Orders;

namespace Aivora.Perf.Book;

/// <summary>
/// Maps replay records onto engine commands: the record's user is the account (user + 1, since
/// account 0 means "all"), its order id the account's client order id (+ 1, since 0 means "none"),
/// so cancel/move/reduce find the order by (user, order id) and a wrong user is an unknown order.
/// Self-trade prevention is off, as the replay format has no notion of it.
/// </summary>
public static class BookTranslator
{
    public const int InstrumentId = 1;

    public static InstrumentSpec Instrument { get; } = new()
    {
        Id = InstrumentId,
        Symbol = "REPLAY",
        TickSize = 1,
        LotSize = 1,
        MinQuantity = 1,
        MaxQuantity = long.MaxValue,
        MaxNotional = long.MaxValue,
        Band = PriceBand.InTicks(0),
        ReferencePriceTicks = 0,   // no reference: limit orders are not banded in a replay
    };

    public static EngineConfig Config(int maxOrders, int maxLevels, int maxAccounts) => new()
    {
        Instruments = [Instrument],
        MaxRestingOrders = maxOrders,
        MaxPriceLevelsPerSide = maxLevels,
        MaxAccounts = maxAccounts,
    };

    public static EngineCommand ToCommand(in BookRecord r, long nowNs)
    {
        var account = r.UserId < int.MaxValue ? (int)r.UserId + 1 : -1;
        var clientOrderId = unchecked((long)(r.OrderId + 1));
        return r.Op switch
        {
            BookOp.Place => EngineCommand.Place(nowNs, account, InstrumentId, clientOrderId, (Side)r.Side, OrderType.Limit,
                r.Tif switch { 0 => TimeInForce.Gtc, 1 => TimeInForce.Ioc, 2 => TimeInForce.Fok, _ => (TimeInForce)255 },
                r.PriceTicks, r.SizeLots, stp: SelfTradePrevention.None),
            BookOp.Cancel => EngineCommand.Cancel(nowNs, account, 0, clientOrderId),
            BookOp.Move => EngineCommand.Amend(nowNs, account, 0, r.PriceTicks, 0, clientOrderId),
            BookOp.Reduce => EngineCommand.Reduce(nowNs, account, 0, r.SizeLots, clientOrderId),
            _ => new EngineCommand { Kind = (CommandKind)255, NowNs = nowNs, AccountId = account, ClientOrderId = clientOrderId },
        };
    }

    public static EngineCommand[] ToCommands(ReadOnlySpan<BookRecord> records)
    {
        var commands = new EngineCommand[records.Length];
        for (var i = 0; i < records.Length; i++)
        {
            commands[i] = ToCommand(in records[i], nowNs: i + 1);
        }

        return commands;
    }
}
