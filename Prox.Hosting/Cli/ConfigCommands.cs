using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Prox.Hosting.Cli;

/// <summary>
/// <c>prox config history|show|diff|rollback</c>: the config history through the admin API of a running Prox.
/// Exit codes: 0 ok, 1 the request failed (the problem's detail is printed), 2 usage.
/// </summary>
internal static class ConfigCommands
{
    public const string DefaultAdmin = "http://127.0.0.1:9901";
    public const string TokenVariable = "PROX_ADMIN_TOKEN";

    /// <summary>What a verb does once its arguments are parsed: its admin request, with the answer printed.</summary>
    private delegate Task<int> Request(HttpClient http, ParseResult parsed, TextWriter stdout, TextWriter stderr);

    public static Command Create()
    {
        var admin = new Option<Uri>("--admin")
        {
            HelpName = "URL",
            Description = "The admin API of the running Prox.",
            Recursive = true,
            DefaultValueFactory = _ => new Uri(DefaultAdmin),
            CustomParser = result =>
            {
                var text = result.Tokens[0].Value;
                if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https") return uri;
                result.AddError($"--admin must be an http(s) URL, got '{text}'");
                return null;
            },
        };
        // no DefaultValueFactory: help would print the token held in the environment
        var token = new Option<string?>("--token")
        {
            HelpName = "T",
            Description = $"Sent as 'Authorization: Bearer T' [default: ${TokenVariable}].",
            Recursive = true,
        };

        var config = new Command("config", "The config history of a running Prox: history, show, diff, rollback (exit 0 ok, 1 request failed).")
        {
            admin,
            token,
        };
        config.SetAction(ProxCli.ShowHelp);
        var api = new AdminApi(admin, token);
        config.Subcommands.Add(History(api));
        config.Subcommands.Add(Show(api));
        config.Subcommands.Add(Diff(api));
        config.Subcommands.Add(Rollback(api));
        return config;
    }

    private static Command History(AdminApi api)
    {
        var limit = new Option<int>("--limit")
        {
            HelpName = "N",
            Description = "How many versions to list (1-100).",
            DefaultValueFactory = _ => 20,
            CustomParser = result =>
            {
                if (int.TryParse(result.Tokens[0].Value, out var l) && l is >= 1 and <= 100) return l;
                result.AddError("--limit must be an integer from 1 to 100");
                return 0;
            },
        };
        return api.Verb(new Command("history", "List config versions, newest first.") { limit },
            (http, parsed, stdout, stderr) => HistoryAsync(http, parsed.GetValue(limit), stdout, stderr));
    }

    private static Command Show(AdminApi api)
    {
        var version = VersionArgument("N", "The version to print [default: the current one].", ArgumentArity.ZeroOrOne);
        return api.Verb(new Command("show", "Print a version's text to stdout (its header goes to stderr).") { version },
            (http, parsed, stdout, stderr) => ShowAsync(http, parsed.GetValue(version), stdout, stderr));
    }

    private static Command Diff(AdminApi api)
    {
        var from = VersionArgument("A", "The version to compare from.", ArgumentArity.ExactlyOne);
        var to = VersionArgument("B", "The version to compare to.", ArgumentArity.ExactlyOne);
        return api.Verb(new Command("diff", "Print the unified diff and the changed paths from version A to B.") { from, to },
            (http, parsed, stdout, stderr) => DiffAsync(http, parsed.GetValue(from)!.Value, parsed.GetValue(to)!.Value, stdout, stderr));
    }

    private static Command Rollback(AdminApi api)
    {
        var version = VersionArgument("N", "The version to apply again.", ArgumentArity.ExactlyOne);
        var comment = new Option<string?>("--comment") { HelpName = "C", Description = "Recorded with the new version." };
        return api.Verb(new Command("rollback", "Apply version N again; it becomes a new version.") { version, comment },
            (http, parsed, stdout, stderr) => RollbackAsync(http, parsed.GetValue(version)!.Value, parsed.GetValue(comment), stdout, stderr));
    }

