using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;

namespace Prox.Actors.Events;

/// <summary>
/// Keeps the most recent <see cref="ProxEvent"/>s in memory for <c>/status</c> and <c>/admin/events</c>,
/// and writes each one to the log. Subscribes to the event stream; nobody sends to it directly.
/// </summary>
public sealed class EventLog : ReceiveActor
{
    public const int DefaultCapacity = 1000;

    private readonly int _capacity;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<ProxEvent> _events = new();

    public EventLog(int capacity)
    {
        _capacity = capacity;
        Receive<ProxEvent>(OnEvent);
        Receive<GetEvents>(q => Sender.Tell(Page(q)));
    }

    public static Props Props(int capacity = DefaultCapacity) => Akka.Actor.Props.Create(() => new EventLog(capacity));

    protected override void PreStart() => Context.System.EventStream.Subscribe<ProxEvent>(Self);

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private void OnEvent(ProxEvent e)
    {
        _log.Info("Event {EventKind} route={RouteId} backend={BackendId}: {Detail}", e.Kind, e.Route, e.Backend, e.Detail);
        _events.Enqueue(e);
        while (_events.Count > _capacity) _events.Dequeue();
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
