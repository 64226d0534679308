using System.Collections.Immutable;
using Prox.Actors.Config;

namespace Prox.Actors.Routing;

/// <summary>
/// Maps (host, path) to a route. Routes are tried most specific first: exact host, then the longest
/// wildcard suffix, then host-less routes; within each, the longest path prefix. Immutable.
/// </summary>
public sealed class RouteTable
{
    public static readonly RouteTable Empty = new([]);

    private readonly Entry[] _ordered;

    public RouteTable(IEnumerable<(RouteMatch Match, RouteSlot Slot)> routes)
    {
        _ordered = routes
            .SelectMany(r => Expand(r.Match, r.Slot))
            .OrderByDescending(e => e.HostRank)
            .ThenByDescending(e => e.Prefix.Length)
            .ToArray();
        Slots = routes.Select(r => r.Slot).ToImmutableArray();
    }

    /// <summary>Every route's slot, in config order.</summary>
    public ImmutableArray<RouteSlot> Slots { get; }

    /// <param name="host">The request host without port (any case).</param>
    public RouteMatchResult? Match(string host, string path) => Match(host.AsSpan(), path);

    /// <param name="host">The request host without port (any case).</param>
    public RouteMatchResult? Match(ReadOnlySpan<char> host, string path)
    {
        foreach (var e in _ordered)
        {
            if (e.MatchesHost(host) && MatchesPrefix(e.Prefix, path))
                return new RouteMatchResult(e.Slot, e.Prefix, e.HostPattern is not null);
        }
        return null;
    }

    /// <summary>Segment-wise prefix match: <c>/api</c> matches <c>/api</c> and <c>/api/x</c>, not <c>/apix</c>.</summary>
    public static bool MatchesPrefix(string prefix, string path)
    {
        if (prefix.Length <= 1) return true; // "/" matches everything
        if (!path.StartsWith(prefix, StringComparison.Ordinal)) return false;
        return path.Length == prefix.Length || path[prefix.Length] == '/' || prefix[^1] == '/';
    }

    private static IEnumerable<Entry> Expand(RouteMatch m, RouteSlot slot)
    {
        var prefix = m.PathPrefix.Length > 1 ? m.PathPrefix.TrimEnd('/') : "/";
        if (m.Hosts.IsDefaultOrEmpty)
        {
            yield return new Entry(slot, prefix, null, 0);
            yield break;
        }
        foreach (var h in m.Hosts)
        {
            // exact hosts outrank every wildcard; longer wildcard suffixes outrank shorter ones
            var rank = h.StartsWith("*.", StringComparison.Ordinal) ? 1 + h.Length : 100_000;
            yield return new Entry(slot, prefix, h, rank);
        }
    }

    private sealed record Entry(RouteSlot Slot, string Prefix, string? HostPattern, int HostRank)
    {
        public bool MatchesHost(ReadOnlySpan<char> host)
        {
            if (HostPattern is null) return true;
            if (HostPattern.StartsWith("*.", StringComparison.Ordinal))
            {
                // "*.example.com" matches "a.example.com" and "a.b.example.com", not "example.com"
                var suffix = HostPattern.AsSpan(1);
                return host.Length > suffix.Length && host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase);
            }
            return host.Equals(HostPattern, StringComparison.OrdinalIgnoreCase);
        }
    }
}

/// <param name="Prefix">The matched path prefix, normalised (no trailing slash unless "/").</param>
/// <param name="ByHost">True when an explicit host pattern matched (not a host-less catch-all).</param>
public readonly record struct RouteMatchResult(RouteSlot Slot, string Prefix, bool ByHost);
