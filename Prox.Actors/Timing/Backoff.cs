namespace Prox.Actors.Timing;

/// <summary>
/// How randomness spreads a backoff delay <c>d</c>: the delay becomes <c>d × factor</c> with the factor moving
/// linearly from <c>1 - Below</c> (random 0) to <c>1 + Above</c> (random 1).
/// </summary>
/// <param name="Below">Largest share taken off the delay, 0..1.</param>
/// <param name="Above">Largest share added to the delay, 0..1.</param>
/// <param name="WithinMax">True: a spread delay never exceeds the backoff's cap (a receiver was promised at most that
/// long); false: jitter applies after the cap, so callers that reached it together still drift apart.</param>
public readonly record struct Jitter(double Below, double Above, bool WithinMax)
{
    /// <summary>No randomness: the delay is exactly the capped doubling.</summary>
    public static readonly Jitter None = new(0, 0, false);

    /// <summary>AWS's "equal jitter": half the delay is fixed, the other half random, so a retry never comes sooner
    /// than half the delay nor later than the delay.</summary>
    public static readonly Jitter Equal = new(0.5, 0, false);

    /// <summary>±<paramref name="fraction"/> around the delay, also beyond the cap. NaN counts as 0, and the
    /// fraction is clamped to 0..1 (a config value may be anything).</summary>
    public static Jitter Around(double fraction) => new(Fraction(fraction), Fraction(fraction), false);

    /// <summary>±<paramref name="fraction"/> around the delay, but never beyond the cap.</summary>
    public static Jitter AroundWithinMax(double fraction) => new(Fraction(fraction), Fraction(fraction), true);

    private static double Fraction(double f) => double.IsNaN(f) ? 0 : Math.Clamp(f, 0, 1);
}

/// <summary>
/// Capped exponential backoff with jitter, the one rule behind every growing wait in Prox: retry delays, webhook
/// redelivery, recovery attempts, breaker open times, ejection times and the health-check interval while down.
/// Pure: randomness is a parameter, so callers test with tables and no clock.
/// </summary>
public static class Backoff
{
    /// <summary>Doublings beyond this cannot matter: one tick doubled 63 times exceeds every <see cref="TimeSpan"/>, so the
    /// cap is the answer from here on, and a larger exponent would only push the double towards infinity.</summary>
    public const int MaxDoublings = 63;

    /// <summary>
    /// The wait before attempt number <paramref name="attempt"/> (1 = the first wait): <paramref name="first"/>
    /// doubled <c>attempt - 1</c> times, capped at <paramref name="max"/>, then spread by <paramref name="jitter"/>
    /// and rounded to the nearest tick.
    /// </summary>
    /// <param name="attempt">1-based; below 1 nothing has failed yet, so there is no wait (zero).</param>
    /// <param name="first">The first wait; zero or less means no backoff at all (zero).</param>
    /// <param name="max">Cap on the doubled wait (before jitter unless <see cref="Jitter.WithinMax"/>).</param>
    /// <param name="jitter">How randomness spreads the wait; <see cref="Jitter.None"/> ignores <paramref name="random01"/>.</param>
    /// <param name="random01">A uniform value in [0,1]: 0 gives the shortest wait, 1 the longest. NaN counts as 0.5
    /// and out-of-range values are clamped.</param>
    public static TimeSpan Delay(int attempt, TimeSpan first, TimeSpan max, Jitter jitter, double random01 = 0.5)
    {
        if (attempt < 1 || first <= TimeSpan.Zero) return TimeSpan.Zero;
        var doubled = Math.Min(first.Ticks * Math.Pow(2, Math.Min(attempt - 1, MaxDoublings)), max.Ticks);
        if (jitter.Below == 0 && jitter.Above == 0) return TimeSpan.FromTicks((long)doubled);

        var r = double.IsNaN(random01) ? 0.5 : Math.Clamp(random01, 0, 1);
        var ticks = Math.Max(0, doubled * (1 - jitter.Below + (jitter.Below + jitter.Above) * r));
        if (jitter.WithinMax) ticks = Math.Min(ticks, max.Ticks);
        return TimeSpan.FromTicks((long)Math.Round(ticks));
    }
}
