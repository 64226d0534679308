using System.CommandLine;
using System.CommandLine.Completions;
using Prox.Actors.Config;
using Prox.Http.Admin;
using Prox.Http.Tls;

namespace Prox.Hosting.Cli;

/// <summary><c>prox run</c>, <c>prox demo</c> and <c>prox validate</c>: the verbs that read a config file.</summary>
internal static class RunCommands
{
    public static Command Run()
    {
        var command = new Command("run", "Run the proxy until SIGTERM or Ctrl-C (exit 0; 1 if the config is invalid or a listener cannot bind).");
        var file = ConfigFile.AddTo(command, "config/prox.conf");
        command.SetAction((parsed, _) => RunProxyAsync(file.Path(parsed), demo: false, parsed.InvocationConfiguration.Error));
        return command;
    }

    public static Command Demo()
    {
        var command = new Command("demo", "Run on config/demo.conf with a built-in demo backend for each backend URL in it.");
        var file = ConfigFile.AddTo(command, "config/demo.conf");
        command.SetAction((parsed, _) => RunProxyAsync(file.Path(parsed), demo: true, parsed.InvocationConfiguration.Error));
        return command;
    }

    public static Command Validate()
    {
        var command = new Command("validate", "Check a config file; print every error with its path (exit 0 valid, 1 invalid).");
        var file = ConfigFile.AddTo(command, "config/prox.conf");
        command.SetAction(parsed =>
        {
            var path = file.Path(parsed);
            var result = ParseAndCheckFiles(path);
            if (!result.IsValid)
            {
                PrintErrors(path, result, parsed.InvocationConfiguration.Error);
                return ProxCli.Invalid;
            }
            parsed.InvocationConfiguration.Output.WriteLine($"{path}: valid ({result.Config!.Routes.Length} routes)");
            return ProxCli.Ok;
        });
        return command;
    }

    private static async Task<int> RunProxyAsync(string path, bool demo, TextWriter stderr)
    {
        // the files the config names are checked by the host as it starts (a ProxStartupException below)
        var result = ProxConfigParser.ParseFile(path);
        if (!result.IsValid)
        {
            PrintErrors(path, result, stderr);
            return ProxCli.Invalid;
        }

        var cfg = result.Config!;
        DemoBackends? backends = null;
        await using var host = ProxHost.Create(cfg, configPath: path, handleSignals: true);
        try
        {
            if (demo) backends = await DemoBackends.StartAsync(DemoBackends.UrlsOf(cfg));
            await host.StartAsync();
        }
        catch (IOException e)
        {
            // typically "address already in use": say which, without a stack trace
            stderr.WriteLine($"prox: cannot listen: {e.Message}");
            if (backends is not null) await backends.DisposeAsync();
            return ProxCli.Invalid;
        }
        catch (ProxStartupException e)
        {
            stderr.WriteLine($"prox: {e.Message}");
            if (backends is not null) await backends.DisposeAsync();
            return ProxCli.Invalid;
        }

        var log = host.App.Services.GetRequiredService<ILogger<ProxHost>>();
        foreach (var u in host.ProxyUrls) log.LogInformation("Prox {Version} proxy listening on {Url}", AdminEndpoints.Version, u);
        foreach (var u in host.AdminUrls) log.LogInformation("Admin listening on {Url} (/status, /healthz, /readyz)", u);
        if (demo)
            log.LogInformation("Demo: try  curl -i {Proxy}  and  curl {Admin}status", host.ProxyUrls[0], host.AdminUrls[0]);

        // returns once the web host has drained and stopped, and Akka.Hosting has run CoordinatedShutdown
        await host.App.WaitForShutdownAsync();
        if (backends is not null) await backends.DisposeAsync();
        var system = host.App.Services.GetRequiredService<Akka.Actor.ActorSystem>();
        if (await Task.WhenAny(system.WhenTerminated, Task.Delay(TimeSpan.FromSeconds(10))) != system.WhenTerminated)
            log.LogWarning("The actor system did not terminate within 10 s of the web host stopping");
        log.LogInformation("Stopped");
        return ProxCli.Ok;
    }

    /// <summary>The file parsed and bound; when valid, also the files it names (TLS certificates and keys: readable,
    /// matching, not expired), whose errors make it invalid.</summary>
    private static ConfigParseResult ParseAndCheckFiles(string path)
    {
        var result = ProxConfigParser.ParseFile(path);
        if (!result.IsValid) return result;
        var errors = CertificateFiles.Check(result.Config!, ProxHost.ConfigDirectory(path), DateTimeOffset.UtcNow);
        return errors.Count == 0 ? result : result with { Config = null, Errors = [.. errors] };
    }

    private static void PrintErrors(string path, ConfigParseResult result, TextWriter stderr)
    {
        stderr.WriteLine($"prox: {path} is invalid ({result.Errors.Length} error{(result.Errors.Length == 1 ? "" : "s")}):");
        foreach (var e in result.Errors) stderr.WriteLine($"  {e}");
    }

    /// <summary>The config file of a verb, given as <c>--config FILE</c> or as the argument <c>FILE</c>.</summary>
    private sealed class ConfigFile
    {
        private readonly Option<string> _option;
        private readonly Argument<string?> _argument;

        private ConfigFile(Option<string> option, Argument<string?> argument) => (_option, _argument) = (option, argument);

        public static ConfigFile AddTo(Command command, string fallback)
        {
            var option = new Option<string>("--config", "-c")
            {
                HelpName = "FILE",
                Description = "The config file; a relative path is looked up in the working directory, then beside the executable.",
                DefaultValueFactory = _ => fallback,
            };
            var argument = new Argument<string?>("FILE")
            {
                // without a help name, help would list the completions (every folder here) in its place
                HelpName = "FILE",
                Arity = ArgumentArity.ZeroOrOne,
                Description = "The config file, as --config.",
            };
            ProxCli.RejectOptionLike(argument);
            option.CompletionSources.Add(ConfFiles);
            argument.CompletionSources.Add(ConfFiles);
            command.Options.Add(option);
            command.Arguments.Add(argument);
            command.Validators.Add(result =>
            {
                if (result.GetResult(option) is { Implicit: false } && result.GetValue(argument) is not null)
                    result.AddError("give the config file either as FILE or with --config, not both");
            });
            return new ConfigFile(option, argument);
        }

        public string Path(ParseResult parsed) => Resolve(parsed.GetValue(_argument) ?? parsed.GetValue(_option)!);

        /// <summary>A relative path is looked up in the working directory, then beside the executable.</summary>
        private static string Resolve(string path)
        {
            if (System.IO.Path.IsPathRooted(path) || File.Exists(path)) return path;
            var beside = System.IO.Path.Combine(AppContext.BaseDirectory, path);
            return File.Exists(beside) ? beside : path;
        }

        /// <summary>Completions: the folders and <c>*.conf</c> files in the folder typed so far.</summary>
        private static IEnumerable<string> ConfFiles(CompletionContext context)
        {
            var word = context.WordToComplete;
            var folder = System.IO.Path.GetDirectoryName(word);
            var search = string.IsNullOrEmpty(folder) ? "." : folder;
            if (!Directory.Exists(search)) return [];
            var prefix = string.IsNullOrEmpty(folder) ? "" : folder + "/";
            return Directory.EnumerateDirectories(search).Select(d => prefix + System.IO.Path.GetFileName(d) + "/")
                .Concat(Directory.EnumerateFiles(search, "*.conf").Select(f => prefix + System.IO.Path.GetFileName(f)))
                .Where(s => s.StartsWith(word, StringComparison.Ordinal))
                .Order(StringComparer.Ordinal);
        }
    }
}
