using System.Text.Unicode;
using Aivora.Core.Events;
using Aivora.Exchange;
using CoreStep = Aivora.Core.Liquidation.LiquidationStep;

namespace Aivora.Gateway.Outbound;

/// <summary>
/// A liquidation step (<see cref="EventKind.LiquidationStep"/>) as the schema's LiquidationEvent, for the public
/// status stream (no account ids) and for the sessions of the accounts it concerns (their own ids).
/// <code>
///   header 8 | block (LiquidationEventEncoder.BlockLength) | counterparties: 4 + n x 20 (accountId u32, quantity i64, score i64)
///   | explanation: u16 length + UTF-8 text (at most MaxExplanation bytes)
/// </code>
/// </summary>
internal static class LiquidationEventWriter
{
    public const int MaxExplanation = 192;

    /// <summary>Bytes after the header, exactly what <see cref="Write"/> encodes: the block, the counterparty of an ADL step, the explanation.</summary>
    public static int BodyLength(in EngineEvent e, int explanationBytes) =>
        LiquidationEventEncoder.BlockLength + 4 + ((CoreStep)e.Reason == CoreStep.AutoDeleverage ? 20 : 0) + 2 + explanationBytes;

    /// <summary>A one-line reading of the step's figures (allocation-free).</summary>
    public static int Explain(in EngineEvent e, Span<byte> text)
    {
        var v = new LiquidationStepView(in e);
        var written = 0;
        var ok = v.Step switch
        {
            CoreStep.Triggered => Utf8.TryWrite(text, $"equity {v.Equity} below maintenance {v.MaintenanceMargin} at mark {v.MarkPriceTicks} (tier {v.Tier}); bankruptcy {v.BankruptcyPriceTicks}", out written),
            CoreStep.OrdersCancelled => Utf8.TryWrite(text, $"{v.FillLots} open orders cancelled; equity {v.Equity}, maintenance {v.MaintenanceMargin}", out written),
            CoreStep.PartialReduction => Utf8.TryWrite(text, $"{v.FillLots} lots filled at {v.FillPriceTicks} on average, no worse than bankruptcy {v.BankruptcyPriceTicks}; clearance fee {v.Fee} to the insurance fund", out written),
            CoreStep.InsuranceTakeover => Utf8.TryWrite(text, $"insurance fund took {v.FillLots} lots at bankruptcy {v.BankruptcyPriceTicks}; fund equity moved {v.InsuranceFundDelta} at mark {v.MarkPriceTicks}", out written),
            CoreStep.AutoDeleverage => Utf8.TryWrite(text, $"{v.FillLots} lots deleveraged at bankruptcy {v.BankruptcyPriceTicks} against the position ranked first (score {v.AdlScore}e-8)", out written),
            CoreStep.Waiting => Utf8.TryWrite(text, $"equity {v.Equity} above the hard floor: next slice at engine time {v.FillPriceTicks}", out written),
            _ => Utf8.TryWrite(text, $"path ended: position {v.PositionLots}, equity {v.Equity}, maintenance {v.MaintenanceMargin}", out written),
        };
        return ok ? written : 0;
    }

    /// <summary>Encodes the step into <paramref name="buffer"/> (header included); returns the encoded length.</summary>
    public static int Write(Span<byte> buffer, in EngineEvent e, ulong sequence, ulong journalSequence, uint accountShown, uint counterpartyShown, ReadOnlySpan<byte> explanation)
    {
        var v = new LiquidationStepView(in e);
        var m = LiquidationEventEncoder.Wrap(buffer);
        m.Sequence(sequence);
        m.JournalSequence(journalSequence);
        m.AccountId(accountShown);
        m.InstrumentId(v.InstrumentId);
        m.Step((LiquidationStep)v.Step);
        m.IndexState((IndexState)v.IndexState);
        m.Tier((byte)Math.Min(v.Tier, byte.MaxValue));
        m.MarkPrice(v.MarkPriceTicks);
        m.IndexPrice(v.IndexPriceTicks);
        m.PositionQuantity(v.PositionLots);
        m.Equity(v.Equity);
        m.MaintenanceMargin(v.MaintenanceMargin);
        m.BankruptcyPrice(v.BankruptcyPriceTicks);
        if (v.FillPriceTicks > 0 && v.Step != CoreStep.Waiting) m.FillPrice(v.FillPriceTicks);
        if (v.FillLots > 0 && v.Step != CoreStep.OrdersCancelled) m.FillQuantity(v.FillLots);
        if (v.Step == CoreStep.PartialReduction) m.Fee(v.Fee);
        if (v.InsuranceFundDelta != 0 || v.Step is CoreStep.PartialReduction or CoreStep.InsuranceTakeover) m.InsuranceFundDelta(v.InsuranceFundDelta);
        m.TransactTimeNs((ulong)v.TimeNs);
        var deleverage = v.Step == CoreStep.AutoDeleverage;
        var g = m.Counterparties(deleverage ? 1 : 0);
        if (deleverage)
        {
            g.Next();
            g.AccountId(counterpartyShown);
            g.Quantity(v.FillLots);
            g.Score.Mantissa(v.AdlScore);
        }

        m.Explanation(explanation);
        System.Diagnostics.Debug.Assert(m.EncodedLength == SbeSchema.HeaderSize + BodyLength(in e, explanation.Length), "claimed length differs from the encoded one");
        return m.EncodedLength;
    }
}
