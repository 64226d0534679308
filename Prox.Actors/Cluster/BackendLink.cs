using Akka.Actor;
using Akka.Event;
using Prox.Actors.Backends;

namespace Prox.Actors.Cluster;

/// <summary>
/// Cluster mode: what a route on this node has in place of the backend's actor (<see cref="IBackendActors"/>). It
/// subscribes to the backend's sharded <see cref="BackendEntity"/> wherever that runs, turns the owner's state updates
/// into <see cref="BackendAvailabilityChanged"/> for its route (so the route's snapshot, and the request path, stay
/// local and lock-free), and sends the owner this node's request outcomes in batches. It keeps this node's own
/// latency EWMA (least-latency balancing reads it) and in-flight count; <c>/status</c> asks the owner.
/// </summary>
public sealed class BackendLink : ReceiveActor, IWithTimers
{
    /// <summary>How often the link subscribes again: a heartbeat to the owner, and what re-creates the entity on a
    /// surviving node after its owner left or crashed (sharding starts entities on the first message).</summary>
    public static readonly TimeSpan ResubscribeEvery = TimeSpan.FromSeconds(1);

    /// <summary>A batch holding a backend failure goes this soon: the owner's ejection or breaker is waiting for it.</summary>
    public static readonly TimeSpan FailureFlush = TimeSpan.FromMilliseconds(20);

    /// <summary>A batch of successes only goes this late: it feeds counters and latency, nothing urgent.</summary>
    public static readonly TimeSpan SuccessFlush = TimeSpan.FromSeconds(1);

    /// <summary>How long <c>/status</c> waits for the owner before answering from what the link last heard.</summary>
    public static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(1.5);

    private sealed record Flush
    {
        public static readonly Flush Instance = new();
    }

    private sealed record Resubscribe
    {
        public static readonly Resubscribe Instance = new();
    }

    private readonly IActorRef _region;
    private readonly string _entityId;
    private readonly string _fingerprint;
    private readonly BackendMemory _m;
    private readonly ClusterBackendStats _stats;
    private readonly OutcomeBatcher _batch = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private BackendStateUpdate? _last;
    private BackendCarry? _carry;
    private TimeSpan? _flushIn;

    public BackendLink(IActorRef region, string entityId, string fingerprint, BackendMemory memory, ClusterBackendStats stats)
    {
        _region = region;
        _entityId = entityId;
        _fingerprint = fingerprint;
        _m = memory;
        _stats = stats;
        Receive<RequestOutcome>(OnOutcome);
        Receive<TallyDue>(_ => TallyDue.ScheduleFold(Timers));
        Receive<FoldTally>(_ => Fold());
        Receive<Flush>(_ => SendBatch());
        Receive<Resubscribe>(_ => Subscribe());
        Receive<BackendStateUpdate>(OnUpdate);
        // a new owner asks what the previous one knew: the last carry this link heard, if any
        Receive<BackendSeedRequest>(_ => Sender.Tell(new BackendSeed(_entityId, _carry)));
        Receive<GetBackendStatus>(_ => OnStatus());
        Receive<Supervision.InjectFault>(f => throw new Supervision.InjectedFaultException(f.Reason));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef region, string entityId, string fingerprint, BackendMemory memory, ClusterBackendStats stats) =>
        Akka.Actor.Props.Create(() => new BackendLink(region, entityId, fingerprint, memory, stats));

    protected override void PreStart()
    {
        _m.Live.Mailbox = Self;
        Fold();
        Subscribe();
        Timers.StartPeriodicTimer("subscribe", Resubscribe.Instance, ResubscribeEvery);
        // until the owner answers, the route goes on from what this backend's previous link last told it
        Context.Parent.Tell(new BackendAvailabilityChanged(_m.Live.Id, _m.LastAvailable, null));
    }

    protected override void PostStop()
    {
        Fold();
        SendBatch();
        _region.Tell(new BackendUnsubscribe(_entityId));
    }

    protected override void PostRestart(Exception reason)
    {
        _m.Crashes.Record(reason, Context.System.Scheduler.Now);
        base.PostRestart(reason);
    }

    private void Subscribe()
    {
        _stats.SubscribeSent();
        _region.Tell(new BackendSubscribe(_entityId, _fingerprint));
    }

