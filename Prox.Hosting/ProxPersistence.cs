using Akka.Hosting;
using Akka.Persistence.Sql.Hosting;
using Prox.Actors.Config;
using Prox.Actors.Webhooks;

namespace Prox.Hosting;

/// <summary>
/// Akka.Persistence for Prox's persistent actors: Akka.Persistence.Sql on the SQLite file <c>&lt;data-dir&gt;/prox.db</c>
/// (journal and snapshots, tables created on first use) and the serializer bindings of every persisted type.
/// Started only when a persistent actor is configured, so a proxy without one needs no database.
/// </summary>
public static class ProxPersistence
{
    /// <summary>True when the config runs an actor that persists (today: the webhook Notifier).</summary>
    public static bool IsNeeded(ProxConfig config) => !config.Webhooks.IsEmpty;

    /// <summary>Serializer bindings of all persisted types. Each persistent capability adds its own HOCON here.</summary>
    private static readonly string[] SerializationHocon = [NotifierSerializer.Hocon];

    /// <summary>Creates the data directory; returns why that failed (for a clean start-up error), or null.</summary>
    public static string? PrepareDataDir(PersistenceConfig cfg)
    {
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

    public static void Configure(AkkaConfigurationBuilder ab, PersistenceConfig cfg)
    {
        foreach (var hocon in SerializationHocon)
            ab.AddHocon(hocon, HoconAddMode.Prepend);
        // normally done (and its failure reported) before the host is built; cheap to repeat
        Directory.CreateDirectory(Path.GetDirectoryName(cfg.DatabasePath)!);
        ab.WithSqlPersistence(
            connectionString: $"Data Source={cfg.DatabasePath}",
            providerName: LinqToDB.ProviderName.SQLiteMS,
            autoInitialize: true);
    }
}
