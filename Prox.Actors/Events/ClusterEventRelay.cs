using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Prox.Actors.Storage;

namespace Prox.Actors.Events;

/// <summary>
/// Cluster mode only: shares this node's events with the cluster. Subscribes to the local event stream; each event
/// raised here (<see cref="ProxEvent.Node"/> null) is stamped with this node's cluster address, then published on the
/// <see cref="Topic"/> (every node's <see cref="EventLog"/>, this one's included, shows it) and, once webhooks are
/// running, sent to the Notifier singleton's proxy, so each event becomes one webhook cluster-wide rather than one per
/// node. Consumers that want the whole cluster's events listen on the topic, never on the local stream.
/// </summary>
/// <remarks>
/// A Tell to the singleton can be lost: its node crashed and the proxy still points there until the node is removed,
/// or the Notifier stopped on a journal failure before storing the event. So the relay keeps each event it sent in a
/// <see cref="RelayOutbox"/> until the Notifier answers <see cref="EventAccepted"/>, and every
/// <see cref="ResendInterval"/> sends again, oldest first, those sent at least that long ago. The Notifier ignores ids
/// it already accepted, so a resend never becomes a second webhook. At most <see cref="MaxUnacknowledged"/> are kept:
/// beyond that the oldest is dropped with a warning. The topic needs no such care: every node's event log is only a
/// view, and pub-sub is at most once anyway.
/// </remarks>
public sealed class ClusterEventRelay : ReceiveActor, IWithTimers
{
    /// <summary>The DistributedPubSub topic every node's events are published on.</summary>
    public const string Topic = "prox-events";

    /// <summary>How often unacknowledged events are looked at, and how long one waits for its ack before it is sent
    /// again. The ack normally takes milliseconds (one journal write), so this only bites when something was lost.</summary>
    public static readonly TimeSpan ResendInterval = TimeSpan.FromSeconds(2);

    /// <summary>Unacknowledged events kept per node: the Notifier may be gone for the split-brain resolver's whole
    /// decision (tens of seconds) or a database outage; beyond this the oldest is dropped.</summary>
    public const int MaxUnacknowledged = 10_000;

    /// <summary>Events resent per tick at most: no more than a singleton proxy buffers (1000 by default), so a resend
    /// while the singleton moves does not by itself overflow that buffer. The rest follow on the next ticks.</summary>
    public const int MaxResendPerTick = 1000;

    private sealed record ResendTick
    {
        public static readonly ResendTick Instance = new();
    }

    private readonly string _node;
    private readonly IActorRef _mediator;
    private readonly RelayOutbox _unacknowledged;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef? _notifier;

    /// <param name="node">This node's cluster address, stamped on its events.</param>
    /// <param name="mediator">Where topic publications go; null: the DistributedPubSub mediator (tests pass a probe,
    /// so the relay runs without a cluster).</param>
    /// <param name="maxUnacknowledged">See <see cref="MaxUnacknowledged"/>.</param>
    public ClusterEventRelay(string node, IActorRef? mediator, int maxUnacknowledged)
    {
        _node = node;
        _mediator = mediator ?? DistributedPubSub.Get(Context.System).Mediator;
        _unacknowledged = new RelayOutbox(maxUnacknowledged);
        Receive<ProxEvent>(OnEvent);
        Receive<RelayToNotifier>(OnRelayToNotifier);
        Receive<EventAccepted>(m => _unacknowledged.Accept(m.EventId));
        Receive<ResendTick>(_ => Resend());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="mediator">See the constructor; null in production.</param>
    public static Props Props(string node, IActorRef? mediator = null, int maxUnacknowledged = MaxUnacknowledged) =>
        Akka.Actor.Props.Create(() => new ClusterEventRelay(node, mediator, maxUnacknowledged));

    protected override void PreStart() => Context.System.EventStream.Subscribe<ProxEvent>(Self);

    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self);
        if (_unacknowledged.Count > 0)
            _log.Warning("Event relay stopping with {Count} events the webhook Notifier has not acknowledged; they get no webhook",
                _unacknowledged.Count);
    }

    private void OnRelayToNotifier(RelayToNotifier m)
    {
        _notifier = m.Notifier;
        Timers.StartPeriodicTimer("resend", ResendTick.Instance, ResendInterval);
    }

    private DateTimeOffset Now => Context.System.Scheduler.Now;

    private void OnEvent(ProxEvent e)
    {
        // an event that already names a node was shared by its raiser; sharing it again would duplicate it
        if (e.Node is not null) return;
        var stamped = e with { Node = _node };
        _mediator.Tell(new Publish(Topic, stamped));
        if (_notifier is null) return;
        _notifier.Tell(stamped);
        if (_unacknowledged.Add(stamped, Now) is { } dropped)
            _log.Warning("Webhook Notifier has not acknowledged {Count} events; dropped the oldest, {EventId} ({EventKind}), " +
                "which gets no webhook ({Dropped} dropped so far)", _unacknowledged.Capacity, dropped.Id, dropped.Kind,
                _unacknowledged.Dropped);
    }

    private void Resend()
    {
        var due = _unacknowledged.Due(Now, ResendInterval, MaxResendPerTick);
        if (due.Count == 0) return;
        _log.Info("Resending {Count} events the webhook Notifier has not acknowledged ({Pending} unacknowledged)",
            due.Count, _unacknowledged.Count);
        foreach (var e in due) _notifier!.Tell(e);
    }
}

/// <summary>Local to a node: from now on, the relay also sends each event to <paramref name="Notifier"/> (the Notifier
/// singleton's proxy), and resends it until acknowledged. Sent when webhooks start; events before that are not
/// webhooked, as in standalone mode.</summary>
public sealed record RelayToNotifier(IActorRef Notifier);

/// <summary>Cluster mode, the Notifier singleton → the relay that sent the event: the event is stored for every webhook
/// that wants it (or no webhook wants it), so the relay can forget it. Until this arrives the relay sends the event
/// again. Part of the relay's protocol, so the Notifier (which consumes events) depends on it, not the other way.</summary>
public sealed record EventAccepted(string EventId) : IClusterMessage;
