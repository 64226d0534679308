namespace Prox.Actors.Events;

/// <summary>
/// The events a node's <see cref="ClusterEventRelay"/> sent to the Notifier singleton and the Notifier has not yet
/// acknowledged, oldest first. A Tell to the singleton can vanish (its node crashed and is not yet removed, or its
/// journal failed), so the relay keeps each event until <see cref="EventAccepted"/> and sends it again when
/// <see cref="Due"/>. Bounded: beyond <see cref="Capacity"/> the oldest is dropped (the caller logs it), so a Notifier
/// that is gone for long cannot grow a node's memory without limit. No clock or actor inside: the relay passes the
/// time, tests pass any.
/// </summary>
public sealed class RelayOutbox(int capacity)
{
    private sealed class Entry(ProxEvent e, DateTimeOffset sentAt)
    {
        public ProxEvent Event { get; } = e;
        public DateTimeOffset SentAt { get; set; } = sentAt;
    }

    // send order, plus an index by id: acks normally come oldest first, but any one can be removed in O(1)
    private readonly LinkedList<Entry> _order = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _byId = new();

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    public int Count => _order.Count;

    /// <summary>Events dropped because the outbox was full, since start.</summary>
    public long Dropped { get; private set; }

    /// <summary>Keeps <paramref name="e"/>, just sent at <paramref name="now"/>. When that exceeds <see cref="Capacity"/>,
    /// drops the oldest and returns it. An id already kept is not added again.</summary>
    public ProxEvent? Add(ProxEvent e, DateTimeOffset now)
    {
        if (_byId.ContainsKey(e.Id)) return null;
        _byId[e.Id] = _order.AddLast(new Entry(e, now));
        if (_order.Count <= Capacity) return null;
        var oldest = _order.First!.Value.Event;
        Remove(oldest.Id);
        Dropped++;
        return oldest;
    }

    /// <summary>The Notifier acknowledged <paramref name="eventId"/>: forget it. Unknown ids (acked twice, or dropped
    /// meanwhile) change nothing.</summary>
    public bool Accept(string eventId) => Remove(eventId);

    /// <summary>
    /// The events last sent at least <paramref name="olderThan"/> before <paramref name="now"/>, oldest first (so
    /// resends keep the node's order), at most <paramref name="max"/>; each is marked sent at <paramref name="now"/>.
    /// </summary>
    public IReadOnlyList<ProxEvent> Due(DateTimeOffset now, TimeSpan olderThan, int max)
    {
        var due = new List<ProxEvent>();
        for (var node = _order.First; node is not null && due.Count < max; node = node.Next)
        {
            if (now - node.Value.SentAt < olderThan) continue;
            node.Value.SentAt = now;
            due.Add(node.Value.Event);
        }
        return due;
    }

    private bool Remove(string eventId)
    {
        if (!_byId.Remove(eventId, out var node)) return false;
        _order.Remove(node);
        return true;
    }
}
