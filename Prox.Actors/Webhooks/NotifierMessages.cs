using System.Collections.Immutable;
using Prox.Actors.Events;
using Prox.Actors.Storage;

namespace Prox.Actors.Webhooks;

/// <summary>Marks what the Notifier writes to its journal; bound to <see cref="NotifierSerializer"/>.</summary>
public interface INotifierPersisted;

/// <summary>Persisted before the first delivery attempt: <paramref name="Event"/> is owed to webhook <paramref name="Webhook"/>.</summary>
public sealed record WebhookEnqueued(string Webhook, ProxEvent Event) : INotifierPersisted;

/// <summary>Persisted after a 2xx: the event left the webhook's outbox.</summary>
public sealed record WebhookDelivered(string Webhook, string EventId) : INotifierPersisted;

/// <summary>Persisted before the events owed for it: <paramref name="Kind"/> is now the announced state of the backend or
/// pool <paramref name="Key"/> (see <see cref="AnnouncedStates"/>).</summary>
public sealed record StateAnnounced(string Key, string Kind) : INotifierPersisted;

/// <summary>The whole outbox, saved every few deliveries so recovery replays only what followed.</summary>
/// <param name="AcceptedEventIds">The most recently accepted event ids, oldest first (<see cref="RecentEventIds"/>), so
/// a relay's resend after the snapshot is still recognised. Null in snapshots stored before it existed, which still
/// load (the set then holds only what the journal after them replays).</param>
/// <param name="Announced">Each backend's and pool's last announced state (<see cref="AnnouncedStates"/>); null in
/// snapshots stored before it existed.</param>
public sealed record NotifierSnapshot(ImmutableArray<OutboxSnapshot> Outboxes, ImmutableArray<string>? AcceptedEventIds = null,
    ImmutableArray<StateAnnounced>? Announced = null) : INotifierPersisted;

public sealed record OutboxSnapshot(string Webhook, long Delivered, long Dropped, ImmutableArray<ProxEvent> Pending);

/// <summary>Query: each webhook's delivery state → <see cref="WebhookStatusReply"/>. Both cross nodes in cluster mode,
/// where any node's <c>/status</c> asks the Notifier singleton.</summary>
public sealed record GetWebhookStatus : IClusterMessage
{
    public static readonly GetWebhookStatus Instance = new();
}

public sealed record WebhookStatusReply(ImmutableArray<WebhookStatus> Webhooks) : IClusterMessage
{
    public static readonly WebhookStatusReply Empty = new([]);
}

/// <summary>One webhook on <c>/status</c>. Never carries the secret; the URL has no user info.</summary>
/// <param name="Pending">Events stored and not yet delivered.</param>
/// <param name="FailedAttempts">Failed POSTs since start-up (each retry counts).</param>
/// <param name="Dropped">Events dropped because the outbox was full.</param>
public sealed record WebhookStatus(
    string Name,
    string Url,
    IReadOnlyList<string> Events,
    string Format,
    int Pending,
    long Delivered,
    long FailedAttempts,
    long Dropped,
    DateTimeOffset? LastAttemptAt,
    DateTimeOffset? LastDeliveredAt,
    string? LastError,
    DateTimeOffset? NextAttemptAt);
