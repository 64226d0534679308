namespace Prox.Hosting;

/// <summary>Prox cannot start for a reason the operator must fix; <see cref="Exception.Message"/> is the one-line
/// explanation <c>prox run</c> prints (no stack trace).</summary>
public sealed class ProxStartupException(string message) : Exception(message);
