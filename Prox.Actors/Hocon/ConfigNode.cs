using System.Collections.Immutable;
using Akka.Configuration.Hocon;

namespace Prox.Actors.Hocon;

/// <summary>
/// A parsed HOCON value, copied out of Akka's tree so binding never calls Akka's recursive getters
/// and can tell text, lists, objects and broken values apart.
/// </summary>
internal abstract record ConfigNode
{
    /// <summary>A scalar. HOCON does not distinguish quoted from unquoted text, nor numbers from strings.</summary>
    public sealed record Text(string Value) : ConfigNode;

    public sealed record List(ImmutableArray<ConfigNode> Items) : ConfigNode;

    /// <summary>An object; fields keep their order in the file.</summary>
    public sealed record Map(ImmutableArray<KeyValuePair<string, ConfigNode>> Fields) : ConfigNode
    {
        /// <summary>The field's value, or null when it is absent or explicitly <c>null</c> (HOCON treats both as unset).</summary>
        public ConfigNode? Get(string key)
        {
            foreach (var (k, v) in Fields)
            {
                if (k == key)
                    return v is Null ? null : v;
            }
            return null;
        }
    }

    public sealed record Null : ConfigNode
    {
        public static readonly Null Instance = new();
    }

    /// <summary>A value that could not be read; the binder reports <see cref="Message"/> at the value's path.</summary>
    public sealed record Invalid(string Message) : ConfigNode;

    /// <summary>Copies an Akka HOCON value. The text must have gone through <see cref="HoconPreprocessor"/>.</summary>
    public static ConfigNode FromAkka(HoconValue value) => Convert(value, 0);

    private static ConfigNode Convert(HoconValue value, int depth)
    {
        // the preprocessor bounds nesting; this guard only protects against a surprise in Akka's tree
        if (depth > 4 * HoconPreprocessor.MaxNesting)
            return new Invalid("nested too deeply");

        var elements = value.Values;
        var first = 0;
        var last = elements.Count - 1;
        // whitespace before a comment or line end arrives as separate literals
        while (first <= last && IsBlank(elements[first]))
            first++;
        while (last >= first && IsBlank(elements[last]))
            last--;
        if (elements.Count == 0)
            return new Invalid("missing value");
        if (first > last)
            return FromText(string.Concat(elements.OfType<HoconLiteral>().Select(l => l.Value)));

        var kept = elements.Skip(first).Take(last - first + 1).ToList();
        if (kept.Count == 1 && kept[0] is HoconLiteral { Value: "null" })
            return Null.Instance;
        if (kept.All(e => e is HoconLiteral))
            return FromText(string.Concat(kept.Cast<HoconLiteral>().Select(l => l.Value)));

        var structured = kept.Where(e => !IsBlank(e)).ToList();
        if (structured.All(e => e is HoconObject))
            return structured.Cast<HoconObject>().Select(o => FromObject(o, depth)).Aggregate(Merge);
        if (structured.All(e => e is HoconArray))
        {
            // Akka reads `[ ]` as a list holding one empty value
            var items = structured.Cast<HoconArray>().SelectMany(a => a).Where(v => v.Values.Count > 0);
            return new List([.. items.Select(v => Convert(v, depth + 1))]);
        }
        if (structured.Any(e => e is HoconSubstitution))
            return new Invalid("unresolved substitution");
        return new Invalid("cannot combine text, objects and lists in one value");
    }

    private static Map FromObject(HoconObject obj, int depth) =>
        new([.. obj.Items.Select(kv => KeyValuePair.Create(kv.Key, Convert(kv.Value, depth + 1)))]);

    /// <summary>HOCON object concatenation: later fields win, nested objects merge.</summary>
    private static Map Merge(Map a, Map b)
    {
        var fields = a.Fields.ToList();
        foreach (var (key, value) in b.Fields)
        {
            var index = fields.FindIndex(f => f.Key == key);
            if (index < 0)
                fields.Add(KeyValuePair.Create(key, value));
            else if (fields[index].Value is Map older && value is Map newer)
                fields[index] = KeyValuePair.Create(key, (ConfigNode)Merge(older, newer));
            else
                fields[index] = KeyValuePair.Create(key, value);
        }
        return new Map([.. fields]);
    }

    private static ConfigNode FromText(string text)
    {
        var marker = text.IndexOf(HoconPreprocessor.UnsetMarker);
        if (marker < 0)
            return new Text(text);
        var end = text.IndexOf(HoconPreprocessor.UnsetMarker, marker + 1);
        var name = end < 0 ? text[(marker + 1)..] : text[(marker + 1)..end];
        var hint = name.Contains('.')
            ? " (substitutions are resolved from environment variables only, not from other config paths)"
            : $" (use ${{?{name}}} to make it optional)";
        return new Invalid($"environment variable {name} is not set{hint}");
    }

    private static bool IsBlank(IHoconElement element) =>
        element is HoconLiteral { Value: var v } && string.IsNullOrWhiteSpace(v);
}
