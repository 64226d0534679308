using Prox.Actors.Hocon;

namespace Prox.Actors.Health;

/// <summary>Binds a route's or a backend's <c>health { … }</c> block to <see cref="HealthConfig"/>, and writes one back.</summary>
internal static class HealthConfigBinder
{
    private static readonly string[] HealthKeys =
    [
        "path", "interval", "timeout", "jitter", "expect", "healthy-after", "unhealthy-after",
        "unhealthy-interval", "max-unhealthy-interval", "history",
    ];
    private static readonly string[] ExpectKeys = ["status", "body-contains"];

    private const int MaxHealthThreshold = 100;
    private const int MaxHealthHistory = 10_000;
    private const decimal MaxJitter = 0.5m;

    /// <summary>
    /// Applies the keys of one <c>health</c> block over <paramref name="baseline"/> (the defaults for a route,
    /// the route's settings for a backend). Cross-key rules are checked on the merged result, but only when
    /// this block sets one of the keys involved, so a route's mistake is not reported again for each backend.
    /// </summary>
    public static HealthConfig Bind(ConfigReader r, ConfigNode node, string path, HealthConfig baseline)
    {
        if (r.Block(node, path, HealthKeys) is not { } health)
            return baseline;

        var probePath = baseline.Path;
        var probePathPath = ConfigPath.Child(path, "path");
        if (health.Get("path") is { } pathNode && r.Text(pathNode, probePathPath, "a path such as /health") is { } text)
        {
            if (!text.StartsWith('/'))
                r.Error(probePathPath, $"must start with '/', got '{ConfigReader.Clip(text)}'");
            else if (text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == '#'))
                r.Error(probePathPath, "must be a plain path without spaces or '#'");
            else
                probePath = text;
        }

        var (interval, intervalOk) = r.Duration(health, path, "interval", baseline.Interval);
        var (timeout, timeoutOk) = r.Duration(health, path, "timeout", baseline.Timeout);
        if (intervalOk && timeoutOk && timeout >= interval && (health.Get("timeout") is not null || health.Get("interval") is not null))
            r.Error(ConfigPath.Child(path, health.Get("timeout") is null ? "interval" : "timeout"),
                $"timeout ({timeout}) must be less than interval ({interval})");

        var (unhealthyInterval, unhealthyOk) = r.Duration(health, path, "unhealthy-interval", baseline.UnhealthyInterval);
        var (maxUnhealthyInterval, maxUnhealthyOk) = r.Duration(health, path, "max-unhealthy-interval", baseline.MaxUnhealthyInterval);
        if (unhealthyOk && maxUnhealthyOk && maxUnhealthyInterval < unhealthyInterval
            && (health.Get("unhealthy-interval") is not null || health.Get("max-unhealthy-interval") is not null))
            r.Error(ConfigPath.Child(path, health.Get("max-unhealthy-interval") is null ? "unhealthy-interval" : "max-unhealthy-interval"),
                $"max-unhealthy-interval ({maxUnhealthyInterval}) must not be less than unhealthy-interval ({unhealthyInterval})");

        return baseline with
        {
            Path = probePath,
            Interval = interval,
            Timeout = timeout,
            // 10% or the fraction 0.1
            Jitter = r.Fraction(health, path, "jitter", baseline.Jitter, 0m, MaxJitter,
                "a percentage from 0% to 50% or a fraction from 0 to 0.5 (e.g. 10% or 0.1)"),
            Expect = Expect(r, health, path, baseline.Expect),
            HealthyAfter = r.Int(health, path, "healthy-after", baseline.HealthyAfter, 1, MaxHealthThreshold),
            UnhealthyAfter = r.Int(health, path, "unhealthy-after", baseline.UnhealthyAfter, 1, MaxHealthThreshold),
            UnhealthyInterval = unhealthyInterval,
            MaxUnhealthyInterval = maxUnhealthyInterval,
            History = r.Int(health, path, "history", baseline.History, 1, MaxHealthHistory),
        };
    }

    /// <summary>The block as HOCON with every key, so it binds back to exactly <paramref name="h"/>.</summary>
    public static string Write(HealthConfig h) =>
        HoconWriter.Object([
            $"path = {HoconWriter.Str(h.Path)}",
            $"interval = {HoconWriter.Duration(h.Interval)}",
            $"timeout = {HoconWriter.Duration(h.Timeout)}",
            $"jitter = {HoconWriter.Num(h.Jitter)}",
            "expect { status = [" + string.Join(", ", h.Expect.Statuses.Select(s => HoconWriter.Str(s.ToString()))) + "]"
                + (h.Expect.BodyContains is { } body ? $", body-contains = {HoconWriter.Str(body)}" : "") + " }",
            $"healthy-after = {HoconWriter.Int(h.HealthyAfter)}",
            $"unhealthy-after = {HoconWriter.Int(h.UnhealthyAfter)}",
            $"unhealthy-interval = {HoconWriter.Duration(h.UnhealthyInterval)}",
            $"max-unhealthy-interval = {HoconWriter.Duration(h.MaxUnhealthyInterval)}",
            $"history = {HoconWriter.Int(h.History)}",
        ]);

    private static HealthExpectation Expect(ConfigReader r, ConfigNode.Map health, string parent, HealthExpectation fallback)
    {
        var path = ConfigPath.Child(parent, "expect");
        if (r.Section(health, "expect", path, ExpectKeys) is not { } expect)
            return fallback;

        var statuses = fallback.Statuses;
        if (r.Strings(expect, path, "status", "a status such as \"200\", \"200-299\" or \"2xx\"") is { } items)
        {
            if (expect.Get("status") is ConfigNode.List { Items.IsEmpty: true })
                r.Error(ConfigPath.Child(path, "status"), "must list at least one status, e.g. [\"200-299\"]");
            var ranges = new List<StatusRange>();
            foreach (var (text, itemPath) in items)
            {
                if (!StatusRange.TryParse(text, out var range))
                    r.Error(itemPath, $"'{ConfigReader.Clip(text)}' is not a status (use a code such as \"200\", a range such as \"200-299\", or \"2xx\"; codes 100-599)");
                else if (!ranges.Contains(range))
                    ranges.Add(range);
            }
            if (ranges.Count > 0)
                statuses = [.. ranges];
        }

        var bodyContains = fallback.BodyContains;
        var bodyPath = ConfigPath.Child(path, "body-contains");
        // trimmed like every other value; "" turns an inherited body check off
        if (expect.Get("body-contains") is { } bodyNode && r.Text(bodyNode, bodyPath, "a string") is { } body)
            bodyContains = body.Length == 0 ? null : body;

        return new HealthExpectation(statuses, bodyContains);
    }
}
