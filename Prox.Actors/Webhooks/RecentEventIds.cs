namespace Prox.Actors.Webhooks;

/// <summary>
/// The ids of the events the Notifier accepted most recently, at most <see cref="Capacity"/> (the oldest is forgotten
/// first). Cluster mode: a node's relay sends an event again until the Notifier acknowledges it, so an event can
/// arrive twice (the first ack was lost, or crossed the resend); an id found here is acknowledged again instead of
/// becoming a second webhook. The Notifier adds an id whenever it applies a <see cref="WebhookEnqueued"/>, live and on
/// replay, and keeps the ids in its snapshot, so the set survives restarts and singleton moves.
/// </summary>
public sealed class RecentEventIds(int capacity)
{
    public const int DefaultCapacity = 10_000;

    private readonly Queue<string> _order = new();
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    public int Count => _ids.Count;

    public bool Contains(string eventId) => _ids.Contains(eventId);

    /// <summary>Remembers <paramref name="eventId"/> (no-op when already known); forgets the oldest beyond capacity.</summary>
    public void Add(string eventId)
    {
        if (!_ids.Add(eventId)) return;
        _order.Enqueue(eventId);
        if (_order.Count > Capacity) _ids.Remove(_order.Dequeue());
    }

    /// <summary>The ids, oldest first: <see cref="Add"/>ing them in this order rebuilds the same set.</summary>
    public IEnumerable<string> OldestFirst => _order;
}
