using System.CommandLine;
using Prox.Http.Admin;

namespace Prox.Hosting.Cli;

/// <summary><c>prox token [--name N] [--role read|write]</c>: a new admin token and the config entry holding its hash.</summary>
internal static class TokenCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--name")
        {
            HelpName = "N",
            Description = "The caller's name in the config, the audit log and /admin responses (1-64 letters, digits, '-' or '_').",
            DefaultValueFactory = _ => "admin",
        };
        name.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (value.Length is 0 or > 64 || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                result.AddError("--name must be 1-64 letters, digits, '-' or '_'");
        });
        var role = new Option<string>("--role")
        {
            HelpName = "read|write",
            Description = "What the token may do: read (GET and HEAD) or write (every admin endpoint).",
            DefaultValueFactory = _ => "write",
        };
        role.CompletionSources.Add("read", "write");
        role.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is var value and not ("read" or "write"))
                result.AddError($"--role must be read or write, got '{value}'");
        });

        var command = new Command("token", "Print a new admin token and the prox.admin.tokens entry holding its SHA-256.") { name, role };
        command.SetAction(parsed =>
        {
            var (token, sha256) = AdminAuth.NewToken();
            parsed.InvocationConfiguration.Output.WriteLine($$"""
                token:  {{token}}

                Give the token to its holder (Authorization: Bearer <token>); it is not stored anywhere.
                Add this entry to prox.admin.tokens in the config:

                  { name = "{{parsed.GetValue(name)}}", sha256 = "{{sha256}}", role = {{parsed.GetValue(role)}} }
                """);
            return ProxCli.Ok;
        });
        return command;
    }
}
