using Akka.Configuration;

namespace Prox.Tests.Infrastructure;

/// <summary>The Akka config of Akka.Persistence.Sql on a test's own database (as Prox configures it): a SQLite file,
/// or a PostgreSQL database.</summary>
internal static class TestJournal
{
    /// <summary>SQLite: <c>prox.db</c> in <paramref name="dir"/> (created).</summary>
    public static Akka.Configuration.Config Sqlite(string dir, string serializerHocon)
    {
        Directory.CreateDirectory(dir);
        return Sql($"Data Source={Path.Combine(dir, "prox.db")}", LinqToDB.ProviderName.SQLiteMS, serializerHocon);
    }

    public static Akka.Configuration.Config Postgres(PgTestDatabase db, string serializerHocon) =>
        Sql(db.ConnectionString, LinqToDB.ProviderName.PostgreSQL15, serializerHocon);

    private static Akka.Configuration.Config Sql(string connectionString, string provider, string serializerHocon) => ConfigurationFactory.ParseString($$"""
        akka.persistence.journal.plugin = "akka.persistence.journal.sql"
        akka.persistence.journal.sql { connection-string = "{{connectionString}}", provider-name = "{{provider}}", auto-initialize = on }
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.sql"
        akka.persistence.snapshot-store.sql { connection-string = "{{connectionString}}", provider-name = "{{provider}}", auto-initialize = on }
        {{serializerHocon}}
        """).WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration);
}
