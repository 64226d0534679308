using System.Collections.Immutable;

namespace Prox.Actors.Health;

/// <summary>
/// Active health-check settings for one backend: the route's <c>health</c> block with any per-backend
/// overrides already applied (binding merges the layers, so the policy never sees two).
/// </summary>
/// <remarks>
/// Init-only properties rather than a positional record so a binder or a test states only what differs
/// from <see cref="Default"/> (<c>HealthConfig.Default with { UnhealthyAfter = 5 }</c>).
/// </remarks>
public sealed record HealthConfig
{
    /// <summary>The documented defaults; a route with an empty <c>health { }</c> block gets these.</summary>
    public static readonly HealthConfig Default = new();

    /// <summary>Request path probed on the backend.</summary>
    public string Path { get; init; } = "/health";

    /// <summary>Time between probes while the backend is healthy.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a probe may take before it counts as failed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Fraction (0.1 = the configured <c>10%</c>) by which each interval is randomly stretched or shrunk,
    /// so probes from many proxies, or to many backends, do not arrive in lockstep.
    /// </summary>
    public double Jitter { get; init; } = 0.10;

    /// <summary>What a response must look like to count as ok.</summary>
    public HealthExpectation Expect { get; init; } = HealthExpectation.Default;

    /// <summary>Rise: consecutive ok probes that bring an unhealthy backend back.</summary>
    public int HealthyAfter { get; init; } = 2;

    /// <summary>Fall: consecutive failed probes that take a healthy backend out.</summary>
    public int UnhealthyAfter { get; init; } = 3;

    /// <summary>First interval after a backend goes down; doubles per further failure.</summary>
    public TimeSpan UnhealthyInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Cap on the doubling interval, so a long outage is still noticed ending within this time.</summary>
    public TimeSpan MaxUnhealthyInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Probe results kept per backend for uptime and latency summaries.</summary>
    public int History { get; init; } = 100;

    /// <summary>Window in which state changes are counted to detect flapping.</summary>
    public TimeSpan FlapWindow { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>A backend with more than this many state changes inside <see cref="FlapWindow"/> is unstable.</summary>
    public int FlapThreshold { get; init; } = 4;
}

/// <summary>
/// The <c>expect</c> block. A body check exists because many services answer 200 from a load balancer
/// or framework default page while their own dependencies are down; a substring of the health payload
/// catches that without parsing it.
/// </summary>
/// <param name="Statuses">Accepted status ranges; empty means 2xx (see <see cref="HealthExpect.IsOk"/>).</param>
/// <param name="BodyContains">Substring the body must contain (ordinal, case-sensitive); null or empty skips the check.</param>
public sealed record HealthExpectation(ImmutableArray<StatusRange> Statuses, string? BodyContains = null)
{
    /// <summary>Any 2xx, no body check.</summary>
    public static readonly HealthExpectation Default = new([StatusRange.Success]);

    /// <summary>Compares the status lists by content (ImmutableArray compares by reference), so two
    /// bindings of the same config are equal and a reload can tell that the health block did not change.</summary>
    public bool Equals(HealthExpectation? other) =>
        other is not null
        && BodyContains == other.BodyContains
        && Statuses.IsDefault == other.Statuses.IsDefault
        && (Statuses.IsDefault || Statuses.SequenceEqual(other.Statuses));

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(BodyContains);
        if (!Statuses.IsDefault)
            foreach (var range in Statuses) hash.Add(range);
        return hash.ToHashCode();
    }
}
