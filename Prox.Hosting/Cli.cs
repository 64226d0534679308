using Prox.Actors.Config;
using Prox.Http.Admin;

namespace Prox.Hosting;

/// <summary>The <c>prox</c> command line: run, demo, validate, config (history through the admin API).</summary>
public static class Cli
{
    public const int Ok = 0;
    public const int Invalid = 1;
    public const int Usage = 2;

    private static readonly string Help = $"""
        prox — a self-healing reverse proxy and load balancer

        usage:
          prox run [--config FILE]       run on FILE (default config/prox.conf)
          prox demo [--config FILE]      run on config/demo.conf with three built-in demo backends
          prox validate [FILE]           check a config; print every error with its path (exit 0 valid, 1 invalid)
          prox token [--name N] [--role read|write]
                                         print a new admin token and the prox.admin.tokens entry holding its SHA-256
        {ConfigCommands.Help}
          prox --version | --help
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Help);
            return args.Length == 0 ? Usage : Ok;
        }
        if (args[0] is "--version" or "version")
        {
            Console.WriteLine($"prox {AdminEndpoints.Version}");
            return Ok;
        }

        var verb = args[0];
        var rest = args.Skip(1).ToArray();
        if (verb == "token")
            return Token(rest);
        if (verb == "config")
            return await ConfigCommands.RunAsync(rest, Console.Out, Console.Error);
        if (!TryConfigPath(rest, verb == "demo" ? "config/demo.conf" : "config/prox.conf", out var path, out var usage))
        {
            Console.Error.WriteLine($"prox: {usage}");
            return Usage;
        }

        switch (verb)
        {
            case "validate":
                return Validate(path);
            case "run":
                return await RunProxyAsync(path, demo: false);
            case "demo":
                return await RunProxyAsync(path, demo: true);
            default:
                Console.Error.WriteLine($"prox: unknown command '{verb}'\n\n{Help}");
                return Usage;
        }
    }

    private static int Validate(string path)
    {
        var result = ProxConfigParser.ParseFile(path);
        if (result.IsValid)
        {
            Console.WriteLine($"{path}: valid ({result.Config!.Routes.Length} routes)");
            return Ok;
        }
        PrintErrors(path, result);
        return Invalid;
    }

    private static int Token(string[] args)
    {
        var name = "admin";
        var role = "write";
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "--name" or "--role" && i + 1 < args.Length)
            {
                if (args[i] == "--name") name = args[++i];
                else role = args[++i];
            }
            else
            {
                Console.Error.WriteLine($"prox: token: unexpected '{args[i]}' (usage: prox token [--name N] [--role read|write])");
                return Usage;
            }
        }
        if (role is not ("read" or "write"))
        {
            Console.Error.WriteLine($"prox: token: --role must be read or write, got '{role}'");
            return Usage;
        }
        if (name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            Console.Error.WriteLine("prox: token: --name must be 1-64 letters, digits, '-' or '_'");
            return Usage;
        }

        var (token, sha256) = AdminAuth.NewToken();
        Console.WriteLine($$"""
            token:  {{token}}

            Give the token to its holder (Authorization: Bearer <token>); it is not stored anywhere.
            Add this entry to prox.admin.tokens in the config:

              { name = "{{name}}", sha256 = "{{sha256}}", role = {{role}} }
            """);
        return Ok;
    }

    private static async Task<int> RunProxyAsync(string path, bool demo)
    {
        var result = ProxConfigParser.ParseFile(path);
        if (!result.IsValid)
        {
            PrintErrors(path, result);
            return Invalid;
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
            Console.Error.WriteLine($"prox: cannot listen: {e.Message}");
            if (backends is not null) await backends.DisposeAsync();
            return Invalid;
        }
        catch (ProxStartupException e)
        {
            Console.Error.WriteLine($"prox: {e.Message}");
            if (backends is not null) await backends.DisposeAsync();
            return Invalid;
        }

        var log = host.App.Services.GetRequiredService<ILogger<ProxHost>>();
        foreach (var u in host.ProxyUrls) log.LogInformation("Prox {Version} proxy listening on {Url}", AdminEndpoints.Version, u);
        foreach (var u in host.AdminUrls) log.LogInformation("Admin listening on {Url} (/status, /healthz)", u);
        if (demo)
            log.LogInformation("Demo: try  curl -i {Proxy}  and  curl {Admin}status", host.ProxyUrls[0], host.AdminUrls[0]);

        // returns once the web host has drained and stopped, and Akka.Hosting has run CoordinatedShutdown
        await host.App.WaitForShutdownAsync();
        if (backends is not null) await backends.DisposeAsync();
        var system = host.App.Services.GetRequiredService<Akka.Actor.ActorSystem>();
        if (await Task.WhenAny(system.WhenTerminated, Task.Delay(TimeSpan.FromSeconds(10))) != system.WhenTerminated)
            log.LogWarning("The actor system did not terminate within 10 s of the web host stopping");
        log.LogInformation("Stopped");
        return Ok;
    }

    private static void PrintErrors(string path, ConfigParseResult result)
    {
        Console.Error.WriteLine($"prox: {path} is invalid ({result.Errors.Length} error{(result.Errors.Length == 1 ? "" : "s")}):");
        foreach (var e in result.Errors) Console.Error.WriteLine($"  {e}");
    }

    private static bool TryConfigPath(string[] args, string fallback, out string path, out string usage)
    {
        path = fallback;
        usage = "";
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "--config" or "-c")
            {
                if (i + 1 >= args.Length)
                {
                    usage = "--config needs a file";
                    return false;
                }
                path = args[++i];
            }
            else if (!args[i].StartsWith('-'))
            {
                path = args[i];
            }
            else
            {
                usage = $"unknown option '{args[i]}'";
                return false;
            }
        }
        path = Resolve(path);
        return true;
    }

    /// <summary>A relative path is looked up in the working directory, then beside the executable.</summary>
    private static string Resolve(string path)
    {
        if (Path.IsPathRooted(path) || File.Exists(path)) return path;
        var beside = Path.Combine(AppContext.BaseDirectory, path);
        return File.Exists(beside) ? beside : path;
    }
}
