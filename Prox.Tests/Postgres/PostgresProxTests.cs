using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Npgsql;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.Postgres;

/// <summary>A whole Prox on <c>persistence.provider = postgresql</c>: the config history survives a restart; an unusable
/// server is a one-line start-up error of <c>prox run</c> that names host and database but never the password.</summary>
public class PostgresProxTests
{
    private static string Route(TestBackend backend) => $$"""
        routes.api {
          backend-header = true
          backends = [ { id = {{backend.Name}}, url = "{{backend.Url}}" } ]
        }
        """;

    private static async Task<string> Served(ProxUnderTest prox)
    {
        using var resp = await prox.Client.GetAsync("/");
        return await resp.Content.ReadAsStringAsync();
    }

    [PostgresFact]
    public async Task Restart_ApiChangeSurvives_VersionsKept_TablesCreatedInTheDatabase()
    {
        using var db = new PgTestDatabase();
        await using var a = await TestBackend.StartAsync("a");
        await using var b = await TestBackend.StartAsync("b");
        var dir = Directory.CreateTempSubdirectory("prox-test-");
        try
        {
            var file = Path.Combine(dir.FullName, "prox.conf");
            await File.WriteAllTextAsync(file, ProxUnderTest.ConfigText(Route(a) + "\n" + db.Hocon));

            await using (var first = await ProxUnderTest.StartOnFileAsync(file))
            {
                Assert.Equal("hello from a", await Served(first));
                var put = new HttpRequestMessage(HttpMethod.Put, "/admin/config?comment=b")
                {
                    Content = new StringContent(ProxUnderTest.ConfigText(Route(b) + "\n" + db.Hocon), Encoding.UTF8, "text/plain"),
                };
                using var reply = await first.Admin.SendAsync(put);
                Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
            }

            await using (var second = await ProxUnderTest.StartOnFileAsync(file))
            {
                Assert.Equal("hello from b", await Served(second)); // resumed version 2 from PostgreSQL
                var versions = (await second.Admin.GetFromJsonAsync<JsonElement>("/admin/config/versions")).GetProperty("versions");
                Assert.Equal([2L, 1], versions.EnumerateArray().Select(v => v.GetProperty("version").GetInt64()));
            }
            Assert.NotEqual(["0"], db.Query("select count(*) from journal"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<(int Code, string Stdout, string Stderr, TimeSpan Took)> Run(string connectionString)
    {
        var dir = Directory.CreateTempSubdirectory("prox-test-");
        try
        {
            var file = Path.Combine(dir.FullName, "prox.conf");
            await File.WriteAllTextAsync(file, ProxUnderTest.ConfigText(
                $"routes.r.backends = [ {{ url = \"http://127.0.0.1:5001\" }} ]\npersistence {{ provider = postgresql, connection-string = \"{connectionString}\" }}"));
            var clock = Stopwatch.StartNew();
            var (code, stdout, stderr) = await ProxProcess.RunToExitAsync("run", "--config", file);
            return (code, stdout, stderr, clock.Elapsed);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [PostgresFact]
    public async Task Run_WrongPassword_Exit1_OneLineNamingHostAndDatabase_NotThePassword()
    {
        var admin = new NpgsqlConnectionStringBuilder(PgTestDatabase.AdminConnectionString);
        var wrong = new NpgsqlConnectionStringBuilder(admin.ConnectionString) { Password = "Wr0ngSecretXyz" };

        var (code, stdout, stderr, took) = await Run(wrong.ConnectionString);

        Assert.Equal(1, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"prox: cannot use the PostgreSQL database '{admin.Database}' on {admin.Host}:{admin.Port} " +
                     $"(prox.persistence.connection-string): password authentication failed for user \"{admin.Username}\"", line);
        Assert.DoesNotContain("Wr0ngSecretXyz", stderr + stdout);
        Assert.DoesNotContain(admin.Password!, stderr + stdout);
        Assert.DoesNotContain("   at ", stderr + stdout);
        Assert.True(took < TimeSpan.FromSeconds(20), $"took {took}");
    }

    /// <summary>Needs no PostgreSQL: nothing listens on the port.</summary>
    [Fact]
    public async Task Run_ServerUnreachable_Exit1_OneLineNamingHostAndDatabase_NotThePassword_NoHang()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var (code, stdout, stderr, took) = await Run($"Host=127.0.0.1;Port={port};Username=prox;Password=S3cretXyz;Database=proxdb");

        Assert.Equal(1, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"prox: cannot use the PostgreSQL database 'proxdb' on 127.0.0.1:{port} (prox.persistence.connection-string): ", line);
        Assert.DoesNotContain("S3cretXyz", stderr + stdout);
        Assert.DoesNotContain("   at ", stderr + stdout);
        Assert.True(took < TimeSpan.FromSeconds(20), $"took {took}");
    }
}
