using Prox.Actors.ConfigHistory;
using Xunit;

namespace Prox.Tests.ConfigHistory;

public class StartupChoiceTests
{
    private static ConfigVersion V(long n, string source, string text) =>
        new(n, DateTimeOffset.UnixEpoch, source, source == ConfigSources.File ? "file" : "ops", "", text);

    [Fact]
    public void Resume_EmptyStore_FileWins() => Assert.Null(StartupChoice.Resume(new ConfigStoreState(null, null), "a"));

    [Fact]
    public void Resume_FileUnchanged_LatestApiVersionResumed()
    {
        var latest = V(2, ConfigSources.Api, "b");
        Assert.Same(latest, StartupChoice.Resume(new ConfigStoreState(latest, "a"), "a"));
    }

    [Fact]
    public void Resume_FileEditedWhileDown_FileWins() =>
        Assert.Null(StartupChoice.Resume(new ConfigStoreState(V(2, ConfigSources.Rollback, "b"), "a"), "a2"));
}
