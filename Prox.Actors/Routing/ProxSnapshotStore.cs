namespace Prox.Actors.Routing;

/// <summary>
/// The one object the request path reads to find routes. Its only writer is the RouteManager; each
/// route's snapshot lives in its <see cref="RouteSlot"/>, written by that route's RouteActor.
/// </summary>
public sealed class ProxSnapshotStore
{
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile RouteTable _table = RouteTable.Empty;
    private volatile bool _isReady;

    public RouteTable Table => _table;

    /// <summary>Requests at a backend of any route now; summed when asked (for the shutdown log).</summary>
    public long InFlight => _table.Slots.Sum(s => s.InFlight);

    private volatile Config.ProxConfig? _applied;

    /// <summary>The config whose routes are applied (set by the RouteManager; survives its restarts).</summary>
    public Config.ProxConfig? Applied
    {
        get => _applied;
        internal set => _applied = value;
    }

    /// <summary>Completes once every configured route has published its first snapshot.</summary>
    public Task Ready => _ready.Task;

    /// <summary>True once <see cref="Ready"/> has completed: the chosen config's routes are all published. The proxy
    /// answers 503 until then and <c>/readyz</c> reports it; one volatile read, so the request path can afford it.
    /// It never turns false again (a reload keeps serving the old routes while the new ones start).</summary>
    public bool IsReady => _isReady;

    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    internal void PublishTable(RouteTable table) => _table = table;

    internal void MarkReady()
    {
        // the flag before the task: whoever awaited Ready finds IsReady true
        _isReady = true;
        _ready.TrySetResult();
    }
}
