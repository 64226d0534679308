using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;

namespace Prox.Actors.Events;

/// <summary>
/// Cluster mode only: shares this node's events with the cluster. Subscribes to the local event stream; each event
/// raised here (<see cref="ProxEvent.Node"/> null) is stamped with this node's cluster address, then published on the
/// <see cref="Topic"/> (every node's <see cref="EventLog"/>, this one's included, shows it) and, once webhooks are
/// running, sent to the Notifier singleton's proxy, so each event becomes one webhook cluster-wide rather than one per
/// node. Consumers that want the whole cluster's events listen on the topic, never on the local stream.
/// </summary>
public sealed class ClusterEventRelay : ReceiveActor
{
    /// <summary>The DistributedPubSub topic every node's events are published on.</summary>
    public const string Topic = "prox-events";

    private readonly string _node;
    private readonly IActorRef _mediator;
    private IActorRef? _notifier;

    /// <param name="node">This node's cluster address, stamped on its events.</param>
    public ClusterEventRelay(string node)
    {
        _node = node;
        _mediator = DistributedPubSub.Get(Context.System).Mediator;
        Receive<ProxEvent>(OnEvent);
        Receive<RelayToNotifier>(m => _notifier = m.Notifier);
    }

    public static Props Props(string node) => Akka.Actor.Props.Create(() => new ClusterEventRelay(node));

    protected override void PreStart() => Context.System.EventStream.Subscribe<ProxEvent>(Self);

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private void OnEvent(ProxEvent e)
    {
        // an event that already names a node was shared by its raiser; sharing it again would duplicate it
        if (e.Node is not null) return;
        var stamped = e with { Node = _node };
        _mediator.Tell(new Publish(Topic, stamped));
        _notifier?.Tell(stamped);
    }
}

/// <summary>Local to a node: from now on, the relay also sends each event to <paramref name="Notifier"/> (the Notifier
/// singleton's proxy). Sent when webhooks start; events before that are not webhooked, as in standalone mode.</summary>
public sealed record RelayToNotifier(IActorRef Notifier);
