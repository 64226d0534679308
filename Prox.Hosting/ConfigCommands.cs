using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Prox.Hosting;

/// <summary>
/// <c>prox config history|show|diff|rollback</c>: the config history through the admin API of a running Prox.
/// Exit codes: 0 ok, 1 the request failed (the problem's detail is printed), 2 usage.
/// </summary>
public static class ConfigCommands
{
    public const string DefaultAdmin = "http://127.0.0.1:9901";
    public const string TokenVariable = "PROX_ADMIN_TOKEN";

    public const string Help = """
          prox config history [--limit N]          list config versions, newest first
          prox config show [N]                     print version N (default: the current one) to stdout
          prox config diff A B                     unified diff and changed paths from version A to B
          prox config rollback N [--comment C]     apply version N again (it becomes a new version)
            options: --admin URL (default http://127.0.0.1:9901), --token T (default $PROX_ADMIN_TOKEN)
        """;

    private sealed record Options(List<string> Args, Uri Admin, string? Token, string? Comment, int? Limit);

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            stdout.WriteLine("usage:\n" + Help);
            return args.Length == 0 ? Cli.Usage : Cli.Ok;
        }
        if (!TryOptions(args[1..], out var o, out var usage))
        {
            stderr.WriteLine($"prox config: {usage}");
            return Cli.Usage;
        }

        using var http = new HttpClient { BaseAddress = o.Admin, Timeout = TimeSpan.FromSeconds(30) };
        if (o.Token is { Length: > 0 } token) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            return (args[0], o.Args.Count) switch
            {
                ("history", 0) => await HistoryAsync(http, o, stdout, stderr),
                ("show", 0 or 1) when o.Args.Count == 0 || IsNumber(o.Args[0]) =>
                    await ShowAsync(http, o.Args.Count == 0 ? null : o.Args[0], stdout, stderr),
                ("diff", 2) when IsNumber(o.Args[0]) && IsNumber(o.Args[1]) => await DiffAsync(http, o.Args[0], o.Args[1], stdout, stderr),
                ("rollback", 1) when IsNumber(o.Args[0]) => await RollbackAsync(http, o.Args[0], o.Comment, stdout, stderr),
                ("history" or "show" or "diff" or "rollback", _) => UsageError(stderr, $"wrong arguments for '{args[0]}'"),
                _ => UsageError(stderr, $"unknown command 'config {args[0]}'"),
            };
        }
        catch (HttpRequestException e)
        {
            stderr.WriteLine($"prox config: cannot reach the admin API at {o.Admin}: {e.Message}");
            return Cli.Invalid;
        }
        catch (TaskCanceledException)
        {
            stderr.WriteLine($"prox config: the admin API at {o.Admin} did not answer in time");
            return Cli.Invalid;
        }
    }

    private static int UsageError(TextWriter stderr, string message)
    {
        stderr.WriteLine($"prox config: {message}\nusage:\n{Help}");
        return Cli.Usage;
    }

    private static bool IsNumber(string s) => long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0;

    private static async Task<int> HistoryAsync(HttpClient http, Options o, TextWriter stdout, TextWriter stderr)
    {
        using var resp = await http.GetAsync($"/admin/config/versions?limit={o.Limit ?? 20}");
        if (await ProblemAsync(resp, stderr) is { } failed) return failed;
        var body = await resp.Content.ReadFromJsonAsync<JsonElement>();
        var versions = body.GetProperty("versions").EnumerateArray().ToList();
        if (versions.Count == 0)
        {
            stdout.WriteLine("no versions");
            return Cli.Ok;
        }
        stdout.WriteLine($"{"VERSION",7}  {"AT (UTC)",-19}  {"SOURCE",-8}  {"AUTHOR",-18}  {"BYTES",7}  COMMENT");
        foreach (var v in versions)
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{v.GetProperty("version").GetInt64(),7}  {v.GetProperty("at").GetDateTimeOffset().UtcDateTime:yyyy-MM-dd HH:mm:ss}  {v.GetProperty("source").GetString(),-8}  {v.GetProperty("author").GetString(),-18}  {v.GetProperty("bytes").GetInt32(),7}  {v.GetProperty("comment").GetString()}"));
        if (body.TryGetProperty("next", out var next) && next.ValueKind == JsonValueKind.Number)
            stdout.WriteLine($"(older versions: prox config history --limit {Math.Min(100, (o.Limit ?? 20) * 2)}, or GET /admin/config/versions?before={next.GetInt64()})");
        return Cli.Ok;
    }

    private static async Task<int> ShowAsync(HttpClient http, string? version, TextWriter stdout, TextWriter stderr)
    {
        using var resp = await http.GetAsync(version is null ? "/admin/config" : $"/admin/config/versions/{version}");
        if (await ProblemAsync(resp, stderr) is { } failed) return failed;
        var v = await resp.Content.ReadFromJsonAsync<JsonElement>();
        // the text alone on stdout, so `prox config show 3 > old.conf` gives a usable file
        stderr.WriteLine($"# version {v.GetProperty("version").GetInt64()}: {v.GetProperty("source").GetString()} by {v.GetProperty("author").GetString()} at {v.GetProperty("at").GetDateTimeOffset().UtcDateTime:u} {Quote(v.GetProperty("comment").GetString())}");
        var text = v.GetProperty("text").GetString()!;
        stdout.Write(text.EndsWith('\n') ? text : text + "\n");
        return Cli.Ok;
    }

    private static async Task<int> DiffAsync(HttpClient http, string from, string to, TextWriter stdout, TextWriter stderr)
    {
        using var resp = await http.GetAsync($"/admin/config/diff?from={from}&to={to}");
        if (await ProblemAsync(resp, stderr) is { } failed) return failed;
        var d = await resp.Content.ReadFromJsonAsync<JsonElement>();
        var unified = d.GetProperty("unified").GetString()!;
        var changed = d.GetProperty("changed").EnumerateArray().Select(c => c.GetString()).ToList();
        if (unified.Length == 0 && changed.Count == 0)
        {
            stdout.WriteLine($"versions {from} and {to} are the same");
            return Cli.Ok;
        }
        stdout.Write(unified);
        stdout.WriteLine($"changed paths ({changed.Count}):");
        foreach (var c in changed) stdout.WriteLine($"  {c}");
        return Cli.Ok;
    }

    private static async Task<int> RollbackAsync(HttpClient http, string version, string? comment, TextWriter stdout, TextWriter stderr)
    {
        var url = $"/admin/config/rollback?to={version}";
        if (comment is not null) url += "&comment=" + Uri.EscapeDataString(comment);
        using var resp = await http.PostAsync(url, null);
        if (await ProblemAsync(resp, stderr) is { } failed) return failed;
        var r = await resp.Content.ReadFromJsonAsync<JsonElement>();
        stdout.WriteLine($"rolled back to version {version}: now version {(r.TryGetProperty("version", out var v) ? v.ToString() : "?")}");
        if (r.TryGetProperty("changed", out var changed))
            foreach (var c in changed.EnumerateArray()) stdout.WriteLine($"  changed {c.GetString()}");
        if (r.TryGetProperty("restartNeeded", out var restart))
            foreach (var k in restart.EnumerateArray()) stdout.WriteLine($"  {k.GetString()} changed: takes effect after a restart");
        return Cli.Ok;
    }

    /// <summary>Prints a failed response's problem (title, detail, every error) and returns 1; null on success.</summary>
    private static async Task<int?> ProblemAsync(HttpResponseMessage resp, TextWriter stderr)
    {
        if (resp.IsSuccessStatusCode) return null;
        var text = await resp.Content.ReadAsStringAsync();
        try
        {
            var p = JsonSerializer.Deserialize<JsonElement>(text);
            stderr.WriteLine($"prox config: {(int)resp.StatusCode} {Str(p, "title")}: {Str(p, "detail")}");
            if (p.TryGetProperty("errors", out var errors))
                foreach (var e in errors.EnumerateArray()) stderr.WriteLine($"  {e.GetString()}");
        }
        catch (JsonException)
        {
            stderr.WriteLine($"prox config: {(int)resp.StatusCode} {resp.ReasonPhrase}");
        }
        return Cli.Invalid;

        static string? Str(JsonElement e, string name) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v.GetString() : null;
    }

    private static string Quote(string? comment) => string.IsNullOrEmpty(comment) ? "" : $"\"{comment}\"";

    private static bool TryOptions(string[] args, out Options options, out string usage)
    {
        var rest = new List<string>();
        var admin = DefaultAdmin;
        var token = Environment.GetEnvironmentVariable(TokenVariable);
        string? comment = null;
        int? limit = null;
        options = null!;
        usage = "";
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "--admin" or "--token" or "--comment" or "--limit")
            {
                if (i + 1 >= args.Length)
                {
                    usage = $"{args[i]} needs a value";
                    return false;
                }
                var value = args[++i];
                switch (args[i - 1])
                {
                    case "--admin": admin = value; break;
                    case "--token": token = value; break;
                    case "--comment": comment = value; break;
                    default:
                        if (!int.TryParse(value, out var l) || l is < 1 or > 100)
                        {
                            usage = "--limit must be an integer from 1 to 100";
                            return false;
                        }
                        limit = l;
                        break;
                }
            }
            else if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                usage = $"unknown option '{args[i]}'";
                return false;
            }
            else rest.Add(args[i]);
        }
        if (!Uri.TryCreate(admin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            usage = $"--admin must be an http(s) URL, got '{admin}'";
            return false;
        }
        options = new Options(rest, uri, token, comment, limit);
        return true;
    }
}
