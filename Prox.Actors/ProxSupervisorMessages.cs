using Prox.Actors.Config;

namespace Prox.Actors;

/// <summary>
/// Start serving <paramref name="Config"/>: the Notifier (when it has webhooks) and the RouteManager. Sent once by the
/// host after it chose between the config file and the stored history; a ProxSupervisor created with
/// <c>deferRoutes: false</c> starts on its own config instead. Answered with <see cref="RoutesStarted"/>.
/// </summary>
public sealed record StartRoutes(ProxConfig Config);

public sealed record RoutesStarted
{
    public static readonly RoutesStarted Instance = new();
}
