using Prox.Actors.Config;

namespace Prox.Actors.Backends;

/// <summary>
/// The few live values of a backend that the request path reads or updates without a message:
/// the exact in-flight count and the outcome tally (Interlocked, written by requests) and the latency EWMA
/// (written only by the backend's actor). One instance lives as long as the backend; every snapshot points to it.
/// </summary>
public sealed class BackendLive
{
    private int _inFlight;
    private long _ewmaMicros;
    private Akka.Actor.IActorRef _mailbox = Akka.Actor.ActorRefs.Nobody;

    public BackendLive(string routeId, BackendConfig config)
    {
        RouteId = routeId;
        Config = config;
        Id = config.Id;
        // YARP wants the destination prefix without a trailing slash so path concatenation is exact.
        DestinationPrefix = config.Url.GetLeftPart(UriPartial.Path).TrimEnd('/');
    }

    public string RouteId { get; }
    public string Id { get; }
    public BackendConfig Config { get; }
    public string DestinationPrefix { get; }

    /// <summary>The longest one attempt on this backend may take (its own timeout, else the route's request
    /// timeout): how long a half-open breaker waits for a trial to report before it hands out new permits.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeoutsConfig.Default.Request;

    /// <summary>Where the request path tells outcomes: the backend actor's current incarnation, which sets it when
    /// it starts (a crash-restarted actor is a new actor); until then, whoever created the backend.</summary>
    public Akka.Actor.IActorRef Mailbox
    {
        get => Volatile.Read(ref _mailbox);
        set => Volatile.Write(ref _mailbox, value);
    }

    /// <summary>Sets <see cref="Mailbox"/> only if nobody has yet (the actor may start before its creator gets here).</summary>
    public void OfferMailbox(Akka.Actor.IActorRef fallback) =>
        Interlocked.CompareExchange(ref _mailbox, fallback, Akka.Actor.ActorRefs.Nobody);

    /// <summary>Ordinary outcomes counted here by the request path; the backend's actor folds them.</summary>
    public OutcomeTally Tally { get; } = new();

    /// <summary>
    /// Reports how one attempt on this backend ended. An answer that is not a gateway failure, and a client that
    /// left, are counted on <see cref="Tally"/> (no message; the actor folds them within
    /// <see cref="OutcomeTally.FoldDelay"/>). A failure, and any breaker trial, is told to <see cref="Mailbox"/> at once,
    /// with how many answers came before it.
    /// </summary>
    /// <param name="trial">The half-open permits the request held, when it was a breaker trial.</param>
    public void Report(OutcomeKind kind, int status, TimeSpan latency, Breaker.HalfOpenPermits? trial = null)
    {
        if (trial is null && kind is OutcomeKind.Success or OutcomeKind.ClientAbort)
        {
            var due = kind == OutcomeKind.Success ? Tally.AddAnswered(latency) : Tally.AddAborted();
            if (due) Mailbox.Tell(TallyDue.Instance, Akka.Actor.ActorRefs.NoSender);
            return;
        }
        Mailbox.Tell(new RequestOutcome(kind, status, latency) { Trial = trial, AnsweredBefore = Tally.Answered },
            Akka.Actor.ActorRefs.NoSender);
    }

    public int InFlight => Volatile.Read(ref _inFlight);

    public void Enter() => Interlocked.Increment(ref _inFlight);

    public void Exit() => Interlocked.Decrement(ref _inFlight);

    private int _webSockets;

    /// <summary>Upgraded (WebSocket) exchanges with this backend now; also counted in <see cref="InFlight"/>.</summary>
    public int WebSockets => Volatile.Read(ref _webSockets);

    public void EnterWebSocket() => Interlocked.Increment(ref _webSockets);

    public void ExitWebSocket() => Interlocked.Decrement(ref _webSockets);

    /// <summary>Latency EWMA in microseconds; 0 until the first sample. Sole writer: the BackendActor.</summary>
    public long EwmaMicros
    {
        get => Volatile.Read(ref _ewmaMicros);
        set => Volatile.Write(ref _ewmaMicros, value);
    }
}
