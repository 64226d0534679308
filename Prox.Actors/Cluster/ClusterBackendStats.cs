namespace Prox.Actors.Cluster;

/// <summary>
/// What <c>/status</c> shows of sharded backends on this node: which entities it owns, how many messages its links
/// sent for how many request outcomes (the per-request cost of clustering), and how long availability changes took to
/// arrive from another node's owner (propagation delay). Written by the entities and links on this node (never by the
/// request path), read by the status endpoint.
/// </summary>
public sealed class ClusterBackendStats
{
    /// <summary>Propagation delays kept for the percentiles (the most recent ones).</summary>
    public const int Samples = 1000;

    /// <summary>How many of the most recent delays <c>/status</c> lists one by one (for benchmarks that pair them with
    /// the changes they made).</summary>
    public const int Recent = 100;

    private readonly object _gate = new();
    private readonly SortedSet<string> _owned = new(StringComparer.Ordinal);
    private readonly Queue<double> _delaysMs = new();
    private long _outcomes;
    private long _batches;
    private long _trials;
    private long _subscribes;
    private long _updates;

    public void EntityStarted(string entityId)
    {
        lock (_gate) _owned.Add(entityId);
    }

    public void EntityStopped(string entityId)
    {
        lock (_gate) _owned.Remove(entityId);
    }

    public void BatchSent(int outcomes)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _outcomes, outcomes);
    }

    public void TrialSent()
    {
        Interlocked.Increment(ref _trials);
        Interlocked.Increment(ref _outcomes);
    }

    public void SubscribeSent() => Interlocked.Increment(ref _subscribes);

    /// <summary>An availability change arrived from an owner on another node, <paramref name="delay"/> after it happened there.</summary>
    public void ChangeReceived(TimeSpan delay)
    {
        Interlocked.Increment(ref _updates);
        lock (_gate)
        {
            _delaysMs.Enqueue(Math.Max(0, delay.TotalMilliseconds));
            while (_delaysMs.Count > Samples) _delaysMs.Dequeue();
        }
    }

    public ClusterBackendSnapshot Snapshot()
    {
        string[] owned;
        double[] delays;
        lock (_gate)
        {
            owned = [.. _owned];
            delays = [.. _delaysMs];
        }
        var recent = delays.Skip(Math.Max(0, delays.Length - Recent)).Select(d => Math.Round(d, 3)).ToArray();
        Array.Sort(delays);
        var outcomes = Interlocked.Read(ref _outcomes);
        var messages = Interlocked.Read(ref _batches) + Interlocked.Read(ref _trials);
        return new ClusterBackendSnapshot(
            [.. owned.Select(id => BackendKey.Parse(id) is { } k ? $"{k.RouteId}/{k.BackendId}" : id)],
            outcomes, messages, outcomes == 0 ? 0 : Math.Round((double)messages / outcomes, 6), Interlocked.Read(ref _subscribes),
            new PropagationSummary(Interlocked.Read(ref _updates), Percentile(delays, 0.5), Percentile(delays, 0.99), delays.Length == 0 ? 0 : Math.Round(delays[^1], 3), recent));
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 3);
}

/// <param name="Owned">Backends (<c>route/backend</c>) whose entity runs on this node.</param>
/// <param name="Outcomes">Request outcomes this node's links reported to owners.</param>
/// <param name="OutcomeMessages">Messages that took them (batches and half-open trial outcomes).</param>
/// <param name="MessagesPerRequest"><see cref="OutcomeMessages"/> / <see cref="Outcomes"/>.</param>
/// <param name="Subscriptions">Subscription messages sent (start-up and the periodic resubscription that restarts
/// entities after a failover): a constant rate per backend, independent of traffic.</param>
public sealed record ClusterBackendSnapshot(string[] Owned, long Outcomes, long OutcomeMessages, double MessagesPerRequest,
    long Subscriptions, PropagationSummary Propagation);

/// <param name="Changes">Availability changes received from owners on other nodes.</param>
/// <param name="RecentMs">The delays of the last <see cref="ClusterBackendStats.Recent"/> of them, oldest first.</param>
public sealed record PropagationSummary(long Changes, double P50Ms, double P99Ms, double MaxMs, double[] RecentMs);
