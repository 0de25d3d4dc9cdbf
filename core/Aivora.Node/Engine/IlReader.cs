using System.Reflection;
using System.Reflection.Emit;

namespace Aivora.Node.Engine;

/// <summary>
/// Walks a method body's IL for the metadata tokens of the methods it calls, creates or takes the address of (call, callvirt,
/// newobj, ldftn, ldvirtftn, jmp): what <see cref="CodePreparation"/> follows into the runtime's libraries. Cold path (start-up).
/// </summary>
internal static class IlReader
{
    // Opcodes by their value: one-byte ones at [value], the two-byte ones (0xFE prefix) at [256 + second byte].
    private static readonly OpCode?[] s_opCodes = BuildTable();

    /// <summary>
    /// The method tokens in <paramref name="il"/>, in order, each with the type token of a <c>constrained.</c> prefix before it (0:
    /// none; a call on a generic struct's interface method names the interface, the prefix the struct). Stops at anything it
    /// cannot read (an unknown opcode, a cut operand).
    /// </summary>
    public static IEnumerable<(int Method, int Constrained)> MethodTokens(byte[] il)
    {
        var at = 0;
        var constrained = 0;
        while (at < il.Length)
        {
            int code = il[at++];
            if (code == 0xFE)
            {
                if (at >= il.Length)
                {
                    yield break;
                }

                code = 256 + il[at++];
            }

            if (s_opCodes[code] is not { } op)
            {
                yield break;
            }

            var operand = OperandLength(op.OperandType, il, at);
            if (operand < 0 || at + operand > il.Length)
            {
                yield break;
            }

            if (op.OperandType == OperandType.InlineMethod)
            {
                yield return (BitConverter.ToInt32(il, at), constrained);
            }

            constrained = op == OpCodes.Constrained ? BitConverter.ToInt32(il, at) : 0;
            at += operand;
        }
    }

    // Bytes of the operand after the opcode (-1: cannot tell).
    private static int OperandLength(OperandType type, byte[] il, int at) => type switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        OperandType.InlineSwitch => at + 4 <= il.Length ? 4 + (4 * BitConverter.ToInt32(il, at)) : -1,
        _ => 4,   // branch targets, int32 and float32 immediates, and every token (field, method, type, string, signature)
    };

    private static OpCode?[] BuildTable()
    {
        var table = new OpCode?[512];
        foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            if (field.GetValue(null) is OpCode op)
            {
                var value = (ushort)op.Value;
                table[op.Size == 1 ? value : 256 + (value & 0xFF)] = op;
            }
        }

        return table;
    }
}
