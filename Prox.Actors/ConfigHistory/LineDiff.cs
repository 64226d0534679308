using System.Text;

namespace Prox.Actors.ConfigHistory;

/// <summary>
/// A unified diff of two texts, line by line (longest common subsequence; config files are small). Lines common to
/// both ends are trimmed first, so the quadratic table only covers the changed middle.
/// </summary>
public static class LineDiff
{
    /// <summary>Beyond this many table cells the changed middle is shown as all removed, then all added.</summary>
    private const long MaxCells = 16_000_000;

    public enum Kind
    {
        Same,
        Removed,
        Added,
    }

    public readonly record struct Line(Kind Kind, string Text);

    /// <summary>Every line of both texts in order, each marked same, removed or added.</summary>
    public static IReadOnlyList<Line> Compare(string from, string to)
    {
        var a = Split(from);
        var b = Split(to);
        var prefix = 0;
        while (prefix < a.Length && prefix < b.Length && a[prefix] == b[prefix]) prefix++;
        var suffix = 0;
        while (suffix < a.Length - prefix && suffix < b.Length - prefix && a[^(suffix + 1)] == b[^(suffix + 1)]) suffix++;

        var result = new List<Line>(a.Length + b.Length);
        for (var i = 0; i < prefix; i++) result.Add(new Line(Kind.Same, a[i]));
        Middle(a[prefix..(a.Length - suffix)], b[prefix..(b.Length - suffix)], result);
        for (var i = a.Length - suffix; i < a.Length; i++) result.Add(new Line(Kind.Same, a[i]));
        return result;
    }

    private static void Middle(string[] a, string[] b, List<Line> into)
    {
        if ((long)a.Length * b.Length > MaxCells)
        {
            into.AddRange(a.Select(l => new Line(Kind.Removed, l)));
            into.AddRange(b.Select(l => new Line(Kind.Added, l)));
            return;
        }
        // lcs[i, j] = length of the longest common subsequence of a[i..] and b[j..]
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        for (var j = b.Length - 1; j >= 0; j--)
            lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);

        int x = 0, y = 0;
        while (x < a.Length && y < b.Length)
        {
            if (a[x] == b[y])
            {
                into.Add(new Line(Kind.Same, a[x]));
                x++;
                y++;
            }
            else if (lcs[x + 1, y] >= lcs[x, y + 1]) into.Add(new Line(Kind.Removed, a[x++]));
            else into.Add(new Line(Kind.Added, b[y++]));
        }
        while (x < a.Length) into.Add(new Line(Kind.Removed, a[x++]));
        while (y < b.Length) into.Add(new Line(Kind.Added, b[y++]));
    }

    /// <summary>The unified diff (<c>---</c>/<c>+++</c> headers, <c>@@</c> hunks with <paramref name="context"/> lines
    /// around each change); empty when the texts have the same lines.</summary>
    public static string Unified(string from, string to, string fromName, string toName, int context = 3)
    {
        var lines = Compare(from, to);
        var changed = new List<int>();
        for (var i = 0; i < lines.Count; i++)
            if (lines[i].Kind != Kind.Same) changed.Add(i);
        if (changed.Count == 0) return "";

        var sb = new StringBuilder();
        sb.Append("--- ").Append(fromName).Append('\n');
        sb.Append("+++ ").Append(toName).Append('\n');
        var c = 0;
        while (c < changed.Count)
        {
            // a hunk runs from context before its first change to context after its last; changes closer than
            // 2 × context lines apart share one hunk
            var start = Math.Max(0, changed[c] - context);
            var last = changed[c];
            while (c + 1 < changed.Count && changed[c + 1] - last <= 2 * context) last = changed[++c];
            c++;
            var end = Math.Min(lines.Count, last + context + 1);

            // line numbers (1-based) where the hunk starts in each text
            int fromLine = 1, toLine = 1;
            for (var i = 0; i < start; i++)
            {
                if (lines[i].Kind != Kind.Added) fromLine++;
                if (lines[i].Kind != Kind.Removed) toLine++;
            }
            var fromCount = 0;
            var toCount = 0;
            for (var i = start; i < end; i++)
            {
                if (lines[i].Kind != Kind.Added) fromCount++;
                if (lines[i].Kind != Kind.Removed) toCount++;
            }
            sb.Append("@@ -").Append(Range(fromLine, fromCount)).Append(" +").Append(Range(toLine, toCount)).Append(" @@\n");
            for (var i = start; i < end; i++)
                sb.Append(lines[i].Kind switch { Kind.Removed => '-', Kind.Added => '+', _ => ' ' }).Append(lines[i].Text).Append('\n');
        }
        return sb.ToString();
    }

    // GNU diff: an empty range is written as the line before it, with count 0
    private static string Range(int start, int count) => count == 0 ? $"{start - 1},0" : count == 1 ? $"{start}" : $"{start},{count}";

    private static string[] Split(string text)
    {
        if (text.Length == 0) return [];
        var lines = text.Replace("\r\n", "\n").Split('\n');
        return text.EndsWith('\n') ? lines[..^1] : lines;
    }
}
