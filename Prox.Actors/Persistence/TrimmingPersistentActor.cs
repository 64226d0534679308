using Akka.Event;
using Akka.Persistence;

namespace Prox.Actors.Persistence;

/// <summary>
/// A persistent actor whose every snapshot holds all it needs: once one is saved, older journal entries and
/// snapshots are deleted (bounded storage), one delete of each kind at a time (<see cref="OneAtATime"/>).
/// Subclasses save snapshots when they see fit; the trimming after each, and its failures, are handled here.
/// </summary>
public abstract class TrimmingPersistentActor : ReceivePersistentActor
{
    private readonly OneAtATime _journalTrim = new();
    private readonly OneAtATime _snapshotTrim = new();

    /// <param name="what">What the actor stores, for the log ("config history", "webhook outbox").</param>
    protected TrimmingPersistentActor(string what)
    {
        var log = Context.GetLogger();
        Command<SaveSnapshotSuccess>(s =>
        {
            DeleteMessagesUpTo(_journalTrim.Request(s.Metadata.SequenceNr));
            DeleteSnapshotsUpTo(_snapshotTrim.Request(s.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(f => log.Warning("Saving a {What} snapshot failed: {Error}", what, f.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => DeleteMessagesUpTo(_journalTrim.Done()));
        Command<DeleteMessagesFailure>(f =>
        {
            log.Warning("Deleting old {What} journal entries failed: {Error}", what, f.Cause.Message);
            DeleteMessagesUpTo(_journalTrim.Done());
        });
        Command<DeleteSnapshotsSuccess>(_ => DeleteSnapshotsUpTo(_snapshotTrim.Done()));
        Command<DeleteSnapshotsFailure>(f =>
        {
            log.Warning("Deleting old {What} snapshots failed: {Error}", what, f.Cause.Message);
            DeleteSnapshotsUpTo(_snapshotTrim.Done());
        });
    }

    private void DeleteMessagesUpTo(long? to)
    {
        if (to is { } n) DeleteMessages(n);
    }

    private void DeleteSnapshotsUpTo(long? to)
    {
        if (to is { } n) DeleteSnapshots(new SnapshotSelectionCriteria(n));
    }
}
