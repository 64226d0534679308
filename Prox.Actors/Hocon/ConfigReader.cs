using System.Collections.Immutable;
using System.Globalization;

namespace Prox.Actors.Hocon;

/// <summary>
/// The typed reader every config binder shares: it reads durations, sizes, integers in ranges, booleans, fractions,
/// lists and objects out of a <see cref="ConfigNode"/> tree, checks keys against the known ones, and collects every
/// error with its path instead of stopping at the first. Each read reports its own error and returns a fallback, so
/// one pass over the file lists every problem, in file order.
/// </summary>
/// <remarks>Knows no config section: capability binders (<c>Health/</c>, <c>Breaker/</c>, …) and the root binder
/// build on it, never the other way round.</remarks>
internal sealed class ConfigReader
{
    private readonly List<ConfigError> _errors = [];

    /// <summary>Every error reported so far, in the order found.</summary>
    public ImmutableArray<ConfigError> Errors => [.. _errors];

    /// <summary>How many errors have been reported; pass it to <see cref="AnyErrorUnder"/> to look only at later ones.</summary>
    public int ErrorCount => _errors.Count;

    public void Error(string path, string message) => _errors.Add(new ConfigError(path, message));

    /// <summary>For problems of a block several backends inherit: one error, not one per backend.</summary>
    public void ErrorOnce(string path, string message)
    {
        if (!_errors.Contains(new ConfigError(path, message)))
            Error(path, message);
    }

    /// <summary>True when an error at or below <paramref name="pathPrefix"/> was reported after the first <paramref name="since"/> errors.</summary>
    public bool AnyErrorUnder(string pathPrefix, int since = 0) =>
        _errors.Skip(since).Any(e => e.Path.StartsWith(pathPrefix, StringComparison.Ordinal));

    // ---- typed readers: each reports its own errors and falls back so binding can continue ----

    public bool Bool(ConfigNode.Map map, string parent, string key, bool fallback)
    {
        var path = ConfigPath.Child(parent, key);
        if (map.Get(key) is not { } node || Text(node, path, "true or false") is not { } text)
            return fallback;
        if (ConfigValues.TryParseBoolean(text, out var value))
            return value;
        Error(path, $"expected true or false, got '{Clip(text)}'");
        return fallback;
    }

    public int Int(ConfigNode.Map map, string parent, string key, int fallback, int min, int max)
    {
        var path = ConfigPath.Child(parent, key);
        if (map.Get(key) is not { } node || Text(node, path, "an integer") is not { } text)
            return fallback;
        if (ConfigValues.TryParseInteger(text, out var value) && value >= min && value <= max)
            return (int)value;
        var range = max == int.MaxValue ? $"an integer >= {min}" : $"an integer from {min} to {max}";
        Error(path, $"must be {range}, got '{Clip(text)}'");
        return fallback;
    }

    /// <summary>Null when absent or invalid (the error is recorded). Durations must be positive unless <paramref name="allowZero"/>.</summary>
    public TimeSpan? OptionalDuration(ConfigNode.Map map, string parent, string key, bool allowZero = false)
    {
        var path = ConfigPath.Child(parent, key);
        if (map.Get(key) is not { } node || Text(node, path, "a duration such as 2s") is not { } text)
            return null;
        if (!ConfigValues.TryParseDuration(text, out var value, out var error))
        {
            Error(path, error);
            return null;
        }
        if (!allowZero && value <= TimeSpan.Zero)
        {
            Error(path, "must be greater than 0");
            return null;
        }
        return value;
    }

    /// <summary>A positive duration, or <paramref name="fallback"/> when absent or invalid; <c>Ok</c> is false when an error
    /// was recorded, so a cross-key rule is not checked against a value nobody wrote.</summary>
    public (TimeSpan Value, bool Ok) Duration(ConfigNode.Map map, string parent, string key, TimeSpan fallback)
    {
        if (map.Get(key) is null)
            return (fallback, true);
        return OptionalDuration(map, parent, key) is { } value ? (value, true) : (fallback, false);
    }

    /// <summary>A percentage (<c>10%</c>) or a fraction (<c>0.1</c>) within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public double Fraction(ConfigNode.Map map, string parent, string key, double fallback, decimal min, decimal max, string expected)
    {
        var path = ConfigPath.Child(parent, key);
        if (map.Get(key) is not { } node || Text(node, path, "a percentage such as 10%") is not { } text)
            return fallback;
        var percent = text.EndsWith('%');
        var number = percent ? text[..^1].TrimEnd() : text;
        if (decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            var fraction = percent ? value / 100 : value;
            if (fraction >= min && fraction <= max)
                return (double)fraction;
        }
        Error(path, $"must be {expected}, got '{Clip(text)}'");
        return fallback;
    }

