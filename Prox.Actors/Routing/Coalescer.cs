namespace Prox.Actors.Routing;

/// <summary>
/// One key's request in flight on a dedup route: created by the <see cref="RouteActor"/> for the request that
/// leads, handed to every request that follows. The leader ends it exactly once, with a response to share
/// (<see cref="Share"/>) or without one (<see cref="Release"/>: the followers go their own way); followers await
/// <see cref="Outcome"/>. Lives beyond the actor's table entry, so a restarting route actor strands nobody.
/// What is shared is the HTTP side's business (its <c>SharedResponse</c>: a response or a failure to repeat); the
/// actors only decide who leads, so it is opaque here.
/// </summary>
public sealed class Coalescer
{
    private readonly TaskCompletionSource<object?> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _followers;

    public Coalescer(string key, DateTimeOffset started)
    {
        Key = key;
        Started = started;
    }

    public string Key { get; }

    /// <summary>When the leader was chosen (actor clock); a table entry older than the route's window is stale.</summary>
    public DateTimeOffset Started { get; }

    /// <summary>The shared response, or null when the followers must forward on their own.</summary>
    public Task<object?> Outcome => _outcome.Task;

    /// <summary>How many requests have followed so far (the actor counts them in; readable from any thread).</summary>
    public int Followers => Volatile.Read(ref _followers);

    public bool IsDone => _outcome.Task.IsCompleted;

    internal void AddFollower() => Interlocked.Increment(ref _followers);

    /// <summary>Gives the followers <paramref name="response"/>; false if the outcome was already set.</summary>
    public bool Share(object response) => _outcome.TrySetResult(response);

    /// <summary>Sends the followers their own way (nothing to share); false if the outcome was already set.</summary>
    public bool Release() => _outcome.TrySetResult(null);
}
