using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Prox.Http.Admin;

namespace Prox.Hosting.Cli;

/// <summary>
/// The <c>prox</c> command line, on System.CommandLine: every verb has its own <c>--help</c>, validates its arguments
/// before it runs and offers completions through the <c>[suggest]</c> directive (what <c>dotnet-suggest</c> calls).
/// Exit codes: <see cref="Ok"/>, <see cref="Invalid"/> (invalid config, failed request), <see cref="Usage"/>.
/// </summary>
public static class ProxCli
{
    /// <summary>Exit code: done.</summary>
    public const int Ok = 0;

    /// <summary>Exit code: the config is invalid, a listener could not bind, or an admin request failed.</summary>
    public const int Invalid = 1;

    /// <summary>Exit code: the command line itself is wrong (unknown verb or option, missing or bad value).</summary>
    public const int Usage = 2;

    /// <summary>Runs the command line on the console.</summary>
    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Out, Console.Error);

    /// <summary>Runs the command line with its output and errors going to the given writers (tests run verbs in-process
    /// this way). Usage errors are printed as <c>prox: VERB: message</c> and exit <see cref="Usage"/>.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var parsed = Create().Parse(args);
        if (parsed.Action is ParseErrorAction)
        {
            // System.CommandLine's own error action exits 1, which here means "invalid config"; usage is 2
            ReportUsageErrors(parsed, stderr);
            return Usage;
        }
        var invocation = new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            // `run` owns SIGTERM/SIGINT (SignalLifetime drains, then exits 0); the library must not cancel it first
            ProcessTerminationTimeout = null,
            // an unexpected exception is a bug: let the runtime report it as it did before, with its stack trace
            EnableDefaultExceptionHandler = false,
        };
        return await parsed.InvokeAsync(invocation);
    }

    /// <summary>The command tree: <c>run</c>, <c>demo</c>, <c>validate</c>, <c>token</c>, <c>config …</c>.</summary>
    public static RootCommand Create()
    {
        var root = new RootCommand("prox — a self-healing reverse proxy and load balancer") { HelpName = "prox" };
        foreach (var version in root.Options.OfType<VersionOption>()) version.Action = new PrintVersion();
        root.Subcommands.Add(RunCommands.Run());
        root.Subcommands.Add(RunCommands.Demo());
        root.Subcommands.Add(RunCommands.Validate());
        root.Subcommands.Add(TokenCommand.Create());
        root.Subcommands.Add(ConfigCommands.Create());
        // the verb spellings `prox help` and `prox version` predate System.CommandLine; kept, out of the help
        root.Subcommands.Add(Alias(root, "help", "--help"));
        root.Subcommands.Add(Alias(root, "version", "--version"));
        root.SetAction(ShowHelp); // `prox` alone: the help, as a usage error
        return root;
    }

    /// <summary>Prints the help of the command that was invoked and returns <see cref="Usage"/>: the action of a
    /// command that only groups verbs (<c>prox</c>, <c>prox config</c>) when none was given.</summary>
    internal static int ShowHelp(ParseResult parsed)
    {
        new HelpAction().Invoke(parsed);
        return Usage;
    }

    /// <summary>System.CommandLine hands a token like <c>--bogus</c> to a free argument (it could be a negative
    /// number); a config file or a version never starts with '-', so such a token is an unknown option.</summary>
    internal static void RejectOptionLike(Argument argument) => argument.Validators.Add(result =>
    {
        foreach (var token in result.Tokens)
            if (IsOptionLike(token.Value)) result.AddError(UnknownOption(token.Value));
    });

    internal static bool IsOptionLike(string token) => token.Length > 1 && token[0] == '-';

    internal static string UnknownOption(string token) => $"unknown option '{token}'";

    /// <summary><c>prox: token: --role must be read or write, got 'admin'</c>, one line per error, then where to look.</summary>
    private static void ReportUsageErrors(ParseResult parsed, TextWriter stderr)
    {
        var verb = string.Join(' ', Verbs(parsed.CommandResult).Reverse());
        var prefix = verb.Length == 0 ? "prox: " : $"prox: {verb}: ";
        foreach (var error in parsed.Errors) stderr.WriteLine(prefix + error.Message);
        stderr.WriteLine(verb.Length == 0 ? "See 'prox --help'." : $"See 'prox {verb} --help'.");

        static IEnumerable<string> Verbs(CommandResult? command)
        {
            for (; command?.Parent is CommandResult parent; command = parent) yield return command.Command.Name;
        }
    }

    private static Command Alias(RootCommand root, string verb, string option)
    {
        var command = new Command(verb) { Hidden = true };
        var rest = new Argument<string[]>("rest") { Arity = ArgumentArity.ZeroOrMore };
        command.Arguments.Add(rest);
        // `prox help config diff` is `prox config diff --help`
        command.SetAction((parsed, ct) => root.Parse([.. parsed.GetValue(rest) ?? [], option]).InvokeAsync(parsed.InvocationConfiguration, ct));
        return command;
    }

    private sealed class PrintVersion : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine($"prox {AdminEndpoints.Version}");
            return Ok;
        }
    }
}
