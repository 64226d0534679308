namespace Prox.Actors.Hocon;

/// <summary>HOCON paths as errors and diffs show them: <c>prox.routes."web.site".backends[1].url</c>.</summary>
internal static class ConfigPath
{
    /// <summary>The path of <paramref name="key"/> inside <paramref name="parent"/>; a key that is not plain is quoted,
    /// so a dot in it does not read as nesting.</summary>
    public static string Child(string parent, string key)
    {
        var segment = ConfigValues.IsPlainKey(key) ? key : "\"" + key.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        return parent.Length == 0 ? segment : $"{parent}.{segment}";
    }

    /// <summary>The path of item <paramref name="index"/> of the list at <paramref name="path"/>.</summary>
    public static string Index(string path, int index) => $"{path}[{index}]";
}
