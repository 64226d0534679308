using System.Collections.Immutable;
using Prox.Actors.Routing;

namespace Prox.Http.Admin;

/// <summary>Re-reads and applies the config file (implemented by the host, which knows the file).</summary>
public interface IConfigReloader
{
    Task<ReloadResult> ReloadAsync(string reason, CancellationToken ct = default);

    /// <summary>Validates <paramref name="text"/> as a whole config and applies it, as a reload does.</summary>
    /// <param name="drainTimeout">How long removed backends may finish in-flight requests (default 30 s).</param>
    Task<ReloadResult> ApplyTextAsync(string text, string reason, TimeSpan? drainTimeout = null, CancellationToken ct = default);
}

/// <summary>What a reload did: applied (with what changed, and settings that need a restart) or rejected (every error).</summary>
public sealed record ReloadResult(bool Ok, ConfigApplied? Changes, ImmutableArray<string> RestartNeeded, ImmutableArray<string> Errors)
{
    public static ReloadResult Rejected(IEnumerable<string> errors) => new(false, null, [], [.. errors]);

    public static ReloadResult Success(ConfigApplied applied, IEnumerable<string> restartNeeded) =>
        new(true, applied, [.. restartNeeded], []);
}
