using Prox.Actors.Config;
using Prox.Actors.Persistence;
using Xunit;

namespace Prox.Tests.Persistence;

/// <summary><c>prox.persistence</c> with <c>provider = postgresql</c>: the connection string (often <c>${?PROX_DB}</c>)
/// is required, <c>data-dir</c> is not used, and errors never echo the connection string (it may hold a password).</summary>
public sealed class PersistenceConfigBinderTests
{
    private const string Route = """routes.api { backends = [{ url = "http://127.0.0.1:5001" }] }""";
    private const string Conn = "Host=db.internal;Port=5433;Username=prox;Password=S3cret;Database=proxdb";

    private static ConfigParseResult Parse(string body, Func<string, string?>? env = null) =>
        ProxConfigParser.ParseText($"prox {{\n{Route}\n{body}\n}}\n", env ?? (_ => null));

    private static string[] Errors(string body, Func<string, string?>? env = null) =>
        Parse(body, env).Errors.Select(e => e.ToString()).ToArray();

    [Fact]
    public void PostgreSql_ConnectionStringFromEnvironment_Bound_WhereHidesThePassword()
    {
        var result = Parse("persistence { provider = postgresql, connection-string = ${?PROX_DB} }", v => v == "PROX_DB" ? Conn : null);

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        var p = result.Config!.Persistence;
        Assert.Equal(PersistenceConfig.PostgreSql, p.Provider);
        Assert.True(p.IsPostgreSql);
        Assert.Equal(Conn, p.ConnectionString);
        Assert.Equal("PostgreSQL database 'proxdb' on db.internal:5433", p.Where);
    }

    [Fact]
    public void PostgreSql_ProviderCaseInsensitive_DefaultPort()
    {
        var result = Parse("""persistence { provider = PostgreSQL, connection-string = "Host=db;Username=u;Password=p;Database=d" }""");

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        Assert.Equal("PostgreSQL database 'd' on db:5432", result.Config!.Persistence.Where);
    }

    [Fact]
    public void Sqlite_StillTheDefault()
    {
        var result = Parse("");

        Assert.True(result.IsValid, string.Join(Environment.NewLine, result.Errors));
        Assert.Equal(PersistenceConfig.Default, result.Config!.Persistence);
    }

    [Theory]
    [InlineData("persistence { provider = postgresql }",
        "prox.persistence.connection-string: provider postgresql needs a connection string such as \"Host=db;Port=5432;Username=prox;Password=…;Database=prox\" (e.g. connection-string = ${?PROX_DB} with PROX_DB set)")]
    [InlineData("persistence { provider = postgresql, connection-string = ${?PROX_DB} }",
        "prox.persistence.connection-string: provider postgresql needs a connection string such as \"Host=db;Port=5432;Username=prox;Password=…;Database=prox\" (e.g. connection-string = ${?PROX_DB} with PROX_DB set)")]
    [InlineData("""persistence { provider = postgresql, connection-string = "Host=db;Database=d", data-dir = x }""",
        "prox.persistence.data-dir: not used by provider postgresql (its database is prox.persistence.connection-string)")]
    [InlineData("""persistence { provider = postgresql, connection-string = "Username=u;Password=S3cret;Database=d" }""",
        "prox.persistence.connection-string: has no Host (expected \"Host=db;Port=5432;Username=prox;Password=…;Database=prox\")")]
    [InlineData("""persistence { provider = postgresql, connection-string = "Host=db;Password='S3cret" }""",
        "prox.persistence.connection-string: is not a connection string of the form \"Host=db;Port=5432;Username=prox;Password=…;Database=prox\"")]
    [InlineData("""persistence { provider = sqlite, connection-string = "Host=db;Password=S3cret" }""",
        "prox.persistence.connection-string: not used by provider sqlite (its file is <data-dir>/prox.db)")]
    public void Invalid_ErrorWithPath_NeverThePassword(string body, string expected)
    {
        var errors = Errors(body);

        Assert.Equal([expected], errors);
        Assert.DoesNotContain(errors, e => e.Contains("S3cret", StringComparison.Ordinal));
    }
}