    /// <summary>Takes what the request path counted on the tally: this node's counters and latency, and for the owner a
    /// run of answers (up to <paramref name="upTo"/>, a failure's <see cref="RequestOutcome.AnsweredBefore"/>) in the
    /// next batch, so it hears them in order with the failures.</summary>
    private void Fold(long upTo = long.MaxValue)
    {
        var (d, news) = _m.FoldTally(upTo);
        _batch.AddRun(OutcomeKind.ClientAbort, d.Aborted, TimeSpan.Zero);
        _batch.AddRun(OutcomeKind.Success, news, d.Answered > 0 ? d.MeanLatency : TimeSpan.FromMilliseconds(_m.Latency.EwmaMs));
        if (_batch.Count > 0) FlushWithin(_batch.HasFailure ? FailureFlush : SuccessFlush);
    }

    private void FlushWithin(TimeSpan due)
    {
        if (_flushIn is { } pending && pending <= due) return;
        _flushIn = due;
        Timers.StartSingleTimer("flush", Flush.Instance, due);
    }

    private void OnOutcome(RequestOutcome o)
    {
        if (o.AnsweredBefore >= 0) Fold(o.AnsweredBefore);
        _m.Requests++;
        if (o.IsBackendFailure) _m.Failures++;
        if (o.Kind is OutcomeKind.Success or OutcomeKind.GatewayStatus)
        {
            _m.Latency.Record(o.Latency);
            _m.Live.EwmaMicros = _m.Latency.EwmaMicros;
        }
        if (o.Trial is not null)
        {
            // the owner's breaker is waiting for exactly this: no batching
            _stats.TrialSent();
            _region.Tell(new TrialOutcome(_entityId, o.Kind, o.Status, (long)o.Latency.TotalMicroseconds) { Trial = o.Trial });
            return;
        }
        _batch.Add(o.Kind, o.Status, o.Latency);
        FlushWithin(_batch.HasFailure ? FailureFlush : SuccessFlush);
    }

    private void SendBatch()
    {
        _flushIn = null;
        Timers.Cancel("flush");
        if (_batch.Count == 0) return;
        var count = _batch.Count;
        _region.Tell(new OutcomeBatch(_entityId, _batch.Take()));
        _stats.BatchSent(count);
    }

    private void OnUpdate(BackendStateUpdate u)
    {
        var newer = _last is null || u.Incarnation != _last.Incarnation || u.Seq > _last.Seq;
        if (!newer) return;
        var changed = _last is null || _last.Available != u.Available || _last.EjectedUntil != u.EjectedUntil
                      || _last.Guarded != u.Guarded || !ReferenceEquals(_last.Trials, u.Trials);
        if (_last is not null && _last.Owner != u.Owner)
            _log.Info("Backend {BackendId} of route {RouteId} is now owned by {Owner} (was {Previous})",
                _m.Live.Id, _m.Live.RouteId, u.Owner, _last.Owner);
        // propagation delay: a change the owner on another node saw, not this link's first word from an owner
        if (changed && _last is not null && u.Incarnation == _last.Incarnation && !Sender.Path.Address.HasLocalScope)
            _stats.ChangeReceived(DateTimeOffset.UtcNow - u.ChangedAt);
        _last = u;
        if (u.Carry is not null) _carry = u.Carry;
        if (!changed) return;
        _m.LastAvailable = u.Available;
        Context.Parent.Tell(new BackendAvailabilityChanged(_m.Live.Id, u.Available, u.EjectedUntil) { Trials = u.Trials, Guarded = u.Guarded });
    }

    /// <summary>The owner's status of the backend with this node's in-flight count; what the link last heard when the
    /// owner does not answer in time (moving, or unreachable).</summary>
    private void OnStatus()
    {
        var live = _m.Live;
        var last = _last;
        var requests = _m.Requests;
        var failures = _m.Failures;
        var ewma = Math.Round(_m.Latency.EwmaMs, 3);
        _region.Ask<BackendStatus>(new BackendStatusQuery(_entityId), StatusTimeout).PipeTo(Sender,
            success: s => s with { InFlight = live.InFlight, Owner = last?.Owner },
            failure: _ => new BackendStatus(live.Id, live.Config.Url.ToString(), live.Config.Weight,
                last?.Available ?? _m.LastAvailable, "unknown", last?.EjectedUntil, live.InFlight, requests, failures, 0, 0,
                new LatencySummary(0, 0, 0, ewma))
            {
                Owner = last?.Owner,
                Breaker = BackendStatusView.Guard(last is { Available: false, Guarded: true }, last?.Trials is not null,
                    last?.EjectedUntil, live.Config.Breaker is null, DateTimeOffset.UtcNow),
            });
    }
}
