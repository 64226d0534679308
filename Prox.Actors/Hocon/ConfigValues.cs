using System.Globalization;
using System.Text.RegularExpressions;

namespace Prox.Actors.Hocon;

/// <summary>Pure parsers for the scalar formats every config section uses (durations, sizes, integers, booleans, names) and the
/// "did you mean" matcher. Each returns false with a message instead of throwing. Formats of one section only
/// (listen addresses, CIDR ranges, backend URLs) live beside that section's binder.</summary>
internal static partial class ConfigValues
{
    private const string DurationHint = "use e.g. 500ms, 2s, 1m or 10 seconds";

    // HOCON duration units (case-insensitive here), as 100 ns ticks per unit.
    private static readonly Dictionary<string, decimal> DurationUnits = BuildUnits(StringComparer.OrdinalIgnoreCase,
        (0.01m, ["ns", "nano", "nanos", "nanosecond", "nanoseconds"]),
        (10m, ["us", "micro", "micros", "microsecond", "microseconds"]),
        (TimeSpan.TicksPerMillisecond, ["ms", "milli", "millis", "millisecond", "milliseconds"]),
        (TimeSpan.TicksPerSecond, ["s", "second", "seconds"]),
        (TimeSpan.TicksPerMinute, ["m", "minute", "minutes"]),
        (TimeSpan.TicksPerHour, ["h", "hour", "hours"]),
        (TimeSpan.TicksPerDay, ["d", "day", "days"]));

    // HOCON size units: case matters (MB is 10^6, M and MiB are 2^20); KB is accepted as a common spelling of kB.
    private static readonly Dictionary<string, decimal> SizeUnits = BuildUnits(StringComparer.Ordinal,
        (1m, ["", "B", "b", "byte", "bytes"]),
        (1e3m, ["kB", "KB", "kilobyte", "kilobytes"]),
        (1e6m, ["MB", "megabyte", "megabytes"]),
        (1e9m, ["GB", "gigabyte", "gigabytes"]),
        (1e12m, ["TB", "terabyte", "terabytes"]),
        (1L << 10, ["K", "k", "Ki", "KiB", "kibibyte", "kibibytes"]),
        (1L << 20, ["M", "m", "Mi", "MiB", "mebibyte", "mebibytes"]),
        (1L << 30, ["G", "g", "Gi", "GiB", "gibibyte", "gibibytes"]),
        (1L << 40, ["T", "t", "Ti", "TiB", "tebibyte", "tebibytes"]));

