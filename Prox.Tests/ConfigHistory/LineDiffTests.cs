using Prox.Actors.ConfigHistory;
using Xunit;

namespace Prox.Tests.ConfigHistory;

public class LineDiffTests
{
    [Fact]
    public void Unified_SameText_Empty() => Assert.Equal("", LineDiff.Unified("a\nb\n", "a\nb\n", "1", "2"));

    [Fact]
    public void Unified_OneLineChanged_OneHunkWithContext()
    {
        var from = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        var to = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";

        var diff = LineDiff.Unified(from, to, "version 1", "version 2");

        Assert.Equal("""
            --- version 1
            +++ version 2
            @@ -2,7 +2,7 @@
             2
             3
             4
            -5
            +five
             6
             7
             8

            """.ReplaceLineEndings("\n"), diff);
    }

    [Fact]
    public void Unified_ChangesFarApart_TwoHunks_CloseTogether_One()
    {
        var lines = Enumerable.Range(1, 30).Select(i => i.ToString()).ToArray();
        var far = (string[])lines.Clone();
        far[1] = "x";
        far[25] = "y";
        var near = (string[])lines.Clone();
        near[1] = "x";
        near[6] = "y";

        Assert.Equal(2, Hunks(LineDiff.Unified(Text(lines), Text(far), "a", "b")));
        Assert.Equal(1, Hunks(LineDiff.Unified(Text(lines), Text(near), "a", "b")));

        static int Hunks(string diff) => diff.Split('\n').Count(l => l.StartsWith("@@"));
    }

    [Theory]
    [InlineData("", "a\nb\n", "@@ -0,0 +1,2 @@")]
    [InlineData("a\nb\n", "", "@@ -1,2 +0,0 @@")]
    [InlineData("a\nc\n", "a\nb\nc\n", "@@ -1,2 +1,3 @@")]
    public void Unified_InsertionsAndDeletions_GnuRanges(string from, string to, string header) =>
        Assert.Contains(header + "\n", LineDiff.Unified(from, to, "a", "b"));

    [Fact]
    public void Compare_KeepsTheLongestCommonSubsequence()
    {
        var lines = LineDiff.Compare("a\nb\nc\nd\n", "b\nx\nc\nd\ny\n");

        Assert.Equal("-a b +x c d +y", string.Join(" ", lines.Select(l => l.Kind switch
        {
            LineDiff.Kind.Removed => "-" + l.Text,
            LineDiff.Kind.Added => "+" + l.Text,
            _ => l.Text,
        })));
    }

    [Fact]
    public void Compare_CrLfAndLf_AreTheSameLines() =>
        Assert.All(LineDiff.Compare("a\r\nb\r\n", "a\nb\n"), l => Assert.Equal(LineDiff.Kind.Same, l.Kind));

    [Fact]
    public void Compare_RepeatedLines_GivesBackBothTexts_WithTheFewestChanges()
    {
        // config files repeat lines ("}", blank): many alignments are minimal, any of them must rebuild both texts
        var random = new Random(12);
        for (var run = 0; run < 500; run++)
        {
            var from = Lines(random);
            var to = Lines(random);

            var lines = LineDiff.Compare(string.Concat(from.Select(l => l + "\n")), string.Concat(to.Select(l => l + "\n")));

            Assert.Equal(from, lines.Where(l => l.Kind != LineDiff.Kind.Added).Select(l => l.Text));
            Assert.Equal(to, lines.Where(l => l.Kind != LineDiff.Kind.Removed).Select(l => l.Text));
            Assert.Equal(from.Length - Lcs(from, to), lines.Count(l => l.Kind == LineDiff.Kind.Removed));
        }

        static string[] Lines(Random random) =>
            Enumerable.Range(0, random.Next(0, 12)).Select(_ => "}ab "[random.Next(4)].ToString()).ToArray();

        static int Lcs(string[] a, string[] b)
        {
            var t = new int[a.Length + 1, b.Length + 1];
            for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
                t[i, j] = a[i - 1] == b[j - 1] ? t[i - 1, j - 1] + 1 : Math.Max(t[i - 1, j], t[i, j - 1]);
            return t[a.Length, b.Length];
        }
    }

    private static string Text(string[] lines) => string.Join("\n", lines) + "\n";
}
