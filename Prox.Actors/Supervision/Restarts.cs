using Akka.Actor;
using Akka.Pattern;

namespace Prox.Actors.Supervision;

/// <summary>
/// How Prox's parents restart crashed children: through Akka's <see cref="BackoffSupervisor"/>, which stops the
/// crashed actor and starts a fresh one from the same <see cref="Props"/> after a growing delay (so an actor that
/// keeps crashing cannot spin), resetting the delay once a child has run for a while. The child's state lives in an
/// object its parent passes through the Props (for a backend: <c>BackendMemory</c>), so the new incarnation carries
/// on where the old one stopped; the route keeps serving from its last snapshot meanwhile.
/// </summary>
public static class Restarts
{
    /// <summary>Delay before the first restart; doubles per further crash.</summary>
    public static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(200);

    /// <summary>Cap on the delay between restarts.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>A child that has run this long without crashing starts again from <see cref="MinBackoff"/>.</summary>
    public static readonly TimeSpan ResetAfter = TimeSpan.FromSeconds(60);

    /// <summary>Random stretch of each delay (20%), so many actors crashed by one cause do not restart in lock-step.</summary>
    public const double RandomFactor = 0.2;

    /// <summary>
    /// Props of a supervisor that runs <paramref name="child"/> as <paramref name="childName"/> and restarts it with
    /// backoff after any exception. <paramref name="onCrash"/> sees each exception first (on the supervisor's
    /// thread, while the crashed child is suspended), so the next incarnation can report why it was restarted.
    /// While no child runs, messages sent to the supervisor are answered with <see cref="Restarting"/>.
    /// </summary>
    public static Props WithBackoff(Props child, string childName, Action<Exception>? onCrash = null) =>
        BackoffSupervisor.Props(
            Backoff.OnFailure(child, childName, MinBackoff, MaxBackoff, RandomFactor, -1)
                .WithAutoReset(ResetAfter)
                .WithReplyWhileStopped(Restarting.Instance)
                .WithSupervisorStrategy(new OneForOneStrategy(ex =>
                {
                    onCrash?.Invoke(ex);
                    return Directive.Restart;
                })));
}

/// <summary>The answer of a backoff supervisor whose child is waiting to be restarted.</summary>
public sealed record Restarting
{
    public static readonly Restarting Instance = new();
}

/// <summary>Why an actor's previous incarnation crashed; kept by its parent for the next one to report.</summary>
public sealed record CrashRecord(string Exception, string Message, DateTimeOffset At, int Count);
