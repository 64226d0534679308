using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Prox.Tests.Infrastructure;
using Xunit;

namespace Prox.Tests.E2E;

/// <summary>The real <c>prox run</c> on an unusable database: a clear one-line error naming the file, exit 1, quickly.</summary>
public class DatabaseStartupTests
{
    private static string Config(TempDataDir data) => $$"""
        prox {
          listen = "127.0.0.1:0"
          admin.listen = "127.0.0.1:0"
          routes.r.backends = [ { url = "http://127.0.0.1:5001" } ]
          {{data.Hocon}}
        }
        """;

    private static string Db(TempDataDir data) => Path.Combine(data.Path, "prox.db");

    [Fact]
    public async Task Run_CorruptDatabase_Exit1_OneLineNamingTheFile_NoStackTrace()
    {
        using var data = new TempDataDir();
        var file = Path.Combine(data.Path, "prox.conf");
        await File.WriteAllTextAsync(file, Config(data));
        await File.WriteAllTextAsync(Db(data), string.Concat(Enumerable.Repeat("this is not a database ", 500)));
        var clock = Stopwatch.StartNew();

        var (code, stdout, stderr) = await ProxProcess.RunToExitAsync("run", "--config", file);

        Assert.Equal(1, code);
        Assert.Equal([$"prox: cannot use the database '{Db(data)}' (prox.persistence.data-dir): it is not a SQLite database; " +
                      "move it away to start with an empty history"], stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("   at ", stderr + stdout);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Run_LockedDatabase_Exit1_OneLineNamingTheFile_NoHang()
    {
        using var data = new TempDataDir();
        var file = Path.Combine(data.Path, "prox.conf");
        await File.WriteAllTextAsync(file, Config(data));
        // another process's exclusive transaction, held for the whole run
        await using var holder = new SqliteConnection($"Data Source={Db(data)};Pooling=False");
        holder.Open();
        await using (var create = holder.CreateCommand())
        {
            create.CommandText = "CREATE TABLE t (x INTEGER); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);";
            create.ExecuteNonQuery();
        }
        var clock = Stopwatch.StartNew();

        var (code, stdout, stderr) = await ProxProcess.RunToExitAsync("run", "--config", file);

        Assert.Equal(1, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"prox: cannot use the database '{Db(data)}' (prox.persistence.data-dir): it is locked by another process", line);
        Assert.DoesNotContain("   at ", stderr + stdout);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }
}
