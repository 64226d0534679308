namespace Prox.Actors.Supervision;

/// <summary>Makes the receiving actor throw, so tests and drills can exercise supervision.</summary>
public sealed record InjectFault(string Reason);

/// <summary>Thrown by an actor that received <see cref="InjectFault"/>.</summary>
public sealed class InjectedFaultException(string reason) : Exception($"injected fault: {reason}");
