using Aivora.Core.Commands;
using Aivora.Gateway;

namespace Aivora.Node.Engine;

/// <summary>
/// Keeps every command the node ran, in order, in a pre-allocated array: what the replay check feeds
/// a fresh state machine. The journal (a file, CRC-checked, fsync policy) takes this place later; past
/// its capacity the recorder stops recording and says so (the replay check is then skipped, not faked).
/// </summary>
public sealed class CommandRecorder(int capacity) : ICommandLog
{
    private readonly EngineCommand[] _commands = new EngineCommand[capacity];

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
