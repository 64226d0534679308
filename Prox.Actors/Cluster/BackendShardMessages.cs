using System.Collections.Immutable;
using System.Text.Json.Serialization;
using Prox.Actors.Backends;
using Prox.Actors.Breaker;
using Prox.Actors.Storage;

namespace Prox.Actors.Cluster;

/// <summary>A message for the sharded entity of one backend; <see cref="EntityId"/> says which (<see cref="BackendKey"/>).</summary>
public interface IBackendEntityMessage
{
    string EntityId { get; }
}

/// <summary>
/// A node's route says it uses the backend (sent at start and every <see cref="BackendLink.ResubscribeEvery"/>): the
/// entity (re)starts if needed, keeps the sender as a subscriber, and answers with a <see cref="BackendStateUpdate"/>.
/// The periodic resend is what starts a backend's entity again on a surviving node after its owner is gone.
/// </summary>
/// <param name="Fingerprint">Of the backend's config on the sending node (<see cref="BackendKey.Fingerprint"/>).</param>
public sealed record BackendSubscribe(string EntityId, string Fingerprint) : IBackendEntityMessage, IClusterMessage;

/// <summary>A node's route no longer uses the backend (removed by a reload, or the route stopped).</summary>
public sealed record BackendUnsubscribe(string EntityId) : IBackendEntityMessage, IClusterMessage;

/// <summary>
/// Request outcomes of one node for one backend since its last batch, in order, with consecutive equal outcomes
/// folded into runs: a few messages a second per backend and node however many requests there are.
/// </summary>
public sealed record OutcomeBatch(string EntityId, ImmutableArray<OutcomeRun> Runs) : IBackendEntityMessage, IClusterMessage
{
    /// <summary>How many outcomes the batch holds.</summary>
    public int Count => Runs.Sum(r => r.Count);

    /// <summary>The batch in the backend actor's own protocol, which knows nothing of sharding.</summary>
    public RecordOutcomes ToRecordOutcomes() => new(Runs);
}

/// <summary>
/// The outcome of a half-open breaker trial, sent at once rather than batched: the breaker waits for it. The permit
/// object only exists on the owner's node, where the trial was admitted; should the entity have moved, the trial is
/// lost in transit and the breaker's trial deadline hands out new permits.
/// </summary>
public sealed record TrialOutcome(string EntityId, OutcomeKind Kind, int Status, long LatencyMicros) : IBackendEntityMessage, IClusterMessage
{
    [JsonIgnore]
    public HalfOpenPermits? Trial { get; init; }

    /// <summary>The trial's outcome in the backend actor's own protocol, with its permits.</summary>
    public RequestOutcome ToRequestOutcome() => new(Kind, Status, TimeSpan.FromMicroseconds(LatencyMicros)) { Trial = Trial };
}

/// <summary>Asks the entity for the backend's <see cref="BackendStatus"/> (answered by its BackendActor).</summary>
public sealed record BackendStatusQuery(string EntityId) : IBackendEntityMessage, IClusterMessage;

/// <summary>
/// The owner's view of a backend, sent to every subscriber when availability changes and in answer to each
/// <see cref="BackendSubscribe"/>. <paramref name="Incarnation"/> and <paramref name="Seq"/> order updates: a
/// subscriber takes one from a new incarnation (the entity moved or restarted) or with a higher sequence number.
/// </summary>
/// <param name="Owner">Cluster address of the node whose entity owns the backend.</param>
/// <param name="Available">As the RouteActor should take it. A half-open backend is available only on the owner's node,
/// which holds the trial permits; elsewhere it counts as unavailable until the breaker closes.</param>
/// <param name="ChangedAt">When the owner saw the change (wall clock; nodes on one machine measure propagation with it).</param>
public sealed record BackendStateUpdate(
    string EntityId, string Owner, long Incarnation, long Seq, bool Available, DateTimeOffset? EjectedUntil,
    DateTimeOffset ChangedAt, string Fingerprint) : IClusterMessage
{
    /// <summary>What the owner knew at this change, for a future owner (<see cref="BackendCarry"/>).</summary>
    public BackendCarry? Carry { get; init; }

    /// <summary>The breaker's trial permits; only on the owner's node (never serialized).</summary>
    [JsonIgnore]
    public HalfOpenPermits? Trials { get; init; }

    /// <summary>Unavailable only by its guard, not its health checks (a route in panic still uses it).</summary>
    public bool Guarded { get; init; }
}
