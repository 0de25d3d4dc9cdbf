namespace Aivora.Transport.LogBuffer;

/// <summary>
/// The three zeroed partitions of a log (<see cref="LogBufferDescriptor.AllocatePartitions"/>), kept for reuse by the
/// publications of one driver (and, in a pool of their own, by its images: <see cref="Driver.MediaDriver.ImageLogs"/>).
/// Allocating them is what a new publication costs the thread that adds it: every page is
/// written once up front, so that the stream never takes a page fault, and on this VM the first write of a page costs
/// ~10 us (three 1 MiB terms: ~8 ms: a node's session reply publication, on the engine thread at each logon in invoker
/// mode). A log returned here is cleared (its pages already mapped: ~1% of that) and handed to the next publication of its
/// term length; <see cref="Reserve"/> fills the pool before the first session comes. Rent and return are cold paths, under
/// a lock: any of the driver's threads may call them.
/// </summary>
public sealed class TermBufferPool
{
    private readonly Dictionary<int, Stack<byte[][]>> _free = [];
    private readonly Lock _lock = new();

    /// <summary>Logs kept per term length at most (more returned are left to the collector): bounds what an idle pool holds.</summary>
    public int MaxKeptPerLength { get; init; } = 64;

    /// <summary>Logs handed out from the pool (not allocated) since the driver started.</summary>
    public long Reused { get; private set; }

    /// <summary>Logs allocated because the pool had none of the term length asked for.</summary>
    public long Allocated { get; private set; }

    /// <summary>Zeroed partitions of <paramref name="termLength"/>: a kept log if there is one, else new ones.</summary>
    public byte[][] Rent(int termLength)
    {
        if (TryRent(termLength, out var terms))
        {
            return terms;
        }

        lock (_lock)
        {
            Allocated++;
        }

        return LogBufferDescriptor.AllocatePartitions(termLength);
    }

    /// <summary>A kept log of <paramref name="termLength"/> if there is one (zeroed, its pages mapped); false: none, and nothing allocated.</summary>
    public bool TryRent(int termLength, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out byte[][]? terms)
    {
        lock (_lock)
        {
            if (_free.TryGetValue(termLength, out var kept) && kept.TryPop(out terms))
            {
                Reused++;
                return true;
            }
        }

        terms = null;
        return false;
    }

    /// <summary>Takes back a log nothing reads or writes any more: cleared here, then kept (up to <see cref="MaxKeptPerLength"/>).</summary>
    public void Return(byte[][] terms)
    {
        if (terms.Length != LogBufferDescriptor.PartitionCount)
        {
            throw new ArgumentException($"a log has {LogBufferDescriptor.PartitionCount} partitions, not {terms.Length}", nameof(terms));
        }

        foreach (var term in terms)
        {
            Array.Clear(term);
        }

        lock (_lock)
        {
            Keep(terms);
        }
    }

    /// <summary>Allocates <paramref name="count"/> logs of <paramref name="termLength"/> now (start-up), so that as many sessions find one ready.</summary>
    public void Reserve(int termLength, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var reserved = new byte[count][][];
        for (var i = 0; i < count; i++)
        {
            reserved[i] = LogBufferDescriptor.AllocatePartitions(termLength);
        }

        lock (_lock)
        {
            foreach (var terms in reserved)
            {
                Keep(terms);
            }
        }
    }

    // Under the lock: onto its term length's stack, unless that already holds MaxKeptPerLength (then left to the collector).
    private void Keep(byte[][] terms)
    {
        if (!_free.TryGetValue(terms[0].Length, out var kept))
        {
            _free[terms[0].Length] = kept = new Stack<byte[][]>();
        }

        if (kept.Count < MaxKeptPerLength)
        {
            kept.Push(terms);
        }
    }

    /// <summary>Logs of <paramref name="termLength"/> ready to hand out.</summary>
    public int Available(int termLength)
    {
        lock (_lock)
        {
            return _free.TryGetValue(termLength, out var kept) ? kept.Count : 0;
        }
    }
}
