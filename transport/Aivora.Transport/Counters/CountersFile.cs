using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text;
using Aivora.Transport.Driver;
using Aivora.Transport.Subscription;
using static Aivora.Transport.Counters.CountersLayout;

namespace Aivora.Transport.Counters;

/// <summary>
/// Writes the driver's counters into a memory-mapped file (<see cref="CountersLayout"/>) for
/// out-of-process readers such as <c>transport-stat</c>. Only the conductor writes; every publish
/// rewrites the records in use and then the count and heartbeat. Allocation-free per publish.
/// </summary>
public sealed unsafe class CountersFile : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly int _maxRecords;
    private int _next;

    public string Path { get; }

    public CountersFile(string path, int maxRecords = 1024)
    {
        Path = path;
        _maxRecords = maxRecords;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        long length = HeaderLength + (long)maxRecords * RecordLength;
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Create, null, length, MemoryMappedFileAccess.ReadWrite);
        _view = _file.CreateViewAccessor(0, length);
        byte* pointer = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + _view.PointerOffset;
        var header = new Span<byte>(_base, HeaderLength);
        header.Clear();
        BinaryPrimitives.WriteInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], FileVersion);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], RecordLength);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], maxRecords);
        BinaryPrimitives.WriteInt64LittleEndian(header[PidOffset..], Environment.ProcessId);
        BinaryPrimitives.WriteInt64LittleEndian(header[StartOffset..], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    /// <summary>Rewrites every record from the live objects, then the record count and the heartbeat.</summary>
    internal void Publish(NetworkPublication[] publications, NetworkSubscription[] subscriptions, int agentFailures)
    {
        _next = 0;
        int images = 0;
        foreach (var subscription in subscriptions) images += subscription.ImageSnapshot.Length;
        Span<long> driver = [publications.Length, subscriptions.Length, images, agentFailures];
        Write(CounterKind.Driver, 0, 0, "driver", driver);
        foreach (var publication in publications) Write(publication);
        foreach (var subscription in subscriptions)
        {
            Write(subscription);
            foreach (var image in subscription.ImageSnapshot) Write(image);
        }
        for (int i = _next; i < _maxRecords && Kind(i) != CounterKind.Free; i++) Record(i).Clear();
        var header = new Span<byte>(_base, HeaderLength);
        BinaryPrimitives.WriteInt32LittleEndian(header[RecordCountOffset..], _next);
        BinaryPrimitives.WriteInt64LittleEndian(header[HeartbeatOffset..], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    private void Write(NetworkPublication p)
    {
        ref readonly var c = ref p.Counters;
        Span<long> v =
        [
            p.Position, p.ReceiverPosition, p.IsConnected ? 1 : 0, c.DataDatagramsSent, c.BytesSent, c.SetupsSent, c.HeartbeatsSent,
            c.StatusMessagesReceived, c.StatusMessagesRejected, c.NaksReceived, c.Retransmits, c.RetransmittedBytes,
            c.RttmReplies, c.ErrorsReceived, c.BackPressureEvents, p.Channel.SendFailures,
        ];
        Write(CounterKind.Publication, p.Log.SessionId, p.Log.StreamId, p.Label, v);
    }

    private void Write(NetworkSubscription s)
    {
        ref readonly var c = ref s.Counters;
        Span<long> v =
        [
            s.ImageSnapshot.Length, c.DatagramsReceived, c.Malformed, c.SetupsReceived, c.SetupsRejected, c.StatusMessagesSent, c.NaksSent,
            c.SetupsElicited, c.ImagesAvailable, c.ImagesUnavailable, c.OtherStreams, s.Channel.ReceiveCalls, s.Channel.SendFailures,
        ];
        Write(CounterKind.Subscription, 0, s.StreamId, s.Label, v);
    }

    private void Write(Image image)
    {
        ref readonly var c = ref image.Counters;
        Span<long> v =
        [
            image.SubscriberPosition, image.RebuildPosition, image.HighWaterMark, c.PacketsInserted, c.FramesDelivered, c.BytesDelivered,
            c.Heartbeats, c.Duplicates, c.Malformed, c.UnderRuns, c.OverRuns, c.CorruptFrames,
        ];
        Write(CounterKind.Image, image.SessionId, image.StreamId, "image", v);
    }

    private void Write(CounterKind kind, int sessionId, int streamId, string label, ReadOnlySpan<long> values)
    {
        if (_next == _maxRecords) return; // full: the rest are not shown, the driver carries on
        var record = Record(_next++);
        BinaryPrimitives.WriteInt32LittleEndian(record, (int)kind);
        BinaryPrimitives.WriteInt32LittleEndian(record[4..], sessionId);
        BinaryPrimitives.WriteInt32LittleEndian(record[8..], streamId);
        BinaryPrimitives.WriteInt32LittleEndian(record[12..], values.Length);
        var labelBytes = record.Slice(LabelOffset, LabelLength);
        labelBytes.Clear();
        Encoding.UTF8.TryGetBytes(label.AsSpan(0, Math.Min(label.Length, LabelLength)), labelBytes, out _); // labels are ASCII endpoints
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(record[(ValuesOffset + i * sizeof(long))..], values[i]);
    }

    private Span<byte> Record(int index) => new(_base + HeaderLength + (long)index * RecordLength, RecordLength);
    private CounterKind Kind(int index) => (CounterKind)BinaryPrimitives.ReadInt32LittleEndian(Record(index));

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
