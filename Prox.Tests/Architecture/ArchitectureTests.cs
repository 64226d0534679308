using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Xunit;

namespace Prox.Tests.Architecture;

/// <summary>
/// The layout rules of docs/architecture.md, checked on the source: no namespace (capability folder) depends on
/// another that depends back on it, no source file outside the tests is over 400 lines, and the docs link only
/// inside the repo. Dependencies are found by Roslyn's binder over one compilation of all three projects' sources,
/// so a qualified name (<c>Cluster.OutcomeBatch</c>) or a type reached through a parent namespace counts as much as a
/// <c>using</c>.
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly string[] Projects = ["Prox.Actors", "Prox.Http", "Prox.Hosting"];
    private const int MaxLines = 400;

    [Fact]
    public void SourceDependencies_BetweenNamespaces_HaveNoCycles()
    {
        var graph = DependencyGraph();
        var cycles = StronglyConnected(graph.Keys.Union(graph.Values.SelectMany(v => v.Keys)), graph)
            .Where(c => c.Count > 1)
            .Select(c => string.Join(Environment.NewLine, c.SelectMany(a => graph.GetValueOrDefault(a, new())
                .Where(e => c.Contains(e.Key))
                .Select(e => $"  {a} -> {e.Key} ({string.Join(", ", e.Value.Take(3))})"))))
            .ToList();
        Assert.True(cycles.Count == 0, "namespace cycles:" + Environment.NewLine + string.Join(Environment.NewLine + "--" + Environment.NewLine, cycles));
    }

    [Fact]
    public void DependencyGraph_SeesQualifiedNamesAndUsings()
    {
        // guards the check above against passing because it finds nothing
        var graph = DependencyGraph();
        Assert.Contains("Prox.Actors.Routing", graph["Prox.Http.Forwarding"].Keys);
        Assert.True(graph.Sum(n => n.Value.Count) > 40, $"only {graph.Sum(n => n.Value.Count)} edges found");
    }

    [Fact]
    public void SourceFiles_OutsideTests_AreAtMost400Lines()
    {
        var tooLong = SourceFiles()
            .Select(f => (File: Path.GetRelativePath(RepoRoot, f), Lines: File.ReadAllLines(f).Length))
            .Where(f => f.Lines > MaxLines)
            .Select(f => $"{f.File}: {f.Lines} lines")
            .ToList();
        Assert.True(tooLong.Count == 0, string.Join(Environment.NewLine, tooLong));
    }

    [Fact]
    public void Docs_LinkOnlyInsideTheRepo()
    {
        var link = new Regex(@"\]\(([^)#\s]+)", RegexOptions.Compiled);
        var docs = Directory.GetFiles(Path.Combine(RepoRoot, "docs"), "*.md").Append(Path.Combine(RepoRoot, "README.md"));
        var bad = new List<string>();
        foreach (var doc in docs)
        {
            foreach (Match m in link.Matches(File.ReadAllText(doc)))
            {
                var target = m.Groups[1].Value;
                if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal)) continue;
                var full = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(doc)!, target));
                if (!full.StartsWith(RepoRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !Path.Exists(full))
                    bad.Add($"{Path.GetRelativePath(RepoRoot, doc)}: {target}");
            }
        }
        Assert.True(bad.Count == 0, "links that leave the repo or lead nowhere:" + Environment.NewLine + string.Join(Environment.NewLine, bad));
    }

    private static readonly Lazy<string> Root = new(() =>
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Prox.Akka.sln"))) return d.FullName;
        throw new InvalidOperationException("Prox.Akka.sln not found above " + AppContext.BaseDirectory);
    });

    private static string RepoRoot => Root.Value;

    private static IEnumerable<string> SourceFiles() => Projects.SelectMany(p =>
        Directory.EnumerateFiles(Path.Combine(RepoRoot, p), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)));

    private static readonly Lazy<Dictionary<string, Dictionary<string, SortedSet<string>>>> Graph = new(Build);

    private static Dictionary<string, Dictionary<string, SortedSet<string>>> DependencyGraph() => Graph.Value;

    /// <summary>namespace → namespace it uses → files that use it. One compilation of all three projects' sources,
    /// referencing every assembly this test process can see (the framework, ASP.NET Core, Akka, YARP).</summary>
    private static Dictionary<string, Dictionary<string, SortedSet<string>>> Build()
    {
        var options = new CSharpParseOptions(LanguageVersion.Preview);
        var implicitUsings = CSharpSyntaxTree.ParseText("""
            global using System; global using System.Collections.Generic; global using System.IO; global using System.Linq;
            global using System.Net.Http; global using System.Threading; global using System.Threading.Tasks;
            global using Microsoft.AspNetCore.Builder; global using Microsoft.AspNetCore.Hosting; global using Microsoft.AspNetCore.Http;
            global using Microsoft.AspNetCore.Routing; global using Microsoft.Extensions.Configuration;
            global using Microsoft.Extensions.DependencyInjection; global using Microsoft.Extensions.Hosting; global using Microsoft.Extensions.Logging;
            """, options);
        var trees = SourceFiles().Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), options, f)).Append(implicitUsings).ToList();
        var refs = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(Directory.GetFiles(AppContext.BaseDirectory, "*.dll"))
            .Where(p => !Path.GetFileName(p).StartsWith("Prox.", StringComparison.Ordinal) && Path.GetFileName(p) != "prox.dll")
            .DistinctBy(Path.GetFileName)
            .Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create("arch", trees, refs,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

        var graph = new Dictionary<string, Dictionary<string, SortedSet<string>>>();
        foreach (var tree in trees.Where(t => t.FilePath.Length > 0))
        {
            var model = compilation.GetSemanticModel(tree);
            var root = tree.GetRoot();
            var own = root.DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>().FirstOrDefault()?.Name.ToString();
            if (own is null) continue;
            var file = Path.GetRelativePath(RepoRoot, tree.FilePath);
            foreach (var u in root.DescendantNodes().OfType<UsingDirectiveSyntax>())
                if (u.StaticKeyword.IsKind(SyntaxKind.None) && u.Alias is null && u.Name?.ToString() is { } ns && ns.StartsWith("Prox.", StringComparison.Ordinal))
                    Add(graph, own, ns, file);
            foreach (var name in root.DescendantNodes().OfType<SimpleNameSyntax>())
            {
                var symbol = model.GetSymbolInfo(name).Symbol;
                var type = symbol as INamedTypeSymbol ?? symbol?.ContainingType;
                while (type?.ContainingType is { } outer) type = outer;
                var ns = type?.ContainingNamespace?.ToDisplayString();
                if (ns is not null && ns.StartsWith("Prox.", StringComparison.Ordinal))
                    Add(graph, own, ns, file);
            }
        }
        return graph;
    }

    private static void Add(Dictionary<string, Dictionary<string, SortedSet<string>>> graph, string from, string to, string file)
    {
        // a parent namespace counts like any other folder: Prox.Actors (the supervisor) and Prox.Http (the pipeline) compose
        // their capabilities, so a capability that used the root would close a cycle
        if (from == to) return;
        if (!graph.TryGetValue(from, out var edges)) graph[from] = edges = new();
        if (!edges.TryGetValue(to, out var files)) edges[to] = files = new(StringComparer.Ordinal);
        files.Add(file);
    }

    /// <summary>Tarjan's strongly connected components.</summary>
    private static List<HashSet<string>> StronglyConnected(IEnumerable<string> nodes, Dictionary<string, Dictionary<string, SortedSet<string>>> graph)
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<HashSet<string>>();
        void Visit(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in graph.GetValueOrDefault(v, new()).Keys)
            {
                if (!index.ContainsKey(w)) { Visit(w); low[v] = Math.Min(low[v], low[w]); }
                else if (onStack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            }
            if (low[v] != index[v]) return;
            var component = new HashSet<string>();
            string x;
            do { x = stack.Pop(); onStack.Remove(x); component.Add(x); } while (x != v);
            result.Add(component);
        }
        foreach (var n in nodes.Distinct().Order(StringComparer.Ordinal))
            if (!index.ContainsKey(n)) Visit(n);
        return result;
    }
}
