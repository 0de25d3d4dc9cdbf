using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
/// the generic ones as the node closes them (over <see cref="GatewaySink"/> and <see cref="LedgerPositions"/>), and then
/// what their code calls that has no compiled code yet, as their IL names it (<see cref="IlReader"/>):
/// <list type="bullet">
/// <item>generic methods of the engine's own assemblies closed over its own value types (an image's poll over the gateway's
/// fragment handler, a log's write over its writers), followed through their own calls;</item>
/// <item>the runtime's libraries' methods, two calls deep: a generic one closed over the engine's value types has no
/// precompiled code (<c>Utf8.TryWriteInterpolatedStringHandler.AppendFormatted&lt;long&gt;</c> in a liquidation's explanation
/// compiled on the engine thread at the first liquidation: 4 ms; a dictionary over <c>ulong</c> keys);</item>
/// <item>the platform-invoke stubs of the native calls (<see cref="Marshal.Prelink"/>).</item>
/// </list>
/// What a static reading cannot reach (a virtual call inside the runtime's libraries, as a sort's helper behind
/// <c>Span&lt;long&gt;.Sort</c>) is taken once on a scratch value (<see cref="ExerciseLibraryPaths"/>). <see cref="NodeHost"/>
/// counts what the engine thread still compiles while it runs (the main command prints it; a system test holds it at 0).
/// </summary>
public static class CodePreparation
{
    /// <param name="Methods">methods of the engine's assemblies compiled</param>
    /// <param name="Skipped">methods (or whole generic types) of them left to their first call: abstract or runtime-implemented,
    /// generic over types the node does not use, or refused by the runtime</param>
    /// <param name="Reached">methods their code calls compiled too: the engine's generic methods closed over its own types, the
    /// runtime's libraries' methods, the native calls' stubs</param>
    /// <param name="Elapsed">how long it all took</param>
    public readonly record struct Outcome(int Methods, int Skipped, int Reached, TimeSpan Elapsed);

    // How far calls into the runtime's libraries are followed: three calls deep (a dictionary's indexer reaches TryInsert, and
    // that its Initialize and Resize, which two left out), no further (the libraries' graph is large, and what lies deeper is
    // precompiled or behind virtual calls).
    private const int LibraryDepth = 3;

    private const BindingFlags Declared = BindingFlags.DeclaredOnly | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;

    // The project's own assemblies: a call into one of them is followed only to a generic method closed over the caller's types
    // (its other methods are prepared with their assembly, or never run on the thread being prepared for).
    private static readonly Assembly[] s_ours =
    [
        typeof(IEngineEventSink).Assembly,                    // Aivora.Core
        typeof(GatewaySink).Assembly,                         // Aivora.Gateway
        typeof(Aivora.Exchange.NewOrderDecoder).Assembly,     // Aivora.Codecs
        typeof(Aivora.Transport.Driver.MediaDriver).Assembly, // Aivora.Transport
        typeof(Aivora.Client.Session.ExchangeClient).Assembly,
        typeof(NodeHost).Assembly,
    ];

    /// <summary>The engine thread's code: Core, Gateway, Codecs and Transport whole, and this assembly's engine folder (its loop).</summary>
    public static Outcome PrepareEngineCode() => Prepare(s_ours[..4], [typeof(NodeHost).Namespace!]);

    /// <summary>
    /// The demo load's code (its thread plays the market makers, takers and feeder): the client library whole, this assembly's
    /// load and configuration folders, on top of the engine's (the transport they share). A path its clients first took mid-run
    /// (a liquidation's public status, a reject) compiled on the load thread, and every client it serves waited: 3 methods,
    /// 2.7 ms, in the main command's runs of 2026-12-02, the clients' round-trip max. A market maker's own process would do the same.
    /// </summary>
    public static Outcome PrepareLoadCode() =>
        Prepare([typeof(Aivora.Client.Session.ExchangeClient).Assembly], [typeof(Aivora.Node.Load.WireLoad).Namespace!, typeof(Aivora.Node.Configuration.DefaultConfiguration).Namespace!]);

