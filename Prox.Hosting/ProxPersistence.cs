using Akka.Actor;
using Akka.Hosting;
using Akka.Persistence;
using Akka.Persistence.Sql.Hosting;
using Microsoft.Data.Sqlite;
using Npgsql;
using Prox.Actors.Config;
using Prox.Actors.ConfigHistory;
using Prox.Actors.Persistence;
using Prox.Actors.Webhooks;

namespace Prox.Hosting;

/// <summary>
/// Akka.Persistence for Prox's persistent actors: Akka.Persistence.Sql on the SQLite file <c>&lt;data-dir&gt;/prox.db</c>
/// or on PostgreSQL (<c>provider = postgresql</c>; journal and snapshots, tables created on first use) and the
/// serializer bindings of every persisted type.
/// Always on: the ConfigStore keeps every applied config there.
/// </summary>
public static class ProxPersistence
{
    /// <summary>How long start-up waits for another process's lock on the database before giving up.</summary>
    public static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Serializer bindings of all persisted types. Each persistent capability adds its own HOCON here.</summary>
    private static readonly string[] SerializationHocon = [NotifierSerializer.Hocon, ConfigStoreSerializer.Hocon];

    /// <summary>Creates the data directory; returns why that failed (for a clean start-up error), or null.</summary>
    public static string? PrepareDataDir(PersistenceConfig cfg)
    {
        if (cfg.IsPostgreSql) return null;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(cfg.DatabasePath)!);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return $"cannot create the data directory '{cfg.DataDir}' (prox.persistence.data-dir): {e.Message}";
        }
    }

    /// <summary>
    /// Opens the database once before the actors do, so a file that is not a SQLite database, is corrupt, or is locked
    /// by another process is a clear start-up error (null = usable). Without this the persistent actors would fail
    /// their recovery and be restarted with backoff forever: a Prox that never becomes ready.
    /// </summary>
    public static string? Check(PersistenceConfig cfg)
    {
        if (cfg.IsPostgreSql) return CheckPostgreSql(cfg);
        var file = cfg.DatabasePath;
        try
        {
            // no pooling: the check must not keep the file open
            using var conn = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = file,
                Pooling = false,
                DefaultTimeout = (int)LockTimeout.TotalSeconds,
            }.ToString());
            conn.Open();
            using var cmd = conn.CreateCommand();
            // reads the header and schema: "file is not a database" / "database disk image is malformed" show here
            cmd.CommandText = "SELECT count(*) FROM sqlite_master";
            cmd.ExecuteScalar();
            // a write lock, released at once: fails (after LockTimeout) while another process holds the database
            cmd.CommandText = "BEGIN IMMEDIATE; ROLLBACK;";
            cmd.ExecuteNonQuery();
            // write-ahead log (a property of the file, kept once set): one sync per commit, and reads never wait for a write
            cmd.CommandText = "PRAGMA journal_mode=WAL;";
            cmd.ExecuteNonQuery();
            return null;
        }
        catch (SqliteException e)
        {
            const string moveAway = "; move it away to start with an empty history";
            var why = e.SqliteErrorCode switch
            {
                5 or 6 => $"it is locked by another process (another Prox on the same data-dir?) and stayed locked for {LockTimeout.TotalSeconds:0} s",
                26 => "it is not a SQLite database" + moveAway,
                11 => "it is corrupt" + moveAway,
                _ => e.Message.TrimEnd('.') + moveAway,
            };
            return $"cannot use the database '{file}' (prox.persistence.data-dir): {why}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot open the database '{file}' (prox.persistence.data-dir): {e.Message}";
        }
    }

    /// <summary>How long start-up waits for the PostgreSQL server to accept a connection before giving up.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Connects to PostgreSQL once before the actors do: an unreachable server, wrong credentials or a missing database
    /// are a one-line start-up error naming host and database (never the password) instead of actors that retry forever.
    /// </summary>
    private static string? CheckPostgreSql(PersistenceConfig cfg)
    {
        var where = cfg.Where;
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(cfg.ConnectionString)
            {
                Pooling = false,
                Timeout = (int)ConnectTimeout.TotalSeconds,
                CommandTimeout = (int)ConnectTimeout.TotalSeconds,
            };
            using var conn = new NpgsqlConnection(builder.ConnectionString);
            conn.Open();
            using var cmd = conn.CreateCommand();
            cmd.CommandText = "SELECT 1";
            cmd.ExecuteScalar();
            return null;
        }
        catch (Exception e) when (e is NpgsqlException or ArgumentException or InvalidOperationException or TimeoutException)
        {
            string why = e switch
            {
                PostgresException pg => pg.MessageText,
                NpgsqlException { InnerException: TimeoutException } => $"no answer within {ConnectTimeout.TotalSeconds:0} s",
                NpgsqlException { InnerException: System.Net.Sockets.SocketException so } => so.Message,
                NpgsqlException { InnerException: { } inner } => inner.Message,
                ArgumentException => "the connection string is not valid for PostgreSQL",
                _ => e.Message,
            };
            return $"cannot use the {where} (prox.persistence.connection-string): {why.TrimEnd('.')}";
        }
    }

    /// <summary>
    /// Starts the journal, then the snapshot store, one after the other: started together on a new database (as
    /// the first persistent actor would), both create their tables at once, one finds the file busy and
    /// Microsoft.Data.Sqlite retries only after 150 ms.
    /// </summary>
    public static async Task StartPluginsAsync(ActorSystem system, TimeSpan timeout, CancellationToken ct)
    {
        const string nobody = "prox-plugin-start";
        var persistence = Akka.Persistence.Persistence.Instance.Apply(system);
        // both answer only once their plugin is initialized
        await persistence.JournalFor(null).Ask<object>(replyTo => new ReplayMessages(0, long.MaxValue, 0, nobody, replyTo), timeout, ct);
        await persistence.SnapshotStoreFor(null).Ask<object>(
            new LoadSnapshot(nobody, SnapshotSelectionCriteria.Latest, long.MaxValue), timeout, ct);
    }

    public static void Configure(AkkaConfigurationBuilder ab, PersistenceConfig cfg)
    {
        foreach (var hocon in SerializationHocon)
            ab.AddHocon(hocon, HoconAddMode.Prepend);
        if (cfg.IsPostgreSql)
        {
            ab.WithSqlPersistence(
                connectionString: cfg.ConnectionString!,
                providerName: LinqToDB.ProviderName.PostgreSQL15,
                autoInitialize: true);
            return;
        }
        // normally done (and its failure reported) before the host is built; cheap to repeat
        Directory.CreateDirectory(Path.GetDirectoryName(cfg.DatabasePath)!);
        ab.WithSqlPersistence(
            connectionString: $"Data Source={cfg.DatabasePath}",
            providerName: LinqToDB.ProviderName.SQLiteMS,
            autoInitialize: true);
    }
}
