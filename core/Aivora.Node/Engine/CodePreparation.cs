using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using Aivora.Core.Accounts;
using Aivora.Core.Events;
using Aivora.Core.Matching;
using Aivora.Gateway;

namespace Aivora.Node.Engine;

/// <summary>
/// Compiles the node's code before it trades. The node runs without tiered compilation (see Aivora.Node.csproj):
/// no background JIT thread preempts the pinned, spinning engine for milliseconds at a time, but a method is then
/// compiled fully optimized on its first call, on the thread that calls it. A path first taken mid-session (the
/// first liquidation, its explanation writer, a funding settlement) would stall the engine for its compilation
/// (26 ms measured for the liquidation path). Here every method of the engine's assemblies is compiled up front,
/// the generic ones as the node closes them (over <see cref="GatewaySink"/> and <see cref="LedgerPositions"/>).
/// </summary>
public static class CodePreparation
{
    /// <summary>How many methods were compiled; how many methods (or whole generic types) were left to their first call
    /// (abstract or runtime-implemented, generic over types the node does not use, or refused by the runtime); how long it took.</summary>
    public readonly record struct Outcome(int Methods, int Skipped, TimeSpan Elapsed);

    public static Outcome PrepareEngineCode()
    {
        var started = Stopwatch.GetTimestamp();
        int prepared = 0, skipped = 0;
        Assembly[] assemblies =
        [
            typeof(IEngineEventSink).Assembly,                    // Aivora.Core
            typeof(GatewaySink).Assembly,                         // Aivora.Gateway
            typeof(Aivora.Exchange.NewOrderDecoder).Assembly,     // Aivora.Codecs
            typeof(Aivora.Transport.Driver.MediaDriver).Assembly, // Aivora.Transport
        ];
        foreach (var type in assemblies.SelectMany(TypesOf))
        {
            var closed = type.IsGenericTypeDefinition ? Close(type) : type;
            if (closed is null)
            {
                skipped++;
                continue;
            }

            const BindingFlags declared = BindingFlags.DeclaredOnly | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;
            foreach (var method in closed.GetMethods(declared).Cast<MethodBase>().Concat(closed.GetConstructors(declared)))
            {
                if (Prepare(method))
                {
                    prepared++;
                }
                else
                {
                    skipped++;
                }
            }
        }

        return new Outcome(prepared, skipped, Stopwatch.GetElapsedTime(started));
    }

    private static IEnumerable<Type> TypesOf(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException partial)
        {
            return partial.Types.OfType<Type>();
        }
    }

    private static bool Prepare(MethodBase method)
    {
        if (method.IsAbstract || (method.ContainsGenericParameters && !method.IsGenericMethodDefinition)
            || (method.MethodImplementationFlags & (MethodImplAttributes.InternalCall | MethodImplAttributes.Runtime)) != 0
            || method.GetMethodBody() is null)
        {
            return false;
        }

        try
        {
            if (method.IsGenericMethodDefinition)
            {
                var arguments = method.GetGenericArguments().Select(ArgumentFor).ToArray();
                if (arguments.Any(a => a is null))
                {
                    return false;
                }

                var closed = ((MethodInfo)method).MakeGenericMethod(arguments!);
                RuntimeHelpers.PrepareMethod(closed.MethodHandle, [.. (closed.DeclaringType!.IsGenericType ? closed.DeclaringType.GetGenericArguments() : []).Concat(arguments!).Select(t => t!.TypeHandle)]);
                return true;
            }

            var owner = method.DeclaringType!;
            RuntimeHelpers.PrepareMethod(method.MethodHandle, owner.IsGenericType ? [.. owner.GetGenericArguments().Select(t => t.TypeHandle)] : null);
            return true;
        }
        catch (Exception)
        {
            // Constraints the node's types do not meet (the node never calls it so), or anything else the runtime refuses:
            // preparing is an optimisation, never a reason for the node not to start. The method compiles at its first call.
            return false;
        }
    }

    /// <summary>The generic type as the node closes it, or null when one of its parameters is not a sink or a position keeper.</summary>
    private static Type? Close(Type definition)
    {
        var arguments = definition.GetGenericArguments().Select(ArgumentFor).ToArray();
        if (arguments.Any(a => a is null))
        {
            return null;
        }

        try
        {
            return definition.MakeGenericType(arguments!);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static Type? ArgumentFor(Type parameter)
    {
        var constraints = parameter.GetGenericParameterConstraints();
        return constraints.Contains(typeof(IEngineEventSink)) ? typeof(GatewaySink)
            : constraints.Contains(typeof(IPositionKeeper)) ? typeof(LedgerPositions)
            : null;
    }
}
