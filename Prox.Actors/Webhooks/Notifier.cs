using Prox.Actors.Persistence;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Prox.Actors.Events;
using Prox.Actors.Timing;

namespace Prox.Actors.Webhooks;

/// <param name="SnapshotEvery">Deliveries between snapshots (each snapshot also deletes the journal before it).</param>
/// <param name="Random">Source of jitter in [0, 1); tests pass a constant.</param>
public sealed record NotifierOptions(int SnapshotEvery, Func<double> Random)
{
    public static readonly NotifierOptions Default = new(100, System.Random.Shared.NextDouble) { DropRepeatedStates = true };

    /// <summary>Keep each backend's and pool's last announced state in the journal (<see cref="AnnouncedStates"/>) and
    /// drop a backend-down/up or pool-down/up that repeats it: a backend still down after a restart, and in cluster mode
    /// every node reporting the same pool transition. Judge a backend's first passing health check after a start
    /// (<see cref="ProxEvent.Initial"/>) against it: was announced down, so it is up again. On in Prox (both modes).</summary>
    public bool DropRepeatedStates { get; init; }

    /// <summary>Cluster mode: answer each event with <see cref="EventAccepted"/> once it is stored for every webhook
    /// that wants it, and keep the accepted ids in the snapshot, because each node's relay sends an event again until
    /// it is acknowledged. Off standalone, where events come from the local event stream (no sender to answer) and are
    /// never resent.</summary>
    public bool AcknowledgeEvents { get; init; }
}

/// <summary>
/// The webhook outbox. Receives <see cref="ProxEvent"/>s (standalone its parent subscribes it to the event stream: see
/// <see cref="NotifierSupervision"/>; in cluster mode it is a singleton fed by every node's relay: see
/// <see cref="NotifierSingleton"/>); persists a <see cref="WebhookEnqueued"/> for each
/// webhook that wants an event <em>before</em> trying to deliver it, and a <see cref="WebhookDelivered"/> after a 2xx,
/// so every event is delivered at least once, across restarts. Each webhook has at most one POST in flight (strict
/// order per webhook); webhooks never wait for each other. Failed POSTs are retried with exponential backoff and jitter.
/// An event whose id it accepted recently (<see cref="RecentEventIds"/>) is a relay's resend: acknowledged again, not
/// enqueued again.
/// </summary>
public sealed class Notifier : Persistence.TrimmingPersistentActor, IWithTimers
{
    public const string DefaultPersistenceId = "prox-notifier";

    private sealed record DeliveryCompleted(string Webhook, string EventId, WebhookResponse Response);

    private sealed record RetryDue(string Webhook);

    /// <summary>±20% on every retry delay, never beyond the webhook's max-backoff, so receivers coming back are not hit
    /// in lock-step.</summary>
    private static readonly Jitter RetryJitter = Jitter.AroundWithinMax(0.2);

    /// <summary>Per-webhook delivery progress; lives only in memory (a restart starts the attempt count again).</summary>
    private sealed class Delivery
    {
        public string? InFlight;
        public bool RetryScheduled;
        public string? AttemptsFor;
        public int Attempts;
        public long FailedAttempts;
        public DateTimeOffset? LastAttemptAt;
        public DateTimeOffset? LastDeliveredAt;
        public string? LastError;
        public DateTimeOffset? NextAttemptAt;
    }

    private readonly ImmutableArray<WebhookConfig> _hooks;
    private readonly Dictionary<string, WebhookConfig> _byName;
    private readonly Dictionary<string, WebhookOutbox> _outboxes = new();
    private readonly Dictionary<string, Delivery> _delivery = new();
    private readonly IWebhookSender _sender;
    private readonly NotifierOptions _options;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private int _deliveredSinceSnapshot;
    private long _orphaned;
    private AnnouncedStates _announced = AnnouncedStates.Empty;
    private readonly RecentEventIds _accepted = new(RecentEventIds.DefaultCapacity);

