using Aivora.Core.Commands;

namespace Aivora.Gateway;

/// <summary>
/// Where every command the state machine runs is recorded before it runs (the journal plugs in here:
/// an accepted command is in the journal before any of its effects leave the node). Called on the
/// engine thread; an implementation must not allocate per command.
/// </summary>
public interface ICommandLog
{
    void Append(in EngineCommand command);
}