    /// <summary>A string or a list of strings, with the path of each item; null when the key is absent.</summary>
    public List<(string Text, string Path)>? Strings(ConfigNode.Map map, string parent, string key, string expected)
    {
        var path = ConfigPath.Child(parent, key);
        switch (map.Get(key))
        {
            case null:
                return null;
            case ConfigNode.Text text:
                return [(text.Value.Trim(), path)];
            case ConfigNode.List list:
                var items = new List<(string, string)>();
                for (var i = 0; i < list.Items.Length; i++)
                {
                    var itemPath = ConfigPath.Index(path, i);
                    if (Text(list.Items[i], itemPath, expected) is { } value)
                        items.Add((value, itemPath));
                }
                return items;
            case ConfigNode.Invalid invalid:
                Error(path, invalid.Message);
                return null;
            case var other:
                Error(path, $"expected {expected} or a list of them, got {Describe(other)}");
                return null;
        }
    }

    /// <summary>A scalar, trimmed; null (with the error recorded) for anything else.</summary>
    public string? Text(ConfigNode node, string path, string expected)
    {
        switch (node)
        {
            case ConfigNode.Text text:
                return text.Value.Trim();
            case ConfigNode.Invalid invalid:
                Error(path, invalid.Message);
                return null;
            default:
                Error(path, $"expected {expected}, got {Describe(node)}");
                return null;
        }
    }

    public ConfigNode.Map? AsMap(ConfigNode node, string path, string expected = "an object { … }")
    {
        if (node is ConfigNode.Map map)
            return map;
        Error(path, node is ConfigNode.Invalid invalid ? invalid.Message : $"expected {expected}, got {Describe(node)}");
        return null;
    }

    public ConfigNode.List? AsList(ConfigNode node, string path, string expected)
    {
        if (node is ConfigNode.List list)
            return list;
        Error(path, node is ConfigNode.Invalid invalid ? invalid.Message : $"expected {expected}, got {Describe(node)}");
        return null;
    }

    /// <summary>The object at <paramref name="path"/> with its keys checked against <paramref name="known"/>; null when it is
    /// not an object (reported).</summary>
    public ConfigNode.Map? Block(ConfigNode node, string path, string[] known)
    {
        if (AsMap(node, path) is not { } map)
            return null;
        CheckKeys(map, path, known);
        return map;
    }

    /// <summary>The block <paramref name="key"/> of <paramref name="parent"/> (found at <paramref name="path"/>) with its keys
    /// checked; null when it is absent, or not an object (reported): the caller then applies its defaults.</summary>
    public ConfigNode.Map? Section(ConfigNode.Map parent, string key, string path, string[] known) =>
        parent.Get(key) is { } node ? Block(node, path, known) : null;

    /// <summary>Reports every key of <paramref name="map"/> not in <paramref name="known"/>, with the closest known key as a hint.</summary>
    public void CheckKeys(ConfigNode.Map map, string path, string[] known)
    {
        foreach (var (key, _) in map.Fields)
        {
            if (known.Contains(key))
                continue;
            var guess = ConfigValues.ClosestMatch(key, known);
            Error(ConfigPath.Child(path, key), guess is null ? "unknown key" : $"unknown key (did you mean '{guess}'?)");
        }
    }

    /// <summary>Reports every value below <paramref name="node"/> that could not be read, for blocks that are not bound.</summary>
    public void ReportInvalid(ConfigNode node, string path)
    {
        switch (node)
        {
            case ConfigNode.Invalid invalid:
                Error(path, invalid.Message);
                break;
            case ConfigNode.Map map:
                foreach (var (key, value) in map.Fields)
                    ReportInvalid(value, ConfigPath.Child(path, key));
                break;
            case ConfigNode.List list:
                for (var i = 0; i < list.Items.Length; i++)
                    ReportInvalid(list.Items[i], ConfigPath.Index(path, i));
                break;
        }
    }

    /// <summary>How an error message names a value of the wrong kind.</summary>
    public static string Describe(ConfigNode node) => node switch
    {
        ConfigNode.Text text => $"'{Clip(text.Value)}'",
        ConfigNode.List => "a list",
        ConfigNode.Map => "an object",
        ConfigNode.Null => "null",
        _ => "an invalid value",
    };

    /// <summary>Shortens a value echoed in a message, so a pasted blob does not flood the log.</summary>
    public static string Clip(string text) => text.Length <= 60 ? text : text[..57] + "...";

    /// <summary>A character allowed in an HTTP header name (an RFC 9110 token).</summary>
    public static bool IsTokenChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c);
}
