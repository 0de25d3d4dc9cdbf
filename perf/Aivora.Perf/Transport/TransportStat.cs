using System.Globalization;
using System.Text;
using Aivora.Transport.Counters;

namespace Aivora.Perf.Transport;

/// <summary>
/// Out-of-process counters reader (Aeron's AeronStat for our driver): maps a driver's counters file
/// and prints one STAT line per record, once or every second for <c>--watch N</c> rounds.
/// </summary>
public static class TransportStat
{
    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0].StartsWith('-'))
        {
            Console.Error.WriteLine("usage: transport-stat <counters-file> [--watch N]");
            return 2;
        }
        if (CommandLine.Check("transport-stat", args[1..], [], ["--watch"]) is { } unknown)
        {
            Console.Error.WriteLine(unknown);
            return 2;
        }

        // Rounds a second apart: at most a day of them.
        if (!CommandLine.TryInt("transport-stat", args, "--watch", 1, 1, 86_400, out var rounds, out var error))
        {
            Console.Error.WriteLine(error);
            return 2;
        }

        for (int round = 0; round < rounds; round++)
        {
            if (round > 0) Thread.Sleep(1000);
            CountersSnapshot snapshot;
            try
            {
                snapshot = CountersReader.Read(args[0]);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"transport-stat: {e.Message}");
                return 1;
            }
            Console.WriteLine(FormattableString.Invariant(
                $"STAT driver pid={snapshot.ProcessId} records={snapshot.Records.Count} heartbeat_age_ms={(long)(DateTimeOffset.UtcNow - snapshot.Heartbeat).TotalMilliseconds}"));
            foreach (var record in snapshot.Records)
            {
                var line = new StringBuilder(FormattableString.Invariant(
                    $"STAT kind={record.Kind.ToString().ToLowerInvariant()} session={record.SessionId} stream={record.StreamId} label=\"{record.Label}\""));
                foreach (var (name, value) in record.Values) line.Append(CultureInfo.InvariantCulture, $" {name}={value}");
                Console.WriteLine(line);
            }
        }
        return 0;
    }
}