    public Notifier(ImmutableArray<WebhookConfig> hooks, IWebhookSender sender, NotifierOptions options, string persistenceId)
        : base("webhook outbox")
    {
        _hooks = hooks;
        _byName = hooks.ToDictionary(h => h.Name);
        _sender = sender;
        _options = options;
        PersistenceId = persistenceId;
        foreach (var h in hooks)
        {
            _outboxes[h.Name] = WebhookOutbox.Empty;
            _delivery[h.Name] = new Delivery();
        }

        Recover<SnapshotOffer>(OnSnapshotOffer);
        Recover<WebhookEnqueued>(ApplyEnqueued);
        Recover<WebhookDelivered>(ApplyDelivered);
        Recover<StateAnnounced>(ApplyAnnounced);
        Recover<RecoveryCompleted>(_ => OnRecovered());

        Command<ProxEvent>(OnEvent);
        Command<NotifierHandover>(_ => Context.Stop(Self));
        Command<DeliveryCompleted>(OnDeliveryCompleted);
        Command<RetryDue>(OnRetryDue);
        Command<GetWebhookStatus>(_ => Sender.Tell(Status()));
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ImmutableArray<WebhookConfig> hooks, IWebhookSender sender, NotifierOptions? options = null,
        string persistenceId = DefaultPersistenceId) =>
        Akka.Actor.Props.Create(() => new Notifier(hooks, sender, options ?? NotifierOptions.Default, persistenceId));

    private DateTimeOffset Now => Context.System.Scheduler.Now;

    // ---- state transitions (applied both live and on replay) ----

    private void OnSnapshotOffer(SnapshotOffer offer)
    {
        if (offer.Snapshot is not NotifierSnapshot snapshot) return;
        foreach (var id in snapshot.AcceptedEventIds ?? []) _accepted.Add(id);
        foreach (var a in snapshot.Announced ?? []) ApplyAnnounced(a);
        foreach (var o in snapshot.Outboxes)
        {
            if (!_byName.ContainsKey(o.Webhook))
            {
                _orphaned += o.Pending.Length;
                continue;
            }
            _outboxes[o.Webhook] = new WebhookOutbox([.. o.Pending], o.Delivered, o.Dropped);
        }
    }

    private void ApplyEnqueued(WebhookEnqueued e)
    {
        _accepted.Add(e.Event.Id);
        if (!_byName.TryGetValue(e.Webhook, out var hook))
        {
            _orphaned++; // stored for a webhook that is no longer configured
            return;
        }
        var (outbox, dropped) = _outboxes[e.Webhook].Enqueue(e.Event, hook.MaxPending);
        _outboxes[e.Webhook] = outbox;
        if (dropped is not null && !IsRecovering)
            _log.Warning("Webhook {Webhook} outbox is full ({MaxPending} pending): dropped the oldest event {EventId} ({EventKind})",
                hook.Name, hook.MaxPending, dropped.Id, dropped.Kind);
    }

    private void ApplyDelivered(WebhookDelivered d)
    {
        if (_outboxes.TryGetValue(d.Webhook, out var outbox))
            _outboxes[d.Webhook] = outbox.Deliver(d.EventId);
    }

    private void ApplyAnnounced(StateAnnounced a) => _announced = _announced.With(a);

    private void OnRecovered()
    {
        if (_orphaned > 0)
            _log.Warning("Ignored {Count} undelivered events for webhooks that are no longer configured", _orphaned);
        var pending = _outboxes.Values.Sum(o => o.Pending.Count);
        if (pending > 0)
            _log.Info("Webhook outbox recovered with {Pending} undelivered events; delivering them now", pending);
        foreach (var h in _hooks) TryDeliver(h.Name);
    }

    // ---- commands ----