    [GeneratedRegex(@"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex(@"^(?<num>[0-9]+(\.[0-9]+)?)\s*(?<unit>[A-Za-z]*)$")]
    private static partial Regex NumberWithUnit();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex Name();

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex PlainKey();

    /// <summary>An id or name (a route, a webhook): a letter or digit, then letters, digits, '.', '-' or '_'; at most 100.</summary>
    public static bool IsName(string text) => Name().IsMatch(text);

    /// <summary>Letters, digits, '-' and '_' only: a key written without quotes in a path, a token name, a role.</summary>
    public static bool IsPlainKey(string text) => PlainKey().IsMatch(text);

    /// <summary>A HOCON duration such as <c>50ms</c>, <c>2s</c>, <c>1.5 minutes</c>. A bare number is rejected: its unit would be a guess.</summary>
    public static bool TryParseDuration(string text, out TimeSpan value, out string error)
    {
        value = default;
        var s = text.Trim();
        if (s.StartsWith('-'))
        {
            error = "must not be negative";
            return false;
        }
        var m = NumberWithUnit().Match(s);
        if (!m.Success)
        {
            error = $"'{text}' is not a duration ({DurationHint})";
            return false;
        }
        var unit = m.Groups["unit"].Value;
        if (unit.Length == 0)
        {
            error = $"'{text}' has no unit ({DurationHint})";
            return false;
        }
        if (!DurationUnits.TryGetValue(unit, out var ticksPerUnit))
        {
            error = $"unknown duration unit '{unit}' (use ns, us, ms, s, m, h or d)";
            return false;
        }
        if (!decimal.TryParse(m.Groups["num"].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number)
            || number > TimeSpan.MaxValue.Ticks / ticksPerUnit)
        {
            error = $"'{text}' is too large";
            return false;
        }
        value = TimeSpan.FromTicks((long)Math.Round(number * ticksPerUnit));
        error = "";
        return true;
    }

    /// <summary>A HOCON size such as <c>1GB</c> (10^9), <c>1GiB</c> or <c>1g</c> (2^30), or plain bytes. <c>0</c> and <c>unlimited</c> give null.</summary>
    public static bool TryParseSize(string text, out long? bytes, out string error)
    {
        bytes = null;
        error = "";
        var s = text.Trim();
        if (s.Equals("unlimited", StringComparison.OrdinalIgnoreCase))
            return true;
        if (s.StartsWith('-'))
        {
            error = "must not be negative (use 0 or \"unlimited\" for no limit)";
            return false;
        }
        var m = NumberWithUnit().Match(s);
        if (!m.Success)
        {
            error = $"'{text}' is not a size (use e.g. 10MB, 1GiB, 1048576 or \"unlimited\")";
            return false;
        }
        var unit = m.Groups["unit"].Value;
        if (!SizeUnits.TryGetValue(unit, out var multiplier))
        {
            error = $"unknown size unit '{unit}' (use B, KB, MB, GB, KiB, MiB, GiB, or k, m, g)";
            return false;
        }
        if (!decimal.TryParse(m.Groups["num"].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number)
            || number > long.MaxValue / multiplier)
        {
            error = $"'{text}' is too large";
            return false;
        }
        var value = (long)Math.Floor(number * multiplier);
        bytes = value == 0 ? null : value;
        return true;
    }

    public static bool TryParseInteger(string text, out long value) =>
        long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    /// <summary>HOCON booleans: true/false, yes/no, on/off.</summary>
    public static bool TryParseBoolean(string text, out bool value)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "true" or "yes" or "on":
                value = true;
                return true;
            case "false" or "no" or "off":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    /// <summary>The known key closest to <paramref name="key"/> within edit distance 2, if any.</summary>
    public static string? ClosestMatch(string key, IEnumerable<string> known) =>
        known.Where(k => Math.Abs(k.Length - key.Length) <= 2) // also keeps the quadratic distance cheap
            .Select(k => (Key: k, Distance: EditDistance(key, k)))
            .Where(x => x.Distance <= 2 && x.Distance < Math.Max(key.Length, x.Key.Length))
            .OrderBy(x => x.Distance)
            .Select(x => x.Key)
            .FirstOrDefault();

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.</summary>
    public static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
            d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++)
            d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }

    private static Dictionary<string, decimal> BuildUnits(StringComparer comparer, params (decimal Factor, string[] Names)[] units)
    {
        var map = new Dictionary<string, decimal>(comparer);
        foreach (var (factor, names) in units)
        {
            foreach (var name in names)
                map[name] = factor;
        }
        return map;
    }

    /// <summary>An exact DNS name or a <c>*.suffix</c> wildcard, returned lower-case.</summary>
    public static bool TryParseHostPattern(string text, out string pattern, out string error)
    {
        pattern = text.Trim().ToLowerInvariant();
        error = "";
        if (pattern.Contains(':'))
        {
            error = $"'{text}' must be a host name without a port";
            return false;
        }
        var name = pattern.StartsWith("*.", StringComparison.Ordinal) ? pattern[2..] : pattern;
        if (name.Contains('*'))
        {
            error = $"'{text}': a wildcard is only allowed as a leading '*.', e.g. *.example.com";
            return false;
        }
        if (name.Length is 0 or > 253 || !name.Split('.').All(DnsLabel().IsMatch))
        {
            error = $"'{text}' is not a valid host name or *.suffix pattern";
            return false;
        }
        return true;
    }
}
