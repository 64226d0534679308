using Prox.Hosting.Cli;
using Prox.Http.Admin;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.Cli;

/// <summary>The <c>prox</c> command line in-process: help, usage errors, validation, completions.</summary>
public class ProxCliTests
{
    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunCli(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await ProxCli.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData("", "run", "demo", "validate", "token", "config", "--version")]
    [InlineData("run", "--config", "FILE", "config/prox.conf")]
    [InlineData("demo", "--config", "FILE", "config/demo.conf")]
    [InlineData("validate", "--config", "FILE")]
    [InlineData("token", "--name", "--role", "read|write")]
    [InlineData("config", "history", "show", "diff", "rollback", "--admin", "--token")]
    [InlineData("config history", "--limit", "--admin", "--token")]
    [InlineData("config show", "<N>", "--admin")]
    [InlineData("config diff", "<A>", "<B>", "--admin")]
    [InlineData("config rollback", "<N>", "--comment", "--admin")]
    public async Task Help_EachVerb_Exit0_NamesItsOptions(string verb, params string[] names)
    {
        var (code, stdout, stderr) = await RunCli([.. verb.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"]);

        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Contains($"prox {verb}".Trim(), stdout);
        Assert.All(names, n => Assert.Contains(n, stdout));
    }

    [Fact]
    public async Task Help_VerbSpelling_SameAsOption()
    {
        Assert.Equal((await RunCli("config", "diff", "--help")).Stdout, (await RunCli("help", "config", "diff")).Stdout);
        Assert.Equal((0, $"prox {AdminEndpoints.Version}\n", ""), await RunCli("version"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("config")]
    public async Task NoVerb_PrintsHelp_Exit2(string group)
    {
        var (code, stdout, _) = await RunCli(group.Split(' ', StringSplitOptions.RemoveEmptyEntries));

        Assert.Equal(2, code);
        Assert.Contains("Usage:", stdout);
    }

    [Theory]
    [InlineData("prox: Unrecognized command or argument 'frob'.", "frob")]
    [InlineData("prox: run: unknown option '--bogus'", "run", "--bogus")]
    [InlineData("prox: validate: unknown option '--bogus'", "validate", "--bogus")]
    [InlineData("prox: demo: Required argument missing for option: '--config'.", "demo", "--config")]
    [InlineData("prox: token: Unrecognized command or argument '--frobnicate'.", "token", "--frobnicate")]
    [InlineData("prox: token: --role must be read or write, got 'admin'", "token", "--role", "admin")]
    [InlineData("prox: config history: Unrecognized command or argument '--bogus'.", "config", "history", "--bogus")]
    [InlineData("prox: config history: --limit must be an integer from 1 to 100", "config", "history", "--limit", "101")]
    [InlineData("prox: config show: --admin must be an http(s) URL, got 'ftp://x'", "config", "show", "--admin", "ftp://x")]
    [InlineData("prox: config diff: B must be a version number (1, 2, ...), got 'x'", "config", "diff", "1", "x")]
    [InlineData("prox: config rollback: unknown option '--limit'", "config", "rollback", "--limit", "3")]
    [InlineData("prox: run: give the config file either as FILE or with --config, not both", "run", "a.conf", "-c", "b.conf")]
    public async Task UsageError_Exit2_SaysWhatIsWrongAndWhereHelpIs(string message, params string[] args)
    {
        var (code, stdout, stderr) = await RunCli(args);

        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        var lines = stderr.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(message, lines);
        var verb = string.Join(' ', args.TakeWhile(a => a is "run" or "validate" or "demo" or "token" or "config" or "history" or "show" or "diff" or "rollback"));
        Assert.Equal(verb.Length == 0 ? "See 'prox --help'." : $"See 'prox {verb} --help'.", lines[^1]);
    }

    [Fact]
    public async Task Validate_BadFile_PrintsEveryErrorWithPath_Exit1()
    {
        using var dir = new TempDataDir();
        var file = Path.Combine(dir.Path, "bad.conf");
        await File.WriteAllTextAsync(file, """
            prox.routes.api {
              load-balancng = round-robin
              backends = [ { url = "http://127.0.0.1:5001", weight = 0 }, { url = "not a url" } ]
            }
            """);

        var (code, stdout, stderr) = await RunCli("validate", file);

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        var lines = stderr.ReplaceLineEndings("\n").TrimEnd().Split('\n');
        Assert.Equal($"prox: {file} is invalid (3 errors):", lines[0]);
        Assert.Equal(["prox.routes.api.backends[0].weight", "prox.routes.api.backends[1].url", "prox.routes.api.load-balancng"],
            lines[1..].Select(l => l.Trim().Split(':')[0]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Validate_TlsFiles_CheckedAgainstTheConfigFolder_ErrorsWithPaths()
    {
        using var dir = new TempDataDir();
        var now = DateTimeOffset.UtcNow;
        Prox.Tests.Tls.TestCertificates.Write(Prox.Tests.Tls.TestCertificates.Create(["ok.test"]), dir.Path, "ok");
        Prox.Tests.Tls.TestCertificates.Write(Prox.Tests.Tls.TestCertificates.Create(["old.test"], now.AddDays(-9), now.AddDays(-1)), dir.Path, "old");
        var file = Path.Combine(dir.Path, "tls.conf");
        await File.WriteAllTextAsync(file, """
            prox {
              listen = [ { address = "127.0.0.1:8443", tls { certificate = "ok.crt", key = "ok.key" } } ]
              tls.certificates = [ { hosts = ["old.test"], certificate = "old.crt", key = "ok.key" } ]
              routes.r { backends = [ { url = "http://127.0.0.1:5001" } ] }
            }
            """);

        var (code, stdout, stderr) = await RunCli("validate", file);

        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        var lines = stderr.ReplaceLineEndings("\n").TrimEnd().Split('\n');
        Assert.Equal($"prox: {file} is invalid (1 error):", lines[0]);
        Assert.StartsWith("  prox.tls.certificates[0].key: the key in 'ok.key' does not belong to the certificate in 'old.crt'", lines[1]);

        await File.WriteAllTextAsync(file, (await File.ReadAllTextAsync(file)).Replace("key = \"ok.key\" } ]", "key = \"old.key\" } ]"));
        (code, _, stderr) = await RunCli("validate", file);
        Assert.Equal(1, code);
        Assert.Contains("prox.tls.certificates[0].certificate: the certificate in 'old.crt' (CN=old.test) expired on", stderr);
    }

    [Fact]
    public async Task Validate_GoodFile_GivenByOptionOrArgument_Exit0()
    {
        using var dir = new TempDataDir();
        var file = Path.Combine(dir.Path, "good.conf");
        await File.WriteAllTextAsync(file, """prox { routes.r { backends = [ { url = "http://127.0.0.1:5001" } ] } }""");

        Assert.Equal((0, $"{file}: valid (1 routes)\n", ""), await RunCli("validate", file));
        Assert.Equal((0, $"{file}: valid (1 routes)\n", ""), await RunCli("validate", "--config", file));
    }

    [Theory]
    [InlineData("prox token --role ", "read", "write")]
    [InlineData("prox config ", "diff", "history", "rollback", "show", "--admin", "--token")]
    [InlineData("prox r", "run")]
    public async Task SuggestDirective_CompletesVerbsOptionsAndValues(string line, params string[] expected)
    {
        var (code, stdout, _) = await RunCli($"[suggest:{line.Length}]", line);

        Assert.Equal(0, code);
        var suggestions = stdout.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(expected, e => Assert.Contains(e, suggestions));
        Assert.DoesNotContain("help", suggestions); // the verb spellings kept for old habits stay out of the way
    }
}
