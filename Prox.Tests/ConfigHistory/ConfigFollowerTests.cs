using System.Collections.Concurrent;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Prox.Actors.ConfigHistory;
using Xunit;

namespace Prox.Tests.ConfigHistory;

/// <summary>The ConfigFollower hands published versions and the store's latest version to the apply function, and asks
/// the store again periodically (pub-sub is at most once).</summary>
public class ConfigFollowerTests() : TestKit("""
    akka.actor.provider = cluster
    akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
    """)
{
    private static ConfigVersion Version(long n) => new(n, DateTimeOffset.UnixEpoch, ConfigSources.Api, "ops", "", $"prox {{ }} # {n}");

    [Fact]
    public void Follower_AsksAtStartAndPeriodically_HandsOverRepliesAndPublishedVersions()
    {
        var store = CreateTestProbe();
        var applied = new BlockingCollection<(long Number, string? Origin)>();
        var follower = Sys.ActorOf(ConfigFollower.Props(store, (v, origin) =>
        {
            applied.Add((v.Number, origin));
            return Task.CompletedTask;
        }, TimeSpan.FromMilliseconds(300)));

        Assert.Null(store.ExpectMsg<GetConfigVersion>(TimeSpan.FromSeconds(1)).Number); // at once: the latest
        store.Reply(new ConfigVersionReply(Version(3)));
        Assert.True(applied.TryTake(out var first, TimeSpan.FromSeconds(3)));
        Assert.Equal((3L, (string?)null), first);

        follower.Tell(new ConfigVersionPublished(Version(4), "akka.tcp://prox@127.0.0.1:4054"));
        Assert.True(applied.TryTake(out var published, TimeSpan.FromSeconds(3)));
        Assert.Equal((4L, (string?)"akka.tcp://prox@127.0.0.1:4054"), published);

        store.ExpectMsg<GetConfigVersion>(TimeSpan.FromSeconds(2)); // the periodic catch-up
        store.Reply(new ConfigVersionReply(null)); // an empty store: nothing to apply
        store.ExpectMsg<GetConfigVersion>(TimeSpan.FromSeconds(2));
        Assert.Empty(applied);
    }

    [Fact]
    public void Follower_ApplyFails_KeepsFollowing()
    {
        var store = CreateTestProbe();
        var calls = new BlockingCollection<long>();
        var follower = Sys.ActorOf(ConfigFollower.Props(store, (v, _) =>
        {
            calls.Add(v.Number);
            return Task.FromException(new TimeoutException("routes did not answer"));
        }, TimeSpan.FromMinutes(1)));
        store.ExpectMsg<GetConfigVersion>();

        follower.Tell(new ConfigVersionPublished(Version(5), null));
        follower.Tell(new ConfigVersionPublished(Version(6), null));

        Assert.True(calls.TryTake(out var a, TimeSpan.FromSeconds(3)));
        Assert.True(calls.TryTake(out var b, TimeSpan.FromSeconds(3)));
        Assert.Equal([5L, 6], new[] { a, b });
    }
}
