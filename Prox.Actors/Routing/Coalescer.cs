namespace Prox.Actors.Routing;

/// <summary>
/// One key's request in flight on a dedup route: created by the <see cref="RouteActor"/> for the request that
/// leads, handed to every request that follows. The leader ends it exactly once, with a response to share
/// (<see cref="Share"/>) or without one (<see cref="Release"/>: the followers go their own way); followers await
/// <see cref="Outcome"/>. Lives beyond the actor's table entry, so a restarting route actor strands nobody.
/// </summary>
public sealed class Coalescer
{
    private readonly TaskCompletionSource<SharedResponse?> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
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
    public Task<SharedResponse?> Outcome => _outcome.Task;

    /// <summary>How many requests have followed so far (the actor counts them in; readable from any thread).</summary>
    public int Followers => Volatile.Read(ref _followers);

    public bool IsDone => _outcome.Task.IsCompleted;

    internal void AddFollower() => Interlocked.Increment(ref _followers);

    /// <summary>Gives the followers <paramref name="response"/>; false if the outcome was already set.</summary>
    public bool Share(SharedResponse response) => _outcome.TrySetResult(response);

    /// <summary>Sends the followers their own way (nothing to share); false if the outcome was already set.</summary>
    public bool Release() => _outcome.TrySetResult(null);
}

/// <summary>
/// A leader's response as its followers get it: the status, the headers the leader's client got (hop-by-hop
/// ones already removed) and the complete body. When <see cref="Failure"/> is not 0 the leader's request failed
/// in Prox (no backend reached, timeout, …) and each follower answers that same failure with its own request id;
/// the code is the request path's, opaque here.
/// </summary>
public sealed record SharedResponse(int Status, IReadOnlyList<KeyValuePair<string, string[]>> Headers, ReadOnlyMemory<byte> Body)
{
    public int Failure { get; init; }

    /// <summary>The status of a 5xx response held back for a retry, when the failure is "every backend answered it".</summary>
    public int HeldBackStatus { get; init; }
}
