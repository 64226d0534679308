using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;

namespace Prox.Actors.Events;

/// <summary>
/// Keeps the most recent <see cref="ProxEvent"/>s in memory for <c>/status</c> and <c>/admin/events</c>,
/// and writes each one to the log. Nobody sends to it directly: standalone it subscribes to the local event stream;
/// in cluster mode to the <see cref="ClusterEventRelay.Topic"/>, so it keeps the whole cluster's events (this node's
/// arrive there too, stamped with its address) and each event once.
/// </summary>
public sealed class EventLog : ReceiveActor
{
    public const int DefaultCapacity = 1000;

    private readonly int _capacity;
    private readonly bool _cluster;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<ProxEvent> _events = new();
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);

    /// <param name="cluster">Read the cluster's events from the pub-sub topic instead of the local event stream.</param>
    public EventLog(int capacity, bool cluster = false)
    {
        _capacity = capacity;
        _cluster = cluster;
        Receive<ProxEvent>(OnEvent);
        Receive<GetEvents>(q => Sender.Tell(Page(q)));
        Receive<SubscribeAck>(_ => { });
    }

    public static Props Props(int capacity = DefaultCapacity, bool cluster = false) =>
        Akka.Actor.Props.Create(() => new EventLog(capacity, cluster));

    protected override void PreStart()
    {
        // not both: this node's events would then arrive twice (raw from the stream, stamped from the topic)
        if (_cluster) DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(ClusterEventRelay.Topic, Self));
        else Context.System.EventStream.Subscribe<ProxEvent>(Self);
    }

    protected override void PostStop()
    {
        if (!_cluster) Context.System.EventStream.Unsubscribe(Self);
    }

    private void OnEvent(ProxEvent e)
    {
        // ids are unique per event; in a cluster a repeat (a node's relay restarted mid-publish, say) must not show twice
        if (_cluster && !_ids.Add(e.Id)) return;
        // a first health check passing changed nothing; if it ends an outage announced before a restart, the Notifier
        // raises the backend-up that says so
        if (e is { Initial: true, Kind: ProxEventKinds.BackendUp }) return;
        if (e.Node is null)
            _log.Info("Event {EventKind} route={RouteId} backend={BackendId}: {Detail}", e.Kind, e.Route, e.Backend, e.Detail);
        else
            _log.Info("Event {EventKind} route={RouteId} backend={BackendId} node={Node}: {Detail}",
                e.Kind, e.Route, e.Backend, e.Node, e.Detail);
        _events.Enqueue(e);
        while (_events.Count > _capacity) _ids.Remove(_events.Dequeue().Id);
    }

    private EventsPage Page(GetEvents q)
    {
        // page by position in the log (arrival order, which is causal); ids sort only to the millisecond,
        // so comparing them is just the fallback for an id that has already left the window
        IEnumerable<ProxEvent> after = _events;
        if (q.Since is not null)
        {
            var index = 0;
            var found = -1;
            foreach (var e in _events)
            {
                if (e.Id == q.Since) found = index;
                index++;
            }
            after = found >= 0
                ? _events.Skip(found + 1)
                : _events.Where(e => string.CompareOrdinal(e.Id, q.Since) > 0);
        }
        var list = q.Since is null ? after.TakeLast(q.Limit).ToImmutableArray() : after.Take(q.Limit).ToImmutableArray();
        var more = q.Since is not null && after.Count() > q.Limit;
        return new EventsPage(list, more);
    }
}

/// <summary>Events after <paramref name="Since"/> (oldest first, at most <paramref name="Limit"/>), or the
/// newest <paramref name="Limit"/> when <paramref name="Since"/> is null.</summary>
public sealed record GetEvents(string? Since, int Limit);

/// <param name="More">True when more events follow the last one returned.</param>
public sealed record EventsPage(ImmutableArray<ProxEvent> Events, bool More);