    /// <summary>A version number argument: a positive integer, checked before any request is sent.</summary>
    private static Argument<long?> VersionArgument(string name, string description, ArgumentArity arity) => new(name)
    {
        Description = description,
        Arity = arity,
        CustomParser = result =>
        {
            var text = result.Tokens[0].Value;
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0) return n;
            result.AddError(ProxCli.IsOptionLike(text) ? ProxCli.UnknownOption(text) : $"{name} must be a version number (1, 2, ...), got '{text}'");
            return null;
        },
    };

    /// <summary>The options every verb shares: where the admin API is and the token it is called with.</summary>
    private sealed record AdminApi(Option<Uri> Admin, Option<string?> Token)
    {
        /// <summary>Gives <paramref name="command"/> the action that sends its request to the admin API, and reports
        /// an unreachable or silent API as a failed request.</summary>
        public Command Verb(Command command, Request request)
        {
            command.SetAction((parsed, _) => SendAsync(parsed, request));
            return command;
        }

        private async Task<int> SendAsync(ParseResult parsed, Request request)
        {
            var stdout = parsed.InvocationConfiguration.Output;
            var stderr = parsed.InvocationConfiguration.Error;
            var uri = parsed.GetValue(Admin)!;
            using var http = new HttpClient { BaseAddress = uri, Timeout = TimeSpan.FromSeconds(30) };
            if ((parsed.GetValue(Token) ?? Environment.GetEnvironmentVariable(TokenVariable)) is { Length: > 0 } bearer)
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            try
            {
                return await request(http, parsed, stdout, stderr);
            }
            catch (HttpRequestException e)
            {
                stderr.WriteLine($"prox config: cannot reach the admin API at {uri}: {e.Message}");
                return ProxCli.Invalid;
            }
            catch (TaskCanceledException)
            {
                stderr.WriteLine($"prox config: the admin API at {uri} did not answer in time");
                return ProxCli.Invalid;
            }
        }
    }

    private static async Task<int> HistoryAsync(HttpClient http, int limit, TextWriter stdout, TextWriter stderr)
    {
        using var resp = await http.GetAsync($"/admin/config/versions?limit={limit}");
        if (await ProblemAsync(resp, stderr) is { } failed) return failed;
        var body = await resp.Content.ReadFromJsonAsync<JsonElement>();
        var versions = body.GetProperty("versions").EnumerateArray().ToList();
        if (versions.Count == 0)
        {
            stdout.WriteLine("no versions");
            return ProxCli.Ok;
        }
        stdout.WriteLine($"{"VERSION",7}  {"AT (UTC)",-19}  {"SOURCE",-8}  {"AUTHOR",-18}  {"BYTES",7}  COMMENT");
        foreach (var v in versions)
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{v.GetProperty("version").GetInt64(),7}  {v.GetProperty("at").GetDateTimeOffset().UtcDateTime:yyyy-MM-dd HH:mm:ss}  {v.GetProperty("source").GetString(),-8}  {v.GetProperty("author").GetString(),-18}  {v.GetProperty("bytes").GetInt32(),7}  {v.GetProperty("comment").GetString()}"));
        if (body.TryGetProperty("next", out var next) && next.ValueKind == JsonValueKind.Number)
            stdout.WriteLine($"(older versions: prox config history --limit {Math.Min(100, limit * 2)}, or GET /admin/config/versions?before={next.GetInt64()})");
        return ProxCli.Ok;
    }

    private static async Task<int> ShowAsync(HttpClient http, long? version, TextWriter stdout, TextWriter stderr)
    {
        using var resp = await http.GetAsync(version is null ? "/admin/config" : $"/admin/config/versions/{version}");
        if (await ProblemAsync(resp, stderr) is { } failed) return failed;
        var v = await resp.Content.ReadFromJsonAsync<JsonElement>();
        // the text alone on stdout, so `prox config show 3 > old.conf` gives a usable file
        stderr.WriteLine($"# version {v.GetProperty("version").GetInt64()}: {v.GetProperty("source").GetString()} by {v.GetProperty("author").GetString()} at {v.GetProperty("at").GetDateTimeOffset().UtcDateTime:u} {Quote(v.GetProperty("comment").GetString())}");
        var text = v.GetProperty("text").GetString()!;
        stdout.Write(text.EndsWith('\n') ? text : text + "\n");
        return ProxCli.Ok;
    }

    private static async Task<int> DiffAsync(HttpClient http, long from, long to, TextWriter stdout, TextWriter stderr)
    {
        using var resp = await http.GetAsync($"/admin/config/diff?from={from}&to={to}");
        if (await ProblemAsync(resp, stderr) is { } failed) return failed;
        var d = await resp.Content.ReadFromJsonAsync<JsonElement>();
        var unified = d.GetProperty("unified").GetString()!;
        var changed = d.GetProperty("changed").EnumerateArray().Select(c => c.GetString()).ToList();
        if (unified.Length == 0 && changed.Count == 0)
        {
            stdout.WriteLine($"versions {from} and {to} are the same");
            return ProxCli.Ok;
        }
        stdout.Write(unified);
        stdout.WriteLine($"changed paths ({changed.Count}):");
        foreach (var c in changed) stdout.WriteLine($"  {c}");
        return ProxCli.Ok;
    }

    private static async Task<int> RollbackAsync(HttpClient http, long version, string? comment, TextWriter stdout, TextWriter stderr)
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
        return ProxCli.Ok;
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
        return ProxCli.Invalid;

        static string? Str(JsonElement e, string name) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v.GetString() : null;
    }

    private static string Quote(string? comment) => string.IsNullOrEmpty(comment) ? "" : $"\"{comment}\"";
}
