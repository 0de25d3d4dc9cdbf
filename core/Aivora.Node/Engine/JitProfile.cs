using System.Reflection;
using System.Runtime.InteropServices;

namespace Aivora.Node.Engine;

/// <summary>
/// A JIT profile: block and class counts recorded from a training run, which the JIT reads as it compiles, so code
/// compiled fully optimized on its first call (the node runs without tiered compilation, see Aivora.Node.csproj) is laid
/// out and inlined for the paths the engine takes, as tiered PGO would have done after watching it run. Each executable
/// ships its own beside it (<c>{assembly}.jit-profile.txt</c>, recorded by perf/scripts/record-jit-profile.sh).
/// <para>
/// The runtime reads a profile only at start, from two environment variables (its text-format PGO reader:
/// <c>DOTNET_ReadPGOData</c>, <c>DOTNET_PGODataPath</c>; runtimeconfig.json cannot carry them), so an executable that
/// finds its profile and was started without them starts itself again with them set and waits for that copy: it passes
/// on the arguments, the console, the exit code and the signals that stop a process, and the copy stops if it is killed.
/// A profile changes only how code is compiled, never what it does: a method whose IL changed since the recording no
/// longer matches its entry (the runtime matches IL hashes) and compiles without counts.
/// </para>
/// <c>AIVORA_JIT_PROFILE=off</c> runs without one, in this process.
/// </summary>
public static partial class JitProfile
{
    public const string SwitchVariable = "AIVORA_JIT_PROFILE";
    private const string ReadVariable = "DOTNET_ReadPGOData";
    private const string PathVariable = "DOTNET_PGODataPath";
    private const string ParentVariable = "AIVORA_JIT_PROFILE_PARENT";   // set for the copy: the pid that waits for it
    private const int PrSetParentDeathSignal = 1;                         // prctl(PR_SET_PDEATHSIG, signal)

