using Prox.Actors.Hocon;

namespace Prox.Actors.ConfigHistory;

/// <summary>
/// The structural difference of two config texts: both are parsed as HOCON trees (what the file says, before
/// defaults), and every path whose value differs is listed in HOCON style (<c>prox.routes.api.backends[1].weight</c>).
/// A subtree that appears or disappears is one path; a value that changes kind (text → object) is one path.
/// </summary>
public static class ConfigTreeDiff
{
    /// <summary>The changed paths in file order; null when either text is not valid HOCON.</summary>
    public static IReadOnlyList<string>? ChangedPaths(string from, string to)
    {
        if (HoconParser.ParseTree(from) is not { } a || HoconParser.ParseTree(to) is not { } b)
            return null;
        var paths = new List<string>();
        Compare(a, b, "", paths);
        return paths;
    }

    private static void Compare(ConfigNode a, ConfigNode b, string path, List<string> into)
    {
        switch (a, b)
        {
            case (ConfigNode.Map ma, ConfigNode.Map mb):
                var seen = new HashSet<string>();
                foreach (var (key, va) in ma.Fields)
                {
                    seen.Add(key);
                    var child = ConfigPath.Child(path, key);
                    if (Field(mb, key) is { } vb) Compare(va, vb, child, into);
                    else into.Add(child);
                }
                foreach (var (key, _) in mb.Fields)
                    if (!seen.Contains(key)) into.Add(ConfigPath.Child(path, key));
                break;
            case (ConfigNode.List la, ConfigNode.List lb):
                for (var i = 0; i < Math.Max(la.Items.Length, lb.Items.Length); i++)
                {
                    var child = $"{path}[{i}]";
                    if (i < la.Items.Length && i < lb.Items.Length) Compare(la.Items[i], lb.Items[i], child, into);
                    else into.Add(child);
                }
                break;
            default:
                if (a != b) into.Add(path.Length == 0 ? "(root)" : path);
                break;
        }
    }

    private static ConfigNode? Field(ConfigNode.Map map, string key)
    {
        foreach (var (k, v) in map.Fields)
            if (k == key) return v;
        return null;
    }
}
