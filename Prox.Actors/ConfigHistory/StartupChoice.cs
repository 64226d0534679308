namespace Prox.Actors.ConfigHistory;

/// <summary>
/// Which config Prox starts on. The file wins when the store is empty or the file changed since Prox last read it
/// (its text differs from the last version that came from the file); otherwise Prox resumes the store's latest
/// version, so API changes and rollbacks survive a restart.
/// </summary>
public static class StartupChoice
{
    /// <returns>The version to resume, or null when the file's text must become a new version.</returns>
    public static ConfigVersion? Resume(ConfigStoreState state, string fileText) =>
        state.Latest is { } latest && state.LastFileText is { } lastFile && lastFile == fileText ? latest : null;
}
