namespace Prox.Actors.Config;

/// <summary><c>prox.persistence</c>: where persistent actors (the webhook outbox, later config and keys) keep their journal.</summary>
/// <param name="Provider">Only <c>sqlite</c> for now.</param>
/// <param name="DataDir">Directory of the SQLite file <c>prox.db</c>; relative paths resolve against the working directory.</param>
/// <param name="ConnectionString">Reserved for server databases (PostgreSQL in a cluster); null for SQLite.</param>
public sealed record PersistenceConfig(string Provider, string DataDir, string? ConnectionString)
{
    public const string Sqlite = "sqlite";
    public const string DatabaseFileName = "prox.db";

    public static readonly PersistenceConfig Default = new(Sqlite, "data", null);

    /// <summary>The SQLite file, resolved against the current working directory.</summary>
    public string DatabasePath => Path.GetFullPath(Path.Combine(DataDir, DatabaseFileName));
}
