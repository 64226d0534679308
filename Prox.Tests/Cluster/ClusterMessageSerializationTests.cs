using System.Text.Json;
using Akka.TestKit.Xunit2;
using Prox.Actors;
using Prox.Actors.Backends;
using Prox.Actors.Cluster;
using Prox.Actors.ConfigHistory;
using Prox.Actors.Events;
using Prox.Actors.Storage;
using Xunit;

namespace Prox.Tests.Cluster;

/// <summary>The messages between nodes: every <see cref="IClusterMessage"/> is bound and survives System.Text.Json.</summary>
public class ClusterMessageSerializationTests() : TestKit(ClusterSerializer.Hocon)
{
    private static readonly ConfigVersion Version =
        new(7, DateTimeOffset.Parse("2026-11-26T12:00:00+00:00"), ConfigSources.Api, "ops", "more backends", "prox { }");

    /// <summary>One value of every bound type (a binding without a sample fails <see cref="Bindings_EveryTypeHasASample"/>).</summary>
    private static readonly BackendCarry Carry = new("0123456789ABCDEF", false, 120, 7,
        new PassiveState(0, 2, DateTimeOffset.Parse("2026-11-26T12:00:30+00:00"), false, null),
        Prox.Actors.Breaker.BreakerMode.Open, 5, 1, DateTimeOffset.Parse("2026-11-26T12:00:20+00:00"), 0,
        new Prox.Actors.Health.HealthState(false, 0, 3, TimeSpan.FromSeconds(2),
            [new(new Prox.Actors.Health.ProbeResult(DateTimeOffset.Parse("2026-11-26T12:00:00+00:00"), 503, TimeSpan.FromMilliseconds(3)), false)],
            [DateTimeOffset.Parse("2026-11-26T11:59:58+00:00")], false),
        new Prox.Actors.Health.ProbeResult(DateTimeOffset.Parse("2026-11-26T12:00:00+00:00"), 0, TimeSpan.FromSeconds(1), "connection refused"));

    private static readonly object[] Samples =
    [
        ProxEvent.Create(DateTimeOffset.Parse("2026-11-26T12:00:00+00:00"), ProxEventKinds.BackendDown, "api", "a", "3 checks failed"),
        new RecordConfigVersion(ConfigSources.File, ConfigSources.File, "read at start-up", "prox { }", UnlessSameAsLatest: true,
            Origin: "akka.tcp://prox@127.0.0.1:4053"),
        new ConfigVersionRecorded(Version, Recorded: true),
        new GetConfigVersion(7),
        new GetConfigVersion(null),
        new ConfigVersionReply(Version),
        new ConfigVersionReply(null),
        new GetConfigVersions(12, 20),
        new ConfigVersionsPage([Version, Version with { Number = 6 }], 6),
        GetConfigStoreState.Instance,
        new ConfigStoreState(Version, "prox { }"),
        new ConfigStoreState(null, null),
        new ConfigVersionPublished(Version, "akka.tcp://prox@127.0.0.1:4054"),
        new BackendSubscribe("api/a", "0123456789ABCDEF"),
        new BackendUnsubscribe("api/a"),
        new OutcomeBatch("api/a", [new OutcomeRun(OutcomeKind.Success, 200, 3, 1200), new OutcomeRun(OutcomeKind.ConnectFailure, 0, 1, 5)]),
        new TrialOutcome("api/a", OutcomeKind.Success, 200, 900),
        new BackendStatusQuery("api/a"),
        new BackendStateUpdate("api/a", "akka.tcp://prox@127.0.0.1:4053", 42, 3, false,
            DateTimeOffset.Parse("2026-11-26T12:00:10+00:00"), DateTimeOffset.Parse("2026-11-26T12:00:00+00:00"), "0123456789ABCDEF"),
        new BackendStatus("a", "http://127.0.0.1:5001/", 1, true, "up", null, 0, 10, 1, 0, 0, new LatencySummary(1, 2, 3, 1.5))
            { Owner = "akka.tcp://prox@127.0.0.1:4053" },
        new BackendSeedRequest("api/a"),
        new BackendSeed("api/a", null),
        new BackendSeed("api/a", Carry),
        new BackendStateUpdate("api/a", "akka.tcp://prox@127.0.0.1:4053", 42, 4, true, null,
            DateTimeOffset.Parse("2026-11-26T12:00:00+00:00"), "0123456789ABCDEF") { Carry = Carry },
        Prox.Actors.Webhooks.GetWebhookStatus.Instance,
        new Prox.Actors.Webhooks.WebhookStatusReply([]),
        new EventAccepted("0000000003e8-0000abcd"),
    ];

    [Fact]
    public void Bindings_EveryTypeHasASample()
    {
        var missing = ClusterSerializer.Bindings.Select(b => b.Type).Except(Samples.Select(s => s.GetType()));
        Assert.Empty(missing);
    }

    [Fact]
    public void Bindings_EveryClusterMessageTypeIsBound()
    {
        var types = typeof(IClusterMessage).Assembly.GetTypes()
            .Where(t => typeof(IClusterMessage).IsAssignableFrom(t) && t is { IsInterface: false, IsAbstract: false });
        Assert.Empty(types.Except(ClusterSerializer.Bindings.Select(b => b.Type)));
        Assert.Equal(ClusterSerializer.Bindings.Length, ClusterSerializer.Bindings.Select(b => b.Manifest).Distinct().Count());
    }

    [Fact]
    public void Samples_RoundTrip_ThroughTheClusterSerializer()
    {
        foreach (var value in Samples)
        {
            var serializer = Sys.Serialization.FindSerializerFor(value);
            Assert.IsType<ClusterSerializer>(serializer);
            var manifest = ((ClusterSerializer)serializer).Manifest(value);
            var back = Sys.Serialization.Deserialize(serializer.ToBinary(value), serializer.Identifier, manifest);
            Assert.IsType(value.GetType(), back);
            Assert.Equal(JsonSerializer.Serialize(value, value.GetType()), JsonSerializer.Serialize(back, back.GetType()));
        }
    }

    [Fact]
    public void ConfigVersion_RoundTrips_WithItsFields()
    {
        var serializer = (ClusterSerializer)Sys.Serialization.FindSerializerFor(new ConfigVersionReply(Version));
        var back = (ConfigVersionReply)serializer.FromBinary(serializer.ToBinary(new ConfigVersionReply(Version)), "config-version-reply.v1");
        Assert.Equal(Version, back.Version);
    }
}
