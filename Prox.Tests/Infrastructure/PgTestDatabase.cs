using Npgsql;

namespace Prox.Tests.Infrastructure;

/// <summary>A fresh PostgreSQL database for one test (created as the admin role of <c>PROX_TEST_PG</c>), dropped on dispose.</summary>
public sealed class PgTestDatabase : IDisposable
{
    public const string Variable = "PROX_TEST_PG";

    public static string? AdminConnectionString => Environment.GetEnvironmentVariable(Variable);

    public PgTestDatabase()
    {
        Name = "prox_test_" + Guid.NewGuid().ToString("N");
        Admin($"CREATE DATABASE {Name}");
        ConnectionString = new NpgsqlConnectionStringBuilder(Admin()) { Database = Name }.ConnectionString;
    }

    public string Name { get; }

    /// <summary>The connection string of this database (admin role).</summary>
    public string ConnectionString { get; }

    /// <summary>The <c>persistence { … }</c> block that points Prox at this database.</summary>
    public string Hocon => $"persistence {{ provider = postgresql, connection-string = \"{ConnectionString}\" }}";

    /// <summary>The first column of every row of <paramref name="sql"/>, as text.</summary>
    public string[] Query(string sql)
    {
        using var connection = new NpgsqlConnection(ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read()) rows.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        return [.. rows];
    }

    private static string Admin() => AdminConnectionString
        ?? throw new InvalidOperationException($"{Variable} is not set (use [PostgresFact])");

    private static void Admin(string sql)
    {
        using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Admin()) { Pooling = false }.ConnectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        // pooled connections (ours and Akka.Persistence.Sql's) stay open; FORCE ends them
        NpgsqlConnection.ClearAllPools();
        Admin($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
    }
}
