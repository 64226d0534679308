using Prox.Actors.Hocon;

namespace Prox.Actors.Persistence;

/// <summary>Binds <c>prox.persistence</c> to <see cref="PersistenceConfig"/>.</summary>
internal static class PersistenceConfigBinder
{
    private static readonly string[] PersistenceKeys = ["provider", "data-dir", "connection-string"];

    /// <summary>The block's settings; <see cref="PersistenceConfig.Default"/> when it is absent.</summary>
    public static PersistenceConfig Bind(ConfigReader r, ConfigNode.Map prox)
    {
        const string path = "prox.persistence";
        var defaults = PersistenceConfig.Default;
        if (r.Section(prox, "persistence", path, PersistenceKeys) is not { } persistence)
            return defaults;

        var provider = defaults.Provider;
        var providerPath = ConfigPath.Child(path, "provider");
        if (persistence.Get("provider") is { } providerNode && r.Text(providerNode, providerPath, "a provider name") is { } text)
        {
            if (text.Equals(PersistenceConfig.Sqlite, StringComparison.OrdinalIgnoreCase)) provider = PersistenceConfig.Sqlite;
            else if (text.Equals(PersistenceConfig.PostgreSql, StringComparison.OrdinalIgnoreCase)) provider = PersistenceConfig.PostgreSql;
            else r.Error(providerPath, $"unknown provider '{ConfigReader.Clip(text)}' (allowed: sqlite, postgresql)");
        }
        var postgres = provider == PersistenceConfig.PostgreSql;

        var dataDir = defaults.DataDir;
        var dirPath = ConfigPath.Child(path, "data-dir");
        if (persistence.Get("data-dir") is { } dirNode && r.Text(dirNode, dirPath, "a directory path") is { } dir)
        {
            if (postgres) r.Error(dirPath, "not used by provider postgresql (its database is prox.persistence.connection-string)");
            else if (dir.Length == 0 || dir.IndexOfAny(Path.GetInvalidPathChars()) >= 0) r.Error(dirPath, "must be a directory path");
            else dataDir = dir;
        }

        return new PersistenceConfig(provider, dataDir, ConnectionString(r, persistence, path, postgres));
    }

    /// <summary>PostgreSQL's connection string (required there, not allowed for SQLite); the text is never echoed back:
    /// it may hold a password.</summary>
    private static string? ConnectionString(ConfigReader r, ConfigNode.Map persistence, string path, bool postgres)
    {
        var connPath = ConfigPath.Child(path, "connection-string");
        var connNode = persistence.Get("connection-string");
        if (!postgres)
        {
            if (connNode is not null)
                r.Error(connPath, "not used by provider sqlite (its file is <data-dir>/prox.db)");
            return null;
        }
        if (connNode is null)
        {
            r.Error(connPath, "provider postgresql needs a connection string such as \"Host=db;Port=5432;Username=prox;Password=…;Database=prox\" " +
                              "(e.g. connection-string = ${?PROX_DB} with PROX_DB set)");
            return null;
        }
        if (r.Text(connNode, connPath, "a connection string") is not { } conn)
            return null;
        var builder = new System.Data.Common.DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = conn;
            if (builder.ContainsKey("Host") || builder.ContainsKey("Server"))
                return conn;
            r.Error(connPath, "has no Host (expected \"Host=db;Port=5432;Username=prox;Password=…;Database=prox\")");
        }
        catch (ArgumentException)
        {
            r.Error(connPath, "is not a connection string of the form \"Host=db;Port=5432;Username=prox;Password=…;Database=prox\"");
        }
        return null;
    }
}
