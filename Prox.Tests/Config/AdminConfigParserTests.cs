using Prox.Actors.Config;
using Prox.Actors.Hocon;
using Xunit;

namespace Prox.Tests.Config;

/// <summary><c>prox.admin.tokens</c>, the admin listener's loopback rule, and <c>prox.shutdown</c>.</summary>
public sealed class AdminConfigParserTests
{
    private const string HashA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"; // sha256("test")
    private const string HashB = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"; // sha256("test2")
    private const string Route = """routes.api { backends = [{ url = "http://127.0.0.1:5001" }] }""";

    private static ConfigParseResult Parse(string prox) =>
        ProxConfigParser.ParseText($"prox {{\n{prox}\n{Route}\n}}\n", _ => null);

    private static ProxConfig AssertValid(ConfigParseResult result)
    {
        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        return result.Config!;
    }

    private static ConfigError SingleError(string prox)
    {
        var result = Parse(prox);
        Assert.False(result.IsValid);
        return Assert.Single(result.Errors);
    }

    [Fact]
    public void ParseText_NoTokens_EmptyAndLoopbackDefault()
    {
        var config = AssertValid(Parse(""));

        Assert.Empty(config.Admin.Tokens);
        Assert.Equal<ListenAddress>([new("127.0.0.1", 9901)], config.Admin.Listen);
    }

    [Fact]
    public void ParseText_Tokens_BindNameHashAndRole()
    {
        var config = AssertValid(Parse($$"""
            admin.tokens = [
              { name = "ci", sha256 = "{{HashA}}", role = write }
              { name = dash_board-1, sha256 = "{{HashB.ToUpperInvariant()}}", role = read }
              { name = viewer, sha256 = "{{"aa" + HashA[2..]}}" }
            ]
            """));

        var tokens = config.Admin.Tokens;
        Assert.Equal(3, tokens.Length);
        Assert.Equal(("ci", AdminRole.Write), (tokens[0].Name, tokens[0].Role));
        Assert.Equal(Convert.FromHexString(HashA), tokens[0].Sha256.ToArray());
        Assert.Equal(("dash_board-1", AdminRole.Read), (tokens[1].Name, tokens[1].Role));
        Assert.Equal(Convert.FromHexString(HashB), tokens[1].Sha256.ToArray());
        Assert.Equal(AdminRole.Read, tokens[2].Role); // least privilege when role is left out
    }

    [Theory]
    [InlineData("0.0.0.0:9901")]
    [InlineData("*:9901")]
    [InlineData("10.1.2.3:9901")]
    public void ParseText_NonLoopbackAdminWithTokens_IsValid(string listen)
    {
        var config = AssertValid(Parse($$"""
            admin { listen = "{{listen}}", tokens = [ { name = ci, sha256 = "{{HashA}}", role = write } ] }
            """));

        Assert.Single(config.Admin.Tokens);
    }

    [Theory]
    [InlineData("admin.listen = \"0.0.0.0:9901\"", "prox.admin.listen")]
    [InlineData("admin { listen = [\"127.0.0.1:9901\", \"*:9902\"], tokens = [] }", "prox.admin.listen[1]")]
    public void ParseText_NonLoopbackAdminWithoutTokens_ErrorNamesTokens(string prox, string path)
    {
        var error = SingleError(prox);

        Assert.Equal(path, error.Path);
        Assert.Contains("only with prox.admin.tokens set", error.Message);
    }

    [Fact]
    public void ParseText_NonLoopbackAdminWithOnlyInvalidTokens_ReportsBoth()
    {
        var result = Parse("""admin { listen = "0.0.0.0:9901", tokens = [ { name = ci, sha256 = "abc" } ] }""");

        Assert.Equal(["prox.admin.tokens[0].sha256", "prox.admin.listen"], result.Errors.Select(e => e.Path).Order().Reverse());
    }

