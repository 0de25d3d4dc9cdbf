using Aivora.Core.Commands;
using Aivora.Gateway;

namespace Aivora.Node.Engine;

/// <summary>
/// Keeps every command the node ran, in order, in a pre-allocated array: what the replay check feeds
/// a fresh state machine. The journal (a file, CRC-checked, fsync policy) takes this place later; past
/// its capacity the recorder stops recording and says so (the replay check is then skipped, not faked).
/// </summary>
public sealed class CommandRecorder : ICommandLog
{
    private readonly EngineCommand[] _commands;

    /// <param name="capacity">Commands it holds.</param>
    /// <param name="prefault">Write the whole array once now: the OS maps its pages lazily, and the engine
    /// thread would otherwise take a page fault every ~28 commands as the record grows.</param>
    public CommandRecorder(int capacity, bool prefault = false)
    {
        _commands = new EngineCommand[capacity];
        if (prefault)
        {
            Array.Clear(_commands);
        }
    }

    public int Count { get; private set; }
    public bool Overflowed { get; private set; }

    public void Append(in EngineCommand command)
    {
        if (Count == _commands.Length)
        {
            Overflowed = true;
            return;
        }

        _commands[Count++] = command;
    }

    public ReadOnlySpan<EngineCommand> Commands => _commands.AsSpan(0, Count);
}
