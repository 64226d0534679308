using System.Text;
using DiffPlex;

namespace Prox.Actors.ConfigHistory;

/// <summary>
/// A unified diff of two texts, line by line. DiffPlex (Myers' algorithm) finds the changed blocks; this class only
/// renders them in GNU diff's unified format, which the admin API and <c>prox config diff</c> print.
/// </summary>
/// <remarks>
/// The diff is always a shortest one. Where repeated lines (<c>}</c>, blank) allow several shortest diffs, Myers may
/// pair them differently from GNU diff, so a hunk can start a line earlier or later than <c>diff -u</c> would show it.
/// </remarks>
public static class LineDiff
{
    public enum Kind
    {
        Same,
        Removed,
        Added,
    }

    public readonly record struct Line(Kind Kind, string Text);

    /// <summary>Every line of both texts in order, each marked same, removed or added; in a changed block the removed
    /// lines come before the added ones.</summary>
    public static IReadOnlyList<Line> Compare(string from, string to)
    {
        var diff = Differ.Instance.CreateDiffs(from, to, ignoreWhiteSpace: false, ignoreCase: false, Lines.Instance);
        var a = diff.PiecesOld;
        var b = diff.PiecesNew;
        var result = new List<Line>(a.Count + b.Count);
        var x = 0;
        foreach (var block in diff.DiffBlocks)
        {
            while (x < block.DeleteStartA) result.Add(new Line(Kind.Same, a[x++]));
            for (var i = 0; i < block.DeleteCountA; i++) result.Add(new Line(Kind.Removed, a[x++]));
            for (var j = block.InsertStartB; j < block.InsertStartB + block.InsertCountB; j++) result.Add(new Line(Kind.Added, b[j]));
        }
        while (x < a.Count) result.Add(new Line(Kind.Same, a[x++]));
        return result;
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

    /// <summary>Lines as a config file has them: CRLF and LF both end a line (a lone CR does not, unlike DiffPlex's own
    /// <c>LineChunker</c>), and a final line end starts no empty line.</summary>
    private sealed class Lines : IChunker
    {
        public static readonly Lines Instance = new();

        public IReadOnlyList<string> Chunk(string text)
        {
            if (text.Length == 0) return [];
            var lines = text.Replace("\r\n", "\n").Split('\n');
            return text.EndsWith('\n') ? lines[..^1] : lines;
        }
    }
}
