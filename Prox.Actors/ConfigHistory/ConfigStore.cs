using Prox.Actors.Persistence;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.Pattern;
using Akka.Persistence;

namespace Prox.Actors.ConfigHistory;

/// <summary>
/// The versioned config history: every applied config is persisted as a <see cref="ConfigVersionAdded"/> before it is
/// acknowledged. Keeps the newest <c>keep</c> versions; every <c>keep</c> versions it saves a snapshot of what it keeps
/// and deletes the journal and snapshots before it, so storage stays bounded. Numbers are never reused: the last one
/// is part of the snapshot. In cluster mode it runs as one cluster singleton for all nodes (<see cref="SharedConfigStore"/>)
/// and publishes each new version (<see cref="ConfigVersionPublished"/>).
/// </summary>
public sealed class ConfigStore : Persistence.TrimmingPersistentActor
{
    public const string DefaultPersistenceId = "prox-config";

    private readonly int _keep;
    private readonly bool _publish;
    private readonly LinkedList<ConfigVersion> _versions = new(); // oldest first
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _lastNumber;
    private string? _lastFileText;
    private int _sinceSnapshot;

    /// <param name="publish">Publish every recorded version on distributed pub-sub (cluster mode only).</param>
    public ConfigStore(int keep, string persistenceId, bool publish = false) : base("config history")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        _keep = keep;
        _publish = publish;
        PersistenceId = persistenceId;

        Recover<SnapshotOffer>(OnSnapshotOffer);
        Recover<ConfigVersionAdded>(Apply);
        Recover<RecoveryCompleted>(_ => _log.Info("Config history recovered: {Count} versions, latest {Latest}",
            _versions.Count, _lastNumber));

        Command<RecordConfigVersion>(OnRecord);
        Command<GetConfigVersion>(q => Sender.Tell(new ConfigVersionReply(Find(q.Number))));
        Command<GetConfigVersions>(OnPage);
        Command<GetConfigStoreState>(_ => Sender.Tell(new ConfigStoreState(_versions.Last?.Value, _lastFileText)));
        Command<StopConfigStore>(_ => Context.Stop(Self));
    }

    public override string PersistenceId { get; }

    public static Props Props(int keep, string persistenceId = DefaultPersistenceId, bool publish = false) =>
        Akka.Actor.Props.Create(() => new ConfigStore(keep, persistenceId, publish));

    /// <summary>
    /// The store under a <see cref="BackoffSupervisor"/>: a persistent actor stops when its journal fails, and this
    /// starts it again (200 ms doubling to 30 s, ±20%), replaying the history. Messages to it are forwarded.
    /// </summary>
    /// <param name="publish">Cluster mode: publish every recorded version; <see cref="StopConfigStore"/> then stops
    /// store and supervisor for good (the singleton's hand-over) instead of being restarted.</param>
    public static Props Supervised(int keep, string persistenceId = DefaultPersistenceId, bool publish = false)
    {
        var options = Backoff.OnStop(Props(keep, persistenceId, publish), "store",
            TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30), 0.2, -1);
        return BackoffSupervisor.Props(publish ? options.WithFinalStopMessage(m => m is StopConfigStore) : options);
    }

    // ---- state transitions (applied both live and on replay) ----

    private void OnSnapshotOffer(SnapshotOffer offer)
    {
        if (offer.Snapshot is not ConfigStoreSnapshot s) return;
        _versions.Clear();
        foreach (var v in s.Versions) _versions.AddLast(v.ToVersion());
        _lastNumber = s.LastNumber;
        _lastFileText = s.LastFileText;
        _sinceSnapshot = 0;
        Trim();
    }

    private void Apply(ConfigVersionAdded e)
    {
        _versions.AddLast(e.ToVersion());
        _lastNumber = Math.Max(_lastNumber, e.Number);
        if (e.Source == ConfigSources.File) _lastFileText = e.Text;
        _sinceSnapshot++;
        Trim();
    }

    private void Trim()
    {
        while (_versions.Count > _keep) _versions.RemoveFirst();
    }

    // ---- commands ----

    private void OnRecord(RecordConfigVersion cmd)
    {
        if (cmd.UnlessSameAsLatest && _versions.Last?.Value is { } latest && latest.Text == cmd.Text)
        {
            Sender.Tell(new ConfigVersionRecorded(latest, Recorded: false));
            return;
        }
        var added = new ConfigVersionAdded(_lastNumber + 1, Context.System.Scheduler.Now, cmd.Source, cmd.Author, cmd.Comment, cmd.Text);
        var replyTo = Sender;
        Persist(added, e =>
        {
            Apply(e);
            replyTo.Tell(new ConfigVersionRecorded(e.ToVersion(), Recorded: true));
            if (_publish)
                DistributedPubSub.Get(Context.System).Mediator.Tell(
                    new Publish(ConfigVersionPublished.Topic, new ConfigVersionPublished(e.ToVersion(), cmd.Origin)));
            if (_sinceSnapshot >= _keep)
            {
                _sinceSnapshot = 0;
                SaveSnapshot(new ConfigStoreSnapshot(_lastNumber, _lastFileText, [.. _versions.Select(ConfigVersionAdded.From)]));
            }
        });
    }

    private ConfigVersion? Find(long? number) =>
        number is null ? _versions.Last?.Value : _versions.FirstOrDefault(v => v.Number == number);

    private void OnPage(GetConfigVersions q)
    {
        var page = _versions.Reverse().Where(v => q.Before is null || v.Number < q.Before).Take(q.Limit + 1).ToList();
        var more = page.Count > q.Limit;
        if (more) page.RemoveAt(page.Count - 1);
        Sender.Tell(new ConfigVersionsPage([.. page], more ? page[^1].Number : null));
    }
}
