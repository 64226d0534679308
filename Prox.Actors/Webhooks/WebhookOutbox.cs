using System.Collections.Immutable;
using Prox.Actors.Events;

namespace Prox.Actors.Webhooks;

/// <summary>
/// One webhook's undelivered events, oldest first, and its totals. Immutable; the Notifier applies the same
/// transitions when it persists an event and when it replays one, so recovery rebuilds exactly this state.
/// </summary>
public sealed record WebhookOutbox(ImmutableList<ProxEvent> Pending, long Delivered, long Dropped)
{
    public static readonly WebhookOutbox Empty = new([], 0, 0);

    /// <summary>The event to deliver next, or null when nothing is pending.</summary>
    public ProxEvent? Head => Pending.IsEmpty ? null : Pending[0];

    /// <summary>Appends <paramref name="e"/>; when that exceeds <paramref name="maxPending"/>, drops the oldest and returns it.</summary>
    public (WebhookOutbox Outbox, ProxEvent? Dropped) Enqueue(ProxEvent e, int maxPending)
    {
        // a replayed journal may hold an event twice only if it was enqueued twice; keep the outbox a set anyway
        if (Pending.Any(p => p.Id == e.Id))
            return (this, null);
        var pending = Pending.Add(e);
        if (pending.Count <= maxPending)
            return (this with { Pending = pending }, null);
        var dropped = pending[0];
        return (this with { Pending = pending.RemoveAt(0), Dropped = Dropped + 1 }, dropped);
    }

    /// <summary>Removes the delivered event (normally the head); unknown ids (dropped meanwhile) change nothing.</summary>
    public WebhookOutbox Deliver(string eventId)
    {
        var index = Pending.FindIndex(p => p.Id == eventId);
        return index < 0 ? this : this with { Pending = Pending.RemoveAt(index), Delivered = Delivered + 1 };
    }
}
