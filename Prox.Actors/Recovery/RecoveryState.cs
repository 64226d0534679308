using System.Collections.Immutable;
using Prox.Actors.Events;

namespace Prox.Actors.Recovery;

/// <summary>
/// Everything a backend's recovery actions remember: counters over its lifetime and the current outage.
/// Immutable, and the only recovery state the BackendActor holds (one field), so it can move wherever the
/// actor's state is kept across restarts. <see cref="RecoveryPolicy"/> computes every new value.
/// </summary>
/// <param name="Attempts">Actions started, over the backend's lifetime.</param>
/// <param name="Successes">Attempts after which the backend became available again before the next was due.</param>
/// <param name="Failures">Attempts whose action failed, or after which the backend was still down when the next was due.</param>
/// <param name="Down">The backend is unavailable right now (as last told by <see cref="RecoveryPolicy.OnAvailability"/>).</param>
/// <param name="DownSince">Start of the open outage; null when there is none. An outage stays open while an attempt
/// started in it is unresolved, even if the backend is already back.</param>
/// <param name="BackAt">When the backend became available again while an attempt was still running.</param>
/// <param name="NextAttemptAt">When the next attempt is due (the first one: <c>DownSince + after</c>); null while up.</param>
/// <param name="OutageAttempts">Attempts started in the open outage; drives the backoff doubling.</param>
/// <param name="Pending">The attempt not yet judged a success or a failure, if any.</param>
/// <param name="LastAttempt">The most recent attempt whose action finished.</param>
public sealed record RecoveryState(
    int Attempts,
    int Successes,
    int Failures,
    bool Down,
    DateTimeOffset? DownSince,
    DateTimeOffset? BackAt,
    DateTimeOffset? NextAttemptAt,
    int OutageAttempts,
    PendingAttempt? Pending,
    FinishedAttempt? LastAttempt)
{
    /// <summary>A backend that is up and was never recovered.</summary>
    public static readonly RecoveryState Initial = new(0, 0, 0, false, null, null, null, 0, null, null);

    /// <summary>successes / (successes + failures), 0..1; null before any attempt was judged.</summary>
    public double? SuccessRate => Successes + Failures == 0 ? null : (double)Successes / (Successes + Failures);
}

/// <summary>An attempt whose verdict is open.</summary>
/// <param name="Number">Its number within the outage (1 = first).</param>
/// <param name="StartedAt">When its action started.</param>
/// <param name="Running">True while the action runs; false once it finished ok and the backend's return is awaited.</param>
public sealed record PendingAttempt(int Number, DateTimeOffset StartedAt, bool Running);

/// <summary>An attempt whose action finished.</summary>
/// <param name="Number">Its number within its outage.</param>
/// <param name="At">When the action started.</param>
/// <param name="ActionOk">HTTP 2xx or exit code 0 within the timeout.</param>
/// <param name="Detail">The runner's description of what happened (status, exit code, start of output, error).</param>
public sealed record FinishedAttempt(int Number, DateTimeOffset At, bool ActionOk, string Detail);

/// <summary>What the policy decided: the new state, whether to start the action now, and the events to publish (in order).</summary>
public sealed record RecoveryStep(RecoveryState State, bool RunAction, ImmutableArray<EventToRaise> Events)
{
    public static RecoveryStep Same(RecoveryState s) => new(s, false, []);
}

/// <summary>How a recovery action ended. Ok = HTTP 2xx, or exit code 0, within the timeout.</summary>
/// <param name="Detail">Status or exit code, the start of the response or output, or why it failed; at most a few KB.</param>
public sealed record RecoveryActionResult(bool Ok, string Detail, TimeSpan Duration);
