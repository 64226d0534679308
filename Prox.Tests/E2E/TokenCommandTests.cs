using System.Text.RegularExpressions;
using Prox.Actors.Config;
using Prox.Http.Admin;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary><c>prox token</c>: a new admin token and the config entry that holds its hash.</summary>
public class TokenCommandTests
{
    [Fact]
    public async Task Token_NameAndRole_PrintsTokenAndConfigEntryThatAuthenticatesIt()
    {
        var (code, stdout, _) = await ProxProcess.RunToExitAsync("token", "--name", "ci", "--role", "read");

        Assert.Equal(0, code);
        var token = Regex.Match(stdout, @"token:\s+([A-Za-z0-9_-]{43})\s").Groups[1].Value;
        var entry = Regex.Match(stdout, @"\{ name = ""ci"", sha256 = ""[0-9a-f]{64}"", role = read \}").Value;
        Assert.NotEmpty(token);
        Assert.NotEmpty(entry);
        var parsed = ProxConfigParser.ParseText($$"""
            prox {
              admin.tokens = [ {{entry}} ]
              routes.r { backends = [ { url = "http://127.0.0.1:5001" } ] }
            }
            """);
        Assert.True(parsed.IsValid, string.Join("\n", parsed.Errors));
        Assert.Equal(new AdminCaller("ci", AdminRole.Read), AdminAuth.Authenticate("Bearer " + token, parsed.Config!.Admin.Tokens));
    }

    [Theory]
    [InlineData("--role", "admin")]
    [InlineData("--name", "a b")]
    [InlineData("--frobnicate")]
    public async Task Token_BadArguments_Exit2(params string[] args)
    {
        var (code, _, stderr) = await ProxProcess.RunToExitAsync(["token", .. args]);

        Assert.Equal(2, code);
        Assert.StartsWith("prox: token:", stderr);
    }
}
