using Akka.Actor;
using Prox.Actors.Config;
using Prox.Actors.Health;
using Prox.Actors.Recovery;

namespace Prox.Actors.Backends;

/// <summary>
/// The seam between standalone and cluster mode (docs/architecture.md, "The cluster seam"): resolves "the actor for backend X" of a
/// route. A RouteActor creates one such actor per backend and treats it the same either way: it sends it the request
/// outcomes (through <see cref="BackendLive.Mailbox"/>), asks it for <see cref="GetBackendStatus"/>, and hears
/// <see cref="BackendAvailabilityChanged"/> from it.
/// </summary>
public interface IBackendActors
{
    /// <summary>Props of the node-local actor that stands for <paramref name="memory"/>'s backend in
    /// <paramref name="route"/>.</summary>
    Props For(RouteConfig route, BackendMemory memory, IHealthProber? prober, IRecoveryRunner? runner);
}

/// <summary>Standalone: the <see cref="BackendActor"/> itself, a child of its route, owning everything.</summary>
public sealed class LocalBackendActors : IBackendActors
{
    public static readonly LocalBackendActors Instance = new();

    public Props For(RouteConfig route, BackendMemory memory, IHealthProber? prober, IRecoveryRunner? runner) =>
        BackendActor.Props(memory, route.Passive, prober, runner);
}
