using Prox.Actors.Hocon;

namespace Prox.Actors.WebSockets;

/// <summary>Binds a route's <c>websocket { enabled, idle-timeout, max-connections }</c>.</summary>
internal static class WebSocketConfigBinder
{
    private static readonly string[] Keys = ["enabled", "idle-timeout", "max-connections"];

    public static WebSocketConfig Bind(ConfigReader r, ConfigNode node, string path)
    {
        var d = WebSocketConfig.Default;
        if (r.Block(node, path, Keys) is not { } ws) return d;
        return new WebSocketConfig(
            r.Bool(ws, path, "enabled", d.Enabled),
            r.OptionalDuration(ws, path, "idle-timeout") ?? d.IdleTimeout,
            r.Int(ws, path, "max-connections", d.MaxConnections, 1, int.MaxValue));
    }
}
