using Microsoft.Data.Sqlite;

namespace Prox.Tests.Infrastructure;

/// <summary>A fresh directory for <c>prox.persistence.data-dir</c>, deleted (with its SQLite file) at the end.</summary>
public sealed class TempDataDir : IDisposable
{
    public TempDataDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "prox-test-" + Guid.NewGuid().ToString("N"));

    /// <summary>The HOCON that points Prox at this directory.</summary>
    public string Hocon => $"persistence {{ data-dir = \"{Path}\" }}";

    public void Dispose()
    {
        // pooled connections keep the file open
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // a connection still closing; the OS temp cleaner gets it
        }
    }
}
