namespace Prox.Actors.Events;

/// <summary>
/// An event a pure tracker (guard, health, recovery) asks its actor to publish as a <see cref="ProxEvent"/>, in the
/// order the tracker lists them; the actor adds time, route and backend.
/// </summary>
/// <param name="Kind">One of <see cref="ProxEventKinds"/>.</param>
/// <param name="Detail">The human-readable why, as shown in <c>/status</c>, webhooks and logs.</param>
public sealed record EventToRaise(string Kind, string Detail)
{
    /// <summary>Published as <see cref="ProxEvent.Initial"/>.</summary>
    public bool Initial { get; init; }
}
