namespace Prox.Actors.WebSockets;

/// <summary>A route's <c>websocket { … }</c>: whether upgrades are forwarded, how long an upgraded connection may be
/// silent, and how many may be open at once.</summary>
/// <param name="IdleTimeout">Once upgraded, the longest silence in both directions before Prox closes the tunnel;
/// replaces <c>timeouts.request</c> and <c>timeouts.idle</c> for it.</param>
/// <param name="MaxConnections">Upgraded connections open on the route at once; a further upgrade gets 503.</param>
public sealed record WebSocketConfig(bool Enabled, TimeSpan IdleTimeout, int MaxConnections)
{
    public static readonly WebSocketConfig Default = new(true, TimeSpan.FromSeconds(300), 10_000);
}

/// <summary>Open upgraded connections of a route (on its <c>RouteSlot</c>, so they survive reloads and actor
/// restarts). Lock-free: one atomic add to enter or leave.</summary>
public sealed class OpenSockets
{
    private int _open;

    public int Open => Volatile.Read(ref _open);

    /// <summary>Counts one more unless <paramref name="max"/> are open already.</summary>
    public bool TryEnter(int max)
    {
        if (Interlocked.Increment(ref _open) <= max) return true;
        Interlocked.Decrement(ref _open);
        return false;
    }

    public void Exit() => Interlocked.Decrement(ref _open);
}