    private void OnEvent(ProxEvent e)
    {
        var relay = Sender;
        if (_accepted.Contains(e.Id))
        {
            // a relay's resend of an event already stored (its ack was lost or crossed the resend)
            _log.Debug("Event {EventId} from {Node} already accepted; acknowledging it again", e.Id, e.Node);
            Acknowledge(relay, e.Id);
            return;
        }
        StateAnnounced? announce = null;
        if (_options.DropRepeatedStates)
        {
            if (e.Initial && e.Kind == ProxEventKinds.BackendUp)
            {
                OnFirstCheckPassed(e);
                Acknowledge(relay, e.Id);
                return;
            }
            (var keep, announce) = _announced.Offer(e);
            if (!keep)
            {
                _log.Info("Dropped {EventKind} for route {RouteId} backend {BackendId} from {Node}: already announced",
                    e.Kind, e.Route, e.Backend, e.Node);
                // remembered so that a resend is not judged again against a state that has moved on since
                _accepted.Add(e.Id);
                Acknowledge(relay, e.Id);
                return;
            }
        }
        var owed = new List<INotifierPersisted>(_hooks.Length + 1);
        if (announce is not null) owed.Add(announce);
        owed.AddRange(_hooks.Where(h => h.Wants(e.Kind)).Select(h => new WebhookEnqueued(h.Name, e)));
        if (owed.Count == 0)
        {
            // not remembered: judging a resend again gives the same answer
            Acknowledge(relay, e.Id);
            return;
        }
        var left = owed.Count;
        PersistAll(owed, stored =>
        {
            if (stored is WebhookEnqueued enqueued)
            {
                ApplyEnqueued(enqueued);
                TryDeliver(enqueued.Webhook);
            }
            else ApplyAnnounced((StateAnnounced)stored);
            if (--left == 0) Acknowledge(relay, e.Id); // stored for every webhook that wants it
        });
    }

    /// <summary>
    /// A backend's first health check since its Prox started passed. Announced down before (the restart), it is up
    /// again: raised as an ordinary <c>backend-up</c>, and its route's pool, announced down too, as <c>pool-up</c>. They
    /// are published, not stored here: they come back like any event (the event log shows them; in a cluster through the
    /// relay), pass as news and are stored then. Anything else announced before stays as it is: nothing changed.
    /// </summary>
    private void OnFirstCheckPassed(ProxEvent e)
    {
        if (e is not { Route: { } route, Backend: { } backend }
            || _announced.Last(AnnouncedStates.BackendKey(route, backend)) != ProxEventKinds.BackendDown) return;
        _log.Info("Backend {BackendId} in {RouteId} was announced down before the restart and is up now", backend, route);
        Raise(ProxEvent.Create(Now, ProxEventKinds.BackendUp, route, backend,
            $"up again: {e.Detail} (it was announced down before Prox restarted)"));
        if (_announced.Last(AnnouncedStates.PoolKey(route)) == ProxEventKinds.PoolDown)
            Raise(ProxEvent.Create(Now, ProxEventKinds.PoolUp, route, null,
                $"backend {backend} is up again (the pool was announced down before Prox restarted)"));
    }

    /// <summary>Publishes an event the Notifier raised itself, and tells it to itself as well: the published copy
    /// reaches it with itself as sender, which its <see cref="NotifierSupervision"/> back-off supervisor passes to its
    /// own parent instead (Akka's rule for messages from the child). A second copy (cluster relay) is judged once: the
    /// event id is remembered when stored.</summary>
    private void Raise(ProxEvent e)
    {
        Context.System.EventStream.Publish(e);
        Self.Tell(e, ActorRefs.NoSender);
    }

    /// <summary>Cluster mode: tells the relay that sent the event that it may forget it. Standalone events come from the
    /// event stream, whose sender is dead letters: nobody to answer, and answering would only log dead letters.</summary>
    private void Acknowledge(IActorRef relay, string eventId)
    {
        if (!_options.AcknowledgeEvents || relay.IsNobody() || relay.Equals(Context.System.DeadLetters)) return;
        relay.Tell(new EventAccepted(eventId));
    }

