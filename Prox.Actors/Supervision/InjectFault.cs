namespace Prox.Actors.Supervision;

/// <summary>Makes the receiving actor throw, so tests and drills can exercise supervision.</summary>
public sealed record InjectFault(string Reason);

/// <summary>Thrown by an actor that received <see cref="InjectFault"/>.</summary>
public sealed class InjectedFaultException(string reason) : Exception($"injected fault: {reason}");

/// <summary>Admin drill: crash a route's actor, or one backend's actor in it. Answered with <see cref="CrashActorReply"/>
/// before the fault is injected.</summary>
public sealed record CrashActor(string RouteId, string? BackendId);

/// <param name="Found">False when the route or backend does not exist.</param>
public sealed record CrashActorReply(bool Found, string Detail);
