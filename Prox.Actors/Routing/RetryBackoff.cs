namespace Prox.Actors.Routing;

/// <summary>Delay before retry number <c>attempt</c> (1-based): exponential with "equal jitter".</summary>
public static class RetryBackoff
{
    /// <param name="jitter">A value in [0,1): half the delay is fixed, the other half scaled by it.</param>
    public static TimeSpan NextDelay(int attempt, TimeSpan min, TimeSpan max, double jitter)
    {
        if (min <= TimeSpan.Zero) return TimeSpan.Zero;
        var exp = min.Ticks * Math.Pow(2, Math.Clamp(attempt - 1, 0, 30));
        var capped = Math.Min(exp, max.Ticks);
        return TimeSpan.FromTicks((long)(capped / 2 + capped / 2 * jitter));
    }
}
