using System.Collections.Concurrent;
using Prox.Actors.Backends;
using Prox.Actors.Config;
using Prox.Actors.Supervision;

namespace Prox.Actors.Routing;

/// <summary>
/// Holds the current <see cref="RouteSnapshot"/> of one route. The route's RouteActor is the only writer;
/// requests read <see cref="Current"/> with a single volatile load.
/// </summary>
public sealed class RouteSlot
{
    private volatile RouteSnapshot? _current;

    public RouteSlot(string routeId) => RouteId = routeId;

    public string RouteId { get; }

    /// <summary>Null only in the moment between the route's creation and its first publish.</summary>
    public RouteSnapshot? Current => _current;

    internal void Publish(RouteSnapshot snapshot) => _current = snapshot;

    /// <summary>The route's coalescing counters; kept here so they survive a restart of the route actor, which is
    /// their only writer.</summary>
    internal DedupCounters Dedup { get; } = new();

    /// <summary>The route's open upgraded (WebSocket) connections.</summary>
    public WebSockets.OpenSockets WebSockets { get; } = new();

    private readonly ConcurrentDictionary<string, BackendMemory> _backends = new();

    /// <summary>Requests at this route's backends now (those that ever had memory here); summed when asked.</summary>
    public long InFlight => _backends.Values.Sum(m => (long)m.Live.InFlight);

    /// <summary>Crashes of the route's actor; the next incarnation reports the last one.</summary>
    public CrashLedger Crashes { get; } = new();

    /// <summary>
    /// The state of backend <paramref name="backend"/> that outlives its actors: the same instance for every
    /// incarnation of the backend's actor and of the route's actor, created on first use.
    /// </summary>
    public BackendMemory MemoryFor(BackendConfig backend, TimeSpan attemptTimeout) =>
        _backends.GetOrAdd(backend.Id, _ => NewMemory(backend, attemptTimeout));

    /// <summary>Fresh state for a backend whose config changed in a way that makes it a different backend.</summary>
    public BackendMemory ResetMemory(BackendConfig backend, TimeSpan attemptTimeout) =>
        _backends[backend.Id] = NewMemory(backend, attemptTimeout);

    /// <summary>Drops a removed backend's state (unless a newer backend with the same id has replaced it).</summary>
    public void ForgetMemory(string backendId, BackendMemory memory) =>
        _backends.TryRemove(new KeyValuePair<string, BackendMemory>(backendId, memory));

    private BackendMemory NewMemory(BackendConfig backend, TimeSpan attemptTimeout) =>
        new(new BackendLive(RouteId, backend) { AttemptTimeout = attemptTimeout });

    private volatile RouteConfig? _config;

    /// <summary>The route's config as last applied by its actor (a restarted actor starts from it).</summary>
    public RouteConfig? Config
    {
        get => _config;
        internal set => _config = value;
    }
}

/// <summary>Written by the route actor only; read by it for <c>/status</c>.</summary>
internal sealed class DedupCounters
{
    public long Leaders;
    public long Followers;
    public long OwnWay;
}