    public static TheoryData<string, string, string> InvalidTokens => new()
    {
        { $$"""admin.tokens = [ { name = ci, sha256 = "{{HashA[..63]}}" } ]""", "prox.admin.tokens[0].sha256", "must be a SHA-256 as 64 hex characters, got 63 characters (the plain-text token never goes in the config; 'prox token' prints both)" },
        { $$"""admin.tokens = [ { name = ci, sha256 = "{{"zz" + HashA[2..]}}" } ]""", "prox.admin.tokens[0].sha256", "must be a SHA-256 as 64 hex characters, got 64 characters that are not all hex digits (the plain-text token never goes in the config; 'prox token' prints both)" },
        { """admin.tokens = [ { name = ci } ]""", "prox.admin.tokens[0].sha256", "required: the token's SHA-256 as 64 hex characters (create a token with 'prox token')" },
        { $$"""admin.tokens = [ { sha256 = "{{HashA}}" } ]""", "prox.admin.tokens[0].name", "required (who holds the token; it names them in the audit log)" },
        { $$"""admin.tokens = [ { name = "a b", sha256 = "{{HashA}}" } ]""", "prox.admin.tokens[0].name", "'a b' is not a token name (1-64 letters, digits, '-' or '_')" },
        { $$"""admin.tokens = [ { name = ci, sha256 = "{{HashA}}", role = admin } ]""", "prox.admin.tokens[0].role", "unknown role 'admin' (allowed: read, write)" },
        { $$"""admin.tokens = [ { name = ci, sha256 = "{{HashA}}", roles = write } ]""", "prox.admin.tokens[0].roles", "unknown key (did you mean 'role'?)" },
        { $$"""admin.tokens = [ { name = ci, sha256 = "{{HashA}}" }, { name = ci, sha256 = "{{HashB}}" } ]""", "prox.admin.tokens[1].name", "duplicate token name 'ci' (also prox.admin.tokens[0])" },
        { $$"""admin.tokens = [ { name = a, sha256 = "{{HashA}}" }, { name = b, sha256 = "{{HashA.ToUpperInvariant()}}" } ]""", "prox.admin.tokens[1].sha256", "the same token hash as prox.admin.tokens[0]" },
        { """admin.tokens = { name = ci }""", "prox.admin.tokens", "expected a list of { name, sha256, role } objects, got an object" },
        { """admin.tokens = [ "secret" ]""", "prox.admin.tokens[0]", "expected an object { … }, got 'secret'" },
        { """shutdown.drain-timeout = soon""", "prox.shutdown.drain-timeout", "" },
        { """shutdown { drain-timout = 1s }""", "prox.shutdown.drain-timout", "unknown key (did you mean 'drain-timeout'?)" },
        { """shutdown = 5""", "prox.shutdown", "expected an object { … }, got '5'" },
    };

    [Theory]
    [MemberData(nameof(InvalidTokens))]
    public void ParseText_InvalidAdminOrShutdown_ReportsPathAndMessage(string prox, string path, string message)
    {
        var error = SingleError(prox);

        Assert.Equal(path, error.Path);
        if (message.Length > 0) Assert.Equal(message, error.Message);
    }

    [Fact]
    public void ParseText_PlainTextTokenInHashField_IsNotEchoed()
    {
        const string secret = "c2VjcmV0LXRva2VuLXRoYXQtd2FzLXBhc3RlZC1ieS1taXN0YWtl";

        var error = SingleError($$"""admin.tokens = [ { name = ci, sha256 = "{{secret}}" } ]""");

        Assert.DoesNotContain(secret, error.ToString());
    }

    [Theory]
    [InlineData("", 30_000)]
    [InlineData("shutdown.drain-timeout = 5s", 5_000)]
    [InlineData("shutdown { drain-timeout = 250ms }", 250)]
    [InlineData("shutdown.drain-timeout = 0s", 0)]
    public void ParseText_ShutdownDrainTimeout_DefaultsTo30s(string prox, int expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), AssertValid(Parse(prox)).Shutdown.DrainTimeout);
}
