using Akka.Configuration;
using Prox.Tests.Infrastructure;

namespace Prox.Tests.Postgres;

/// <summary>The Akka config of Akka.Persistence.Sql on a test's own PostgreSQL database (as Prox configures it).</summary>
internal static class PostgresJournal
{
    public static Akka.Configuration.Config Config(PgTestDatabase db, string serializerHocon) => ConfigurationFactory.ParseString($$"""
        akka.persistence.journal.plugin = "akka.persistence.journal.sql"
        akka.persistence.journal.sql { connection-string = "{{db.ConnectionString}}", provider-name = "{{LinqToDB.ProviderName.PostgreSQL15}}", auto-initialize = on }
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.sql"
        akka.persistence.snapshot-store.sql { connection-string = "{{db.ConnectionString}}", provider-name = "{{LinqToDB.ProviderName.PostgreSQL15}}", auto-initialize = on }
        {{serializerHocon}}
        """).WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration);
}
