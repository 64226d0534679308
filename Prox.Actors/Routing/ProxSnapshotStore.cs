namespace Prox.Actors.Routing;

/// <summary>
/// The one object the request path reads to find routes. Its only writer is the RouteManager; each
/// route's snapshot lives in its <see cref="RouteSlot"/>, written by that route's RouteActor.
/// </summary>
public sealed class ProxSnapshotStore
{
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile RouteTable _table = RouteTable.Empty;

    public RouteTable Table => _table;

    private volatile Config.ProxConfig? _applied;

    /// <summary>The config whose routes are applied (set by the RouteManager; survives its restarts).</summary>
    public Config.ProxConfig? Applied
    {
        get => _applied;
        internal set => _applied = value;
    }

    /// <summary>Completes once every configured route has published its first snapshot.</summary>
    public Task Ready => _ready.Task;

    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    internal void PublishTable(RouteTable table) => _table = table;

    internal void MarkReady() => _ready.TrySetResult();
}
