using System.Globalization;
using System.Text;
using System.Text.Json;
using Prox.Actors.Breaker;
using Prox.Actors.Health;
using Prox.Actors.Recovery;

namespace Prox.Actors.Config;

/// <summary>
/// Writes parts of a bound config back as HOCON that binds to the same values, so the admin API can change a
/// route's backends by producing a new config text (a new version, diffable and revertible like any other).
/// A backend's <c>health</c>, <c>breaker</c> and <c>recovery</c> blocks are written only where they differ from
/// the route's, with every key, so the merged result is exactly the backend's.
/// </summary>
public static class HoconWriter
{
    /// <summary>
    /// Returns <paramref name="text"/> with route <paramref name="routeId"/>'s backends replaced by
    /// <paramref name="backendsHocon"/>: one marked block at the end of the text (replaced again by the next change,
    /// so repeated changes do not pile up). Later HOCON assignments win, so the file's own list is overridden.
    /// </summary>
    public static string WithBackends(string text, string routeId, string backendsHocon)
    {
        var marker = $"# prox:dynamic-backends {routeId}";
        var block = $"{marker} (written by the admin API; the last assignment wins)\nprox.routes.{Str(routeId)}.backends = {backendsHocon}\n# prox:end {routeId}\n";
        var start = text.IndexOf(marker + " ", StringComparison.Ordinal);
        if (start >= 0)
        {
            var endMarker = $"# prox:end {routeId}\n";
            var end = text.IndexOf(endMarker, start, StringComparison.Ordinal);
            if (end >= 0) return text[..start] + block + text[(end + endMarker.Length)..];
        }
        var trimmed = text.TrimEnd();
        // a JSON file is one root object: the assignment has to go inside it
        if (trimmed.StartsWith('{') && trimmed.EndsWith('}'))
            return trimmed[..^1].TrimEnd() + "\n" + block + "}\n";
        return trimmed + "\n\n" + block;
    }

    /// <summary>The route's <c>backends</c> list as a HOCON array, optionally with more elements already written.</summary>
    public static string Backends(RouteConfig route, IEnumerable<BackendConfig> backends, params string[] extra)
    {
        var sb = new StringBuilder("[\n");
        foreach (var b in backends) sb.Append("  ").Append(Backend(route, b)).Append('\n');
        foreach (var e in extra) sb.Append("  ").Append(e).Append('\n');
        return sb.Append(']').ToString();
    }

    /// <summary>One backend as a HOCON object, with only the blocks that differ from the route's.</summary>
    public static string Backend(RouteConfig route, BackendConfig b)
    {
        var sb = new StringBuilder("{ id = ").Append(Str(b.Id)).Append(", url = ").Append(Str(b.Url.OriginalString))
            .Append(", weight = ").Append(Int(b.Weight));
        if (b.Timeout is { } t) sb.Append(", timeout = ").Append(Duration(t));
        if (b.Drain) sb.Append(", drain = true");
        if (b.Health is { } h && !ConfigComparer.Same(h, route.Health)) sb.Append(", health ").Append(Health(h));
        if (b.Breaker is { } br && !ConfigComparer.Same(br, route.Breaker)) sb.Append(", breaker ").Append(Breaker(br));
        if (b.Recovery is { } r && !ConfigComparer.Same(r, route.Recovery)) sb.Append(", recovery ").Append(Recovery(r));
        return sb.Append(" }").ToString();
    }

    public static string Health(HealthConfig h) =>
        "{ " + string.Join(", ",
            $"path = {Str(h.Path)}",
            $"interval = {Duration(h.Interval)}",
            $"timeout = {Duration(h.Timeout)}",
            $"jitter = {Num(h.Jitter)}",
            "expect { status = [" + string.Join(", ", h.Expect.Statuses.Select(s => Str(s.ToString()))) + "]"
                + (h.Expect.BodyContains is { } body ? $", body-contains = {Str(body)}" : "") + " }",
            $"healthy-after = {Int(h.HealthyAfter)}",
            $"unhealthy-after = {Int(h.UnhealthyAfter)}",
            $"unhealthy-interval = {Duration(h.UnhealthyInterval)}",
            $"max-unhealthy-interval = {Duration(h.MaxUnhealthyInterval)}",
            $"history = {Int(h.History)}") + " }";

    public static string Breaker(BreakerConfig b) =>
        "{ " + string.Join(", ",
            $"consecutive-failures = {Int(b.ConsecutiveFailures)}",
            $"failure-rate = {Num(b.FailureRateThreshold)}",
            $"window = {Duration(b.Window)}",
            $"minimum-requests = {Int(b.MinimumRequests)}",
            $"open-for = {Duration(b.OpenFor)}",
            $"max-open = {Duration(b.MaxOpen)}",
            $"half-open-trials = {Int(b.HalfOpenTrials)}") + " }";

    public static string Recovery(RecoveryConfig r)
    {
        var parts = new List<string> { $"after = {Duration(r.After)}" };
        if (r.Backoff is { } backoff) parts.Add($"backoff = {Duration(backoff)}");
        parts.Add($"max-backoff = {Duration(r.MaxBackoff)}");
        parts.Add($"timeout = {Duration(r.Timeout)}");
        if (r.Http is { } http)
        {
            var inner = new List<string> { $"url = {Str(http.Url.OriginalString)}", $"method = {Str(http.Method)}" };
            if (!http.Headers.IsDefaultOrEmpty)
                inner.Add("headers { " + string.Join(", ", http.Headers.Select(kv => $"{Str(kv.Key)} = {Str(kv.Value)}")) + " }");
            if (http.Body is { } body) inner.Add($"body = {Str(body)}");
            parts.Add("http { " + string.Join(", ", inner) + " }");
        }
        else if (!r.Command.IsDefaultOrEmpty)
        {
            parts.Add("command = [" + string.Join(", ", r.Command.Select(Str)) + "]");
        }
        return "{ " + string.Join(", ", parts) + " }";
    }

    /// <summary>A HOCON quoted string (JSON escaping; no substitution happens inside quotes).</summary>
    public static string Str(string s) => JsonSerializer.Serialize(s);

    /// <summary>Exact durations: whole milliseconds where possible, else microseconds.</summary>
    public static string Duration(TimeSpan t) =>
        t.Ticks % TimeSpan.TicksPerMillisecond == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{t.Ticks / TimeSpan.TicksPerMillisecond}ms")
            : string.Create(CultureInfo.InvariantCulture, $"{t.Ticks / 10}us");

    private static string Int(int i) => i.ToString(CultureInfo.InvariantCulture);

    private static string Num(double d) => d.ToString("R", CultureInfo.InvariantCulture);
}