    /// <param name="nodeNamespaces">The folders of this assembly to prepare with them: the engine's loop, or the load's loop and
    /// the configuration it reads (its lists, read through the compiler's own list types, compiled on the load thread mid-run).</param>
    private static Outcome Prepare(Assembly[] wholeAssemblies, string[] nodeNamespaces)
    {
        var started = Stopwatch.GetTimestamp();
        int prepared = 0, skipped = 0, reached = 0;
        var types = wholeAssemblies.SelectMany(TypesOf).Concat(TypesOf(typeof(NodeHost).Assembly).Where(t => nodeNamespaces.Contains(t.Namespace)));
        var calls = new Queue<(MethodBase Method, int Depth)>();
        var seen = new HashSet<MethodBase>();
        foreach (var type in types)
        {
            var closed = type.IsGenericTypeDefinition ? Close(type) : type;
            if (closed is null)
            {
                skipped++;
                continue;
            }

            foreach (var method in closed.GetMethods(Declared).Cast<MethodBase>().Concat(closed.GetConstructors(Declared)))
            {
                if (IsNative(method))
                {
                    Prelink(method);
                    continue;
                }

                var compiled = Prepare(method);
                if (compiled is null)
                {
                    skipped++;
                    continue;
                }

                prepared++;
                seen.Add(compiled);
                calls.Enqueue((compiled, 0));
            }
        }

        // What that code calls, breadth first. A generic type of ours the code creates, closed over the caller's types, has every
        // method prepared, not only its constructor: its interface implementations run through the interface (a collection
        // expression's `<>z__ReadOnlySingleElementList<T>` enumerated where an IEnumerable is asked for: 4 methods, 1.1 ms, on
        // the engine thread at the first logon in `perf wire`).
        while (calls.TryDequeue(out var caller))
        {
            var callees = CalleesOf(caller.Method).ToList();
            foreach (var callee in callees.Concat(callees.Where(CreatesOurGenericType).SelectMany(c => MethodsOf(c.DeclaringType!))))
            {
                var ours = s_ours.Contains(callee.DeclaringType?.Assembly);
                var depth = ours ? 0 : caller.Depth + 1;
                if ((ours && !IsClosedGeneric(callee)) || depth > LibraryDepth || !seen.Add(callee))
                {
                    continue;   // the engine's non-generic methods are all prepared above; the libraries' only so deep
                }

                if (IsNative(callee) ? Prelink(callee) : Prepare(callee) is not null)
                {
                    reached++;
                    calls.Enqueue((callee, depth));
                }
            }
        }

        reached += ExerciseLibraryPaths();
        return new Outcome(prepared, skipped, reached, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>
    /// Takes, once, the paths of the runtime's libraries the engine uses that no static reading reaches (virtual calls inside
    /// them), on scratch values: sorting longs (the index's and the mark's medians, the ADL ranking). Returns how many it took.
    /// </summary>
    private static int ExerciseLibraryPaths()
    {
        // Twenty values: a sort of three or fewer swaps in place and never reaches the insertion sort that longer runs use.
        Span<long> values = stackalloc long[20];
        var ranked = new long[20];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = ranked[i] = values.Length - i;
        }

        values.Sort();
        Array.Sort(ranked, 0, ranked.Length);
        return values[0] == 1 && ranked[0] == 1 ? 2 : 0;
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

    /// <summary>
    /// Compiles a method: one of the engine's (a generic method definition closed as the node closes it) or one its code calls
    /// (closed already). Returns what was compiled, or null when there is nothing to compile or the runtime refused.
    /// </summary>
    private static MethodBase? Prepare(MethodBase method)
    {
        if (method.IsAbstract || (method.ContainsGenericParameters && !method.IsGenericMethodDefinition)
            || (method.MethodImplementationFlags & (MethodImplAttributes.InternalCall | MethodImplAttributes.Runtime)) != 0
            || method.GetMethodBody() is null)
        {
            return null;
        }

        try
        {
            if (method.IsGenericMethodDefinition)
            {
                var arguments = method.GetGenericArguments().Select(ArgumentFor).ToArray();
                if (arguments.Any(a => a is null))
                {
                    return null;
                }

                var closed = ((MethodInfo)method).MakeGenericMethod(arguments!);
                Compile(closed);
                return closed;
            }

            Compile(method);
            return method;
        }
        catch (Exception)
        {
            // Constraints the node's types do not meet (the node never calls it so), or anything else the runtime refuses:
            // preparing is an optimisation, never a reason for the node not to start. The method compiles at its first call.
            return null;
        }
    }

    /// <summary>
    /// Compiles a method with no open generic parameters. Its entry point is asked for first: on .NET 10 a virtual method (an
    /// interface's implementation: the driver's agents' duty cycles, a listener's callbacks) whose entry point nobody has
    /// asked for yet is left uncompiled by <see cref="RuntimeHelpers.PrepareMethod(RuntimeMethodHandle, RuntimeTypeHandle[])"/>,
    /// which then compiled on the engine thread at its first call (seen with the JIT's own per-thread count, 2026-12-02).
    /// </summary>
    private static void Compile(MethodBase method)
    {
        Type[] instantiation = [.. method.DeclaringType is { IsGenericType: true } owner ? owner.GetGenericArguments() : [], .. method.IsGenericMethod ? method.GetGenericArguments() : []];
        _ = method.MethodHandle.GetFunctionPointer();
        RuntimeHelpers.PrepareMethod(method.MethodHandle, instantiation.Length == 0 ? null : [.. instantiation.Select(t => t.TypeHandle)]);
    }

    /// <summary>
    /// The methods <paramref name="method"/>'s code calls, creates or takes the address of, as its IL names them, resolved in
    /// its generic context (a call through an interface names the interface's method: nothing to compile there).
    /// </summary>
    private static IEnumerable<MethodBase> CalleesOf(MethodBase method)
    {
        byte[]? il;
        try
        {
            il = method.GetMethodBody()?.GetILAsByteArray();
        }
        catch (Exception)
        {
            yield break;
        }

        if (il is null)
        {
            yield break;
        }

        var typeArguments = method.DeclaringType is { IsGenericType: true } owner ? owner.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        foreach (var (token, constrainedToken) in IlReader.MethodTokens(il))
        {
            MethodBase? callee;
            try
            {
                callee = method.Module.ResolveMethod(token, typeArguments, methodArguments);
                if (constrainedToken != 0 && callee is MethodInfo { DeclaringType.IsInterface: true } declared
                    && method.Module.ResolveType(constrainedToken, typeArguments, methodArguments) is { IsValueType: true } target)
                {
                    callee = Implementation(target, declared) ?? callee;   // the struct's own method: what the call runs
                }
            }
            catch (Exception)
            {
                continue;   // a token the runtime cannot resolve in this context: nothing to prepare
            }

            if (callee is not null && !callee.ContainsGenericParameters)
            {
                yield return callee;
            }
        }
    }

    /// <summary>The method of <paramref name="target"/> (a struct) that implements <paramref name="declared"/>, or null.</summary>
    private static MethodInfo? Implementation(Type target, MethodInfo declared)
    {
        if (declared.IsGenericMethod || declared.DeclaringType is not { } contract || !contract.IsAssignableFrom(target))
        {
            return null;
        }

        var map = target.GetInterfaceMap(contract);
        var at = Array.IndexOf(map.InterfaceMethods, declared);
        return at < 0 ? null : map.TargetMethods[at];
    }

    private static bool CreatesOurGenericType(MethodBase callee) =>
        callee is ConstructorInfo { DeclaringType: { IsGenericType: true, ContainsGenericParameters: false } type } && s_ours.Contains(type.Assembly);

    private static IEnumerable<MethodBase> MethodsOf(Type type) =>
        type.GetMethods(Declared).Where(m => !m.IsGenericMethodDefinition).Cast<MethodBase>().Concat(type.GetConstructors(Declared));

    private static bool IsClosedGeneric(MethodBase method) =>
        (method.IsGenericMethod || method.DeclaringType is { IsGenericType: true }) && !method.ContainsGenericParameters;

    private static bool IsNative(MethodBase method) => (method.Attributes & MethodAttributes.PinvokeImpl) != 0;

    /// <summary>Builds a native call's marshalling stub now (the runtime compiles one per imported function at its first call).</summary>
    private static bool Prelink(MethodBase method)
    {
        try
        {
            Marshal.Prelink((MethodInfo)method);
            return true;
        }
        catch (Exception)
        {
            return false;   // the library or the entry point is missing here: the call would fail the same way later
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
