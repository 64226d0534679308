using System.Collections.Immutable;
using Prox.Actors.Backends;

namespace Prox.Actors.Cluster;

/// <summary>
/// Collects one backend's request outcomes between two batches, folding consecutive equal outcomes (kind and status)
/// into runs. Order is kept, so the owner sees "5 failures in a row" as such. Runs are capped at
/// <see cref="MaxRun"/> outcomes so that a long run of successes still carries some latency spread. Single-threaded:
/// one <see cref="BackendLink"/> owns it.
/// </summary>
public sealed class OutcomeBatcher
{
    public const int MaxRun = 256;

    private readonly List<OutcomeRun> _runs = new();
    private long _latencySum; // of the last run

    /// <summary>Outcomes collected since the last <see cref="Take"/>.</summary>
    public int Count { get; private set; }

    /// <summary>True when a collected outcome is a backend failure (the batch should go soon).</summary>
    public bool HasFailure { get; private set; }

    public void Add(OutcomeKind kind, int status, TimeSpan latency)
    {
        var micros = (long)latency.TotalMicroseconds;
        Count++;
        if (new RequestOutcome(kind, status, latency).IsBackendFailure) HasFailure = true;
        if (_runs.Count > 0 && _runs[^1] is { } last && last.Kind == kind && last.Status == status && last.Count < MaxRun)
        {
            _latencySum += micros;
            _runs[^1] = last with { Count = last.Count + 1, MeanLatencyMicros = _latencySum / (last.Count + 1) };
            return;
        }
        _latencySum = micros;
        _runs.Add(new OutcomeRun(kind, status, 1, micros));
    }

    /// <summary>Appends <paramref name="count"/> outcomes of one kind at once (a fold of the request path's tally), all
    /// with the same mean latency. Not a failure kind: those are added one by one with <see cref="Add"/>.</summary>
    public void AddRun(OutcomeKind kind, long count, TimeSpan meanLatency)
    {
        if (count <= 0) return;
        Count += (int)Math.Min(count, int.MaxValue - Count);
        _latencySum = 0; // a run added whole is never extended by Add
        _runs.Add(new OutcomeRun(kind, 0, (int)Math.Min(count, int.MaxValue), (long)meanLatency.TotalMicroseconds));
    }

    /// <summary>The runs collected so far; starts a new batch.</summary>
    public ImmutableArray<OutcomeRun> Take()
    {
        var runs = _runs.ToImmutableArray();
        _runs.Clear();
        Count = 0;
        HasFailure = false;
        return runs;
    }
}