    /// <summary>Starts a POST of the webhook's oldest pending event unless one is in flight or a retry is waiting.</summary>
    private void TryDeliver(string webhook)
    {
        var d = _delivery[webhook];
        if (d.InFlight is not null || d.RetryScheduled || _outboxes[webhook].Head is not { } head) return;
        if (d.AttemptsFor != head.Id)
        {
            d.AttemptsFor = head.Id;
            d.Attempts = 0;
        }
        d.InFlight = head.Id;
        d.LastAttemptAt = Now;
        d.NextAttemptAt = null;
        var request = WebhookPayload.Build(_byName[webhook], head, d.Attempts + 1);
        var eventId = head.Id;
        _sender.SendAsync(request).PipeTo(Self,
            success: r => new DeliveryCompleted(webhook, eventId, r),
            failure: ex => new DeliveryCompleted(webhook, eventId, new WebhookResponse(0, ex.Message)));
    }

    private void OnDeliveryCompleted(DeliveryCompleted m)
    {
        var d = _delivery[m.Webhook];
        if (_outboxes[m.Webhook].Head?.Id != m.EventId)
        {
            // dropped from a full outbox while in flight: move on
            d.InFlight = null;
            TryDeliver(m.Webhook);
            return;
        }
        if (m.Response.Ok)
        {
            Persist(new WebhookDelivered(m.Webhook, m.EventId), delivered =>
            {
                ApplyDelivered(delivered);
                d.InFlight = null;
                d.Attempts = 0;
                d.LastDeliveredAt = Now;
                MaybeSnapshot();
                TryDeliver(m.Webhook);
            });
            return;
        }

        d.InFlight = null;
        d.Attempts++;
        d.FailedAttempts++;
        d.LastError = m.Response.Error ?? $"HTTP {m.Response.Status}";
        var hook = _byName[m.Webhook];
        var delay = Backoff.Delay(d.Attempts, hook.Backoff, hook.MaxBackoff, RetryJitter, _options.Random());
        d.RetryScheduled = true;
        d.NextAttemptAt = Now + delay;
        Timers.StartSingleTimer("retry:" + m.Webhook, new RetryDue(m.Webhook), delay);
        _log.Warning("Webhook {Webhook}: delivering {EventId} failed (attempt {Attempt}): {Error}; next try in {Delay}",
            m.Webhook, m.EventId, d.Attempts, d.LastError, delay);
    }

    private void OnRetryDue(RetryDue m)
    {
        _delivery[m.Webhook].RetryScheduled = false;
        TryDeliver(m.Webhook);
    }

    private void MaybeSnapshot()
    {
        if (++_deliveredSinceSnapshot < _options.SnapshotEvery) return;
        _deliveredSinceSnapshot = 0;
        SaveSnapshot(new NotifierSnapshot([.. _outboxes.Select(kv =>
            new OutboxSnapshot(kv.Key, kv.Value.Delivered, kv.Value.Dropped, [.. kv.Value.Pending]))],
            // standalone nothing is resent, so the ids would only make every snapshot larger
            _options.AcknowledgeEvents ? [.. _accepted.OldestFirst] : null,
            [.. _announced.All.Select(kv => new StateAnnounced(kv.Key, kv.Value))]));
    }

    private WebhookStatusReply Status() => new([.. _hooks.Select(h =>
    {
        var o = _outboxes[h.Name];
        var d = _delivery[h.Name];
        return new WebhookStatus(h.Name, h.DisplayUrl, h.EffectiveEvents, h.Format.ToString().ToLowerInvariant(),
            o.Pending.Count, o.Delivered, d.FailedAttempts, o.Dropped,
            d.LastAttemptAt, d.LastDeliveredAt, d.LastError, d.NextAttemptAt);
    })]);
}
