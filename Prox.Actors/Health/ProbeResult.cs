namespace Prox.Actors.Health;

/// <summary>
/// What one probe observed, before judging it. Kept separate from the ok/failed verdict so the history
/// can show why a check failed (status, error text) and latency summaries can use the raw timing.
/// </summary>
/// <param name="At">When the probe completed; the policy's only clock.</param>
/// <param name="Status">HTTP status, or 0 when no response arrived (refused, reset, timed out).</param>
/// <param name="Latency">Time from sending the request to reading the response (or giving up).</param>
/// <param name="Error">Why no usable response arrived; null when one did.</param>
public sealed record ProbeResult(DateTimeOffset At, int Status, TimeSpan Latency, string? Error = null);

/// <summary>
/// Judges a probe against <see cref="HealthConfig.Expect"/>. Pure so the same rule serves the probing
/// actor and tests; the caller does the I/O and reads at most a few KB of body.
/// </summary>
public static class HealthExpect
{
    /// <summary>
    /// Ok when there is no error, a response arrived, its status lies in one of the ranges (2xx if none
    /// are listed: an empty list accepting nothing would mark every backend down), and, when configured,
    /// <paramref name="bodyPrefix"/> contains the expected substring (ordinal, so "OK" ≠ "ok").
    /// </summary>
    /// <param name="bodyPrefix">The start of the response body the caller read; null when not read.</param>
    public static bool IsOk(ProbeResult r, string? bodyPrefix, HealthConfig cfg)
    {
        if (r.Error is not null || r.Status <= 0) return false;

        var statuses = cfg.Expect.Statuses;
        bool statusOk = statuses.IsDefaultOrEmpty
            ? StatusRange.Success.Contains(r.Status)
            : statuses.Any(range => range.Contains(r.Status));
        if (!statusOk) return false;

        var needle = cfg.Expect.BodyContains;
        return string.IsNullOrEmpty(needle)
            || (bodyPrefix is not null && bodyPrefix.Contains(needle, StringComparison.Ordinal));
    }
}
