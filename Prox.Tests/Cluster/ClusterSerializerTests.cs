using Prox.Actors;
using Prox.Actors.Breaker;
using Prox.Actors.Backends;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Prox.Actors.Cluster;
using Prox.Actors.Events;
using Prox.Actors.Webhooks;
using Xunit;

namespace Prox.Tests.Cluster;

/// <summary>Every <see cref="IClusterMessage"/> survives the trip between nodes: bound, and equal after a round trip.</summary>
public class ClusterSerializerTests : TestKit
{
    private static readonly ProxEvent Event = new("019ac2f1c3a0-5f3e2a1b", new DateTimeOffset(2026, 11, 26, 10, 14, 50, 120, TimeSpan.Zero),
        ProxEventKinds.PoolDown, "api", null, "no eligible backend") { Node = "akka.tcp://prox@127.0.0.1:4053" };

    private static readonly WebhookStatusReply Status = new([
        new WebhookStatus("ops", "https://hooks.example.com/prox", ["pool-down", "pool-up"], "json", 2, 10, 3, 1,
            new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero), null, "HTTP 500", null),
    ]);

    public ClusterSerializerTests()
        : base(ClusterSerializer.Hocon)
    {
    }

    private T RoundTrip<T>(T message)
        where T : notnull
    {
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<ClusterSerializer>(serializer);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        return Assert.IsType<T>(Sys.Serialization.Deserialize(serializer.ToBinary(message), serializer.Identifier, manifest));
    }

    [Fact]
    public void RoundTrip_ProxEventWithNode_Equal()
    {
        var back = RoundTrip(Event);

        Assert.Equal(Event, back);
        Assert.Equal("akka.tcp://prox@127.0.0.1:4053", back.Node);
    }

    [Fact]
    public void RoundTrip_ProxEventWithoutNode_NodeNull() =>
        Assert.Null(RoundTrip(Event with { Node = null }).Node);

    [Fact]
    public void RoundTrip_GetWebhookStatus() => Assert.Equal(GetWebhookStatus.Instance, RoundTrip(GetWebhookStatus.Instance));

    [Fact]
    public void RoundTrip_WebhookStatusReply_SameStatuses()
    {
        var back = RoundTrip(Status);

        var expected = Status.Webhooks.Single();
        var actual = back.Webhooks.Single();
        Assert.Equal(expected with { Events = [] }, actual with { Events = [] });
        Assert.Equal(expected.Events, actual.Events);
    }

    [Fact]
    public void Manifests_Stable()
    {
        var serializer = (ClusterSerializer)Sys.Serialization.FindSerializerFor(Event);

        Assert.Equal("prox-event.v1", serializer.Manifest(Event));
        Assert.Equal("webhook-status-get.v1", serializer.Manifest(GetWebhookStatus.Instance));
        Assert.Equal("webhook-status.v1", serializer.Manifest(Status));
    }

    [Fact]
    public void TrialPermits_StayOnTheirNode()
    {
        // the half-open permits are an object on the owner's node: they never cross nodes
        var trial = RoundTrip(new TrialOutcome("r/a", OutcomeKind.Success, 200, 12) { Trial = new HalfOpenPermits(1) });
        Assert.Null(trial.Trial);
        Assert.Equal(200, trial.Status);
        var update = new BackendStateUpdate("r/a", "akka.tcp://prox@h:1", 9, 3, true, null, DateTimeOffset.UnixEpoch, "fp")
            { Trials = new HalfOpenPermits(2) };
        Assert.Equal(update with { Trials = null }, RoundTrip(update));
    }
}
