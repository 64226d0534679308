using Prox.Actors.Hocon;

namespace Prox.Actors.Breaker;

/// <summary>Binds a route's or a backend's <c>breaker { … }</c> block to <see cref="BreakerConfig"/>, and writes one back.</summary>
internal static class BreakerConfigBinder
{
    private static readonly string[] BreakerKeys =
    [
        "consecutive-failures", "failure-rate", "window", "minimum-requests", "open-for", "max-open", "half-open-trials",
    ];

    private const int MaxBreakerCount = 1_000_000;
    private const int MaxHalfOpenTrials = 100;

    /// <summary>
    /// Applies the keys of one <c>breaker</c> block over <paramref name="baseline"/> (the defaults for a route,
    /// the route's settings for a backend); as for health checks, a cross-key rule is only reported by the
    /// block that sets one of its keys.
    /// </summary>
    public static BreakerConfig Bind(ConfigReader r, ConfigNode node, string path, BreakerConfig baseline)
    {
        if (r.Block(node, path, BreakerKeys) is not { } breaker)
            return baseline;

        var (window, _) = r.Duration(breaker, path, "window", baseline.Window);
        var (openFor, openOk) = r.Duration(breaker, path, "open-for", baseline.OpenFor);
        var (maxOpen, maxOk) = r.Duration(breaker, path, "max-open", baseline.MaxOpen);
        if (openOk && maxOk && maxOpen < openFor && (breaker.Get("open-for") is not null || breaker.Get("max-open") is not null))
            r.Error(ConfigPath.Child(path, breaker.Get("max-open") is null ? "open-for" : "max-open"),
                $"max-open ({maxOpen}) must not be less than open-for ({openFor})");
        if (window < TimeSpan.FromSeconds(1) && breaker.Get("window") is not null)
        {
            r.Error(ConfigPath.Child(path, "window"), $"must be at least 1s, got {window}");
            window = baseline.Window;
        }

        return baseline with
        {
            ConsecutiveFailures = r.Int(breaker, path, "consecutive-failures", baseline.ConsecutiveFailures, 0, MaxBreakerCount),
            FailureRateThreshold = r.Fraction(breaker, path, "failure-rate", baseline.FailureRateThreshold, 0.01m, 1m,
                "a percentage from 1% to 100% or a fraction from 0.01 to 1 (e.g. 50% or 0.5)"),
            Window = window,
            MinimumRequests = r.Int(breaker, path, "minimum-requests", baseline.MinimumRequests, 1, MaxBreakerCount),
            OpenFor = openFor,
            MaxOpen = maxOpen,
            HalfOpenTrials = r.Int(breaker, path, "half-open-trials", baseline.HalfOpenTrials, 1, MaxHalfOpenTrials),
        };
    }

    /// <summary>The block as HOCON with every key, so it binds back to exactly <paramref name="b"/>.</summary>
    public static string Write(BreakerConfig b) =>
        HoconWriter.Object([
            $"consecutive-failures = {HoconWriter.Int(b.ConsecutiveFailures)}",
            $"failure-rate = {HoconWriter.Num(b.FailureRateThreshold)}",
            $"window = {HoconWriter.Duration(b.Window)}",
            $"minimum-requests = {HoconWriter.Int(b.MinimumRequests)}",
            $"open-for = {HoconWriter.Duration(b.OpenFor)}",
            $"max-open = {HoconWriter.Duration(b.MaxOpen)}",
            $"half-open-trials = {HoconWriter.Int(b.HalfOpenTrials)}",
        ]);
}