    /// <summary>Tiered compilation turned back on from the environment (the executables' runtimeconfig turns it off). The runtime
    /// then reads no profile: tiered PGO records its own as the process runs.</summary>
    public static bool Tiered =>
        (Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") ?? Environment.GetEnvironmentVariable("COMPlus_TieredCompilation")) == "1";

    /// <summary>The profile shipped beside an executable.</summary>
    public static string PathFor(Assembly entry) => Path.Combine(AppContext.BaseDirectory, entry.GetName().Name + ".jit-profile.txt");

    /// <summary>
    /// Starts this executable again with its profile applied, when it has one and none is applied yet, and returns that run's exit
    /// code; null: go on in this process (applied already, switched off, no profile, or <paramref name="entry"/> is not the
    /// process's entry point, as when a test calls a Main). An <c>AIVORA_JIT_PROFILE</c> that is neither on nor off is an
    /// error (exit code 2); errors go to standard error, as every message of this class. <paramref name="otherProfiles"/>: the profiles of other
    /// builds this run loads (perf node-ab's other build), merged with this one for the run, so each build's methods compile
    /// with their own counts.
    /// </summary>
    public static int? RunWithProfile(Assembly entry, string[] args, IReadOnlyList<string>? otherProfiles = null)
    {
        var setting = Environment.GetEnvironmentVariable(SwitchVariable);
        if (setting is not (null or "" or "on" or "off"))
        {
            Console.Error.WriteLine($"{SwitchVariable}={setting}: expected on or off");
            return 2;
        }

        if (Environment.GetEnvironmentVariable(ParentVariable) is { } parent && Assembly.GetEntryAssembly() == entry)
        {
            // The copy started by RunWithProfile: it stops with the process that waits for it, even one killed outright (which
            // cannot pass a signal on). On Linux the kernel signals a child whose parent dies (PR_SET_PDEATHSIG); a parent gone
            // before that was set is seen in getppid.
            Environment.SetEnvironmentVariable(ParentVariable, null);   // not inherited by what this process starts
            if (OperatingSystem.IsLinux() && int.TryParse(parent, out var parentPid)
                && (Interop.Prctl(PrSetParentDeathSignal, 15, 0, 0, 0) != 0 || Interop.GetParentPid() != parentPid))
            {
                Console.Error.WriteLine("jit profile: the process that started this one is gone");
                return 1;
            }

            return null;
        }

        var path = PathFor(entry);
        if (setting == "off" || Tiered || Environment.GetEnvironmentVariable(ReadVariable) is not null || !File.Exists(path) || Assembly.GetEntryAssembly() != entry
            || StartAgain(entry, args) is not { } start)   // the console is inherited
        {
            return null;
        }

        var host = start.FileName;

        var others = (otherProfiles ?? []).Where(File.Exists).ToArray();
        string? merged = null;
        try
        {
            merged = others.Length == 0 ? null : Merge(path, others);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"jit profile: could not merge {string.Join(", ", others)} into this build's profile ({ex.Message}); using this build's alone");
        }

        start.Environment[ReadVariable] = "1";
        start.Environment[PathVariable] = merged ?? path;
        start.Environment[ParentVariable] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        System.Diagnostics.Process child;
        try
        {
            child = System.Diagnostics.Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Console.Error.WriteLine($"jit profile: could not start {host} again ({ex.Message}); running without it");
            DeleteMerged(merged);
            return null;
        }

        using (child)
        {
            // A stop aimed at this process is the child's: pass it on and wait for the child to finish (a terminal's Ctrl+C
            // reaches both already).
            PosixSignalRegistration[] forwarded =
            [
                PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Forward(c, child.Id, 2)),
                PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Forward(c, child.Id, 15)),
                PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => Forward(c, child.Id, 1)),
                PosixSignalRegistration.Create(PosixSignal.SIGQUIT, c => Forward(c, child.Id, 3)),
            ];
            child.WaitForExit();   // bounded by the child's own run
            foreach (var registration in forwarded)
            {
                registration.Dispose();
            }

            DeleteMerged(merged);

            return child.ExitCode;
        }
    }

    /// <summary>
    /// How to start this executable again with <paramref name="args"/>: its apphost, or <c>dotnet</c> with
    /// <paramref name="entry"/>'s DLL when it was started as <c>dotnet X.dll</c>; null when the runtime does not know its own
    /// path. Nothing redirected: the copy shares this process's console unless the caller says otherwise.
    /// </summary>
    public static System.Diagnostics.ProcessStartInfo? StartAgain(Assembly entry, IEnumerable<string> args)
    {
        if (Environment.ProcessPath is not { } host)
        {
            return null;
        }

        var start = new System.Diagnostics.ProcessStartInfo(host) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            start.ArgumentList.Add(entry.Location);
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    /// <summary>What this process compiles with, for the startup output.</summary>
    public static string Describe(Assembly entry)
    {
        if (Environment.GetEnvironmentVariable(SwitchVariable) == "off")
        {
            return $"jit profile: off ({SwitchVariable}=off)";
        }

        if (Tiered)
        {
            return "jit profile: not read (tiered compilation is on: tiered PGO records its own as the process runs)";
        }

        var read = Environment.GetEnvironmentVariable(ReadVariable);
        if (read is not (null or "1"))
        {
            return $"jit profile: off ({ReadVariable}={read})";
        }

        if (read is null)
        {
            return File.Exists(PathFor(entry))
                ? "jit profile: not applied (this process was not started as the executable itself)"
                : $"jit profile: none ({Path.GetFileName(PathFor(entry))} not found): code compiles without counts";
        }

        var path = Environment.GetEnvironmentVariable(PathVariable) ?? "";
        var methods = File.Exists(path) ? File.ReadLines(path).Count(line => line.StartsWith("@@@ ", StringComparison.Ordinal)) : 0;
        return methods > 0
            ? $"jit profile: counts for {methods:N0} methods from {Path.GetFileName(path)}, read by the JIT as it compiles (recorded by perf/scripts/record-jit-profile.sh; {SwitchVariable}=off runs without)"
            : $"jit profile: {path} has no methods: code compiles without counts";
    }

    // One profile of several: each one's entries under one header (the runtime reads every entry; the header's count is not used).
    private static string Merge(string own, string[] others)
    {
        string[] sources = [own, .. others];
        var entries = sources.SelectMany(File.ReadLines).Where(line => !line.StartsWith("*** ", StringComparison.Ordinal)).ToList();
        var merged = Path.Combine(Path.GetTempPath(), $"{Path.GetFileNameWithoutExtension(own)}.merged-{Environment.ProcessId}.txt");
        File.WriteAllLines(merged,
        [
            $"*** START PGO Data, max index = {entries.Count(line => line.StartsWith("@@@ ", StringComparison.Ordinal))} ***",
            .. entries,
            "*** END PGO Data ***",
        ]);
        return merged;
    }

    private static void DeleteMerged(string? merged)
    {
        if (merged is not null)
        {
            File.Delete(merged);
        }
    }

    private static void Forward(PosixSignalContext context, int pid, int signal)
    {
        context.Cancel = true;
        _ = Interop.Kill(pid, signal);
    }

    private static partial class Interop
    {
        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        internal static partial int Kill(int pid, int signal);

        [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
        internal static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

        [LibraryImport("libc", EntryPoint = "getppid")]
        internal static partial int GetParentPid();
    }
}
