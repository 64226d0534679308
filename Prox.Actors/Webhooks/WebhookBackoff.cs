namespace Prox.Actors.Webhooks;

/// <summary>When a failed webhook delivery is tried again.</summary>
public static class WebhookBackoff
{
    /// <summary>Jitter applied to every retry delay (±20%), so receivers coming back are not hit in lock-step.</summary>
    public const double DefaultJitter = 0.2;

    /// <summary>
    /// Delay before the next try after <paramref name="attempt"/> failed attempts (1 = the first failed):
    /// <paramref name="min"/> doubled per further failure, capped at <paramref name="max"/>, then spread by
    /// ±<paramref name="jitter"/> using <paramref name="random"/> in [0, 1) (0.5 = no spread), never beyond <paramref name="max"/>.
    /// </summary>
    public static TimeSpan NextDelay(int attempt, TimeSpan min, TimeSpan max, double jitter, double random)
    {
        if (attempt < 1) return TimeSpan.Zero;
        // cap the exponent first: 2^62 ticks would overflow long
        var exponent = Math.Min(attempt - 1, 40);
        var baseTicks = Math.Min((double)min.Ticks * Math.Pow(2, exponent), max.Ticks);
        var spread = 1 + jitter * (2 * random - 1);
        var ticks = Math.Clamp(baseTicks * spread, 0, max.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }
}
