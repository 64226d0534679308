using Akka.Actor;
using Prox.Actors.Backends;
using Prox.Actors.Breaker;

namespace Prox.Actors.Selection;

/// <summary>One backend as a snapshot sees it: its live counters, its effective weight and its actor.</summary>
public sealed record BackendEntry(BackendLive Live, int Weight, IActorRef Actor)
{
    public string Id => Live.Id;

    /// <summary>Set while the backend's breaker is half-open: a request may use the backend only if it wins a
    /// permit (one atomic decrement); null = no limit.</summary>
    public HalfOpenPermits? Trials { get; init; }
}
