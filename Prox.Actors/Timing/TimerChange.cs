namespace Prox.Actors.Timing;

/// <summary>
/// A timer a pure tracker wants its actor to start or cancel, by key. The actor owns the timers (<c>IWithTimers</c>)
/// and maps each key to its own private tick message, so trackers stay free of actor types.
/// </summary>
/// <param name="Key">The timer's key; starting a key again replaces the running timer of that key.</param>
/// <param name="Delay">When to fire; null cancels the timer.</param>
public readonly record struct TimerChange(string Key, TimeSpan? Delay)
{
    /// <summary>Start (or restart) <paramref name="key"/>; a negative delay fires at once (the deadline has passed).</summary>
    public static TimerChange Start(string key, TimeSpan delay) => new(key, delay > TimeSpan.Zero ? delay : TimeSpan.Zero);

    /// <summary>Cancel <paramref name="key"/> if it runs.</summary>
    public static TimerChange Cancel(string key) => new(key, null);
}
