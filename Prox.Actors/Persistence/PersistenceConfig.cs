using System.Data.Common;

namespace Prox.Actors.Persistence;

/// <summary><c>prox.persistence</c>: where persistent actors (the webhook outbox, the config history) keep their journal.</summary>
/// <param name="Provider"><c>sqlite</c> (standalone, the default) or <c>postgresql</c> (a server database, for clusters).</param>
/// <param name="DataDir">Directory of the SQLite file <c>prox.db</c>; relative paths resolve against the working directory.
/// Not used by PostgreSQL.</param>
/// <param name="ConnectionString">The Npgsql connection string of PostgreSQL (it may hold a password: never log it,
/// show <see cref="Where"/>); null for SQLite.</param>
public sealed record PersistenceConfig(string Provider, string DataDir, string? ConnectionString)
{
    public const string Sqlite = "sqlite";
    public const string PostgreSql = "postgresql";
    public const string DatabaseFileName = "prox.db";

    public static readonly PersistenceConfig Default = new(Sqlite, "data", null);

    public bool IsPostgreSql => Provider == PostgreSql;

    /// <summary>The SQLite file, resolved against the current working directory.</summary>
    public string DatabasePath => Path.GetFullPath(Path.Combine(DataDir, DatabaseFileName));

    /// <summary>Where the journal is, without secrets: the SQLite file, or <c>PostgreSQL database 'prox' on host:port</c>.</summary>
    public string Where => IsPostgreSql ? DescribePostgreSql(ConnectionString ?? "") : $"'{DatabasePath}'";

    /// <summary>Host, port and database of a connection string, never its password.</summary>
    public static string DescribePostgreSql(string connectionString)
    {
        var b = new DbConnectionStringBuilder();
        try
        {
            b.ConnectionString = connectionString;
        }
        catch (ArgumentException)
        {
            return "PostgreSQL (unreadable connection string)";
        }
        string? Get(params string[] keys) =>
            keys.Select(k => b.TryGetValue(k, out var v) ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) : null)
                .FirstOrDefault(v => !string.IsNullOrEmpty(v));
        var host = Get("Host", "Server") ?? "localhost";
        var port = Get("Port") ?? "5432";
        var db = Get("Database", "DB") ?? Get("Username", "User Name", "UserId", "User Id", "User") ?? "?";
        return $"PostgreSQL database '{db}' on {host}:{port}";
    }
}
